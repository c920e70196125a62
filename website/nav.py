"""The site's nav: sections only, shown as tabs across the top on a wide screen.

Record pages stay out of the nav: Material repeats the nav on every page, so listing thousands
of pages in it makes the build quadratic. Editors' free pages join the section their ``nav:``
names, in their ``order``.
"""
from __future__ import annotations

from typing import Any

from records.impact import shown_parts
from records.schema import NAV_SECTIONS, FreePage
from records.tree import Records

from .paths import Paths


def free_pages_in(records: Records, section: str) -> list[FreePage]:
    """An editor's pages of one nav section, in their order."""
    return sorted((p for p in records.pages.values() if p.nav == section),
                  key=lambda p: (p.order, p.title.casefold(), p.id))


def nav(records: Records | None = None) -> list[Any]:
    """Sections only (the top-level tabs on a wide screen). Record pages stay out of the nav:
    Material repeats the nav on every page, so listing thousands of pages in it makes the
    build quadratic. Editors' free pages join the section their ``nav:`` names."""
    def extra(section: str) -> list[dict]:
        if records is None:
            return []
        return [{p.title: str(Paths.free_page(p.id))} for p in free_pages_in(records, section)]

    impact = []
    if records is not None and shown_parts(records.impact, records.impact_published):
        impact = [{"Our impact": str(Paths.impact)}]
    sections = [
        ("courses", [{"Find a course": str(Paths.catalogue)}, *extra("courses"),
                     {"Past courses": str(Paths.archive)}]),
        ("support", [*extra("support"), {"SLE directory": str(Paths.sles)}]),
        ("train", extra("train")),
        ("about", [{"Member schools": str(Paths.schools)}, {"Strategic Board": str(Paths.board)},
                   *extra("about")]),
        ("news", [{"News and stories": str(Paths.news)}, {"Newsletters": str(Paths.newsletters)},
                  *impact, *extra("news")]),
    ]
    result: list[Any] = [{"Home": str(Paths.home)}]
    for section, items in sections:
        if len(items) == 1:               # a tab of one page: the page itself
            result.append({NAV_SECTIONS[section]: next(iter(items[0].values()))})
        elif items:
            result.append({NAV_SECTIONS[section]: items})
    return result


# gitignore-style patterns (MkDocs' not_in_nav) for the pages deliberately left out of the nav
NOT_IN_NAV = ["/courses/*.md", "/archive/*.md", "/sles/", "/news/*.md", "/newsletters/*.md",
              "/strands/",
              "/accessibility.md",       # linked from every page's footer
              "/join.md"]                # linked from the home page and the newsletter archive


