"""What the board report says, computed from the records and the database (no formatting).

Definitions (what the issue left open, decided here):
- *Subscribers* are people on the list who consented and are subscribed (the people who asked
  for something), as they are now.
- *Supply* is the upcoming courses: not cancelled, with a session between the report's end date
  and ``ahead_weeks`` weeks later (13 by default: about a term).
- A course *meets* a role when its audience names the role, a phase when it has no phase or
  names it, and an interest when its strand is that interest or, for a specialism (SEND, maths),
  when one of its facilitators is an SLE with that specialism.
- A *gap* is a group of at least 5 subscribers sharing a role, a phase and an interest for whom
  fewer than 2 upcoming courses meet all three.
- *Newsletters*: editions dated within the period. Sent and failed come from the ledger; a
  bounce, complaint or unsubscribe the store holds is counted against the last edition sent to
  that address before it was recorded. Delivered needs a provider's delivery events, which
  the store does not hold: the report says so rather than guess.
- *Evaluations*: those submitted within the period (or undated), per course and per strand.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from records import STRANDS
from records.tree import Records

from .store import Store


@dataclass
class Demand:
    people: int = 0
    by_role: Counter = field(default_factory=Counter)
    by_phase: Counter = field(default_factory=Counter)
    by_interest: Counter = field(default_factory=Counter)
    by_triple: Counter = field(default_factory=Counter)     # (role, phase | "", interest)
    by_school: Counter = field(default_factory=Counter)     # school field as written -> people
    no_school: int = 0


def demand(store: Store) -> Demand:
    """Subscribers' roles, phases, interests and schools. SQLite groups the rows first (a list
    of 100,000 holds far fewer distinct combinations), so Python splits each distinct cell
    once, not each row."""
    out = Demand()
    on_list = "FROM subscribers WHERE consent = 1 AND status = 'subscribed'"
    conn = store.conn
    triples, by_role, by_phase, by_interest = out.by_triple, out.by_role, out.by_phase, out.by_interest
    for roles, phases, interests, n in conn.execute(
            f"SELECT roles, phases, interests, COUNT(*) {on_list} GROUP BY roles, phases, interests"):
        out.people += n
        role_words, phase_words, interest_words = roles.split(), phases.split(), interests.split()
        for role in role_words:
            by_role[role] += n
        for phase in phase_words:
            by_phase[phase] += n
        for interest in interest_words:
            by_interest[interest] += n
        for role in role_words:
            for phase in phase_words or ("",):
                for interest in interest_words:
                    triples[(role, phase, interest)] += n
    for school, n in conn.execute(f"SELECT school, COUNT(*) {on_list} GROUP BY school"):
        if school:
            out.by_school[school] += n
        else:
            out.no_school += n
    return out


@dataclass
class Supply:
    courses: list = field(default_factory=list)
    topics: dict[str, set[str]] = field(default_factory=dict)   # course id -> its interests


def supply(records: Records, start: dt.date, weeks: int) -> Supply:
    end = start + dt.timedelta(weeks=weeks)
    out = Supply()
    for course in records.courses.values():
        if course.status == "cancelled" or not any(start <= s.date <= end for s in course.sessions):
            continue
        out.courses.append(course)
        topics = {course.strand}
        for sle_id in course.facilitators:
            sle = records.sles.get(sle_id)
            if sle is not None:
                topics.update(sle.specialisms)
        out.topics[course.id] = topics
    out.courses.sort(key=lambda c: (c.first_date, c.id))
    return out


class Matcher:
    """How many upcoming courses meet a role, a phase, an interest, or all three: counted once
    per course over its own combinations, not once per question over every course."""

    def __init__(self, offer: Supply, phases: list[str]):
        self.by_role: Counter = Counter()
        self.by_phase: Counter = Counter()
        self.by_interest: Counter = Counter()
        self.by_triple: Counter = Counter()
        for course in offer.courses:
            roles = set(course.audience)
            course_phases = set(course.phase) if course.phase else set(phases)
            topics = offer.topics[course.id]
            self.by_role.update(roles)
            self.by_phase.update(course_phases)
            self.by_interest.update(topics)
            for role in roles:
                for interest in topics:
                    self.by_triple[(role, "", interest)] += 1      # a subscriber without phases
                    for phase in course_phases:
                        self.by_triple[(role, phase, interest)] += 1

    def count(self, role: str, phase: str, interest: str) -> int:
        return self.by_triple.get((role, phase, interest), 0)


def gaps(wanted: Demand, matcher: Matcher, *, limit: int = 10) -> list[tuple[str, str, str, int, int]]:
    """(role, phase, interest, people, courses) for the biggest unmet groups: at least 5 people,
    fewer than 2 courses; no course first, then the most people."""
    found = []
    for (role, phase, interest), n in wanted.by_triple.items():
        if n < 5:
            continue
        courses = matcher.count(role, phase, interest)
        if courses < 2:
            found.append((role, phase, interest, n, courses))
    found.sort(key=lambda g: (g[4], -g[3], g[0], g[1], g[2]))
    return found[:limit]


@dataclass
class EditionStats:
    edition: str
    audience: str
    planned: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    bounced: int = 0
    complained: int = 0
    unsubscribed: int = 0


def newsletters(store: Store, records: Records, start: dt.date, end: dt.date) -> list[EditionStats]:
    editions = {e.id: e for e in records.editions.values() if start <= e.date <= end}
    stats: dict[tuple[str, str], EditionStats] = {}
    # NOT INDEXED: one pass over the table in its own order; through the (edition, address)
    # index SQLite would fetch each of the 200,000 rows from the table out of order, 3x slower
    for edition, audience, state, n in store.conn.execute(
            "SELECT edition, audience, state, COUNT(*) FROM ledger NOT INDEXED "
            "GROUP BY edition, audience, state"):
        if edition not in editions:
            continue
        row = stats.setdefault((edition, audience), EditionStats(edition, audience))
        row.planned += n
        if state == "sent":
            row.sent += n
        elif state == "failed":
            row.failed += n
        elif state == "skipped":
            row.skipped += n
    _attribute_suppressions(store, editions, stats)
    order = {e: i for i, e in enumerate(editions)}
    return sorted(stats.values(), key=lambda s: (order[s.edition], s.audience))


def _attribute_suppressions(store: Store, editions: dict, stats: dict) -> None:
    """Each bounce, complaint or unsubscribe against the last of the report's editions sent to
    its address before it was recorded. Looked up from the suppressions (a few thousand) into
    the ledger's (edition, address) index, not by reading every ledger row: CROSS JOIN keeps
    that order (left to choose, SQLite walks the ledger's rows and is 10x slower)."""
    if not editions:
        return
    marks = ",".join("?" * len(editions))
    rows = store.conn.execute(
        f"SELECT x.reason, l.edition, l.audience, MAX(l.updated_at) FROM suppressions x "
        f"CROSS JOIN ledger l ON l.edition IN ({marks}) AND l.address_hash = x.address_hash "
        f"WHERE x.reason IN ('bounce', 'complaint', 'unsubscribed') AND l.state = 'sent' "
        f"AND l.updated_at <= x.created_at GROUP BY x.address_hash", list(editions))
    for reason, edition, audience, _ in rows:        # SQLite: the bare columns come from the MAX row
        row = stats[(edition, audience)]
        if reason == "bounce":
            row.bounced += 1
        elif reason == "complaint":
            row.complained += 1
        else:
            row.unsubscribed += 1


@dataclass
class CourseEvaluations:
    course: str
    title: str
    strand: str
    count: int = 0
    total: int = 0
    quotes: list[str] = field(default_factory=list)

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else 0.0


def evaluations(store: Store, records: Records, start: dt.date, end: dt.date,
                quotes_per_course: int = 3) -> list[CourseEvaluations]:
    out: dict[str, CourseEvaluations] = {}
    # NOT INDEXED, as for the ledger: one pass in the table's order beats index order here
    for course_id, n, total in store.conn.execute(
            "SELECT course, COUNT(*), SUM(rating) FROM evaluations NOT INDEXED WHERE submitted_at IS NULL OR "
            "(submitted_at >= ? AND submitted_at <= ?) GROUP BY course", (start.isoformat(), end.isoformat())):
        course = records.courses.get(course_id)
        out[course_id] = CourseEvaluations(course_id, course.title if course else course_id,
                                           course.strand if course else "", n, total)
    for course_id, text in store.conn.execute(
            "SELECT course, change FROM evaluations NOT INDEXED WHERE quote_consent = 1 AND change <> '' AND "
            "(submitted_at IS NULL OR (submitted_at >= ? AND submitted_at <= ?)) ORDER BY course, id",
            (start.isoformat(), end.isoformat())):
        item = out.get(course_id)
        if item is not None and len(item.quotes) < quotes_per_course:
            item.quotes.append(text)
    strand_order = list(STRANDS)
    return sorted(out.values(), key=lambda c: (strand_order.index(c.strand) if c.strand in STRANDS
                                               else len(STRANDS), c.title.casefold(), c.course))


def reach(records: Records, wanted: Demand) -> dict[str, tuple[list[str], list[str]]]:
    """phase -> (school ids with subscribers, school ids without), member schools only."""
    out: dict[str, tuple[list[str], list[str]]] = {}
    for phase in records.vocabulary.phases:
        with_, without = [], []
        for school_id, school in sorted(records.schools.items(), key=lambda kv: kv[1].name.casefold()):
            if phase in school.phase:
                (with_ if wanted.by_school.get(school_id) else without).append(school_id)
        if with_ or without:
            out[phase] = (with_, without)
    return out
