"""Cross-references and vocabularies, all in one place, with "did you mean".

Every reference from one record to another (a school, a venue, an SLE, an audience) and every
vocabulary word is checked here against the known ids, after all files are read.
"""
from __future__ import annotations

import re
from collections import defaultdict
from itertools import combinations
from typing import Iterable

from .problems import Problems, did_you_mean
from .schema import Course, Record, Session
from .tree import Records, source_line

ONLINE = "online"


class _Checker:
    def __init__(self, records: Records, problems: Problems):
        self.r = records
        self.p = problems
        vocab = records.vocabulary
        self.words = {"roles": vocab.roles, "phases": vocab.phases, "specialisms": vocab.specialisms}
        self.word_sets = {kind: set(words) for kind, words in self.words.items()}
        self.venue_ids = set(records.venues) | {ONLINE}

    def ref(self, record: Record, loc: tuple, value: str, known: Iterable[str], what: str,
            path: str | None = None) -> None:
        if value not in known:      # known: a dict or set, so this is a hash lookup
            self.p.error(path or record.path, source_line(record, *loc), _name(loc),
                         f"unknown {what} {value!r}{did_you_mean(value, known)}")

    def vocab(self, record: Record, field: str, values: list[str], kind: str, loc: tuple = ()) -> None:
        known = self.word_sets[kind]
        for i, value in enumerate(values):
            if value not in known:
                singular = {"roles": "role", "phases": "phase", "specialisms": "specialism"}[kind]
                self.p.error(record.path, source_line(record, *loc, field, i), _name(loc + (field,)),
                             f"unknown {singular} {value!r}{did_you_mean(value, self.words[kind])}; "
                             f"the {kind} are: {', '.join(self.words[kind])}")


def _name(loc: tuple) -> str:
    from .tree import field_name
    return field_name(loc)


def check_tree(records: Records, problems: Problems) -> None:
    """Add every cross-reference, vocabulary and double-booking problem to ``problems``."""
    c = _Checker(records, problems)
    r = records
    if r.alliance is not None:
        c.ref(r.alliance, ("lead_school",), r.alliance.lead_school, r.schools, "school")
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
            c.ref(member, ("school",), member.school, r.schools, "school")
    for sle in r.sles.values():
        c.ref(sle, ("school",), sle.school, r.schools, "school")
        c.vocab(sle, "specialisms", sle.specialisms, "specialisms")
        c.vocab(sle, "phase", sle.phase, "phases")
        if sle.photo and not (r.root / "content" / sle.photo).is_file():
            problems.error(sle.path, source_line(sle, "photo"), "photo",
                           f"no file content/{sle.photo}; add the picture or remove the line")
    for course in r.courses.values():
        _check_course(c, course)
    _check_audiences(c)
    _check_news(records, problems)
    double_bookings(records, problems)


def _check_course(c: _Checker, course: Course) -> None:
    c.vocab(course, "audience", course.audience, "roles")
    c.vocab(course, "phase", course.phase, "phases")
    for i, session in enumerate(course.sessions):
        c.ref(course, ("sessions", i, "venue"), session.venue, c.venue_ids, "venue")
    for i, sle_id in enumerate(course.facilitators):
        c.ref(course, ("facilitators", i), sle_id, c.r.sles, "SLE")


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
    for edition in c.r.editions.values():
        for i, audience_id in enumerate(edition.audiences or []):
            c.ref(edition, ("audiences", i), audience_id, audiences, "audience")


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


def _overlap(a: Session, b: Session) -> bool:
    (a0, a1), (b0, b1) = a.span(), b.span()
    return a0 < b1 and b0 < a1


def double_bookings(records: Records, problems: Problems) -> None:
    """Two live sessions in one venue, or one SLE in two sessions, at overlapping times."""
    by_venue: dict[tuple, list] = defaultdict(list)
    by_sle: dict[tuple, list] = defaultdict(list)
    for course in records.courses.values():
        if course.status == "cancelled":
            continue
        for i, session in enumerate(course.sessions):
            if session.venue != ONLINE:
                by_venue[(session.venue, session.date)].append((course, i, session))
            for sle_id in set(course.facilitators):
                by_sle[(sle_id, session.date)].append((course, i, session))
    for (venue, day), items in by_venue.items():
        for (c1, i1, s1), (c2, i2, s2) in combinations(items, 2):
            if c1 is not c2 and _overlap(s1, s2):
                problems.warning(c1.path, source_line(c1, "sessions", i1, "venue"), f"sessions[{i1 + 1}]",
                                 f"double booking: {venue} on {day} {_times(s1)} clashes with "
                                 f"{c2.path} session {i2 + 1} ({_times(s2)})")
    for (sle_id, day), items in by_sle.items():
        for (c1, i1, s1), (c2, i2, s2) in combinations(items, 2):
            if c1 is not c2 and _overlap(s1, s2):
                problems.warning(c1.path, source_line(c1, "facilitators"), "facilitators",
                                 f"double booking: SLE {sle_id} facilitates session {i1 + 1} on {day} "
                                 f"{_times(s1)} and {c2.path} session {i2 + 1} ({_times(s2)})")


def _times(session: Session) -> str:
    if session.start is None:
        return "all day"
    return f"{session.start:%H:%M}-{session.end:%H:%M}"
