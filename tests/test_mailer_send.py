"""The send loop and the ledger: once per reader, claims before requests, errors, resume."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from mailer.importer import Importer
from mailer.providers.base import (AuthError, OutcomeUnknownError, Provider, RejectedError,
                                   TransientError)
from mailer.providers.outbox import OutboxProvider
from mailer.send import SendLocked, SendOptions, SendRun, dry_run, send_lock
from mailer.store import Store
from tests.mailer_support import SPRING, TODAY, composer, copy_alliance, write_csv

HEADER = "email,first_name,last_name,roles,phases,consent\n"


def readers(n: int, roles: str = "teacher", phases: str = "primary") -> str:
    return HEADER + "".join(f"r{i:04d}@x.example,R{i},Reader,{roles},{phases},yes\n" for i in range(n))


@pytest.fixture
def env(tmp_path):
    root = copy_alliance(tmp_path)
    store = Store(tmp_path / "m.sqlite3")
    yield root, store, tmp_path
    store.close()


def load_readers(store, tmp_path, text):
    return Importer(store, today=TODAY).import_file(write_csv(tmp_path / "r.csv", text))


class Scripted(Provider):
    """A provider whose answers are scripted per call: an exception, or None for success."""

    name = "scripted"

    def __init__(self, script=(), batch_size=10):
        self.script = list(script)
        self.batch_size = batch_size
        self.calls = []          # addresses of every request, in order
        self.delivered = []      # addresses of requests that succeeded

    def send(self, batch):
        addresses = [r.address for r in batch.recipients]
        self.calls.append(addresses)
        outcome = self.script.pop(0) if self.script else None
        if isinstance(outcome, BaseException):
            raise outcome
        self.delivered += addresses
        return {r.address: f"id-{r.address}" for r in batch.recipients}


def run(store, root, provider, **options):
    sleeps = []
    report = SendRun(store, composer(root), provider, SendOptions(**options), sleep=sleeps.append,
                     rng=lambda: 0.5).run()
    return report, sleeps


def test_everyone_once_and_a_second_send_sends_nobody(env):
    root, store, tmp = env
    load_readers(store, tmp, readers(25))
    provider = Scripted()
    report, _ = run(store, root, provider)
    assert report.sent == 25 and report.batches == 3 and report.planned == 25
    assert sorted(provider.delivered) == sorted(f"r{i:04d}@x.example" for i in range(25))
    again = Scripted()
    report, _ = run(store, root, again)
    assert again.calls == [] and report.sent == 0 and report.planned == 0
    assert store.status(SPRING)["sent"] == 25


def test_a_reader_added_later_gets_the_edition_once(env):
    root, store, tmp = env
    load_readers(store, tmp, readers(3))
    run(store, root, Scripted())
    load_readers(store, tmp, readers(4))
    provider = Scripted()
    report, _ = run(store, root, provider)
    assert provider.delivered == ["r0003@x.example"] and report.planned == 1


def test_one_batch_holds_one_variant(env):
    root, store, tmp = env
    load_readers(store, tmp, readers(3) + "s@x.example,S,R,teacher,secondary,yes\nta@x.example,T,A,teaching-assistant,,yes\n")
    provider = Scripted(batch_size=100)
    run(store, root, provider)
    assert sorted(map(len, provider.calls)) == [1, 1, 3]


def test_unsubscribed_after_the_plan_is_skipped(env):
    root, store, tmp = env
    load_readers(store, tmp, readers(5))
    c = composer(root)
    run_ = SendRun(store, c, Scripted())
    run_.plan()
    store.unsubscribe("r0001@x.example")
    store.forget("r0002@x.example")
    provider = Scripted()
    report, _ = run(store, root, provider)
    assert "r0001@x.example" not in provider.delivered and "r0002@x.example" not in provider.delivered
    assert report.sent == 3 and report.skipped == 1        # forget marked its row skipped at once
    assert store.status(SPRING)["skipped"] == 2


def test_transient_errors_are_retried_with_retry_after_or_backoff(env):
    root, store, tmp = env
    load_readers(store, tmp, readers(10))
    provider = Scripted([TransientError("429", retry_after=7), TransientError("503"), TransientError("reset")])
    report, sleeps = run(store, root, provider, backoff_base=2)
    assert report.sent == 10 and report.retries == 3
    assert sleeps == [7.0, 0.5 * 2 * 2, 0.5 * 2 * 4]      # Retry-After, then jittered exponential backoff
    assert provider.delivered == provider.calls[-1]


def test_a_provider_that_stays_down_stops_the_run_and_leaves_readers_pending(env):
    root, store, tmp = env
    load_readers(store, tmp, readers(10))
    provider = Scripted([TransientError("500")] * 10)
    report, _ = run(store, root, provider, max_attempts=3)
    assert report.stopped.startswith("scripted unavailable after 3 attempts (500)")
    assert store.status(SPRING)["pending"] == 10 and report.sent == 0
    report, _ = run(store, root, Scripted())          # later: resumes
    assert report.sent == 10


def test_rejected_batches_fail_and_the_run_goes_on(env):
    root, store, tmp = env
    load_readers(store, tmp, readers(30))
    provider = Scripted([None, RejectedError("422 bad address")])
    report, _ = run(store, root, provider)
    assert (report.sent, report.failed) == (20, 10) and report.stopped is None
    failed = list(store.rows_in_state(SPRING, "failed"))
    assert len(failed) == 10 and failed[0]["reason"] == "refused by scripted: 422 bad address"


def test_auth_error_stops_at_once_without_losing_anyone(env):
    root, store, tmp = env
    load_readers(store, tmp, readers(30))
    provider = Scripted([None, AuthError("401 Unauthorized")])
    report, _ = run(store, root, provider)
    assert len(provider.calls) == 2
    assert report.stopped.startswith("scripted refused our credentials: 401 Unauthorized")
    assert store.status(SPRING) == {"pending": 20, "sending": 0, "sent": 10, "failed": 0, "unknown": 0,
                                    "skipped": 0}


def test_unknown_outcomes_are_never_resent_on_their_own(env):
    root, store, tmp = env
    load_readers(store, tmp, readers(30))
    provider = Scripted([OutcomeUnknownError("read timeout")])
    report, _ = run(store, root, provider)
    assert (report.unknown, report.sent) == (10, 20)
    again = Scripted()
    run(store, root, again)
    assert again.calls == []
    report, _ = run(store, root, again, resend_unknown=True)
    assert report.requeued_unknown == 10 and report.sent == 10 and len(again.delivered) == 10


def test_the_error_threshold_stops_a_bad_send(env):
    root, store, tmp = env
    load_readers(store, tmp, readers(100))
    provider = Scripted([RejectedError("422")] * 100)
    report, _ = run(store, root, provider)
    assert len(provider.calls) == 3 and report.stopped.startswith("3 batches in a row went wrong")
    assert store.status(SPRING)["pending"] == 70


def test_rate_limit(env):
    root, store, tmp = env
    load_readers(store, tmp, readers(30))
    clock = [0.0]
    sleeps = []

    def sleep(s):
        sleeps.append(s)
        clock[0] += s
    provider = Scripted()
    SendRun(store, composer(root), provider, SendOptions(rate=5), clock=lambda: clock[0], sleep=sleep).run()
    # batches of one second's worth (5 readers), each one second after the previous one
    assert list(map(len, provider.calls)) == [5] * 6 and sleeps == [1.0] * 5


def test_rows_left_sending_become_unknown(env):
    root, store, tmp = env
    load_readers(store, tmp, readers(10))
    c = composer(root)
    SendRun(store, c, Scripted()).plan()
    claim = store.claim(SPRING, "teachers", "primary", 4, "scripted")
    assert len(claim.readers) == 4                     # ...and the process dies here
    report, _ = run(store, root, Scripted())
    assert report.recovered == 4 and report.sent == 6
    assert store.status(SPRING)["unknown"] == 4


def test_one_send_at_a_time(env):
    root, store, tmp = env
    with send_lock(store.path):
        with pytest.raises(SendLocked, match="another send is running"):
            run(store, root, Scripted())


def test_dry_run_writes_nothing(env):
    root, store, tmp = env
    load_readers(store, tmp, readers(3) + "s@x.example,S,R,teacher,secondary,yes\n")
    result = dry_run(store, composer(root), listing=True)
    assert result.counts == {"teachers--primary": 3, "teachers--secondary": 1}
    assert ("teachers--secondary", "s@x.example") in result.readers and len(result.readers) == 4
    assert store.total(SPRING) == 0


KILLED = """
import sys, time
sys.path.insert(0, {cwd!r})
from mailer.providers.outbox import OutboxProvider
from mailer.send import SendRun, SendOptions
from mailer.store import Store
from tests.mailer_support import composer
from pathlib import Path

class Slow(OutboxProvider):
    calls = 0

    def send(self, batch):
        Slow.calls += 1
        print("request", flush=True)
        # request number {n} hangs in flight: the SIGKILL lands there
        time.sleep(30 if Slow.calls == {n} else 0.01)
        return super().send(batch)

with Store({db!r}) as store:
    SendRun(store, composer(Path({root!r})), Slow({outbox!r}, batch_size=7)).run()
"""


@pytest.mark.parametrize("requests_before_kill", [1, 3])
def test_killed_with_sigkill_then_resumed_nobody_twice(env, requests_before_kill):
    root, store, tmp = env
    load_readers(store, tmp, readers(40))
    outbox = tmp / "outbox"
    script = KILLED.format(cwd=os.getcwd(), db=str(store.path), root=str(root), outbox=str(outbox),
                           n=requests_before_kill)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    for _ in range(requests_before_kill):
        assert proc.stdout.readline().strip() == "request"
    time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    mid = store.status(SPRING)
    assert mid["sending"] == 7 and mid["sent"] == 7 * (requests_before_kill - 1)
    provider = OutboxProvider(outbox, batch_size=7)
    report = SendRun(store, composer(root), provider).run()
    final = store.status(SPRING)
    assert report.recovered == 7
    assert final["sent"] + final["unknown"] == 40 and final["unknown"] == 7 and final["pending"] == 0
    # every reader has exactly one file, except the unknown batch, which was never written twice
    assert len(list(outbox.glob(f"{SPRING}/*.eml"))) == 33
    assert not list(outbox.glob(f"{SPRING}/.*.tmp"))


def test_a_reader_who_unsubscribes_while_the_send_runs_is_skipped_and_the_send_ends(env):
    root, store, tmp = env
    load_readers(store, tmp, readers(25))

    class Unsubscribing(Scripted):
        def send(self, batch):
            if not self.calls:                       # during the first request, a reader leaves
                store.unsubscribe("r0024@x.example")
            return super().send(batch)

    provider = Unsubscribing()
    report, _ = run(store, root, provider)
    assert report.stopped is None and report.sent == 24 and report.skipped == 1
    assert "r0024@x.example" not in provider.delivered and len(provider.calls) == 3
    assert store.status(SPRING)["skipped"] == 1 and store.status(SPRING)["pending"] == 0
