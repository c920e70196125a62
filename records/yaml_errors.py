"""YAML syntax errors explained in plain words, on the line where the mistake is.

The YAML library reports where it noticed trouble, which is often lines later than the mistake
(an unclosed quote is noticed at the next field, or seven lines on) and in its own terms
("expected <block end>"). Editors need the line they got wrong and what to type instead, so
this module looks at the text itself, up to the line the library complained about, for the
mistakes editors actually make, and says how to fix the first one found:

    line, field, message, repaired = explain(text, error)

``repaired`` is the text with that one line fixed as the message says (or None), so the reader
can go on and report the file's other problems in the same run. ``lint(text)`` finds the
mistakes YAML accepts without complaint but that lose what the editor wrote (a ``#`` in an
unquoted title, a value starting with ``!``).
"""
from __future__ import annotations

import re
from typing import NamedTuple

# Fields whose values are free text: there, ' #' is much more likely lost text than a comment.
TEXT_FIELDS = frozenset({"title", "summary", "name", "subject", "aim", "label", "position",
                         "address", "notes", "town", "short_name", "organisation"})

# "  - key: value" -> indent, dash, key, value (no value for a group or list that follows)
_FIELD = re.compile(r"^(?P<indent>[ \t]*)(?P<dash>-[ \t]+)?(?P<key>[A-Za-z_][\w-]*):(?:[ \t]+(?P<value>.*?))?[ \t]*$")
_BLOCK = re.compile(r"^[|>][+-]?\d*\s*(#.*)?$")


class Explained(NamedTuple):
    line: int                  # 1-based, in the text given
    field: str                 # the field on that line, when there is one
    message: str
    repaired: str | None       # the text with this mistake fixed, to look for more


def _quoted(key: str, value: str, prefix: str) -> str:
    """``prefix key: "value"`` with the value's quotes and backslashes escaped."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'{prefix}{key}: "{escaped}"'


def _close_of(value: str) -> int:
    """Where the quote opening ``value`` closes (index), or -1 if it does not on this line."""
    mark, i = value[0], 1
    while i < len(value):
        if mark == '"' and value[i] == "\\":
            i += 2
            continue
        if value[i] == mark:
            if mark == "'" and value[i + 1:i + 2] == "'":       # '' is a quote inside '...'
                i += 2
                continue
            return i
        i += 1
    return -1


def _line_mistake(key: str, value: str, prefix: str) -> tuple[str, str] | None:
    """(message, fixed line) for a mistake in one ``key: value`` line, or None."""
    shown = f"{key}: {value}"
    if value[0] in "\"'":
        close = _close_of(value)
        mark = value[0]
        if close < 0:
            return (f"a quote is opened but never closed; add the closing {mark} at the end of "
                    "the value", f"{prefix}{shown}{mark}")
        rest = value[close + 1:].strip()
        if rest and not rest.startswith("#"):
            inner = value[1:].rstrip()[:-1] if value.rstrip().endswith(mark) else value[1:]
            if mark == '"' and "'" not in inner:
                fixed = f"{key}: '{inner}'"
                return ("a quoted value holds the same quote mark inside it; put the value in "
                        f"single quotes instead: {fixed}", prefix + fixed)
            if mark == "'" and '"' not in inner:
                fixed = f'{key}: "{inner}"'
                return ("a quoted value holds the same quote mark inside it; put the value in "
                        f"double quotes instead: {fixed}", prefix + fixed)
            fixed = _quoted(key, inner.replace('\\"', '"'), "")
            return ("a quoted value holds both kinds of quote mark; put it in double quotes and "
                    f"write \\\" for each double quote inside: {fixed}", prefix + fixed)
        return None
    if value[0] in "*&!" and not value.startswith("!!"):
        fixed = _quoted(key, value, "")
        return (f"a value cannot start with {value[0]} unquoted; put the whole value in double "
                f"quotes: {fixed}", prefix + fixed)
    if value[0] == "[" and "]" not in value:
        return ("a list opened with [ is not closed; end it with ] on the same line",
                f"{prefix}{shown}]")
    core = re.split(r"\s#", value, maxsplit=1)[0]          # without a comment after it
    if value[0] not in "[{" and re.search(r":(\s|$)", core):
        fixed = _quoted(key, value, "")
        return ("the value holds ': ' (colon and space), which YAML reads as a new field; put "
                f"the whole value in double quotes: {fixed}", prefix + fixed)
    return None


def _fields(lines: list[str]):
    """(index, match) of each ``key: value`` line, skipping block text (``|``, ``>``) and comments."""
    block_indent = None
    for i, text in enumerate(lines):
        indent = len(text) - len(text.lstrip(" \t"))
        if block_indent is not None:
            if not text.strip() or indent > block_indent:
                continue
            block_indent = None
        match = _FIELD.match(text)
        if match:
            yield i, match
            if match["value"] and _BLOCK.match(match["value"]):
                block_indent = len(match["indent"])


def _key_column(text: str) -> int:
    """The column where this line's field name starts (after any '- ')."""
    match = _FIELD.match(text)
    if not match:
        return len(text) - len(text.lstrip())
    return len(match["indent"]) + len(match["dash"] or "")


def _previous(lines: list[str], index: int) -> int | None:
    for j in range(index - 1, -1, -1):
        if lines[j].strip() and not lines[j].lstrip().startswith("#"):
            return j
    return None


def _indentation(lines: list[str], index: int) -> Explained | None:
    """A line indented differently from the field above it (or with a tab)."""
    text = lines[index]
    before = _previous(lines, index)
    if before is None:
        return None
    lead = text[:len(text) - len(text.lstrip(" \t"))]
    column = _key_column(lines[before])
    fixed_lines = list(lines)
    fixed_lines[index] = " " * column + text.lstrip(" \t")
    repaired = "\n".join(fixed_lines)
    match, above = _FIELD.match(text), _FIELD.match(lines[before])
    if "\t" in lead:
        return Explained(index + 1, "", "a tab is used to indent this line; indent with spaces only",
                         repaired)
    if not match or not above or not above["value"] or len(lead) == column:
        return None          # the line above opens a group: this one may well belong under it
    return Explained(index + 1, "", "this line is indented differently from the line above; line "
                     f"up `{match['key']}:` with `{above['key']}:` (the same number of spaces)",
                     repaired)


def explain(text: str, error: Exception) -> Explained:
    """The first mistake up to the line where the YAML library stopped, in plain words."""
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    lines = text.split("\n")
    stop = min(mark.line if mark else len(lines) - 1, len(lines) - 1)
    problem = getattr(error, "problem", None) or str(error)
    if "given twice" in problem:
        return Explained(stop + 1, "", f"{problem}; keep one and delete the other",
                         _without_entry(lines, stop))
    if "field name" in problem:
        return Explained(stop + 1, "", problem, None)
    for i, match in _fields(lines):
        if i > stop:
            break
        if "\t" in match["indent"]:
            found = _indentation(lines, i)
            if found:
                return found
        value = match["value"]
        if not value or value.startswith("#"):
            continue
        prefix = match["indent"] + (match["dash"] or "")
        mistake = _line_mistake(match["key"], value, prefix)
        if mistake:
            message, fixed = mistake
            fixed_lines = list(lines)
            fixed_lines[i] = fixed
            return Explained(i + 1, match["key"], message, "\n".join(fixed_lines))
    found = _indentation(lines, stop) if 0 <= stop < len(lines) else None
    if found:
        return found
    return Explained(stop + 1, "", f"YAML syntax error: {problem}", None)


def _without_entry(lines: list[str], index: int) -> str:
    """The text without the field at ``index`` and the lines indented below it (a repeated
    field: the first one is kept, as the message's reader will probably do)."""
    indent = len(lines[index]) - len(lines[index].lstrip())
    end = index + 1
    while end < len(lines) and (not lines[end].strip()
                                or len(lines[end]) - len(lines[end].lstrip()) > indent):
        end += 1
    return "\n".join(lines[:index] + lines[end:])


class Lint(NamedTuple):
    line: int
    field: str
    message: str               # a warning: the file is read, but not as the editor meant


def lint(text: str) -> list[Lint]:
    """Mistakes YAML accepts silently but that lose what the editor wrote: a ' #' in an
    unquoted text field (a value starting with ``!`` is left to the YAML reader, which refuses
    it, and then to :func:`explain`)."""
    if " #" not in text:      # the common case costs one scan
        return []
    found = []
    for i, match in _fields(text.split("\n")):
        value, key = match["value"], match["key"]
        if not value or value[0] in "\"'[{|>":
            continue
        # ' #' (one space) in text is lost text; a real comment is usually set off by two
        if key in TEXT_FIELDS and re.search(r"(?<=\S) #", value):
            fixed = _quoted(key, value, "")
            found.append(Lint(i + 1, key, "the text from ' #' on is dropped (YAML reads it as a "
                              f"comment); put the whole value in double quotes: {fixed}"))
    return found
