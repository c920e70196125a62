"""Cross-references and vocabularies, all in one place, with "did you mean".

Every reference from one record to another (a school, a venue, an SLE, an audience) and every
vocabulary word is checked here against the known ids, after all files are read.
"""
from __future__ import annotations

import re
from collections import defaultdict
from typing import Iterable, NamedTuple

from .problems import Problems, did_you_mean
from .schema import Course, Record, Session
from .tree import Records, field_name, line_of, source_line

ONLINE = "online"


class _Checker:
    def __init__(self, records: Records, problems: Problems):
        self.r = records
        self.p = problems
        vocab = records.vocabulary
        self.words = {"roles": vocab.roles, "phases": vocab.phases, "specialisms": vocab.specialisms}
        self.word_sets = {kind: set(words) for kind, words in self.words.items()}
        self.venue_ids = set(records.venues) | {ONLINE}
        self.school_ids = records.ids.get("content/schools", records.schools.keys())
        self.sle_ids = records.ids.get("content/sles", records.sles.keys())

    def ref(self, record: Record, loc: tuple, value: str, known: Iterable[str], what: str,
            path: str | None = None) -> None:
        if value not in known:      # known: a dict or set, so this is a hash lookup
            self.p.error(path or record.path, source_line(record, *loc), field_name(loc),
                         f"unknown {what} {value!r}{did_you_mean(value, known)}")

    def vocab(self, record: Record, field: str, values: list[str], kind: str, loc: tuple = ()) -> None:
        known = self.word_sets[kind]
        for i, value in enumerate(values):
            if value not in known:
                singular = {"roles": "role", "phases": "phase", "specialisms": "specialism"}[kind]
                self.p.error(record.path, source_line(record, *loc, field, i), field_name(loc + (field,)),
                             f"unknown {singular} {value!r}{did_you_mean(value, self.words[kind])}; "
                             f"the {kind} are: {', '.join(self.words[kind])}")


def check_tree(records: Records, problems: Problems) -> None:
    """Add every cross-reference, vocabulary and double-booking problem to ``problems``."""
    check_core(records, problems)
    double_bookings(check_documents(records, problems), problems)


def check_core(records: Records, problems: Problems) -> None:
    """The alliance, venues, schools, board and audiences."""
    c = _Checker(records, problems)
    r = records
    if r.alliance is not None:
        c.ref(r.alliance, ("lead_school",), r.alliance.lead_school, c.school_ids, "school")
        lead = r.schools.get(r.alliance.lead_school)
        if lead is not None and lead.role != "teaching-school":
            problems.warning(lead.path, source_line(lead, "role"), "role",
                             "this is the alliance's lead school; its role should be teaching-school")
    if ONLINE in r.venues:
        problems.error("content/venues.yml", source_line(r.venues[ONLINE]), ONLINE,
                       "'online' is reserved for online sessions; give this venue another id")
    for school in r.schools.values():
        c.vocab(school, "phase", school.phase, "phases")
    for member in r.board:
        if member.school:
            c.ref(member, ("school",), member.school, c.school_ids, "school")
    _check_audiences(c)


def check_documents(records: Records, problems: Problems) -> list["Booking"]:
    """SLEs, courses, editions and news; returns the bookings for :func:`double_bookings`.

    Needs only ``records``' core files and id lists beside the documents it checks, so a big
    tree can be checked in parts (see records.check_fast).
    """
    c = _Checker(records, problems)
    r = records
    for sle in r.sles.values():
        c.ref(sle, ("school",), sle.school, c.school_ids, "school")
        c.vocab(sle, "specialisms", sle.specialisms, "specialisms")
        c.vocab(sle, "phase", sle.phase, "phases")
        if sle.photo and not (r.root / "content" / sle.photo).is_file():
            problems.error(sle.path, source_line(sle, "photo"), "photo",
                           f"no file content/{sle.photo}; add the picture or remove the line")
    bookings = []
    for course in r.courses.values():
        _check_course(c, course)
        bookings += _bookings(course)
    for edition in r.editions.values():
        for i, audience_id in enumerate(edition.audiences or []):
            c.ref(edition, ("audiences", i), audience_id, r.audiences, "audience")
    _check_news(records, problems)
    return bookings


def _check_course(c: _Checker, course: Course) -> None:
    c.vocab(course, "audience", course.audience, "roles")
    c.vocab(course, "phase", course.phase, "phases")
    for i, session in enumerate(course.sessions):
        c.ref(course, ("sessions", i, "venue"), session.venue, c.venue_ids, "venue")
    for i, sle_id in enumerate(course.facilitators):
        c.ref(course, ("facilitators", i), sle_id, c.sle_ids, "SLE")


def _check_audiences(c: _Checker) -> None:
    audiences = c.r.audiences
    for audience in audiences.values():
        c.vocab(audience, "roles", audience.roles, "roles")
        if not audience.roles and not audience.default:
            c.p.warning(audience.path, source_line(audience), audience.id,
                        "has no roles and is not the default: nobody will belong to it")
    defaults = [a for a in audiences.values() if a.default]
    if audiences and len(defaults) != 1:
        first = next(iter(audiences.values()))
        c.p.error(first.path, source_line(defaults[1] if defaults else first), "default",
                  f"exactly one audience must have `default: true`; {len(defaults)} do")


_NEWS_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})-[a-z0-9-]+$")


def _check_news(records: Records, problems: Problems) -> None:
    for item in records.news:
        match = _NEWS_NAME.match(item.id)
        if not match:
            problems.warning(item.path, 0, "", "news files are named YYYY-MM-DD-slug.md, "
                             f"e.g. {item.date.isoformat()}-{item.id}.md")
        elif match.group(1) != item.date.isoformat():
            problems.warning(item.path, source_line(item, "date"), "date",
                             f"{item.date.isoformat()} differs from the date in the file name, {match.group(1)}")


class Booking(NamedTuple):
    """One session of a live course, as much as the double-booking check needs (and cheap to
    send between processes: plain values and the two lines a clash is reported on)."""

    path: str
    index: int                       # the session's position in the file, from 0
    date: str                        # ISO dates and times (fixed width, so they compare as
    start: str                       # the times do): cheaper to cache and send than objects
    end: str
    times: str                       # "13:30-16:00" or "all day", for the message
    venue: str
    facilitators: tuple[str, ...]
    venue_line: int                  # where a venue clash is reported
    facilitators_line: int           # where an SLE clash is reported


def _bookings(course: Course) -> list[Booking]:
    if course.status == "cancelled":
        return []
    facilitators = tuple(sorted(set(course.facilitators)))
    source = course._source
    sle_line = line_of(source, ("facilitators",), 1) if facilitators else 1
    bookings = []
    for i, s in enumerate(course.sessions):
        start, end = s.span()
        bookings.append(Booking(course.path, i, s.date.isoformat(), start.isoformat("microseconds"),
                                end.isoformat("microseconds"), _times(s), s.venue, facilitators,
                                line_of(source, ("sessions", i, "venue"), 1), sle_line))
    return bookings


def double_bookings(bookings: list[Booking], problems: Problems) -> None:
    """Two live sessions in one venue, or one SLE in two sessions, at overlapping times."""
    by_venue: dict[tuple, list[Booking]] = defaultdict(list)
    by_sle: dict[tuple, list[Booking]] = defaultdict(list)
    for b in bookings:
        if b.venue != ONLINE:
            by_venue[(b.venue, b.date)].append(b)
        for sle_id in b.facilitators:
            by_sle[(sle_id, b.date)].append(b)
    for (venue, day), items in by_venue.items():
        for b1, b2 in _clashes(items):
            problems.warning(b1.path, b1.venue_line,
                             f"sessions[{b1.index + 1}]",
                             f"double booking: {venue} on {day} {b1.times} clashes with "
                             f"{b2.path} session {b2.index + 1} ({b2.times})")
    for (sle_id, day), items in by_sle.items():
        for b1, b2 in _clashes(items):
            problems.warning(b1.path, b1.facilitators_line, "facilitators",
                             f"double booking: SLE {sle_id} facilitates session {b1.index + 1} on {day} "
                             f"{b1.times} and {b2.path} session {b2.index + 1} ({b2.times})")


def _clashes(items: list[Booking]):
    """Pairs of bookings of different courses whose times overlap, the first in file order:
    a sweep over the bookings sorted by start, so a busy venue costs n log n, not n²."""
    if len(items) < 2:                       # most days in most venues: nothing to compare
        return
    items = sorted(items, key=lambda b: (b.start, b.path, b.index))
    for i, b1 in enumerate(items):
        for b2 in items[i + 1:]:
            if b2.start >= b1.end:
                break
            if b1.path != b2.path and b1.start < b2.end:
                yield (b1, b2) if (b1.path, b1.index) < (b2.path, b2.index) else (b2, b1)


def _times(session: Session) -> str:
    if session.start is None:
        return "all day"
    return f"{session.start:%H:%M}-{session.end:%H:%M}"
