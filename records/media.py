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


def resolve(content: Path, rel: str) -> Path:
    """The file ``rel`` names inside ``content``, refusing links and anything outside."""
    parts = _parts(rel)
    suffix = PurePosixPath(parts[-1]).suffix.lower() if parts else ""
    if suffix not in SUFFIXES:
        raise MediaError(f"{rel!r} is not a picture the website can show: use a .jpg, .png, "
                         ".gif or .webp file")
    current = Path(content)
    for number, part in enumerate(parts):
        current = current / part
        try:
            info = os.lstat(current)
        except FileNotFoundError:
            raise MediaError(f"no file content/{rel}; add the picture or remove the line") from None
        except OSError as err:
            raise MediaError(f"cannot read content/{rel}: {err.strerror}") from None
        if stat.S_ISLNK(info.st_mode):
            raise MediaError(f"content/{'/'.join(parts[:number + 1])} is a link to another file; "
                             "put the picture itself in content/, not a link to it")
    real = Path(os.path.realpath(current))
    if not real.is_relative_to(Path(os.path.realpath(content))):
        raise MediaError(f"content/{rel} is outside content/; put the picture in content/")
    return real


def read_image(content: Path, rel: str) -> tuple[Path, bytes]:
    """(real path, bytes) of a picture that passed every check; MediaError otherwise."""
    real = resolve(content, rel)
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
    _check_bytes(rel, data)
    return real, data


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


def image_file(content: Path, rel: str) -> Path:
    """The real path of a picture that passed every check (see :func:`read_image`)."""
    return read_image(content, rel)[0]


__all__ = ["MediaError", "resolve", "read_image", "image_file", "FORMATS", "MAX_BYTES", "MAX_PIXELS"]
