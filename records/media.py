"""Pictures named by records (an SLE's `photo:`, any other path a record gives): only real
images, only from inside content/.

    real = image_file(root / "content", "sles/jane-okafor.jpg")   # or raises MediaError

A path from a record is published as it is, so it is checked as hostile: it must be relative,
stay inside content/ (no "..", no absolute path), pass through no symbolic link (a link to the
subscriber database or /proc/self/environ would publish it), name a regular file whose
extension says what it is, and hold, by its bytes, an image of that kind within the size and
pixel limits. Only then is it copied into the site.
"""
from __future__ import annotations

import io
import glob
import os
import stat
import warnings
from pathlib import Path, PurePosixPath

# Pillow's format name -> the extensions a file of that format may have. No SVG: it can hold
# script. The extension matters because web servers choose the Content-Type by it.
FORMATS = {"JPEG": (".jpg", ".jpeg"), "PNG": (".png",), "GIF": (".gif",), "WEBP": (".webp",)}
SUFFIXES = {suffix: name for name, suffixes in FORMATS.items() for suffix in suffixes}
MAX_BYTES = 5 * 1024 * 1024          # a portrait for the web is a few hundred KB
MAX_PIXELS = 25_000_000              # 6,000 x 4,000 is a big camera's whole picture
MAX_SIDE = 10_000


class MediaError(ValueError):
    """The picture cannot be used; the message says why and what to do, for an editor."""


def _parts(rel: str) -> tuple[str, ...]:
    if not isinstance(rel, str) or not rel.strip():
        raise MediaError("is empty; give the picture's path inside content/, e.g. sles/jane-okafor.jpg")
    path = PurePosixPath(rel.strip())
    if "\\" in rel or path.is_absolute() or ".." in path.parts or "\0" in rel:
        raise MediaError(f"{rel!r} should be a path inside content/, with forward slashes and "
                         "no '..', e.g. sles/jane-okafor.jpg")
    return tuple(part for part in path.parts if part != ".")


def _missing_hint(content: Path, parts: tuple[str, ...]) -> str:
    """A picture of that name in one folder of content/ (an SLE's photo uploaded beside their
    record, named without its folder) is most likely the one meant."""
    name = parts[-1] if parts else ""
    found = sorted(p.relative_to(content).as_posix() for p in content.glob("*/" + glob.escape(name))
                   if p.is_file() and not p.is_symlink()) if name else []
    if len(found) == 1:
        return f"did you mean {found[0]}? (the path starts from content/)"
    return "add the picture or remove the line"


def resolve(content: Path, rel: str, *, svg: bool = False) -> Path:
    """The file ``rel`` names inside ``content``, refusing links and anything outside
    (``svg``: an .svg drawing is allowed too; read it with :func:`read_picture`)."""
    parts = _parts(rel)
    suffix = PurePosixPath(parts[-1]).suffix.lower() if parts else ""
    if svg and suffix == ".svg":
        pass
    elif suffix not in SUFFIXES:
        raise MediaError(f"{rel!r} is not a picture the website can show: use a .jpg, .png, "
                         ".gif or .webp file")
    current = Path(content)
    for number, part in enumerate(parts):
        current = current / part
        try:
            info = os.lstat(current)
        except FileNotFoundError:
            raise MediaError(f"no file content/{rel}; {_missing_hint(Path(content), parts)}") from None
        except OSError as err:
            raise MediaError(f"cannot read content/{rel}: {err.strerror}") from None
        if stat.S_ISLNK(info.st_mode):
            raise MediaError(f"content/{'/'.join(parts[:number + 1])} is a link to another file; "
                             "put the picture itself in content/, not a link to it")
    real = Path(os.path.realpath(current))
    if not real.is_relative_to(Path(os.path.realpath(content))):
        raise MediaError(f"content/{rel} is outside content/; put the picture in content/")
    return real


def read_image(content: Path, rel: str, *, svg: bool = False) -> tuple[Path, bytes]:
    """(real path, bytes) of a picture that passed every check; MediaError otherwise.
    ``svg``: a safe SVG drawing is accepted too (the alliance's logo and home photo)."""
    real = resolve(content, rel, svg=svg)
    try:
        fd = os.open(real, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as err:
        raise MediaError(f"cannot read content/{rel}: {err.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise MediaError(f"content/{rel} is not a file; give the path of a picture")
        if info.st_size > MAX_BYTES:
            raise MediaError(f"content/{rel} is {info.st_size / 1024 / 1024:.1f} MB; a picture "
                             f"may be at most {MAX_BYTES // 1024 // 1024} MB: resize it (about "
                             "1,000 pixels wide is plenty) and save it again")
        data = handle.read(MAX_BYTES + 1)
    if svg and real.suffix.lower() == ".svg":
        check_svg(rel, data)
    else:
        _check_bytes(rel, data)
    return real, data


# SVG can hold script, event handlers, and links that fetch other files: a drawing is accepted
# only if it is made of drawing elements, with no on* attribute, no link outside itself
# (href only to "#id" in the same file) and no DOCTYPE (entities). Anything else is refused
# with a message, not cleaned up: an editor's logo should not change silently.
SVG_ELEMENTS = {
    "svg", "g", "defs", "title", "desc", "metadata", "symbol", "use", "path", "rect", "circle",
    "ellipse", "line", "polyline", "polygon", "text", "tspan", "textPath", "linearGradient",
    "radialGradient", "stop", "clipPath", "mask", "pattern", "marker", "filter", "feGaussianBlur",
    "feOffset", "feBlend", "feColorMatrix", "feFlood", "feComposite", "feMerge", "feMergeNode",
    "style"}
_SVG_NS = "{http://www.w3.org/2000/svg}"


def check_svg(rel: str, data: bytes) -> None:
    """Refuse an SVG drawing that could run script or fetch anything (MediaError)."""
    import re
    import xml.etree.ElementTree as ET

    def refuse(why: str) -> MediaError:
        return MediaError(f"content/{rel} {why}; an SVG picture may only draw: save it again "
                          "without it (or as .png)")
    if re.search(rb"<!(DOCTYPE|ENTITY)", data, re.IGNORECASE):
        raise refuse("has a DOCTYPE or entities")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as err:
        raise MediaError(f"content/{rel} is not a readable SVG drawing ({err}); save it again") from None
    if root.tag != f"{_SVG_NS}svg":
        raise MediaError(f"content/{rel} is not an SVG drawing (it should start with <svg "
                         "xmlns=\"http://www.w3.org/2000/svg\">)")
    for element in root.iter():
        tag = element.tag if isinstance(element.tag, str) else ""
        name = tag[len(_SVG_NS):] if tag.startswith(_SVG_NS) else tag
        if not tag.startswith(_SVG_NS) or name not in SVG_ELEMENTS:
            raise refuse(f"holds a <{name.split('}')[-1]}> element")
        if name == "style" and re.search(r"url\(\s*['\"]?[^#'\"\s]|@import|expression",
                                          element.text or "", re.IGNORECASE):
            raise refuse("has a style that fetches another file")
        for attribute, value in element.attrib.items():
            local = attribute.split("}")[-1].lower()
            if local.startswith("on"):
                raise refuse(f"has an event handler ({local}=)")
            if local == "href" and not value.strip().startswith("#"):
                raise refuse(f"links to {value.strip()[:60]!r}")
            if re.search(r"javascript:|url\(\s*['\"]?[^#'\"\s)]|@import", value, re.IGNORECASE):
                raise refuse(f"has a {local}= that fetches another file or runs script")


def _check_bytes(rel: str, data: bytes) -> None:
    from PIL import Image, UnidentifiedImageError   # only when there is a picture to check

    expected = SUFFIXES[PurePosixPath(rel).suffix.lower()]
    try:
        with warnings.catch_warnings(), Image.open(io.BytesIO(data), formats=list(FORMATS)) as image:
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            kind, (width, height) = image.format, image.size
            if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
                raise MediaError(f"content/{rel} is {width:,} x {height:,} pixels; a picture may "
                                 f"have at most {MAX_PIXELS:,} pixels and {MAX_SIDE:,} a side: "
                                 "resize it (about 1,000 pixels wide is plenty)")
            image.verify()
    except MediaError:
        raise
    except Image.DecompressionBombError:
        raise MediaError(f"content/{rel} has far too many pixels; a picture may have at most "
                         f"{MAX_PIXELS:,}: resize it (about 1,000 pixels wide is plenty)") from None
    except UnidentifiedImageError:
        raise MediaError(f"content/{rel} is not a picture (its contents are not a JPEG, PNG, GIF "
                         "or WebP image); save the photo again as .jpg or .png") from None
    except Exception as err:              # Pillow's decoders raise many kinds: all mean broken
        raise MediaError(f"content/{rel} is a damaged picture ({err}); save it again") from None
    if kind != expected:
        raise MediaError(f"content/{rel} holds a {kind} image but its name ends "
                         f"{PurePosixPath(rel).suffix}; rename it to end "
                         f"{FORMATS[kind][0]}")


def image_file(content: Path, rel: str, *, svg: bool = False) -> Path:
    """The real path of a picture that passed every check (see :func:`read_image`)."""
    return read_image(content, rel, svg=svg)[0]


__all__ = ["MediaError", "resolve", "read_image", "image_file", "check_svg", "FORMATS", "MAX_BYTES",
           "MAX_PIXELS"]
