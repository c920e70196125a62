"""Record kinds that only the website shows: editors' free pages (content/pages/<id>.md).
(The impact figures of content/impact.yml are records/impact.py's one model.) Field types and
messages as in schema.py."""
from __future__ import annotations

from typing import Annotated, Any, Optional

from pydantic import BeforeValidator, field_validator

from .schema import Line, Record, Text, _choice

NAV_SECTIONS = {
    "courses": "Courses", "support": "Support for schools", "train": "Train to teach",
    "about": "About us", "news": "News",
}


class FreePage(Record):
    """An editor's page of its own: content/pages/<id>.md, published as <id>.html."""

    title: Line
    summary: Optional[Line] = None                # the page's description for search and links
    nav: Optional[Annotated[str, BeforeValidator(_choice(*NAV_SECTIONS))]] = None
    order: int = 100                              # smaller first within its section
    body: Text

    @field_validator("order", mode="before")
    @classmethod
    def _whole(cls, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{value!r} should be a whole number, e.g. 10")
        return value
