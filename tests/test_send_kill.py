"""SIGKILL at four moments of a real `python -m mailer send` against the Mailgun test server,
then `reconcile` and send again: the batch in flight is settled from Mailgun's events (taken:
sent; not taken: pending, sent again), and every reader gets exactly one message.

The server runs in this process (a thread), the sender in a subprocess, in batches of 3:

(a) before any request: killed while the suppression list is being fetched;
(b) while a request is in flight: the server holds the 3rd batch unread (30 s: longer than any
    test machine takes to notice), then drops it;
(c) between batches: a rate limit makes the sender wait between requests;
(d) after the server accepted a batch but before the ledger recorded it: the 2nd batch is
    accepted, then the answer is held back.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mailer.store import Store
from tests.provider_fixtures import mailgun_server  # noqa: F401  (fixture)
from tests.send_support import (SECRET, WINTER, alliance_with, api_env, count_per_address, db_path,
                                mailer)

REPO = Path(__file__).resolve().parent.parent
READERS = 30          # the fixture's 5 + 25: 6, 6, 12 and 6 readers in four variants: ten batches of 3


def wait_for(condition, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def start_send(root: Path, server, **env) -> subprocess.Popen:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MAILER_")}
    environment.update(api_env(server), MAILER_SECRET=SECRET, MAILER_HASH_KEY=os.environ["MAILER_HASH_KEY"],
                       PYTHONPATH=str(REPO), **env)
    return subprocess.Popen([sys.executable, "-m", "mailer", "--root", str(root), "send", WINTER,
                             "--batch-size", "3", "--quiet"], cwd=REPO, env=environment,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def ledger(root: Path) -> dict[str, int]:
    if not db_path(root).exists():
        return {}
    with Store(db_path(root)) as store:
        return {k: v for k, v in store.status(WINTER).items() if v}


SCENARIOS = {
    # name: (set-up of the server, env for the sender, the moment to kill, the ledger then)
    "a-before-any-request": (lambda s: s.slow_next(30, on="suppressions"), {},
                             lambda s, root: s.arrived["suppressions"] >= 1, {}),
    "b-request-in-flight": (lambda s: (s.let_through(2), s.stall_next(30, then="drop")), {},
                            # killed once the server holds the request (its fault taken), not merely read it
                            lambda s, root: s.arrived["send"] >= 3 and not s.faults,
                            {"sent": 6, "sending": 3, "pending": 21}),
    # batches of 2, one a second: killed once the 2nd is recorded, a second before the 3rd is due
    "c-between-batches": (lambda s: None, {"MAILER_RATE": "2"},
                          lambda s, root: s.accepted_requests >= 2 and ledger(root).get("sent") == 4,
                          {"sent": 4, "pending": 26}),
    "d-accepted-not-recorded": (lambda s: (s.let_through(1), s.slow_next(30)), {},
                                lambda s, root: s.accepted_requests >= 2, {"sent": 3, "sending": 3, "pending": 24}),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_sigkill_then_send_again_nobody_twice(tmp_path, mailgun_server, scenario):
    server = mailgun_server
    prepare, env, moment, at_kill = SCENARIOS[scenario]
    root = alliance_with(tmp_path, extra=25)
    prepare(server)
    proc = start_send(root, server, **env)
    try:
        wait_for(lambda: moment(server, root) or proc.poll() is not None, scenario)
        assert proc.poll() is None, proc.stderr.read().decode()
        proc.send_signal(signal.SIGKILL)     # the server holds (a), (b) and (d) where they are
    finally:
        proc.wait(10)
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    assert ledger(root) == at_kill
    in_flight = at_kill.get("sending", 0)
    server.faults.clear()

    # 1. reconcile: the batch in flight is looked up in the provider's events
    settle = mailer(root, "reconcile", WINTER, env=api_env(server))
    assert settle.exit_code == 0, settle.output
    lines = settle.stdout.splitlines()
    taken = scenario.startswith("d-")          # (d): the server took the batch before the kill
    if in_flight:
        assert lines[0] == "3 readers were being sent when a run stopped: now unknown, checked like any other"
        assert lines[1] == (f"{WINTER}: reconciled: 1 unknown batch checked, {3 if taken else 0} sent after all, "
                            f"{0 if taken else 3} not taken (pending again)")
    after_reconcile = ledger(root)
    assert after_reconcile.get("unknown", 0) == 0 and after_reconcile.get("sending", 0) == 0
    assert after_reconcile.get("sent", 0) == at_kill.get("sent", 0) + (in_flight if taken else 0)

    # 2. send again: the readers still pending, and nobody twice
    again = mailer(root, "send", WINTER, env=api_env(server))
    assert again.exit_code == 0, again.output
    assert ledger(root) == {"sent": READERS}
    counts = count_per_address(server)
    assert set(counts.values()) == {1} and len(counts) == READERS        # every reader exactly once
    status = mailer(root, "status", WINTER)
    assert status.stdout == f"{WINTER}: {READERS} readers: 0 pending, 0 sending, {READERS} sent, 0 failed, " \
                            "0 unknown, 0 skipped\n"
    with Store(db_path(root)) as store:
        ids = [row[0] for row in store.conn.execute("SELECT message_id FROM ledger WHERE edition = ?", (WINTER,))]
    assert all(ids) and len(ids) == READERS
    assert server.invalid == []


@pytest.mark.parametrize("scenario", ["b-request-in-flight", "d-accepted-not-recorded"])
def test_sigkill_then_send_reconciles_on_its_own(tmp_path, mailgun_server, scenario):
    """Without `reconcile`: the next `send` recovers the batch in flight and settles it itself."""
    server = mailgun_server
    prepare, env, moment, _at_kill = SCENARIOS[scenario]
    root = alliance_with(tmp_path, extra=25)
    prepare(server)
    proc = start_send(root, server, **env)
    try:
        wait_for(lambda: moment(server, root) or proc.poll() is not None, scenario)
        assert proc.poll() is None, proc.stderr.read().decode()
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(10)
        proc.stderr.close()
    server.faults.clear()
    again = mailer(root, "send", WINTER, env=api_env(server))
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines()[0] == ("3 readers were being sent when an earlier run stopped: now unknown, "
                                            "checked in the provider's events")
    assert ledger(root) == {"sent": READERS}
    counts = count_per_address(server)
    assert set(counts.values()) == {1} and len(counts) == READERS
    assert " 3 readers reconciled after a lost answer (" in again.stdout
    assert server.invalid == []
