"""The preview's cross-checks, remembered between saves: only the changed documents are checked.

After one saved course, ``records.load(memory=...)`` gets every unchanged record back as the
same object from the memory cache; checking all 5,000 courses' references and sessions again
still cost a third of a second a save. A document's cross-check outcome (its problems and its
sessions for the double-booking check) depends only on its own file, the pictures it names and
what :func:`parallel_check.fingerprint` covers (vocabularies and the ids of every folder), so
it is kept with the record objects it was worked out for and reused while the memory cache
gives back those same objects (it reads a file again whenever its stamp or, for a file saved a
moment ago, its bytes changed), its pictures' stamps and the fingerprint are unchanged. The
double-booking sweep is run again only when some session changed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .cache import RecordCache, stamp
from .check import Booking, check_core, check_documents, double_bookings
from .problems import Problem, Problems
from .schema import SLE, Course, Edition, FreePage, NewsItem
from .tree import Records

_DOCUMENTS = (SLE, Course, Edition, NewsItem, FreePage)


def check_tree_again(records: Records, problems: Problems, memory: RecordCache) -> None:
    """:func:`check.check_tree` for a load through ``memory``, reusing what it remembers."""
    memo = memory.memo.setdefault("checks", CheckMemo())
    check_core(records, problems)
    memo.double_bookings(memo.check_documents(records, problems), problems)


@dataclass
class _Outcome:
    version: tuple                        # (the file's record objects, its photo's stamp)
    problems: list[Problem]
    bookings: list[Booking]


@dataclass
class CheckMemo:
    """Kept by the caller between loads, beside the memory cache of records."""

    salt: str | None = None
    outcomes: dict[str, _Outcome] = field(default_factory=dict)
    sessions: list[Booking] | None = None     # what the last double-booking sweep saw
    clashes: list[Problem] = field(default_factory=list)

    def check_documents(self, records: Records, problems: Problems) -> list[Booking]:
        """:func:`check.check_documents` of ``records``, checking only the documents whose
        file (or photo) changed since the last call."""
        from .parallel_check import fingerprint
        salt = fingerprint(records)
        if salt != self.salt:                 # an id came or went, or a vocabulary changed
            self.salt, self.outcomes = salt, {}
        versions = _versions(records)
        stale = {rel for rel, version in versions.items()
                 if rel not in self.outcomes or not _same(self.outcomes[rel].version, version)}
        stray = self._check(records, stale, versions) if stale else []
        self.outcomes = {rel: self.outcomes[rel] for rel in versions}   # files gone: forgotten
        problems.extend(stray)
        bookings: list[Booking] = []
        for outcome in self.outcomes.values():
            problems.extend(outcome.problems)
            bookings += outcome.bookings
        return bookings

    def _check(self, records: Records, stale: set[str], versions: dict[str, Any]
               ) -> list[Problem]:
        """Check the ``stale`` documents and remember their outcomes; returns any problem
        reported at another path (none is expected: then nothing is reused next time)."""
        part = Records(records.root, alliance=records.alliance, venues=records.venues,
                       schools=records.schools, audiences=records.audiences, ids=records.ids,
                       sles=_only(records.sles, stale), courses=_only(records.courses, stale),
                       editions=_only(records.editions, stale), pages=_only(records.pages, stale),
                       news=[n for n in records.news if n.path in stale],
                       incomplete=[r for r in records.incomplete if r.path in stale])
        found = Problems()
        bookings = check_documents(part, found)
        for rel in stale:
            self.outcomes[rel] = _Outcome(versions[rel], [], [])
        stray = []
        for problem in found.items:
            if problem.path in stale:
                self.outcomes[problem.path].problems.append(problem)
            else:
                stray.append(problem)
                self.salt = None
        for booking in bookings:
            self.outcomes[booking.path].bookings.append(booking)
        return stray

    def double_bookings(self, bookings: list[Booking], problems: Problems) -> None:
        """:func:`check.double_bookings`, swept again only if a session changed (a list of
        the same bookings compares in a pass over references)."""
        if bookings != self.sessions:
            found = Problems()
            double_bookings(bookings, found)
            self.sessions, self.clashes = bookings, found.items
        problems.extend(self.clashes)


def _only(records: dict, paths: set[str]) -> dict:
    return {key: record for key, record in records.items() if record.path in paths}


def _versions(records: Records) -> dict[str, tuple]:
    """Every document's path -> what its check outcome depends on of the files: the record
    objects read from it (the memory cache gives the same ones while it is unchanged) and the
    stamp of the photo it names."""
    found: dict[str, tuple] = {}
    documents = [*records.sles.values(), *records.courses.values(), *records.editions.values(),
                 *records.pages.values(), *records.news,
                 *(r for r in records.incomplete if isinstance(r, _DOCUMENTS))]
    for record in documents:
        before = found.get(record.path)
        objects = (record,) if before is None else (*before[0], record)
        # from the fields themselves: getattr on a model without the field (every course)
        # raises inside pydantic's __getattr__, 5 µs a record on every save
        photo = record.__dict__.get("photo")
        found[record.path] = (objects, stamp(records.root / "content" / photo) if photo else None)
    return found


def _same(kept: tuple, now: tuple) -> bool:
    """The same record objects (compared by identity: records compare by value, slowly) and
    the same photo stamp."""
    return (kept[1] == now[1] and len(kept[0]) == len(now[0])
            and all(a is b for a, b in zip(kept[0], now[0])))
