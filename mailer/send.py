"""The send loop: plan the edition, then batches from the ledger, each claimed before its request
and recorded after its answer. What each provider error means for the ledger is decided here:

==========================  ==========================================================
provider raises             the batch, then the run
==========================  ==========================================================
(returns message ids)       sent; readers it did not account for become unknown
TransientError              retried: Retry-After when given (429/503), else exponential
                            backoff with full jitter; after ``max_attempts`` the batch is
                            released (back to pending: it was not accepted) and the run stops
RejectedError               failed with the provider's message; the run goes on
OutcomeUnknownError         unknown (may or may not have gone out); the run goes on, and the
                            batch is reconciled (:mod:`mailer.reconcile`) once it settled
AuthError                   released; the run stops at once
anything else               unknown (a request may have started); re-raised
==========================  ==========================================================

Suppressions written while a send runs (the web service's one-click leaves and provider
webhooks) apply from the next batch: each claim selects only readers still sendable at that
moment, and changes the service had to queue (mailer/spool.py) are applied before each claim.

A run: recover rows a killed run left ``sending`` (they become ``unknown``); fetch the
provider's suppressions into the store (:mod:`mailer.suppressions`; if that fails, the run
stops before sending anything); with ``resend_unknown``, put unknown rows back to pending;
plan (a pending row per sendable reader); skip readers no longer sendable; then send.

An error threshold stops a send going badly: ``max_consecutive_errors`` failed/unknown
batches in a row, or more than ``error_threshold`` of the batches once ``min_batches`` were
tried. A rate limit (messages per second) is kept across batches, counted from the first
request; with a rate, batches hold at most one second's worth of readers. Killed at any
moment, a run leaves rows ``sending``; the next run turns them ``unknown`` and sends exactly
the readers still pending. Only one send runs at a time (a lock file beside the DB).

Timeouts: a read timeout (or a connection lost after the request was written) is *not*
retried: the provider may have accepted the batch, neither API has an idempotency key, and
"never twice" wins. Those readers become ``unknown``. Every batch carries a tag of its own,
so once the provider's events have settled (``settle`` seconds after the request:
MAILER_RECONCILE_AFTER) the batch is *reconciled*: readers the provider accepted become
``sent``, the others ``pending`` and go out in a later batch. The run reconciles between
batches whatever has settled, and at the end, when only unknown batches are left, waits for
them to settle (saying so) and sends whoever turns out not to have been taken, in rounds,
until nothing is pending. A lost answer the provider can settle does not count toward the
error threshold; one it cannot (SMTP, SendGrid without Email Activity) does, stays unknown,
is listed by ``status`` with the reason, and ``--resend-unknown`` sends it on request.
A connect timeout (nothing was sent) is retried like any connection error.
"""
from __future__ import annotations

import fcntl
import math
import os
import random
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from records.newsletter import VariantKey

from .audiences import key_from_ledger, ledger_phases
from .compose import ComposeError, Composer
from .progress import NoProgress, duration
from .providers.base import (AuthError, Batch, OutcomeUnknownError, Provider, ProviderError, RejectedError,
                             TransientError)
from .reconcile import DEFAULT_SETTLE, Reconciler, ReconcileReport, batch_tag
from .spool import drain as drain_spool
from .store import Claim, Store, stamp_ms
from .suppressions import SyncReport, sync


class SendStopped(Exception):
    """The run stopped before the end (auth, provider unavailable, error threshold): one line."""


class SendLocked(Exception):
    """Another send is running on this database."""


@dataclass
class SendOptions:
    batch_size: int | None = None       # default: the provider's batch_size
    rate: float = 0.0                   # messages per second; 0 = as fast as the provider takes
    max_attempts: int = 5               # per batch, for TransientError
    backoff_base: float = 1.0           # seconds; attempt n waits up to base * 2**(n-1)
    backoff_cap: float = 60.0
    max_retry_after: float = 600.0      # a Retry-After longer than this stops the run instead
    error_threshold: float = 0.1
    min_batches: int = 10
    max_consecutive_errors: int = 3
    resend_unknown: bool = False
    sync_suppressions: bool = True      # fetch the provider's suppressions before sending
    settle: float = DEFAULT_SETTLE      # seconds after a request before its events are trusted
    wait_for_settle: bool = True        # at the end, wait for unknown batches to settle
    max_rounds: int = 10                # reconcile-then-send-again rounds before giving up


@dataclass
class SendReport:
    edition: str
    provider: str
    planned: int = 0                    # rows added to the ledger by this run
    recovered: int = 0                  # rows left "sending" by a killed run, now unknown
    requeued_unknown: int = 0           # unknown rows put back to pending (--resend-unknown)
    skipped: int = 0                    # readers who unsubscribed or were forgotten since the plan
    sent: int = 0
    failed: int = 0
    unknown: int = 0
    batches: int = 0
    retries: int = 0
    stopped: str | None = None
    elapsed: float = 0.0
    by_variant: Counter = field(default_factory=Counter)
    suppressions: SyncReport | None = None
    lost: int = 0                       # readers whose answer was lost in this run
    reconciled: ReconcileReport = field(default_factory=ReconcileReport)
    waited: float = 0.0                 # seconds spent waiting for events to settle

    @property
    def attempted(self) -> int:
        return self.sent + self.failed + self.unknown

    @property
    def rate(self) -> float:
        return self.attempted / self.elapsed if self.elapsed > 0 else 0.0

    def summary(self, where: str = "") -> str:
        """One line: ``E: 95 sent through mailgun, 0 failed, 0 unknown, 3 skipped, 2 retries in 1.2 s (79/s)``."""
        where = f" {where}" if where else ""
        retries = f", {self.retries} retr{'ies' if self.retries != 1 else 'y'}" if self.retries else ""
        rec = self.reconciled
        n = rec.sent + rec.requeued + rec.skipped
        settled = (f", {n} reader{'s' if n != 1 else ''} reconciled after a lost answer ({rec.sent} had been "
                   f"taken, {rec.requeued} sent again)") if rec.checked else ""
        return (f"{self.edition}: {self.sent} sent{where}, {self.failed} failed, {self.unknown} unknown, "
                f"{self.skipped} skipped{retries}{settled} in {self.elapsed:.1f} s ({self.rate:,.0f} messages/s)")


@contextmanager
def send_lock(db_path: Path) -> Iterator[None]:
    """One send at a time per database; the OS drops the lock when the process dies."""
    lock_path = Path(str(db_path) + ".send-lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SendLocked(f"another send is running on {db_path}; wait for it to finish") from None
        yield
    finally:
        os.close(fd)


class SendRun:
    """One run of ``send EDITION``: plan, then claim -> provider.send -> record, batch by batch."""

    def __init__(self, store: Store, composer: Composer, provider: Provider,
                 options: SendOptions | None = None, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, rng: Callable[[], float] = random.random,
                 on_batch: Callable[[SendReport, int], None] | None = None, progress=None,
                 wall: Callable[[], float] = time.time):
        self.store = store
        self.composer = composer
        self.provider = provider
        self.options = options or SendOptions()
        self.edition = composer.edition.id
        self.batch_size = batch_size_for(provider, self.options)
        self.clock, self.sleep, self.rng = clock, sleep, rng
        self.on_batch = on_batch
        self.progress = progress or NoProgress()
        self.report = SendReport(self.edition, provider.name)
        self._tried = 0
        self._bad = 0
        self._consecutive_bad = 0
        self._started = 0.0
        self._rate_started: float | None = None
        self._budget_used = 0
        self.wall = wall
        self.reconciler = Reconciler(store, provider, self.edition, settle=self.options.settle, clock=wall)
        self._open_unknown = 0          # unknown batches of this run not yet reconciled
        self._quiet_until = 0.0         # after the provider could not answer: not before this
        self._reconcile_works = provider.can_reconcile

    # --- the run ---------------------------------------------------------------------------------
    def run(self) -> SendReport:
        with send_lock(self.store.path):
            return self._run()

    def _run(self) -> SendReport:
        r = self.report
        self._started = self.clock()
        r.recovered = self.store.recover(self.edition)
        try:
            if self.options.sync_suppressions:
                self.sync_suppressions()
            if self.options.resend_unknown:
                r.requeued_unknown = self.store.resend_unknown(self.edition)
            r.planned = self.plan()
            r.skipped += self.store.skip_unsendable(self.edition)
            self.reconcile()            # what an earlier run left unknown, if it has settled
            keys = [key_from_ledger(audience, phases) for audience, phases, _count
                    in self.store.pending_variants(self.edition)
                    # an audience removed since the plan: its rows stay pending, listed by status
                    if audience in self.composer.records.audiences]
            self.render_all(keys)
            self.progress.start(self.store.pending_count(self.edition), self.edition)
            self.send_until_settled()
        except SendStopped as stop:
            r.stopped = str(stop)
        finally:
            r.skipped += self.store.skip_unsendable(self.edition)
            r.unknown = self.store.status(self.edition)["unknown"]
            r.elapsed = self.clock() - self._started
        return r

    def send_until_settled(self) -> None:
        """Send what is pending; reconcile; send whoever was not taken; wait for unknown
        batches to settle when nothing else is left: until nothing is pending or waiting."""
        rounds = 0
        while True:
            self.send_pending()
            waiting = self.reconcile()
            # readers who unsubscribed (or were forgotten) while the send ran: skipped, not retried
            self.report.skipped += self.store.skip_unsendable(self.edition)
            if self.sendable_pending():
                rounds += 1
                if rounds > self.options.max_rounds:
                    raise SendStopped(f"readers are still pending after {self.options.max_rounds} rounds of "
                                      "reconciling lost answers and sending again; run send again later")
                continue
            if not waiting.waiting or not self.options.wait_for_settle:
                return
            self.wait_to_settle(waiting)

    def send_pending(self) -> None:
        for audience, phases, _count in self.store.pending_variants(self.edition):
            if audience not in self.composer.records.audiences:
                continue   # an audience removed since the plan: its rows stay pending, listed by status
            self.send_variant(key_from_ledger(audience, phases))

    def sendable_pending(self) -> int:
        return sum(n for audience, _p, n in self.store.pending_variants(self.edition)
                   if audience in self.composer.records.audiences)

    def reconcile(self) -> ReconcileReport:
        """Settle the unknown batches whose settle time is over (a no-op for a provider that
        cannot say what it took); count the outcome in the report."""
        result = self.reconciler.run()
        total = self.report.reconciled
        total.checked += result.checked
        total.sent += result.sent
        total.requeued += result.requeued
        total.skipped += result.skipped
        self.report.sent += result.sent
        self.report.skipped += result.skipped
        self.report.unknown = max(0, self.report.unknown - result.sent - result.requeued - result.skipped)
        self._open_unknown = result.waiting
        if result.unsettled and result.notes:
            # the provider could not answer now: not again between the next batches for a minute
            self._quiet_until = self.wall() + 60.0
            self._open_unknown += result.unsettled
            self.progress.note(f"unknown batches not settled now: {result.notes[-1][:200]}")
        if result.checked:
            self.progress.note(f"{result.checked} unknown batch{'es' if result.checked != 1 else ''} checked in "
                               f"{self.provider.name}'s events: {result.sent} of their readers had been sent, "
                               f"{result.requeued} go out again")
            self.progress.update(self.report)
        return result

    def wait_to_settle(self, waiting: ReconcileReport) -> None:
        """Sleep until the first waiting batch settles, saying so (a line a minute on long waits)."""
        left = max(0.0, (waiting.next_due or self.wall()) - self.wall())
        batches = f"{waiting.waiting} batch{'es' if waiting.waiting != 1 else ''} with a lost answer"
        self.progress.note(f"only {batches} left: waiting {duration(left)} for {self.provider.name}'s events to "
                           f"settle before checking {'them' if waiting.waiting != 1 else 'it'} "
                           f"(MAILER_RECONCILE_AFTER={self.options.settle:.0f} s; Ctrl-C is safe: "
                           "`reconcile` finishes later)")
        while left > 0:
            step = min(left, 60.0)
            self.sleep(step)
            self.report.waited += step
            left = max(0.0, (waiting.next_due or 0) - self.wall())
            if left > 0:
                self.progress.note(f"still waiting for {self.provider.name}'s events: {duration(left)} left")

    def render_all(self, keys: list[VariantKey]) -> None:
        """Every variant rendered and checked before the first request, so that a mistake in
        the edition (an unknown %%placeholder%%) stops the send before anyone gets anything,
        rather than half-way with a batch in flight."""
        try:
            for key in keys:
                self.composer.variant(key)
        except ComposeError as err:
            raise SendStopped(str(err)) from None

    def sync_suppressions(self) -> None:
        """The provider's suppressions into the store; if they cannot be read, send nothing."""
        try:
            self.report.suppressions = sync(self.store, self.provider)
        except ProviderError as err:
            need = " (the key must be allowed to read them, not only to send)" if isinstance(err, AuthError) else ""
            raise SendStopped(f"could not fetch the suppressions from {self.provider.name}{need}: {err}; "
                              "nothing was sent") from None

    def plan(self) -> int:
        """A pending ledger row for every sendable reader of this edition; idempotent."""
        planner = self.composer.planner

        def rows():
            for s in self.store.sendable_for(self.edition):
                if s["state"] not in (None, "pending", "skipped"):
                    continue       # already sending, sent, failed or unknown: never planned again
                key = planner.variant(s["roles"], s["phases"])
                if key is not None:
                    yield s["id"], s["address_hash"], key.audience, ledger_phases(key)
        return self.store.plan(self.edition, rows())

    def send_variant(self, key: VariantKey) -> None:
        variant = self.composer.variant(key)
        phases = ledger_phases(key)
        while True:
            if self.options.rate > 0:
                if not self.store.has_pending(self.edition, key.audience, phases):
                    return
                self.throttle()          # before the claim: rows never wait in "sending"
            drain_spool(self.store)      # leaves the web service had to queue: honoured from this batch on
            claim = self.store.claim(self.edition, key.audience, phases, self.batch_size,
                                     self.provider.name, variant.key,
                                     tag_for=lambda batch_id: batch_tag(self.edition, batch_id))
            if claim is None:
                return
            self.send_claim(claim, key)
            if self._open_unknown and self.wall() >= self._quiet_until and self.reconciler.anything_due():
                self.reconcile()         # readers not taken go back to pending: this loop sends them

    def send_claim(self, claim: Claim, key: VariantKey) -> None:
        r = self.report
        by_address = {reader.email: reader.ledger_id for reader in claim.readers}
        r.batches += 1
        in_request = False
        try:
            batch = Batch(self.edition, self.composer.variant(key),
                          tuple(self.composer.recipient(reader) for reader in claim.readers),
                          self.composer.sender, batch_id=claim.batch_id, tag=claim.tag)
            requested = None
            attempt = 0
            if self._rate_started is None:
                self._rate_started = self.clock()
            self._budget_used += len(claim.readers)
            while True:
                attempt += 1
                try:
                    in_request = True
                    requested = stamp_ms(self.wall())      # the settle time counts from the last attempt
                    answer = self.provider.send(batch)
                    in_request = False
                    break
                except TransientError as err:
                    in_request = False
                    self.retry_or_stop(claim, err, attempt)
        except RejectedError as err:
            self.store.finish(claim.batch_id, "failed", f"refused by {self.provider.name}: {err}")
            r.failed += len(claim.readers)
            self.progress.note(f"batch {claim.batch_id} ({len(claim.readers)} readers) failed: {err}")
            self.progress.update(r)
            self.count_batch(bad=True, why=f"refused: {err}")
            return
        except OutcomeUnknownError as err:
            self.store.finish(claim.batch_id, "unknown", f"{self.provider.name}: {err}", requested_at=requested)
            r.unknown += len(claim.readers)
            r.lost += len(claim.readers)
            self._open_unknown += 1
            later = ("checked in its events once they settle" if self.settles(claim)
                     else "not sent again on its own")
            self.progress.note(f"batch {claim.batch_id} ({len(claim.readers)} readers) answer lost, {later}: {err}")
            self.progress.update(r)
            if not self.settles(claim):      # one reconciliation can settle is no error at all
                self.count_batch(bad=True, why=f"outcome unknown: {err}")
            return
        except AuthError as err:
            self.store.finish(claim.batch_id, "pending", f"not sent: {err}")
            hint = "" if "check MAILER_" in str(err) else " (check MAILER_API_KEY or MAILER_SMTP_URL)"
            raise SendStopped(f"{self.provider.name} refused our credentials: {err}{hint}; "
                              "nothing more was sent") from None
        except SendStopped:
            raise
        except BaseException as err:
            # a request may have been under way: never send these readers again on our own
            if in_request:
                self.store.finish(claim.batch_id, "unknown", f"interrupted during the request: {err!r}",
                                  requested_at=requested)
            else:
                self.store.finish(claim.batch_id, "pending", f"not sent: {err!r}")
            raise
        ids = {by_address[a]: mid for a, mid in answer.items() if a in by_address}
        sent, unknown = self.store.finish_sent(claim.batch_id, ids, requested_at=requested)
        r.sent += sent
        r.unknown += unknown
        r.lost += unknown
        self._open_unknown += bool(unknown)
        r.by_variant[key.slug] += sent
        self.progress.update(r)
        if not unknown or not self.settles(claim):
            self.count_batch(bad=bool(unknown), why="the provider did not account for every reader")
        if self.on_batch:
            self.on_batch(r, len(claim.readers))

    def settles(self, claim: Claim) -> bool:
        """Can reconciliation settle this batch later? (Then a lost answer is not an error.)"""
        return bool(claim.tag) and self._reconcile_works and self.reconciler.can_settle()

    # --- hook points: retry, rate limit, error threshold ---------------------------------------
    def retry_or_stop(self, claim: Claim, err: TransientError, attempt: int) -> None:
        o = self.options
        if err.retry_after is not None:
            delay = float(err.retry_after)
            if delay > o.max_retry_after:
                self.store.finish(claim.batch_id, "pending", f"not sent: {err}")
                raise SendStopped(f"{self.provider.name} asks us to wait {delay:.0f} s ({err}); "
                                  "stopped, run send again later")
        else:
            delay = self.backoff(attempt)
        if attempt >= o.max_attempts:
            self.store.finish(claim.batch_id, "pending", f"not sent: {err}")
            raise SendStopped(f"{self.provider.name} unavailable after {attempt} attempts ({err}); "
                              "the readers not yet sent stay pending: run send again later")
        self.report.retries += 1
        self.progress.waiting(delay, f"attempt {attempt} of {o.max_attempts} failed ({str(err)[:120]})")
        self.sleep(delay)

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**(attempt-1))]."""
        o = self.options
        return self.rng() * min(o.backoff_cap, o.backoff_base * 2 ** (attempt - 1))

    def throttle(self) -> None:
        """Keep to ``rate`` messages per second over the run."""
        rate = self.options.rate
        if rate <= 0 or not self._budget_used or self._rate_started is None:
            return
        due = self._rate_started + self._budget_used / rate
        wait = due - self.clock()
        if wait > 0:
            self.sleep(wait)

    def count_batch(self, *, bad: bool, why: str) -> None:
        o = self.options
        self._tried += 1
        if not bad:
            self._consecutive_bad = 0
            return
        self._bad += 1
        self._consecutive_bad += 1
        if self._consecutive_bad >= o.max_consecutive_errors:
            raise SendStopped(f"{self._consecutive_bad} batches in a row went wrong (last: {why}); "
                              "stopped: fix the cause, then run send again")
        if self._tried >= o.min_batches and self._bad / self._tried > o.error_threshold:
            raise SendStopped(f"{self._bad} of {self._tried} batches went wrong (last: {why}); "
                              "stopped: fix the cause, then run send again")


def batch_size_for(provider: Provider, options: SendOptions) -> int:
    """Readers per request: the option, never more than the provider takes, and with a rate
    limit no more than one second's worth, so the rate holds from the first request."""
    size = min(options.batch_size or provider.batch_size, provider.batch_size)
    if options.rate > 0:
        size = min(size, max(1, math.ceil(options.rate)))
    return max(1, size)


@dataclass
class DryRun:
    counts: Counter                     # variant slug -> readers
    suppressed: int = 0                 # readers the provider suppresses (not counted above)
    readers: list[tuple[str, str]] | None = None    # (variant slug, address) with ``listing``


def dry_run(store: Store, composer: Composer, *, suppressed: set[str] | None = None,
            listing: bool = False) -> DryRun:
    """Who would get which variant now: readers not yet sent, per variant slug; nothing written.

    ``suppressed``: address hashes the provider suppresses (read, not stored: see
    :func:`mailer.suppressions.fetch_hashes`)."""
    result = DryRun(Counter(), readers=[] if listing else None)
    planner = composer.planner
    if suppressed:
        suppressed = {store.key(digest) for digest in suppressed}      # as the store keeps them
    for s in store.sendable_for(composer.edition.id):
        if s["state"] not in (None, "pending", "skipped"):
            continue
        key = planner.variant(s["roles"], s["phases"])
        if key is None:
            continue
        if suppressed and s["address_hash"] in suppressed:
            result.suppressed += 1
            continue
        result.counts[key.slug] += 1
        if listing:
            result.readers.append((key.slug, s["email"]))
    return result


__all__ = ["SendRun", "SendOptions", "SendReport", "SendStopped", "SendLocked", "send_lock", "dry_run",
           "DryRun", "batch_size_for"]
