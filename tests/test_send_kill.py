"""SIGKILL at four moments of a real `python -m mailer send` against the Mailgun test server,
then send again (without, then with --resend-unknown): nobody gets two copies unless
--resend-unknown was asked for a batch that had in fact been delivered, and after the plain
re-run every reader is sent or listed as unknown by `status`.

The server runs in this process (a thread), the sender in a subprocess, in batches of 3:

(a) before any request: killed while the suppression list is being fetched;
(b) while a request is in flight: the server holds the 3rd batch unread, then drops it;
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
    "b-request-in-flight": (lambda s: (s.let_through(2), s.stall_next(5, then="drop")), {},
                            lambda s, root: s.arrived["send"] >= 3, {"sent": 6, "sending": 3, "pending": 21}),
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
    before = count_per_address(server)
    accepted_before_kill = set(before)

    # 1. send again: the readers still pending, and nobody twice
    server.faults.clear()
    again = mailer(root, "send", WINTER, env=api_env(server))
    assert again.exit_code == 0, again.output
    counts = count_per_address(server)
    assert set(counts.values()) == {1}
    after = ledger(root)
    in_flight = at_kill.get("sending", 0)
    assert after == ({"sent": READERS - in_flight, "unknown": in_flight} if in_flight else {"sent": READERS})
    if in_flight:
        assert again.stdout.splitlines()[0] == (f"{in_flight} readers were being sent when an earlier run stopped: "
                                                "now unknown, not sent again (see status; --resend-unknown "
                                                "sends them)")
    # every reader is sent, or listed as unknown by status
    status = mailer(root, "status", WINTER, "--list", "unknown")
    unknown = {line.split("\t")[0] for line in status.stdout.splitlines() if "\t" in line}
    with Store(db_path(root)) as store:
        sent = {row["email"] for row in store.conn.execute(
            "SELECT s.email FROM ledger l JOIN subscribers s ON s.id = l.subscriber_id "
            "WHERE l.edition = ? AND l.state = 'sent'", (WINTER,))}
    assert len(sent) + len(unknown) == READERS and not sent & unknown
    if scenario.startswith("d-"):          # the server got the readers recorded as sent, and the batch
        assert set(counts) == sent | unknown and unknown <= accepted_before_kill   # it took before the kill
    else:                                  # the server got exactly the readers recorded as sent
        assert set(counts) == sent
    if in_flight:                          # status names the batch: the 3rd request in (b), the 2nd in (d)
        batch = 3 if scenario.startswith("b-") else 2
        assert f"  batch {batch}: 3 readers, " in status.stdout
        assert len(unknown) == 3 and "interrupted while sending" in status.stdout

    # 2. --resend-unknown: those readers now get it; only a batch that had been delivered is doubled
    resend = mailer(root, "send", WINTER, "--resend-unknown", env=api_env(server))
    assert resend.exit_code == 0, resend.output
    assert ledger(root) == {"sent": READERS}
    counts = count_per_address(server)
    twice = {address for address, n in counts.items() if n == 2}
    assert len(counts) == READERS and set(counts.values()) <= {1, 2}
    assert twice == (unknown if scenario.startswith("d-") else set())
    assert server.invalid == []
