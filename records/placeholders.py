"""The placeholder words `build.py new` writes, and how `check` tells them apart from an
editor's own: a new record passes `check` as written (so an editor can save it at once), but
its placeholders must not reach the website unnoticed, so each is a warning at its line."""
from __future__ import annotations

import re

SUMMARY = "One or two sentences about the {kind}."
BODY = ("Write {what} here, in Markdown: paragraphs, **bold**, [links](https://example.org) "
        "and lists.")
TEXT = "Write the {name} here"
TOWN = "Town"

_PATTERNS = [re.compile(re.escape(p).replace(r"\{kind\}", "[a-z ]+").replace(r"\{what\}", ".+")
                        .replace(r"\{name\}", "[a-z ]+"))
             for p in (SUMMARY, BODY, TEXT)]


_STARTS = ("One", "Wri", "Tow")      # what every placeholder starts with: a cheap first test


def is_placeholder(field: str, value: object) -> bool:
    if not isinstance(value, str) or value[:3] not in _STARTS:
        return False
    text = value.strip()
    if field == "town" and text == TOWN:
        return True
    return any(p.fullmatch(text) for p in _PATTERNS)
