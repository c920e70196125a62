"""The Nu HTML Checker's findings on the built site that are mkdocs-material's own markup, not
ours: the one list of them (tests/test_html_valid.py reads it).

Each entry is a message of the checker plus a pattern the offending source (the checker's
"extract") must contain, so an entry excuses exactly that element of the theme and nothing we
write. Measured on mkdocs-material 9.8.1 (2-3 per stock page, measured when this list was made).
When Material is upgraded, or its partial is overridden in overrides/, remove what no longer
appears: tests/test_html_valid.py fails on an entry that matched nothing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Allowed:
    message: str            # a regular expression matched against the checker's message
    extract: str            # a regular expression the offending source must contain
    why: str

    def matches(self, finding: dict) -> bool:
        return (re.search(self.message, finding.get("message", "")) is not None
                and re.search(self.extract, finding.get("extract", "")) is not None)


ALLOWED = [
    Allowed(
        message=r"^Attribute 'autocomplete' is only allowed when the input type is",
        extract=r'<input class="md-toggle" data-md-toggle="(drawer|search)" type="checkbox"'
                r' id="__(drawer|search)" autocomplete="off">',
        why="base.html: Material's drawer and search toggles are checkboxes with "
            "autocomplete=\"off\", so that Firefox does not restore them checked after "
            "going back. HTML allows autocomplete on text-like inputs only."),
    Allowed(
        message=r"^Attribute 'autocorrect' not allowed on element 'input' at this point\.$",
        extract=r'<input type="text" class="md-search__input" name="query"',
        why="partials/search.html: autocorrect=\"off\" on the search box is Safari's (iOS "
            "would 'correct' search words); not in the HTML standard. Our copy of the partial "
            "(for the dialog's name) keeps it: it helps iPhone users."),
    Allowed(
        message=r"^Bad value '' for attribute 'tabindex' on element 'label'",
        extract=r'<label class="md-nav__link[^"]*" for="__nav_\d+(_\d+)*" '
                r'id="__nav_\d+(_\d+)*_label" tabindex="">',
        why="partials/nav-item.html: a section's label in the navigation gets "
            "tabindex=\"{{ tabindex }}\", empty for sections (navigation.sections). Browsers "
            "ignore an empty tabindex, so the label is simply not a Tab stop, as intended."),
    Allowed(
        message=r"^The value of the 'for' attribute of the 'label' element must be the ID of "
                r"a non-hidden form control\.$",
        extract=r'<label class="md-nav__title" for="__toc">',
        why="partials/toc.html: the table of contents' title is a label for the __toc toggle, "
            "which Material writes only into the navigation's entry for the page. Our record "
            "pages (courses, SLEs, newsletters) are left out of the navigation on purpose "
            "(a nav of thousands of pages makes the build quadratic), so on them the label "
            "points at nothing; it is still the visible title of the contents list."),
]
