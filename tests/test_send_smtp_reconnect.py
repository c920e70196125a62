"""SMTP under dropped connections (aiosmtpd, the real send loop): a dropped connection is
reopened and the send goes on; a message whose answer after DATA was lost is unknown for
that reader alone; a rate limit holds across reconnections."""
from __future__ import annotations

import pytest

from mailer.providers.smtp import SmtpProvider
from mailer.send import SendOptions, SendRun
from mailer.store import Store
from tests.mailer_support import composer
from tests.provider_fixtures import smtp_server  # noqa: F401  (fixture)
from tests.send_support import SECRET, WINTER, alliance_with, db_path

READERS = 25


@pytest.fixture
def env(tmp_path):
    root = alliance_with(tmp_path, extra=20)
    store = Store(db_path(root))
    yield root, store
    store.close()


def run(root, store, port, **options):
    provider = SmtpProvider(f"smtp://127.0.0.1:{port}", timeout=2.0)
    options.setdefault("backoff_base", 0.01)
    with provider:
        report = SendRun(store, composer(root, WINTER, secret=SECRET.encode()), provider,
                         SendOptions(sync_suppressions=False, **options)).run()
    return report, provider


def delivered_to(recorder) -> list[str]:
    return [d.rcpt_tos[0] for d in recorder.delivered]


def states(store) -> dict[str, int]:
    return {k: v for k, v in store.status(WINTER).items() if v}


def test_dropped_connections_are_reopened_and_the_send_goes_on(env, smtp_server):
    root, store = env
    _, recorder, port = smtp_server()
    recorder.per_connection = 4             # 421 and close after every 4th message
    recorder.drop_at_rcpt = 2               # and twice the connection just vanishes mid-message
    report, provider = run(root, store, port)
    assert (report.sent, report.unknown, report.failed, report.stopped) == (READERS, 0, 0, None)
    got = delivered_to(recorder)
    assert len(got) == READERS and len(set(got)) == READERS          # every reader exactly once
    assert provider.reconnections >= READERS // 4 + 2 - 1
    assert recorder.ehlo_count == provider.reconnections + 1      # one session per connection
    assert states(store) == {"sent": READERS}


def test_a_lost_answer_after_data_is_unknown_for_that_reader_only(env, smtp_server):
    root, store = env
    _, recorder, port = smtp_server()
    recorder.drop_after_data = 1            # the first message is taken, its answer lost
    report, _ = run(root, store, port)
    assert (report.sent, report.unknown, report.stopped) == (READERS - 1, 1, None)
    assert states(store) == {"sent": READERS - 1, "unknown": 1}
    unknown = [row["email"] for row in store.rows_in_state(WINTER, "unknown")]
    assert unknown == [delivered_to(recorder)[0]]                     # the one the server did take
    assert sorted(delivered_to(recorder)) == sorted(set(delivered_to(recorder)))
    # SMTP cannot say afterwards what it took: the batch stays unknown, and status says why
    batches = store.unknown_batches(WINTER)
    from mailer.reconcile import explain
    assert len(batches) == 1 and explain(batches[0], 0) == "smtp cannot say afterwards which messages it took"


def test_the_rate_limit_holds_across_reconnections(env, smtp_server):
    root, store = env
    _, recorder, port = smtp_server()
    recorder.per_connection = 2
    recorder.drop_at_rcpt = 1
    rate = 20.0
    report, provider = run(root, store, port, rate=rate)
    assert report.sent == READERS and provider.reconnections >= 12
    times = recorder.delivered_at
    assert len(times) == READERS
    # message n goes out no earlier than n / rate seconds after the first request (10 ms of slack)
    for n, moment in enumerate(times):
        assert moment - times[0] >= n / rate - 0.06 - 0.01, (n, moment - times[0])
    assert times[-1] - times[0] >= (READERS - 1) / rate - 0.06
