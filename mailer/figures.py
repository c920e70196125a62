"""The building blocks of the board report: counts of people that are never shown under 5,
tables, charts' data, sections; and the words for vocabulary (roles, phases, interests).

A count of people is a :class:`People`; anything that counts fewer than 5 people shows as
"fewer than 5" wherever it appears: table, chart, sentence, published page. A total whose
single hidden part subtraction would reveal is an :class:`AtLeast` ("at least 23"). Counts of things
(courses, schools, editions) are plain ints and shown as they are in the report.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Union

SMALL = 5
FEWER = "fewer than 5"
_UPPER = {"send": "SEND", "eyfs": "EYFS", "itt": "ITT", "cpd": "CPD", "sle": "SLE", "ect": "ECT",
          "senco": "SENCO", "itt-mentoring": "ITT mentoring", "post-16": "post-16"}
_PLURAL = {"ect": "ECTs", "senco": "SENCOs", "support-staff": "support staff", "staff": "staff"}


@dataclass(frozen=True, order=True)
class People:
    n: int

    @property
    def small(self) -> bool:
        return self.n < SMALL

    def __str__(self) -> str:
        return FEWER if self.small else f"{self.n:,}"


@dataclass(frozen=True, order=True)
class AtLeast:
    """A total of parts shown elsewhere, some of them hidden: shown as the sum of the parts that
    are shown ("at least 23"), since the exact total would give the hidden ones away by
    subtraction, here or one level up."""

    n: int
    small = False

    def __str__(self) -> str:
        return f"at least {self.n:,}" if self.n else "fewer than 5 in each group"


def people_total(parts: list[int]) -> "People | AtLeast":
    """The total of some counts of people, each shown on its own elsewhere in the report."""
    total = sum(parts)
    if total < SMALL or len(parts) < 2 or all(p >= SMALL for p in parts):
        return People(total)
    return AtLeast(sum(p for p in parts if p >= SMALL))


Cell = Union[People, AtLeast, int, float, str]


def show(cell: Any) -> str:
    """A cell as the report prints it."""
    if isinstance(cell, (People, AtLeast)):
        return str(cell)
    if isinstance(cell, bool):
        return "yes" if cell else "no"
    if isinstance(cell, int):
        return f"{cell:,}"
    if isinstance(cell, float):
        return f"{cell:.1f}"
    return "" if cell is None else str(cell)


def plottable(cell: Any) -> float:
    """A cell's value on a chart: a small count of people is drawn as nothing (its label says
    "fewer than 5"), so no bar gives away what the table hides."""
    if isinstance(cell, People):
        return 0.0 if cell.small else float(cell.n)
    if isinstance(cell, AtLeast):
        return float(cell.n)
    return float(cell or 0)


@dataclass
class Table:
    caption: str
    columns: list[str]
    rows: list[list[Cell]]
    numeric: tuple[int, ...] = ()           # column indexes right-aligned

    def shown(self) -> list[list[str]]:
        return [[show(c) for c in row] for row in self.rows]


@dataclass
class Chart:
    id: str                                 # file name stem: charts/<id>.svg
    title: str
    summary: str                            # the chart in words (also its alt text)
    categories: list[str]
    series: list[tuple[str, list[Cell]]]    # (legend label, one value per category)
    axis: str                               # what the bars measure
    table: Table
    stacked: bool = False
    panels: bool = False                    # each series in its own panel, side by side
    limit: float | None = None              # the axis' end (e.g. 5 for a rating)


@dataclass
class Section:
    id: str
    title: str
    paragraphs: list[str] = field(default_factory=list)
    bullets: list[str] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    quotes: list[tuple[str, str]] = field(default_factory=list)      # (course title, quote)


@dataclass
class Report:
    alliance: str
    start: dt.date
    end: dt.date
    ahead_weeks: int
    generated: dt.date
    sections: list[Section]

    def section(self, section_id: str) -> Section:
        return next(s for s in self.sections if s.id == section_id)


def capital(text: str) -> str:
    """A sentence starts with a capital, even when it starts with "fewer than 5" or "at least"."""
    return text[:1].upper() + text[1:]


def label(word: str) -> str:
    """'teaching-assistant' -> 'teaching assistant', 'send' -> 'SEND'."""
    return _UPPER.get(word) or word.replace("-", " ")


def title_label(word: str) -> str:
    text = label(word)
    return text if text[:1].isupper() else text[:1].upper() + text[1:]


def plural(word: str) -> str:
    return _PLURAL.get(word) or label(word) + "s"


def count_words(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def people_words(count: People, one: str = "person", many: str = "people") -> str:
    """'87 people', 'fewer than 5 people', '1 person'."""
    if count.small:
        return f"{FEWER} {many}"
    return f"{count.n:,} {one if count.n == 1 else many}"
