"""Reconciliation against the stand-ins: tags on every batch, the events read page by page,
`reconcile` and `status` on the command line, and what stays unknown (and why)."""
from __future__ import annotations

import json
import re

import pytest

from mailer.providers import make_provider
from mailer.providers.base import Lookup
from mailer.reconcile import Reconciler, batch_tag, explain, settle_from_env
from mailer.store import MIGRATIONS, Store
from tests.provider_fixtures import make_batch, mailgun_server, sendgrid_server  # noqa: F401  (fixtures)
from tests.send_support import WINTER, alliance_with, api_env, count_per_address, db_path, mailer

READERS = 30


def states(root) -> dict[str, int]:
    with Store(db_path(root)) as store:
        return {k: v for k, v in store.status(WINTER).items() if v}


def test_tags_are_unique_ascii_and_within_mailguns_limits():
    tags = {batch_tag("2026-12-01 Winter & <Spring> édition" * 5, n) for n in range(1, 500)}
    assert len(tags) == 499
    for tag in tags:
        assert re.fullmatch(r"[a-z0-9-]{1,128}", tag), tag
    assert batch_tag("x", 7) != batch_tag("x", 7)                 # the random part


def test_every_request_carries_its_batch_tag_and_id(tmp_path, mailgun_server, sendgrid_server):
    for server in (mailgun_server, sendgrid_server):
        root = alliance_with(tmp_path / server.provider, extra=25)
        result = mailer(root, "send", WINTER, "--batch-size", "7", env=api_env(server))
        assert result.exit_code == 0, result.output
        with Store(db_path(root)) as store:
            tags = {row["id"]: row["tag"] for row in store.conn.execute("SELECT id, tag, requested_at FROM batches")
                    if row["requested_at"]}
        assert len(tags) >= 5 and all(tags.values())
        if server.provider == "mailgun":      # o:tag on the request, v:batch among the variables
            seen = {(int(e.data["user-variables"]["batch"]), tuple(e.data["tags"])) for e in server.events._events}
        else:                                 # custom_args of every personalization
            seen = {(int(m.variables["batch"]), (m.variables["batch_tag"],)) for m in server.messages}
        assert seen == {(batch, (tag,)) for batch, tag in tags.items()}
        assert server.invalid == []


def test_the_events_are_read_page_by_page(mailgun_server):
    provider = make_provider(mailgun_server.settings())
    batch = make_batch(700)
    batch = type(batch)(batch.edition, batch.variant, batch.recipients, batch.sender, batch_id=4, tag="e-b4-abc")
    other = make_batch(5)
    other = type(other)(other.edition, other.variant, other.recipients, other.sender, batch_id=5, tag="e-b5-def")
    with provider:
        provider.send(batch)
        provider.send(other)
        found = provider.accepted(Lookup("e-b4-abc", 4, 0.0))
    assert sorted(found) == sorted(r.address for r in batch.recipients)
    assert len(set(found.values())) == 1 and "@mg.example.org" in next(iter(found.values()))
    pages = mailgun_server.requests_to("/events")
    assert len(pages) == 4                            # 300 + 300 + 100 + the empty page
    assert [len(p.path.split("/")) for p in pages] == [4, 5, 5, 5]   # then the paging links
    assert dict(pages[0].query)["tags"] == "e-b4-abc" and dict(pages[0].query)["event"] == "accepted"
    assert mailgun_server.invalid == []


def test_a_transient_fault_of_the_events_api_is_retried(mailgun_server):
    provider = make_provider(mailgun_server.settings(), backoff=0.01)
    batch = make_batch(3)
    batch = type(batch)(batch.edition, batch.variant, batch.recipients, batch.sender, batch_id=1, tag="t-b1-x")
    mailgun_server.fail_next(503, retry_after="0", on="events")
    with provider:
        provider.send(batch)
        assert len(provider.accepted(Lookup("t-b1-x", 1, 0.0))) == 3
    assert [s.outcome for s in mailgun_server.requests_to("/events")][:2] == ["fault 503", "200"]


def test_reconcile_and_status_on_the_command_line(tmp_path, mailgun_server):
    root = alliance_with(tmp_path, extra=25)
    server = mailgun_server
    server.let_through(2)
    server.reset_next(after_processing=True)          # 3rd batch: taken, answer lost
    server.reset_next(after_processing=False)         # 4th: dropped before it was taken
    server.events.delay = 3600                        # events not visible yet
    env = api_env(server, MAILER_RECONCILE_AFTER="3600")
    sent = mailer(root, "send", WINTER, "--batch-size", "3", "--no-wait", env=env)
    assert sent.exit_code == 0, sent.output
    assert states(root) == {"sent": 24, "unknown": 6}
    assert "6 unknown: see `status 2026-12-01-winter` for why; `reconcile" in sent.stdout

    status = mailer(root, "status", WINTER, env=env)
    lines = status.stdout.splitlines()
    why = [line.strip() for line in lines if line.strip().startswith("still unknown because:")]
    assert len(why) == 2 and all("waiting for mailgun's events to settle: checked from " in w for w in why)
    assert all("(MAILER_RECONCILE_AFTER=3600 s after the request)" in w for w in why)
    as_json = json.loads(mailer(root, "status", WINTER, "--json", env=env).stdout)
    assert [b["readers"] for b in as_json["unknown_batches"]] == [3, 3]
    assert all(b["tag"].startswith("2026-12-01-winter-b") for b in as_json["unknown_batches"])

    early = mailer(root, "reconcile", WINTER, env=env)     # too early: nothing is checked
    assert early.exit_code == 0 and early.stdout.splitlines()[0] == (
        f"{WINTER}: reconciled: 0 unknown batches checked, 0 sent after all, 0 not taken (pending again), "
        "2 waiting for the events to settle")
    assert server.requests_to("/events") == [] and states(root) == {"sent": 24, "unknown": 6}

    server.events.delay = 0
    env["MAILER_RECONCILE_AFTER"] = "0"
    done = mailer(root, "reconcile", WINTER, env=env)
    assert done.stdout.splitlines()[:3] == [
        f"{WINTER}: reconciled: 2 unknown batches checked, 3 sent after all, 3 not taken (pending again)",
        f"{WINTER}: 30 readers: 3 pending, 0 sending, 27 sent, 0 failed, 0 unknown, 0 skipped",
        f"3 pending: `send {WINTER}` sends them"]
    again = mailer(root, "send", WINTER, env=env)
    assert again.exit_code == 0 and states(root) == {"sent": READERS}
    assert set(count_per_address(server).values()) == {1} and len(count_per_address(server)) == READERS
    assert server.invalid == []


def test_sendgrid_with_email_activity_reconciles(tmp_path, sendgrid_server):
    root = alliance_with(tmp_path, extra=25)
    sendgrid_server.let_through(1)
    sendgrid_server.reset_next(after_processing=True)
    sendgrid_server.reset_next(after_processing=False)
    result = mailer(root, "send", WINTER, "--batch-size", "5", env=api_env(sendgrid_server))
    assert result.exit_code == 0, result.output
    assert states(root) == {"sent": READERS}
    assert set(count_per_address(sendgrid_server).values()) == {1}
    queries = sendgrid_server.requests_to("/v3/messages")
    assert len(queries) == 2 and all(dict(q.query)["query"].startswith("unique_args['batch_tag']=") for q in queries)
    assert sendgrid_server.invalid == []


def test_sendgrid_without_email_activity_leaves_unknown_unknown_and_says_why(tmp_path, sendgrid_server):
    root = alliance_with(tmp_path, extra=25)
    sendgrid_server.let_through(1)
    sendgrid_server.reset_next(after_processing=True)
    sendgrid_server.fail_next(403, message="access forbidden", on="events")
    result = mailer(root, "send", WINTER, "--batch-size", "5", env=api_env(sendgrid_server))
    assert result.exit_code == 0, result.output
    now = states(root)
    assert set(now) == {"sent", "unknown"} and now["sent"] + now["unknown"] == READERS
    with Store(db_path(root)) as store:
        assert len(store.unknown_batches(WINTER)) == 1     # the batch whose answer was lost
    status = mailer(root, "status", WINTER, env=api_env(sendgrid_server))
    assert "still unknown because: SendGrid's Email Activity API is not available to this key" in status.stdout
    assert "paid Email Activity add-on" in status.stdout


def test_a_batch_sent_through_another_provider_is_not_checked_here(tmp_path, mailgun_server, sendgrid_server):
    root = alliance_with(tmp_path, extra=25)
    mailgun_server.reset_next(after_processing=True)
    env = api_env(mailgun_server, MAILER_RECONCILE_AFTER="3600")
    assert mailer(root, "send", WINTER, "--batch-size", "5", "--no-wait", env=env).exit_code == 0
    with Store(db_path(root)) as store, make_provider(sendgrid_server.settings()) as provider:
        report = Reconciler(store, provider, WINTER, settle=0).run()
        assert (report.checked, report.unsettled) == (0, 1)
        batch = store.unknown_batches(WINTER)[0]
        assert explain(batch, 0) == "sent through mailgun, not sendgrid: set MAILER_PROVIDER=mailgun to check it"


def test_the_settle_time_comes_from_the_environment():
    assert settle_from_env({}) == 1800.0
    assert settle_from_env({"MAILER_RECONCILE_AFTER": "0"}) == 0.0
    with pytest.raises(ValueError, match="MAILER_RECONCILE_AFTER: 'soon' is not a number of seconds"):
        settle_from_env({"MAILER_RECONCILE_AFTER": "soon"})


def test_an_old_database_gains_the_tag_columns(tmp_path):
    import sqlite3
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    for statement in MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute("INSERT INTO batches (edition, provider, variant, size, state, claimed_at) "
                 "VALUES ('e', 'mailgun', 'v', 1, 'unknown', '2026-01-01T00:00:00Z')")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    with Store(path) as store:
        row = dict(store.conn.execute("SELECT tag, requested_at, check_note FROM batches").fetchone())
    assert row == {"tag": "", "requested_at": None, "check_note": ""}
    assert explain({"provider": "mailgun", "tag": ""}, 0) == \
        "sent before batches were tagged: the provider cannot be asked about it"


def test_a_reader_forgotten_before_the_check_is_skipped_whatever_the_events_say(tmp_path, mailgun_server):
    root = alliance_with(tmp_path)
    mailgun_server.reset_next(after_processing=True)      # batch 1: taken, answer lost
    mailgun_server.reset_next(after_processing=False)     # batch 2: not taken
    env = api_env(mailgun_server, MAILER_RECONCILE_AFTER="3600")
    assert mailer(root, "send", WINTER, "--batch-size", "1", "--no-wait", env=env).exit_code == 0
    with Store(db_path(root)) as store:
        unknown = {row["batch_id"]: row["email"] for row in store.rows_in_state(WINTER, "unknown")}
        assert sorted(unknown) == [1, 2]
        for address in unknown.values():
            assert store.forget(address) == "forgotten"
    env["MAILER_RECONCILE_AFTER"] = "0"
    done = mailer(root, "reconcile", WINTER, env=env)
    assert done.stdout.splitlines()[0] == (f"{WINTER}: reconciled: 2 unknown batches checked, 0 sent after all, "
                                           "0 not taken (pending again), 2 skipped (forgotten)")
    with Store(db_path(root)) as store:
        rows = {r["batch_id"]: (r["state"], r["reason"]) for r in store.conn.execute(
            "SELECT batch_id, state, reason FROM ledger WHERE batch_id IN (1, 2)")}
    assert rows == {1: ("skipped", "forgotten"), 2: ("skipped", "forgotten")}
    again = mailer(root, "send", WINTER, env=env)
    counts = count_per_address(mailgun_server)
    assert again.exit_code == 0 and set(counts.values()) == {1} and len(counts) == 4
    assert unknown[1] in counts and unknown[2] not in counts      # nothing more to the forgotten reader


def test_a_batch_older_than_the_providers_event_log_is_not_guessed(tmp_path, mailgun_server):
    root = alliance_with(tmp_path)
    mailgun_server.reset_next(after_processing=False)
    env = api_env(mailgun_server, MAILER_RECONCILE_AFTER="3600")
    assert mailer(root, "send", WINTER, "--batch-size", "1", "--no-wait", env=env).exit_code == 0
    with Store(db_path(root)) as store:                 # as if the request were four days old
        store.conn.execute("UPDATE batches SET claimed_at = '2020-01-01T00:00:00Z', "
                           "requested_at = '2020-01-01T00:00:00.000Z' WHERE id = 1")
    done = mailer(root, "reconcile", WINTER, env=api_env(mailgun_server))
    assert "1 still unknown" in done.stdout.splitlines()[0] and mailgun_server.requests_to("/events") == []
    assert "mailgun keeps its events for 3 days, so its silence proves nothing now" in done.stdout
    assert states(root) == {"sent": 4, "unknown": 1}
