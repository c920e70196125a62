"""Editors' Markdown → safe HTML: ONE policy, used by the website and by the emails.

    html = to_html(course.body)                       # rendered, then sanitised (nh3)
    body_problems(record, problems)                   # a warning per thing the policy removed

Record bodies are Markdown, and Markdown lets raw HTML through. A shop window for schools and a
newsletter need headings, lists, links, tables and emphasis; they never need scripts, frames,
forms, event handlers, `javascript:` or `data:` links, or pictures fetched from other websites
(which tell a third party who read what: tracking pixels). The allow-list below is the whole
policy; nh3 (ammonia) applies it to the rendered HTML, so nothing outside it reaches a page or
an email however it was written (raw HTML, entities, attribute lists, reference links).

Editors are told what was removed, at the line where they wrote it, as warnings (errors under
``--strict``): the build goes on, without the removed part.
"""
from __future__ import annotations

import functools
import os
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import urlsplit

import nh3

from .problems import Problems

# --- the policy ----------------------------------------------------------------------------

TAGS = frozenset({
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "b", "i", "s", "del",
    "ins", "sub", "sup", "small", "mark", "abbr", "q", "cite", "blockquote", "ul", "ol", "li",
    "dl", "dt", "dd", "a", "img", "code", "pre", "kbd", "table", "caption", "thead", "tbody",
    "tfoot", "tr", "th", "td", "div", "span", "details", "summary",
})
# Removed together with everything inside them: their content is code or a foreign document.
CONTENT_REMOVED = frozenset({
    "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "noscript",
    "template", "svg", "math", "textarea", "select", "title", "head", "canvas", "audio", "video",
})
ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"},
    "ol": {"start"},
    "th": {"style", "colspan", "rowspan"},
    "td": {"style", "colspan", "rowspan"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
STYLE_PROPERTIES = frozenset({"text-align"})          # table column alignment, from Markdown
_ADMONITIONS = {"admonition", "note", "abstract", "info", "tip", "success", "question", "warning",
                "failure", "danger", "bug", "example", "quote"}
CLASSES = {"div": _ADMONITIONS, "p": {"admonition-title"}}   # class= nowhere else
# What the Markdown may use (the site's own extensions, minus anything that injects HTML).
EXTENSIONS = ["tables", "fenced_code", "admonition", "attr_list", "sane_lists"]


def _is_remote(url: str) -> bool:
    # as a browser reads it: spaces and controls dropped, "\\" as "/" ("\\\\host\\p.gif" is remote)
    url = re.sub(r"[\x00-\x20\x7f]", "", url).replace("\\", "/")
    parts = urlsplit(url)
    return bool(parts.scheme or parts.netloc or url.startswith("//"))


def _attribute(element: str, attribute: str, value: str) -> str | None:
    """Beyond the allow-list: an image only from this site (a picture from elsewhere is a
    tracking pixel in an email, and shows a third party who reads the page)."""
    if element == "img" and attribute == "src" and _is_remote(value):
        return None
    return value


_IMG = re.compile(r"<img\b([^>]*)>")
_ALT = re.compile(r'\salt="([^"]*)"')


def _drop_sourceless(match: re.Match) -> str:
    """An <img> whose src the policy removed becomes its alt text (nh3's output is normalised:
    attributes double-quoted and escaped, so this reads it reliably)."""
    attrs = match.group(1)
    if ' src="' in attrs:
        return match.group(0)
    alt = _ALT.search(attrs)
    return alt.group(1) if alt else ""


def sanitise(html: str) -> str:
    """HTML with everything outside the policy removed."""
    return _IMG.sub(_drop_sourceless, _clean(html))


def _clean(html: str) -> str:
    return nh3.clean(html, tags=set(TAGS), clean_content_tags=set(CONTENT_REMOVED),
                     attributes={k: set(v) for k, v in ATTRIBUTES.items()},
                     attribute_filter=_attribute, url_schemes=set(URL_SCHEMES),
                     filter_style_properties=set(STYLE_PROPERTIES),
                     allowed_classes={k: set(v) for k, v in CLASSES.items()},
                     strip_comments=True, link_rel="noopener noreferrer")


_MD: Any = None        # made on first use: `check` of plain bodies never needs it


def raw_html(text: str | None) -> str:
    """The Markdown rendered, before sanitising (what an editor's text asks for)."""
    global _MD
    if _MD is None:
        import importlib
        import markdown as markdown_lib
        # the extensions' own modules, not their names: a name is looked up among every
        # installed package's entry points first, which costs more than the rendering
        _MD = markdown_lib.Markdown(extensions=[
            importlib.import_module(f"markdown.extensions.{name}").makeExtension()
            for name in EXTENSIONS], output_format="html")
    _MD.reset()
    return _MD.convert(text or "")


def to_html(text: str | None) -> str:
    """An editor's Markdown as HTML that is safe on the site and in an email."""
    return sanitise(raw_html(text))


def without_html(text: str | None) -> str:
    """Markdown source with its raw HTML taken out under the same policy, for plain-text
    renderings (an email's text part and preheader): every tag dropped, and the content of
    scripts, frames and the like with it; the rest kept, HTML-escaped (unescape it last)."""
    return nh3.clean(text or "", tags=set(), clean_content_tags=set(CONTENT_REMOVED),
                     attributes={}, strip_comments=True)


# --- telling editors what was removed -----------------------------------------------------------

class _Tags(HTMLParser):
    """Start tags in document order (tag, attributes); nothing inside a CONTENT_REMOVED element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict[str, str]]] = []
        self._inside: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if self._inside:
            if tag == self._inside[0]:
                self._inside.append(tag)
            return
        self.found.append((tag, {k: v or "" for k, v in attrs}))
        if tag in CONTENT_REMOVED:
            self._inside.append(tag)

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        if not self._inside:
            self.found.append((tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        if self._inside and tag == self._inside[0]:
            self._inside.pop()


def _tags(html: str) -> list[tuple[str, dict[str, str]]]:
    parser = _Tags()
    parser.feed(html)
    parser.close()
    return parser.found


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _url_kept(tag: str, name: str, value: str) -> bool:
    """Whether nh3 keeps this link or picture address (it judges schemes, entities, spaces)."""
    probe = "a" if tag != "img" else "img"
    attribute = "href" if probe == "a" else "src"
    cleaned = _tags(sanitise(f'<{probe} {attribute}="{_attr(value)}">x</{probe}>'
                              if probe == "a" else f'<img src="{_attr(value)}" alt="">'))
    return any(attribute in attrs for _, attrs in cleaned)


def allowed_url(url: str, *, picture: bool = False) -> bool:
    """Whether the policy keeps this address as a link (or, with ``picture``, as an image)."""
    return _url_kept("img" if picture else "a", "src" if picture else "href", url)


def _attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;")


def removals(html: str) -> list[tuple[str, str]]:
    """(what to look for in the Markdown, message) for each thing the policy removes from
    ``html``: tags and attributes by the tables above, addresses as nh3 itself judges them.
    Nothing inside a removed script or frame is reported again: one mistake, one message."""
    found = []
    for tag, attrs in _tags(html):
        if tag in CONTENT_REMOVED:
            found.append((f"<{tag}", f"removed <{tag}> and what is inside it: the website and "
                          "the emails show no scripts, frames or embedded content"))
            continue
        if tag not in TAGS:
            found.append((f"<{tag}", f"removed the HTML tag <{tag}> (any text in it is kept): "
                          "use Markdown for formatting; to show a '<' as it is, write \\<"))
            continue
        allowed = ATTRIBUTES.get(tag, set())
        for name, value in attrs.items():
            if name in ("href", "src") and name in allowed:
                if not _url_kept(tag, name, value):
                    found.append((value, _url_message(tag, value)))
            elif name == "class":
                dropped = [c for c in value.split() if c not in CLASSES.get(tag, ())]
                if dropped:
                    found.append((dropped[0], f"removed class=\"{_short(' '.join(dropped))}\" "
                                  f"from <{tag}>: only the site's own styles are used"))
            elif name not in allowed:
                found.append((name, f"removed the attribute {name}= from <{tag}>: event "
                              "handlers and other HTML attributes are not allowed"))
    return found


def _url_message(tag: str, url: str) -> str:
    shown = _short(url)
    if tag == "img":
        return (f"removed the picture {shown}: pictures from other websites or data: addresses "
                "are not shown (they can track who reads the page or email)")
    return (f"removed the link to {shown}: a link must start https://, http://, mailto: or "
            "tel:, or lead to a page of this site")


# What can make the policy remove anything from a body: raw HTML (a tag, comment or autolink),
# an attribute list ({ ... = ... }), or a link or picture whose address is not plainly allowed.
# A body with none of these is not rendered to find out (`check` reads thousands of bodies).
_RAW_HTML = re.compile(r"<[a-zA-Z/!?]|\{[^}\n]*=")
_TARGET = re.compile(r"(!?)\[[^\]\n]*\]\(\s*<?([^\s)>]*)|^\s{0,3}\[[^\]\n]+\]:\s*<?(\S*)",
                     re.MULTILINE)
_PLAIN_LINK = re.compile(r"(?:https?://|mailto:|tel:)[^&]*|[^:&]*", re.IGNORECASE)
_PLAIN_PICTURE = re.compile(r"(?!//)[^:&]*")
# Blocks that depend on each other (code, reference definitions): render the body whole.
_CONTEXT = re.compile(r"^(?: {4}|\t)|^\s*(?:```|~~~)|^\s{0,3}\[[^\]\n]+\]:", re.MULTILINE)


def _suspect(text: str) -> bool:
    if _RAW_HTML.search(text):
        return True
    for match in _TARGET.finditer(text):
        picture, target = match.group(1), match.group(2) if match.group(2) is not None else match.group(3)
        plain = _PLAIN_PICTURE if picture else _PLAIN_LINK
        if not plain.fullmatch(target or ""):
            return True
    return False


def _chunks(body: str) -> list[tuple[int, str]]:
    """(first line, text) of the parts of ``body`` worth rendering: each paragraph or list
    that could lose something, alone (cheap), or the whole body when its blocks depend on
    each other."""
    if _CONTEXT.search(body):
        return [(0, body)]
    out, start, block = [], 0, []
    for number, line in enumerate(body.split("\n") + [""]):
        if line.strip():
            if not block:
                start = number
            block.append(line)
        elif block:
            text = "\n".join(block)
            if _suspect(text):
                out.append((start, text))
            block = []
    return out


@functools.lru_cache(maxsize=16384)    # the preview checks every body again on each save
def body_removals(body: str | None) -> tuple[tuple[int, str], ...]:
    """(line within the body, counted from 0; message) for each removal from ``body``."""
    if not body or not _suspect(body):
        return ()
    return tuple((start + line, message) for start, text in _chunks(body)
                 for line, message in _chunk_removals(text))


# A suspect paragraph's removals, by its text. Editors copy paragraphs from record to record,
# and `check` keeps these between runs (parallel_check.py): a re-check of an edited file whose
# suspect paragraphs are as before then neither loads nor runs Python-Markdown.
_REMOVALS: dict[str, tuple[tuple[int, str], ...]] = {}
REMOVALS_KEPT = 4096        # paragraphs


def _chunk_removals(text: str) -> tuple[tuple[int, str], ...]:
    found = _REMOVALS.get(text)
    if found is None:
        lowered = text.lower().split("\n")
        cursor: dict[str, int] = {}
        found = tuple((_find(needle, lowered, cursor), message)
                      for needle, message in removals(raw_html(text)))
        if len(_REMOVALS) >= REMOVALS_KEPT:
            _REMOVALS.clear()
        _REMOVALS[text] = found
    return found


def known_removals() -> dict[str, tuple[tuple[int, str], ...]]:
    """The suspect paragraphs worked out so far in this process, with their removals."""
    return dict(_REMOVALS)


def learn_removals(known: dict[str, tuple[tuple[int, str], ...]]) -> None:
    """Take removals worked out by an earlier run (``known_removals``) as if worked out now."""
    for text, found in list(known.items())[:REMOVALS_KEPT - len(_REMOVALS)]:
        _REMOVALS.setdefault(text, found)


def _find(needle: str, lines: list[str], cursor: dict[str, int]) -> int:
    """The first line at or after the last one found for ``needle`` that holds it; the same
    needle twice is found on successive lines (two <script>s, two bad links)."""
    key = needle.lower()
    start = cursor.get(key, 0)
    scheme, colon, rest = key.partition(":")
    # as typed, else what follows the scheme (typed with entities: jav&#97;script:...)
    probes = [key, rest, scheme + colon] if colon else [key]
    for probe in probes:
        for number in range(start, len(lines)):
            if probe and probe in lines[number]:
                cursor[key] = number + 1
                return number
    return start if start < len(lines) else 0


def body_line(path: Path, body: str) -> int:
    """The file's line number of the body's first line (the body follows the front matter)."""
    try:
        st = os.stat(path)
    except OSError:
        return 1
    return _body_line(str(path), st.st_size, st.st_mtime_ns, body)


@functools.lru_cache(maxsize=16384)     # the preview asks again on every save
def _body_line(path: str, size: int, mtime: int, body: str) -> int:
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError:
        return 1
    return _line_in(text, body)


def _line_in(text: str, body: str) -> int:
    """The line of ``text`` (the whole file) where ``body`` starts."""
    offset = text.rfind(body)
    return text.count("\n", 0, offset) + 1 if offset >= 0 else 1


def body_warnings(path: str | Path, body: str | None, text: str | None = None
                  ) -> list[tuple[int, str]]:
    """(line in the file, message) for each part of ``body`` the policy removes; ``text``:
    the file's text if already read (else it is read to find where the body starts)."""
    found = body_removals(body)
    if not found:
        return []
    first = _line_in(text, body) if text is not None else body_line(path, body)
    return [(first + line, message) for line, message in found]


def body_problems(records: Iterable[Any], root: Path, problems: Problems) -> None:
    """A warning for each part of a record's body the policy removes, at its line: as worked
    out when the file was read (tree.py keeps it with the record, so a cached record brings
    it along), else now."""
    for record in records:
        found = (getattr(record, "__pydantic_private__", None) or {}).get("_body_warnings")
        if found is None:
            found = body_warnings(Path(root) / record.path, getattr(record, "body", None))
        for line, message in found:
            problems.warning(record.path, line, "body", message)


__all__ = ["to_html", "without_html", "allowed_url", "sanitise", "raw_html", "removals", "body_removals", "body_problems", "body_warnings",
           "known_removals", "learn_removals",
           "TAGS", "ATTRIBUTES", "URL_SCHEMES"]
