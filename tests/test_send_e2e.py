"""Whole sends of the mailer-mini alliance through `python -m mailer send`, against real servers on
loopback: Mailgun's and SendGrid's APIs (every request checked against their OpenAPI specs) and
SMTP (aiosmtpd). Every sendable reader gets exactly one message, addressed to them alone, with
their own unsubscribe link and nobody else's data."""
from __future__ import annotations

import json

from mailer.store import Store
from tests.provider_fixtures import api_server, mailgun_server, smtp_server  # noqa: F401  (fixtures)
from tests.send_support import (FIXTURE_SPRING, FIXTURE_WINTER, SPRING, WINTER, alliance_with, api_env,
                                check_api_messages, check_smtp_messages, db_path, mailer, smtp_env)


def test_a_full_send_through_an_http_api(tmp_path, api_server):
    root = alliance_with(tmp_path)
    result = mailer(root, "send", WINTER, env=api_env(api_server))
    assert result.exit_code == 0, result.output
    check_api_messages(api_server, FIXTURE_WINTER, FIXTURE_WINTER)
    lines = result.stdout.splitlines()
    lists = "0 unsubscribed (0 new), 0 bounce (0 new), 0 complaint (0 new)"
    assert lines[0] == f"suppressions from {api_server.provider}: {lists}; 0 subscribers no longer sent to"
    assert lines[1].startswith(f"{WINTER}: 5 sent through {api_server.provider}, 0 failed, 0 unknown, 0 skipped in ")
    assert lines[2] == f"{WINTER}: 5 readers: 0 pending, 0 sending, 5 sent, 0 failed, 0 unknown, 0 skipped"
    # one request per variant (4 variants), on one connection (one requests.Session)
    posts = [s for s in api_server.seen if s.method == "POST"]
    assert len(posts) == 4 and len({s.client_port for s in api_server.seen}) == 1
    with Store(db_path(root)) as store:
        ids = [r[0] for r in store.conn.execute("SELECT message_id FROM ledger WHERE state = 'sent'")]
    assert len(ids) == 5 and all(ids)

    again = mailer(root, "send", WINTER, env=api_env(api_server))
    assert again.exit_code == 0 and f"{WINTER}: 0 sent" in again.stdout
    assert len(api_server.messages) == 5                           # nobody twice


def test_a_full_send_of_a_second_edition_goes_to_its_own_readers(tmp_path, api_server):
    root = alliance_with(tmp_path)
    assert mailer(root, "send", SPRING, env=api_env(api_server)).exit_code == 0
    check_api_messages(api_server, FIXTURE_SPRING, FIXTURE_WINTER)
    subjects = {m.subject for m in api_server.messages}
    assert subjects == {"Spring at Minster & Vale: new courses"}
    if api_server.provider == "mailgun":   # each reader's own Message-ID, through recipient-variables
        assert len({m.header("Message-Id") for m in api_server.messages}) == 4
        assert {m.variables["edition"] for m in api_server.messages} == {SPRING}


def test_a_full_send_through_smtp(tmp_path, smtp_server):
    root = alliance_with(tmp_path)
    _controller, recorder, port = smtp_server()
    result = mailer(root, "send", WINTER, env=smtp_env(port))
    assert result.exit_code == 0, result.output
    check_smtp_messages(recorder, FIXTURE_WINTER, FIXTURE_WINTER)
    assert result.stdout.splitlines()[0].startswith(f"{WINTER}: 5 sent through smtp, 0 failed")
    assert recorder.ehlo_count == 1                                 # one connection for the whole send
    assert mailer(root, "send", WINTER, env=smtp_env(port)).exit_code == 0
    assert len(recorder.delivered) == 5


def test_many_readers_in_small_batches(tmp_path, api_server):
    root = alliance_with(tmp_path, extra=40)
    result = mailer(root, "send", WINTER, "--batch-size", "4", env=api_env(api_server))
    assert result.exit_code == 0, result.output
    everyone = FIXTURE_WINTER + [f"reader{i:03d}@readers.example" for i in range(40)]
    check_api_messages(api_server, everyone, everyone)
    assert all(len(set(r)) == len(r) for r in [api_server.accepted_recipients()])


def test_proofs_go_to_one_address_and_leave_the_ledger_alone(tmp_path, api_server):
    root = alliance_with(tmp_path)
    result = mailer(root, "send", SPRING, "--test-to", "Editor@Minster-Vale.example", env=api_env(api_server))
    assert result.exit_code == 0, result.output
    messages = api_server.messages
    assert [m.recipient for m in messages] == ["editor@minster-vale.example"] * 4
    assert sorted(m.subject for m in messages) == [
        f"[Proof: {slug}] Spring at Minster & Vale: new courses"
        for slug in ("leaders--all-phases", "teachers--primary", "teachers--secondary",
                     "teaching-assistants--all-phases")]
    assert result.stdout.splitlines()[-1] == (f"4 proofs of {SPRING} sent to editor@minster-vale.example; "
                                              "nothing was recorded for the edition")
    status = json.loads(mailer(root, "status", SPRING, "--json").stdout)
    assert status["total"] == 0
    assert api_server.invalid == []
    # the real send afterwards still goes to everyone, with Message-IDs no proof used
    assert mailer(root, "send", SPRING, env=api_env(api_server)).exit_code == 0
    real = [m for m in api_server.messages if not m.subject.startswith("[Proof")]
    assert sorted(m.recipient for m in real) == sorted(FIXTURE_SPRING)
    if api_server.provider == "mailgun":
        proof_ids = {m.header("Message-Id") for m in messages}
        assert len(proof_ids) == 4 and not proof_ids & {m.header("Message-Id") for m in real}
        assert {m.variables["edition"] for m in messages} == {f"{SPRING}-proof"}


def test_proofs_through_smtp(tmp_path, smtp_server):
    root = alliance_with(tmp_path)
    _controller, recorder, port = smtp_server()
    result = mailer(root, "send", WINTER, "--test-to", "editor@minster-vale.example", env=smtp_env(port))
    assert result.exit_code == 0, result.output
    assert {r for d in recorder.delivered for r in d.rcpt_tos} == {"editor@minster-vale.example"}
    assert all(str(d.message["Subject"]).startswith("[Proof: ") for d in recorder.delivered)
    assert len(recorder.delivered) == 4


def test_the_rate_limit_holds_through_the_cli(tmp_path, mailgun_server):
    root = alliance_with(tmp_path, extra=7)             # 12 readers at 6 a second
    result = mailer(root, "send", WINTER, env=api_env(mailgun_server, MAILER_RATE="6"))
    assert result.exit_code == 0, result.output
    assert len(mailgun_server.messages) == 12
    posts = [s for s in mailgun_server.seen if s.method == "POST"]
    assert len(posts) >= 4           # batches of at most one second's worth (6 readers), one per variant
    elapsed = float(result.stdout.splitlines()[1].split(" in ")[1].split(" s")[0])
    assert 0.95 <= elapsed < 4       # the last batch starts no sooner than (12 - 6) / 6 s after the first
