"""Honest facts about the course offer, computed in one place for every page and file.

A course's state on a given day (under way, full, bookable...), its school terms, and every
count shown anywhere ("12 upcoming courses", "3 in Leadership") come from here, so the home
page, the course finder, courses.json and the newsletters cannot disagree.

Terms follow the school year in England: autumn is September to December, spring from
January to Easter Sunday, summer from the day after Easter to August. A course's terms are
those of its sessions still to come, so "spring 2027" finds a programme that runs on into the
spring as well as one that starts then.
"""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from typing import Iterable

from .schema import STRANDS, Course, Session


# --- terms ---------------------------------------------------------------------------------

@functools.lru_cache(maxsize=256)
def easter(year: int) -> dt.date:
    """Easter Sunday (Gregorian; the anonymous algorithm, as in Meeus)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l = (32 + 2 * e + 2 * i - h - k) % 7          # noqa: E741 (the algorithm's own name)
    m = (a + 11 * h + 22 * l) // 451
    month, day = divmod(h + l - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


@dataclass(frozen=True, order=True)
class Term:
    start: dt.date
    id: str            # "spring-2027": what the finder's query string says
    label: str         # "Spring 2027"


@functools.lru_cache(maxsize=4096)
def term_of(day: dt.date) -> Term:
    if day.month >= 9:
        name, start = "autumn", dt.date(day.year, 9, 1)
    elif day <= easter(day.year):
        name, start = "spring", dt.date(day.year, 1, 1)
    else:
        name, start = "summer", easter(day.year) + dt.timedelta(days=1)
    return Term(start, f"{name}-{day.year}", f"{name.capitalize()} {day.year}")


# --- one course on one day -------------------------------------------------------------------

@dataclass(frozen=True)
class Facts:
    course: Course
    next_session: Session | None   # the first session today or later; None once finished
    remaining: tuple[Session, ...]  # sessions today or later, in date order
    started: bool                  # the first session is past, the last is not
    finished: bool
    cancelled: bool
    full: bool                     # status full, or no places left
    places_left: int | None
    bookable: bool                 # someone can book it today
    terms: tuple[Term, ...]        # of the remaining sessions, in order
    online: bool                   # some remaining session is online
    in_person: bool                # some remaining session is at a venue

    @property
    def status(self) -> str:
        """One word for the state, in words (never colour alone): see :data:`STATUS_TEXT`."""
        if self.cancelled:
            return "cancelled"
        if self.finished:
            return "finished"
        if self.full:
            return "full"
        if self.started and not self.bookable:
            return "started"
        return "open"

    @property
    def status_text(self) -> str:
        return STATUS_TEXT[self.status]

    @property
    def late_joining_text(self) -> str:
        """For a course under way: whether someone can still join."""
        late = self.course.late_joining
        if late is True:
            return "Late joiners are welcome."
        if late is False:
            return "It is too late to join."
        return "Ask us whether you can still join."

    @property
    def term_text(self) -> str:
        if not self.terms:
            return ""
        first, last = self.terms[0], self.terms[-1]
        return first.label if first == last else f"{first.label} to {last.label}"


STATUS_TEXT = {"open": "Open", "full": "Full", "cancelled": "Cancelled", "started": "Under way",
               "finished": "Finished"}


def facts(course: Course, today: dt.date) -> Facts:
    sessions = course.dated_sessions
    remaining = tuple(s for s in sessions if s.date >= today)
    finished = not remaining
    started = not finished and sessions[0].date < today
    cancelled = course.status == "cancelled"
    full = course.status == "full" or course.places_left == 0
    can_join = not started or course.late_joining is True
    bookable = (not finished and not cancelled and not full and can_join and bool(course.booking))
    return Facts(
        course=course, next_session=remaining[0] if remaining else None, remaining=remaining,
        started=started, finished=finished, cancelled=cancelled, full=full,
        places_left=course.places_left, bookable=bookable,
        terms=tuple(dict.fromkeys(term_of(s.date) for s in remaining)),
        online=any(s.online for s in remaining), in_person=any(not s.online for s in remaining))


def is_past(session: Session, today: dt.date) -> bool:
    return session.date < today


# --- the whole offer on one day -----------------------------------------------------------

@dataclass
class Offer:
    """Every upcoming course that is going ahead, soonest next session first, with its facts.
    Every count on the site is :meth:`count`. A cancelled course is not on offer: it is left
    out of the finder, the lists and every count ("ECTs (1)" must not lead to a cancelled
    course), keeps its page saying it is cancelled, and is in ``cancelled`` and ``facts``."""

    today: dt.date
    courses: list[Course]
    facts: dict[str, Facts]                   # of every upcoming course, cancelled ones too
    cancelled: list[Course] = field(default_factory=list)

    @classmethod
    def of(cls, courses: Iterable[Course], today: dt.date) -> "Offer":
        upcoming = [c for c in courses if c.is_upcoming(today)]
        # a course's facts are its own and the day's: made once (the preview's unchanged courses
        # keep them from save to save, and with them their pages' signatures)
        found = {c.id: c.derived(("facts", today), lambda c=c: facts(c, today)) for c in upcoming}
        upcoming.sort(key=lambda c: (found[c.id].next_session.date, c.title.casefold(), c.id))
        return cls(today, [c for c in upcoming if not found[c.id].cancelled], found,
                   [c for c in upcoming if found[c.id].cancelled])

    def listed(self) -> list[Course]:
        """The offer and the cancelled courses, soonest next session first (courses.json)."""
        return sorted(self.courses + self.cancelled, key=lambda c: (
            self.facts[c.id].next_session.date, c.title.casefold(), c.id))

    def count(self, strand: str | None = None) -> int:
        """The number of upcoming courses, in all or in one strand: the one count."""
        if strand is None:
            return len(self.courses)
        return len(self.in_strand(strand))

    def in_strand(self, strand: str) -> list[Course]:
        return list(self._by_strand().get(strand, ()))

    def _by_strand(self) -> dict[str, list[Course]]:
        """The offer strand by strand, made once (the site counts each strand many times)."""
        found = self.__dict__.get("_strands")
        if found is None:
            found = self.__dict__["_strands"] = {}
            for course in self.courses:
                found.setdefault(course.strand, []).append(course)
        return found

    def counts_by_strand(self) -> dict[str, int]:
        return {s: self.count(s) for s in STRANDS}

    def bookable(self) -> list[Course]:
        return [c for c in self.courses if self.facts[c.id].bookable]

    def terms(self) -> list[Term]:
        """Every term with a session still to come, in order."""
        return sorted({t for f in self.facts.values() for t in f.terms})

    def alternatives(self, course: Course, limit: int = 3) -> list[Course]:
        """Up to ``limit`` bookable courses for the same audience as ``course`` (sharing a
        role), those sharing a phase and then the strand first, then the soonest."""
        roles = set(course.audience)
        phases = set(course.phase)
        # ranks: 0 shares the phase and the strand, 1 the phase only, 2 the strand only, 3
        # neither; the courses are soonest first, so the first `limit` of rank 0 end the search
        ranked: tuple[list, list, list, list] = ([], [], [], [])
        for other, other_id, audience, other_phases in self._bookable():
            if other_id == course.id or not roles & audience:
                continue
            shares_phase = not phases or not other_phases or bool(phases & other_phases)
            ranked[2 * (not shares_phase) + (other.strand != course.strand)].append(other)
            if len(ranked[0]) >= limit:
                break
        return [c for rank in ranked for c in rank][:limit]

    def _bookable(self) -> list[tuple[Course, str, set, set]]:
        """The bookable courses, soonest first, with their audiences and phases as sets:
        made once per offer (every full course's page asks for alternatives)."""
        found = self.__dict__.get("_bookable_sets")
        if found is None:
            found = self.__dict__["_bookable_sets"] = [
                (c, c.id, set(c.audience), set(c.phase)) for c in self.courses
                if self.facts[c.id].bookable]
        return found
