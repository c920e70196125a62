"""Faults through the whole send loop (SendRun + the real Mailgun/SendGrid providers + the
loopback server), with the ledger's states asserted after each.

The loop's sleeps are real but recorded, so a test can say what it waited; backoff is shrunk
(``backoff_base=0.01``) so the suite stays fast."""
from __future__ import annotations

import time

import pytest

from mailer.providers import make_provider
from mailer.send import SendOptions, SendRun
from mailer.store import Store
from tests.mailer_support import composer
from tests.provider_fixtures import api_server, closed_port, mailgun_server  # noqa: F401  (fixtures)
from tests.provider_server import ProviderServer
from tests.send_support import SECRET, WINTER, alliance_with, count_per_address, db_path

READERS = 25          # the fixture's 5 + 20: five batches of 5 (one or two per variant)


@pytest.fixture
def env(tmp_path):
    root = alliance_with(tmp_path, extra=20)
    store = Store(db_path(root))
    yield root, store
    store.close()


def send(root, store, settings, *, batch_size=5, **options):
    """One run through the loop; returns (report, the loop's sleeps)."""
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        time.sleep(seconds)

    options.setdefault("backoff_base", 0.01)
    options.setdefault("settle", 0.0)            # the stand-in's events show at once
    provider = make_provider(settings, backoff=0.01, get_retries=2)
    with provider:
        report = SendRun(store, composer(root, WINTER, secret=SECRET.encode()), provider,
                         SendOptions(batch_size=batch_size, **options), sleep=sleep).run()
    return report, sleeps


def states(store) -> dict[str, int]:
    return {k: v for k, v in store.status(WINTER).items() if v}


def posts(server) -> list[str]:
    return [s.outcome for s in server.seen if s.method == "POST"]


@pytest.mark.parametrize("status", [429, 503])
def test_429_and_503_wait_as_long_as_retry_after_says(env, api_server, status):
    root, store = env
    api_server.let_through(1)
    api_server.fail_next(status, retry_after="1")
    started = time.monotonic()
    report, sleeps = send(root, store, api_server.settings())
    assert sleeps == [1.0] and time.monotonic() - started >= 1.0
    assert (report.sent, report.retries, report.stopped) == (READERS, 1, None)
    outcomes = posts(api_server)
    assert outcomes[1] == f"fault {status}" and len(outcomes) == 6          # 5 batches + 1 retry
    assert states(store) == {"sent": READERS}
    assert set(count_per_address(api_server).values()) == {1} and api_server.invalid == []


def test_other_5xx_back_off_exponentially_with_jitter(env, api_server):
    root, store = env
    for status in (500, 502, 504):
        api_server.fail_next(status)
    report, sleeps = send(root, store, api_server.settings(), backoff_base=0.02)
    assert report.retries == 3 and report.sent == READERS
    assert len(sleeps) == 3
    for attempt, slept in enumerate(sleeps, start=1):    # full jitter: anywhere up to the ceiling
        assert 0 <= slept <= 0.02 * 2 ** (attempt - 1)
    assert states(store) == {"sent": READERS}
    assert set(count_per_address(api_server).values()) == {1}


def test_a_provider_that_stays_down_stops_the_send_and_leaves_readers_pending(env, mailgun_server):
    root, store = env
    mailgun_server.let_through(2)
    for _ in range(3):
        mailgun_server.fail_next(500, message="Internal error")
    report, sleeps = send(root, store, mailgun_server.settings(), max_attempts=3)
    assert len(sleeps) == 2
    assert report.stopped.startswith("mailgun unavailable after 3 attempts (mailgun: HTTP 500 from "
                                     "/v3/mg.example.org/messages: Internal error)")
    assert states(store) == {"sent": 10, "pending": 15}
    report, _ = send(root, store, mailgun_server.settings())       # later, it is back
    assert report.sent == 15 and states(store) == {"sent": READERS}
    assert set(count_per_address(mailgun_server).values()) == {1} and len(count_per_address(mailgun_server)) == 25


def test_connection_refused_is_retried_until_the_provider_is_up(env):
    root, store = env
    port = closed_port()
    servers = []

    with ProviderServer("mailgun", port=port) as template:
        settings = template.settings()
    assert settings.api_url.endswith(f":{port}")

    def sleep_then_start(seconds):          # the first retry finds the server up
        if not servers:
            servers.append(ProviderServer("mailgun", port=port).start())

    provider = make_provider(settings, backoff=0.01)
    try:
        with provider:
            report = SendRun(store, composer(root, WINTER, secret=SECRET.encode()), provider,
                             SendOptions(batch_size=5, sync_suppressions=False), sleep=sleep_then_start).run()
        assert report.retries == 1 and report.sent == READERS and states(store) == {"sent": READERS}
        assert set(count_per_address(servers[0]).values()) == {1}
    finally:
        for server in servers:
            server.stop()


def test_no_server_at_all_stops_before_anything_is_sent(env):
    root, store = env
    with ProviderServer("mailgun") as server:
        settings = server.settings()
    report, _ = send(root, store, settings)                       # the server is gone: refused
    assert report.stopped.startswith("could not fetch the suppressions from mailgun: mailgun: GET "
                                     "/v3/mg.example.org/unsubscribes: could not connect")
    assert report.stopped.endswith("; nothing was sent") and store.total(WINTER) == 0


@pytest.mark.parametrize("status", [400, 422])
def test_a_refused_batch_is_failed_with_the_providers_message_and_the_send_goes_on(env, api_server, status):
    root, store = env
    api_server.let_through(1)
    api_server.fail_next(status, message="'to' parameter is not a valid address")
    report, _ = send(root, store, api_server.settings())
    assert (report.sent, report.failed, report.stopped) == (20, 5, None)
    assert states(store) == {"sent": 20, "failed": 5}
    reasons = {row["reason"] for row in store.rows_in_state(WINTER, "failed")}
    assert len(reasons) == 1 and f"HTTP {status}" in reasons.pop()
    assert "'to' parameter is not a valid address" in next(iter(
        {row["reason"] for row in store.rows_in_state(WINTER, "failed")}))
    again, _ = send(root, store, api_server.settings())             # failed is final: not retried
    assert again.sent == 0 and len(count_per_address(api_server)) == 20


@pytest.mark.parametrize("status", [401, 403])
def test_401_and_403_stop_the_send_at_once(env, api_server, status):
    root, store = env
    api_server.let_through(1)                 # the first batch goes through
    api_server.fail_next(status)
    report, sleeps = send(root, store, api_server.settings())
    assert sleeps == []
    assert f"{api_server.provider} refused our credentials: {api_server.provider}: HTTP {status}" in report.stopped
    assert report.stopped.endswith("(check MAILER_API_KEY and its permissions); nothing more was sent")
    assert len(posts(api_server)) == 2                          # nothing after the refusal
    assert states(store) == {"sent": 5, "pending": 20}          # the refused batch was released


@pytest.mark.parametrize("fault", ["reset before processing", "reset after processing", "read timeout"])
def test_lost_answers_are_reconciled_from_the_events_and_every_reader_gets_one(env, api_server, fault):
    root, store = env
    api_server.let_through(1)
    if fault == "read timeout":
        api_server.slow_next(1.0)
    else:
        api_server.reset_next(after_processing=fault == "reset after processing")
    report, sleeps = send(root, store, api_server.settings(timeout=0.4))
    delivered = fault != "reset before processing"               # the provider did take it
    assert (report.sent, report.unknown, report.lost, report.stopped, sleeps) == (READERS, 0, 5, None, [])
    assert (report.reconciled.checked, report.reconciled.sent, report.reconciled.requeued) == \
        (1, 5 if delivered else 0, 0 if delivered else 5)
    assert states(store) == {"sent": READERS}
    counts = count_per_address(api_server)
    assert len(counts) == READERS and set(counts.values()) == {1}
    # the reconciled readers carry the provider's message id from its events
    ids = {row["message_id"] for row in store.conn.execute("SELECT message_id FROM ledger")}
    assert "" not in ids and None not in ids
    events = api_server.requests_to("/events") + api_server.requests_to("/v3/messages")
    assert events and all(s.outcome == "200" for s in events)
    assert api_server.invalid == []


def test_unknown_batches_wait_for_their_settle_time_before_the_events_are_read(env, mailgun_server):
    """Mailgun's events reach its log late: read too early, a batch it took would look untaken
    and its readers would get it twice. The send waits the settle time, then reads."""
    root, store = env
    mailgun_server.events.delay = 0.6
    mailgun_server.let_through(2)
    mailgun_server.reset_next(after_processing=True)
    notes: list[str] = []

    class Notes:
        def __getattr__(self, name):
            return lambda *args, **kwargs: notes.append(args[0]) if name == "note" else None

    provider = make_provider(mailgun_server.settings(), backoff=0.01)
    with provider:
        report = SendRun(store, composer(root, WINTER, secret=SECRET.encode()), provider,
                         SendOptions(batch_size=5, settle=1.0), progress=Notes()).run()
    assert states(store) == {"sent": READERS} and report.reconciled.sent == 5 and report.waited > 0
    assert set(count_per_address(mailgun_server).values()) == {1}
    waits = [n for n in notes if n.startswith("only 1 batch with a lost answer left: waiting")]
    assert len(waits) == 1 and "for mailgun's events to settle" in waits[0]
    assert mailgun_server.invalid == []


def test_the_error_threshold_stops_a_send_going_badly(env, mailgun_server):
    root, store = env
    for _ in range(4):
        mailgun_server.fail_next(422, message="bad")
    report, _ = send(root, store, mailgun_server.settings())
    assert report.stopped.startswith("3 batches in a row went wrong (last: refused: mailgun: HTTP 422")
    assert states(store) == {"failed": 15, "pending": 10}
    assert len(posts(mailgun_server)) == 3


def test_suppression_pages_are_retried_and_a_refusal_stops_before_sending(env, mailgun_server):
    root, store = env
    mailgun_server.fail_next(503, retry_after="0.1", on="suppressions")
    report, _ = send(root, store, mailgun_server.settings())
    assert report.sent == READERS and report.suppressions is not None

    store.conn.execute("DELETE FROM ledger")
    mailgun_server.clear()
    mailgun_server.fail_next(401, on="suppressions")
    report, _ = send(root, store, mailgun_server.settings())
    assert report.stopped == ("could not fetch the suppressions from mailgun (the key must be allowed to read "
                              "them, not only to send): mailgun: HTTP 401 from /v3/mg.example.org/unsubscribes: "
                              "Forbidden (check MAILER_API_KEY and its permissions); nothing was sent")
    assert posts(mailgun_server) == [] and store.total(WINTER) == 0
