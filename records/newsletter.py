"""Who belongs to which audience and what each reader's edition holds (CONTENT-FORMAT.md).

Shared by the mailer (one email per reader) and the website (the newsletter archive), so
both halves always agree on what an edition says to whom.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable

from .schema import Audience, Course, Edition, NewsItem
from .tree import Records

FIRST_EDITION_NEWS = 5   # a first edition has no "previous edition": show the latest few stories


def audience_for(roles: Iterable[str], audiences: dict[str, Audience]) -> str | None:
    """The first audience, in file order, sharing one of the roles; else the default audience."""
    roles = set(roles)
    for audience_id, audience in audiences.items():
        if roles & set(audience.roles):
            return audience_id
    return next((a_id for a_id, a in audiences.items() if a.default), None)


def edition_audiences(edition: Edition, audiences: dict[str, Audience]) -> list[str]:
    """The audiences an edition goes to, in file order (all when the edition names none)."""
    wanted = set(edition.audiences) if edition.audiences is not None else set(audiences)
    return [a_id for a_id in audiences if a_id in wanted]


def course_window(edition: Edition) -> tuple[dt.date, dt.date]:
    return edition.date, edition.date + dt.timedelta(weeks=edition.course_weeks)


def courses_for(records: Records, edition: Edition, audience: Audience,
                phases: Iterable[str] = ()) -> list[Course]:
    """Courses that suit a reader of ``audience`` with ``phases``, soonest first.

    Not cancelled; a session inside the edition's window; the course's audience shares a role
    with the reader's audience (an audience without roles, such as a default "friends" list,
    hears about everything); and the phases meet (no phase on either side matches all).
    Full courses stay in: the email marks them full.
    """
    start, end = course_window(edition)
    phases = set(phases)
    roles = set(audience.roles)
    chosen = []
    for course in records.with_sessions_between(start, end):
        if course.status == "cancelled":
            continue
        if roles and not roles & set(course.audience):
            continue
        if phases and course.phase and not phases & set(course.phase):
            continue
        chosen.append(course)
    return sorted(chosen, key=lambda c: (_next_date(c, start), c.title.lower(), c.id))


def _next_date(course: Course, start: dt.date) -> dt.date:
    return min((s.date for s in course.sessions if s.date >= start), default=course.first_date)


def news_for(records: Records, edition: Edition) -> list[NewsItem]:
    """News published after the previous edition's date, up to this edition's, newest first."""
    previous = records.previous_edition(edition.id)
    upto = [n for n in records.news if n.date <= edition.date]      # records.news: newest first
    if previous is None:
        return upto[:FIRST_EDITION_NEWS]
    return [n for n in upto if n.date > previous.date]


@dataclass(frozen=True)
class VariantKey:
    """What makes two readers' emails differ: their audience and the phases that matter."""

    audience: str
    phases: tuple[str, ...]

    @property
    def slug(self) -> str:
        return "--".join([self.audience, *self.phases]) if self.phases else f"{self.audience}--all-phases"
