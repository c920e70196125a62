"""Reconciliation: settle ``unknown`` batches by asking the provider what it accepted.

A batch is *unknown* when its answer was lost (connection dropped, read timeout) or the run
was killed while it was in flight: the provider may or may not have taken it. Every batch
carries a tag of its own (:func:`batch_tag`), so the provider's event log can say which of
its readers it accepted (Mailgun's ``accepted`` events, SendGrid's Email Activity). After
the *settle time* (events reach the provider's log late: Mailgun's guidance is to trust only
events older than half an hour, hence :data:`DEFAULT_SETTLE`), each reader of the batch

* with an accepted event becomes ``sent``, with the provider's message id;
* without one becomes ``pending`` again and goes out in a later batch (a reader forgotten
  since becomes ``skipped``).

Where the provider cannot answer (SMTP, the outbox, SendGrid without Email Activity, a batch
sent through another provider or before batches were tagged) the batch stays ``unknown`` and
the reason is kept on the batch (``check_note``) for ``status``.
"""
from __future__ import annotations

import os
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Callable

from .providers.base import AuthError, CannotReconcile, Lookup, Provider, ProviderError, TransientError
from .store import Store, epoch_of, now, stamp_ms

DEFAULT_SETTLE = 1800.0          # seconds: Mailgun's "threshold age (e.g. half an hour)" for events
EVENT_MARGIN = 300.0             # the event search begins this long before the claim (clock skew)
RECONCILABLE = {"mailgun": "its accepted events", "sendgrid": "its Email Activity (a paid add-on)"}
MAX_TAG = 128                    # Mailgun: tags are ASCII, case-insensitive, at most 128 characters


class SettingError(ValueError):
    """MAILER_RECONCILE_AFTER is not a number of seconds."""


def settle_from_env(env=None) -> float:
    """``MAILER_RECONCILE_AFTER`` seconds (0 in tests), else :data:`DEFAULT_SETTLE`."""
    text = (os.environ if env is None else env).get("MAILER_RECONCILE_AFTER", "").strip()
    if not text:
        return DEFAULT_SETTLE
    try:
        value = float(text)
        if not value >= 0:
            raise ValueError
    except ValueError:
        raise SettingError(f"MAILER_RECONCILE_AFTER: {text!r} is not a number of seconds "
                           f"(default {DEFAULT_SETTLE:.0f}, Mailgun's advice for its events)") from None
    return value


def batch_tag(edition: str, batch_id: int) -> str:
    """``2026-11-23-winter-b17-3f9a0c1d2e``: the edition, the batch and a random part, so no
    two batches anywhere share a tag; lower-case ASCII letters, digits and hyphens only
    (safe in Mailgun's tag filter and SendGrid's activity query), well under 128 characters."""
    slug = re.sub(r"[^a-z0-9]+", "-", edition.lower()).strip("-")[:80] or "edition"
    return f"{slug}-b{batch_id}-{secrets.token_hex(5)}"[:MAX_TAG]


@dataclass
class ReconcileReport:
    checked: int = 0             # batches the provider was asked about
    sent: int = 0                # readers it had accepted: now sent
    requeued: int = 0            # readers it had not: pending again
    skipped: int = 0             # not accepted and forgotten meanwhile
    waiting: int = 0             # unknown batches whose settle time is not over
    next_due: float | None = None    # Unix time the first of them can be checked
    unsettled: int = 0           # unknown batches the provider could not answer for
    notes: list[str] = field(default_factory=list)

    def line(self, edition: str) -> str:
        parts = [f"{self.checked} unknown batch{'es' if self.checked != 1 else ''} checked",
                 f"{self.sent} sent after all", f"{self.requeued} not taken (pending again)"]
        if self.skipped:
            parts.append(f"{self.skipped} skipped (forgotten)")
        if self.waiting:
            parts.append(f"{self.waiting} waiting for the events to settle")
        if self.unsettled:
            parts.append(f"{self.unsettled} still unknown")
        return f"{edition}: reconciled: " + ", ".join(parts)


class Reconciler:
    """Reconcile the unknown batches of one edition through one provider."""

    def __init__(self, store: Store, provider: Provider, edition: str, *, settle: float = DEFAULT_SETTLE,
                 clock: Callable[[], float] = time.time):
        self.store, self.provider, self.edition = store, provider, edition
        self.settle = settle
        self.clock = clock
        self.unavailable = ""        # why the provider cannot answer, once it said so

    def can_settle(self) -> bool:
        """May a lost answer of this run be settled later? (No for SMTP, or once the provider
        said it cannot answer, e.g. SendGrid without Email Activity.)"""
        return self.provider.can_reconcile and not self.unavailable

    def unknown_batches(self) -> list[dict]:
        return [dict(r) for r in self.store.conn.execute(
            "SELECT id, tag, provider, claimed_at, requested_at FROM batches "
            "WHERE edition = ? AND state = 'unknown' ORDER BY id", (self.edition,))]

    def due_at(self, batch: dict) -> float:
        return epoch_of(batch["requested_at"] or batch["claimed_at"]) + self.settle

    def anything_due(self) -> bool:
        """Cheap check between batches: is an unknown batch of this provider past its settle time?"""
        if not self.can_settle():
            return False
        row = self.store.conn.execute(
            "SELECT MIN(requested_at) FROM batches WHERE edition = ? AND state = 'unknown' AND provider = ? "
            "AND tag <> ''", (self.edition, self.provider.name)).fetchone()
        return row[0] is not None and epoch_of(row[0]) + self.settle <= self.clock()

    def run(self) -> ReconcileReport:
        report = ReconcileReport()
        batches = self.unknown_batches()
        for index, batch in enumerate(batches):
            rows = self._rows(batch["id"])
            if not rows:                 # all its readers were put back by --resend-unknown
                self._close(batch["id"], "no unknown readers left")
                continue
            why = self._cannot(batch) or self.unavailable
            if why:
                self._note(batch["id"], why)
                report.unsettled += 1
                continue
            due = self.due_at(batch)
            if due > self.clock():
                report.waiting += 1
                report.next_due = due if report.next_due is None else min(report.next_due, due)
                continue
            try:
                accepted = self.provider.accepted(Lookup(
                    batch["tag"], batch["id"], epoch_of(batch["claimed_at"]) - EVENT_MARGIN,
                    tuple(r["email"] for r in rows if r["email"])))
            except CannotReconcile as err:
                self.unavailable = str(err)
                self._note(batch["id"], str(err))
                report.unsettled += 1
                continue
            except ProviderError as err:
                # cannot ask now (rate limit, outage, a key without the right): try again later
                self._note(batch["id"], f"could not ask {self.provider.name} yet: {err}")
                report.unsettled += 1
                report.notes.append(str(err))
                if isinstance(err, (TransientError, AuthError)):     # the next would fail the same way
                    report.unsettled += len(batches) - index - 1
                    break
                continue
            sent, requeued, skipped = self._settle(batch["id"], rows, accepted)
            report.checked += 1
            report.sent += sent
            report.requeued += requeued
            report.skipped += skipped
        return report

    # --- the ledger ------------------------------------------------------------------------
    def _rows(self, batch_id: int) -> list[dict]:
        return [dict(r) for r in self.store.conn.execute(
            "SELECT l.id, l.address_hash, s.email FROM ledger l LEFT JOIN subscribers s "
            "ON s.id = l.subscriber_id WHERE l.batch_id = ? AND l.state = 'unknown'", (batch_id,))]

    def _cannot(self, batch: dict) -> str:
        """Why this batch cannot be checked through the configured provider ('' if it can)."""
        sent_by = batch["provider"]
        if sent_by != self.provider.name:
            how = f"set MAILER_PROVIDER={sent_by} to check it" if sent_by in RECONCILABLE else \
                f"{sent_by} cannot say afterwards which messages it took"
            return f"sent through {sent_by}, not {self.provider.name}: {how}"
        if not self.provider.can_reconcile:
            return f"{self.provider.name} cannot say afterwards which messages it took"
        if not batch["tag"]:
            return "sent before batches were tagged: the provider cannot be asked about it"
        age = self.clock() - epoch_of(batch["requested_at"] or batch["claimed_at"])
        if age > self.provider.events_kept:
            # an empty answer could mean "not taken" or "forgotten by now": never guess
            return (f"requested {age / 86400:.1f} days ago; {self.provider.name} keeps its events for "
                    f"{self.provider.events_kept / 86400:.0f} days, so its silence proves nothing now")
        return ""

    def _note(self, batch_id: int, note: str) -> None:
        self.store.conn.execute("UPDATE batches SET checked_at = ?, check_note = ? WHERE id = ?",
                                (now(), note[:500], batch_id))

    def _close(self, batch_id: int, note: str) -> None:
        self.store.conn.execute("UPDATE batches SET state = 'reconciled', checked_at = ?, check_note = ? "
                                "WHERE id = ?", (now(), note[:500], batch_id))

    def _settle(self, batch_id: int, rows: list[dict], accepted) -> tuple[int, int, int]:
        name = self.provider.name
        by_address = {a.strip().lower(): mid for a, mid in accepted.items()}
        stamp = now()
        sent: list[tuple] = []
        requeue: list[tuple] = []
        skip: list[tuple] = []
        for row in rows:
            # a reader forgotten since the claim has left no address (nor hash) to match:
            # skipped either way, and never written to again
            email = (row["email"] or "").lower()
            mid = by_address.get(email) if email else None
            if mid is not None:
                sent.append((mid, f"answer lost; {name}'s events show it was accepted", stamp, row["id"]))
            elif email:
                requeue.append((f"answer lost; {name} had not taken it: sent again", stamp, row["id"]))
            else:
                skip.append((stamp, row["id"]))
        with self.store.transaction() as conn:
            conn.executemany("UPDATE ledger SET state = 'sent', message_id = ?, reason = ?, updated_at = ? "
                             "WHERE id = ? AND state = 'unknown'", sent)
            conn.executemany("UPDATE ledger SET state = 'pending', batch_id = NULL, reason = ?, updated_at = ? "
                             "WHERE id = ? AND state = 'unknown'", requeue)
            conn.executemany("UPDATE ledger SET state = 'skipped', reason = 'forgotten', updated_at = ? "
                             "WHERE id = ? AND state = 'unknown'", skip)
            conn.execute("UPDATE batches SET state = 'reconciled', checked_at = ?, check_note = ? WHERE id = ?",
                         (stamp, f"{name} had taken {len(sent)} of {len(rows)} readers", batch_id))
        return len(sent), len(requeue), len(skip)


def explain(batch: dict, settle: float, *, clock: Callable[[], float] = time.time) -> str:
    """Why one unknown batch (a row of :meth:`Store.unknown_batches`) is still unknown, for status."""
    if batch.get("check_note"):
        return batch["check_note"]
    provider = batch.get("provider") or "?"
    if provider not in RECONCILABLE:
        return f"{provider} cannot say afterwards which messages it took"
    if not batch.get("tag"):
        return "sent before batches were tagged: the provider cannot be asked about it"
    when = batch.get("requested_at") or batch.get("claimed_at")
    due = epoch_of(when) + settle if when else clock()
    if due > clock():
        return (f"waiting for {provider}'s events to settle: checked from {stamp_ms(due)[:19].replace('T', ' ')} "
                f"UTC (MAILER_RECONCILE_AFTER={settle:.0f} s after the request) by `send` or `reconcile`")
    return f"can be checked now in {RECONCILABLE[provider]}: run `reconcile` (or `send`)"


__all__ = ["Reconciler", "ReconcileReport", "batch_tag", "settle_from_env", "explain", "DEFAULT_SETTLE",
           "SettingError"]
