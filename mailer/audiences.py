"""Who gets which variant of an edition. The rules themselves live in records.newsletter
(shared with the website's archive page); this module only groups readers so that each
distinct email is rendered once.

A reader's variant is their audience (the first, in file order, sharing one of their roles;
else the default) and *the phases that matter*: of the reader's phases, those named by at least
one of this edition's courses for that audience. Readers with the same phases that matter get
the same courses (records.newsletter.courses_for), so:

- a reader without phases, or whose phases cover every phase that matters, gets the
  ``all-phases`` variant (every course for the audience), e.g. ``teachers--all-phases``;
- a reader whose phases meet some of them gets ``audience--those-phases``, e.g.
  ``teachers--primary`` for a primary teacher who also ticked a phase no course names;
- a reader whose phases meet none of them gets only the courses for every phase; that variant
  is named after the first of the reader's own phases (vocabulary order), e.g.
  ``teachers--nursery``, so two such variants may hold the same courses: readable names were
  preferred to the fewest variants (rendering one costs a few milliseconds).

Each key renders from itself alone: courses_for(audience, key phases) is the reader's list.
A reader whose audience the edition does not go to gets nothing.
"""
from __future__ import annotations

from typing import Iterable

from records.newsletter import VariantKey, audience_for, course_window, courses_for, edition_audiences
from records.schema import Edition
from records.tree import Records


class Planner:
    """Per edition: a reader's (roles, phases) -> their VariantKey, or None; memoised."""

    def __init__(self, records: Records, edition: Edition):
        self.records = records
        self.edition = edition
        self.audiences = records.audiences
        self.targets = set(edition_audiences(edition, records.audiences))
        self.phase_order = {p: i for i, p in enumerate(records.vocabulary.phases)}
        self._relevant: dict[str, frozenset[str]] = {}
        self._memo: dict[tuple[str, str], VariantKey | None] = {}

    def relevant_phases(self, audience_id: str) -> frozenset[str]:
        """Phases named by this edition's courses for the audience: the phases that matter."""
        if audience_id not in self._relevant:
            everyone = courses_for(self.records, self.edition, self.audiences[audience_id], ())
            self._relevant[audience_id] = frozenset(p for c in everyone for p in c.phase)
        return self._relevant[audience_id]

    def _ordered(self, phases: Iterable[str]) -> tuple[str, ...]:
        last = len(self.phase_order)
        return tuple(sorted(set(phases), key=lambda p: (self.phase_order.get(p, last), p)))

    def variant(self, roles: str, phases: str) -> VariantKey | None:
        """``roles`` and ``phases`` as stored (space-separated words)."""
        memo_key = (roles, phases)
        if memo_key in self._memo:
            return self._memo[memo_key]
        audience_id = audience_for(roles.split(), self.audiences)
        key: VariantKey | None = None
        if audience_id is not None and audience_id in self.targets:
            mine = set(phases.split())
            relevant = self.relevant_phases(audience_id)
            matter = mine & relevant
            if not mine or not relevant or matter == relevant:
                key = VariantKey(audience_id, ())
            elif matter:
                key = VariantKey(audience_id, self._ordered(matter))
            else:
                key = VariantKey(audience_id, self._ordered(mine)[:1])
        self._memo[memo_key] = key
        return key

    def courses(self, key: VariantKey):
        return courses_for(self.records, self.edition, self.audiences[key.audience], key.phases)

    def default_keys(self) -> list[VariantKey]:
        """The all-phases variant of every audience the edition goes to (for previews)."""
        return [VariantKey(a, ()) for a in edition_audiences(self.edition, self.audiences)]


def key_from_ledger(audience: str, phases: str) -> VariantKey:
    return VariantKey(audience, tuple(phases.split()))


def ledger_phases(key: VariantKey) -> str:
    return " ".join(key.phases)


__all__ = ["Planner", "key_from_ledger", "ledger_phases", "course_window"]
