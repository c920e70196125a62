"""`python -m mailer send | sync | status` with a provider, through click's CliRunner: the exact
messages and exit codes an operator sees."""
from __future__ import annotations

import io
import json
import re

import pytest

from mailer.progress import PlainProgress, RichProgress, for_stream
from mailer.providers import make_provider
from mailer.send import SendOptions, SendRun
from mailer.store import Store
from tests.mailer_support import composer
from tests.provider_fixtures import api_server, mailgun_server  # noqa: F401  (fixtures)
from tests.send_support import SECRET, SPRING, WINTER, alliance_with, api_env, db_path, mailer


@pytest.mark.parametrize("provider, missing, message", [
    ("mailgun", "MAILER_API_KEY", "MAILER_API_KEY is not set: the mailgun provider needs it"),
    ("mailgun", "MAILER_DOMAIN", "MAILER_DOMAIN is not set: the mailgun provider needs it"),
    ("sendgrid", "MAILER_API_KEY", "MAILER_API_KEY is not set: the sendgrid provider needs it"),
    ("sendgrid", "MAILER_FROM", "MAILER_FROM is not set: the sendgrid provider needs it"),
])
def test_a_missing_setting_is_one_line_naming_the_variable_and_nothing_is_sent(tmp_path, mailgun_server,
                                                                                provider, missing, message):
    root = alliance_with(tmp_path)
    env = api_env(mailgun_server, MAILER_PROVIDER=provider, **{missing: None})
    for args in (["send", WINTER], ["send", WINTER, "--dry-run"], ["send", WINTER, "--test-to", "a@b.example"],
                 ["sync"]):
        result = mailer(root, *args, env=env)
        assert (result.exit_code, result.stdout, result.stderr) == (1, "", f"error: {message}\n")
    assert mailgun_server.seen == []
    with Store(db_path(root)) as store:
        assert store.total(WINTER) == 0


def test_smtp_needs_its_url(tmp_path):
    root = alliance_with(tmp_path)
    result = mailer(root, "send", WINTER, env={"MAILER_PROVIDER": "smtp", "MAILER_FROM": "a@b.example"})
    assert (result.exit_code, result.stderr) == (1, "error: MAILER_SMTP_URL is not set: the smtp provider needs it\n")


def test_an_api_url_that_would_leak_the_key_is_refused(tmp_path, mailgun_server):
    root = alliance_with(tmp_path)
    result = mailer(root, "send", WINTER, env=api_env(mailgun_server, MAILER_API_URL="http://api.example.net"))
    assert (result.exit_code, result.stderr) == (1, (
        "error: MAILER_API_URL: 'http://api.example.net' would send the API key unencrypted; use https "
        "(plain http is allowed only for a test server on this machine)\n"))


def test_a_wrong_key_stops_before_anything_is_sent(tmp_path, mailgun_server):
    root = alliance_with(tmp_path)
    result = mailer(root, "send", WINTER, env=api_env(mailgun_server, MAILER_API_KEY="key-wrong"))
    assert result.exit_code == 1
    assert result.stderr == (
        "error: stopped: could not fetch the suppressions from mailgun (the key must be allowed to read them, "
        "not only to send): mailgun: HTTP 401 from /v3/mg.example.org/unsubscribes: Forbidden (check "
        "MAILER_API_KEY and its permissions); nothing was sent\n")
    assert result.stdout.splitlines()[1] == (f"{WINTER}: 0 readers: 0 pending, 0 sending, 0 sent, 0 failed, "
                                             "0 unknown, 0 skipped")
    assert mailgun_server.accepted_requests == 0


def test_401_during_the_send_stops_at_once(tmp_path, api_server):
    root = alliance_with(tmp_path)
    api_server.let_through(2)
    api_server.fail_next(401)
    result = mailer(root, "send", WINTER, env=api_env(api_server))
    name = api_server.provider
    path = "/v3/mg.example.org/messages" if name == "mailgun" else "/v3/mail/send"
    said = "Forbidden" if name == "mailgun" else "Forbidden"
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        f"error: stopped: {name} refused our credentials: {name}: HTTP 401 from {path}: {said} (check "
        "MAILER_API_KEY and its permissions); nothing more was sent")
    lines = result.stdout.splitlines()
    assert re.fullmatch(rf"{WINTER}: 2 sent through {name}, 0 failed, 0 unknown, 0 skipped in \d+\.\d s "
                        r"\([\d,]+ messages/s\)", lines[1])
    assert lines[2] == f"{WINTER}: 5 readers: 3 pending, 0 sending, 2 sent, 0 failed, 0 unknown, 0 skipped"
    assert len([s for s in api_server.seen if s.method == "POST"]) == 3


def test_dry_run_output(tmp_path, mailgun_server):
    root = alliance_with(tmp_path)
    result = mailer(root, "send", SPRING, "--dry-run", "--list", env=api_env(mailgun_server))
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == (
        "ana.primary@school.example\tteachers--primary\n"
        "zoe@school.example\tteachers--secondary\n"
        "lukasz@school.example\tteaching-assistants--all-phases\n"
        "head@school.example\tleaders--all-phases\n"
        "leaders--all-phases\t1\n"
        "teachers--primary\t1\n"
        "teachers--secondary\t1\n"
        "teaching-assistants--all-phases\t1\n"
        f"dry run: 4 readers would get {SPRING} in 4 variants through mailgun; nothing was sent\n")
    assert mailgun_server.accepted_requests == 0
    assert json.loads(mailer(root, "status", SPRING, "--json").stdout)["total"] == 0
    outbox = mailer(root, "send", SPRING, "--dry-run")
    assert outbox.stdout.splitlines()[-1] == f"dry run: 4 readers would get {SPRING} in 4 variants; nothing was sent"


@pytest.mark.parametrize("args, message", [
    (["--dry-run", "--test-to", "a@b.example"], "error: --dry-run and --test-to do not go together\n"),
    (["--list"], "error: --list goes with --dry-run\n"),
    (["--test-to", "not an address"], "error: 'not an address' is not an email address\n"),
])
def test_send_usage_errors(tmp_path, args, message):
    root = alliance_with(tmp_path)
    result = mailer(root, "send", WINTER, *args)
    assert (result.exit_code, result.stderr) == (2 if "address'" not in message else 1, message)


def test_plain_progress_lines_and_the_summary_when_not_on_a_terminal(tmp_path, mailgun_server):
    root = alliance_with(tmp_path, extra=15)
    mailgun_server.let_through(1)
    mailgun_server.fail_next(429, retry_after="0")
    mailgun_server.let_through(1)
    mailgun_server.fail_next(422, message="'to' parameter is not a valid address")
    result = mailer(root, "send", WINTER, "--batch-size", "4", env=api_env(mailgun_server))
    assert result.exit_code == 0, result.output
    err = result.stderr.splitlines()
    assert err[0] == f"{WINTER}: 20 readers to send"
    assert err[1].startswith(f"{WINTER}: 4/20 (20%), 0 failed, 0 unknown, ")
    assert err[2].startswith(f"{WINTER}: attempt 1 of 5 failed (mailgun: HTTP 429 from /v3/mg.example.org/messages: "
                             "Too Many Requests); retrying in 0.0 s")
    assert err[4] == (f"{WINTER}: batch 3 (4 readers) failed: mailgun: HTTP 422 from /v3/mg.example.org/messages: "
                      "'to' parameter is not a valid address")
    assert err[-1].startswith(f"{WINTER}: 20/20 (100%), 4 failed, 0 unknown, ") and "ETA" not in err[-1]
    assert re.fullmatch(rf"{WINTER}: 16 sent through mailgun, 4 failed, 0 unknown, 0 skipped, 1 retry in "
                        r"\d+\.\d s \([\d,]+ messages/s\)", result.stdout.splitlines()[1])
    quiet = mailer(root, "send", WINTER, "--quiet", env=api_env(mailgun_server))
    assert quiet.stderr == ""


def test_plain_progress_every_tenth_or_every_interval():
    out = io.StringIO()
    clock = [0.0]
    progress = PlainProgress(out, interval=10, clock=lambda: clock[0])

    class Report:
        attempted = failed = unknown = 0

    progress.start(1000, "E")
    for done in range(20, 1001, 20):       # 250 readers a second, in batches of 20
        clock[0] = done / 250
        Report.attempted = done
        progress.update(Report)
    lines = out.getvalue().splitlines()
    assert lines[0] == "E: 1,000 readers to send"
    assert [line.split(" ")[1] for line in lines[1:]] == [f"{n:,}/1,000" for n in range(100, 1001, 100)]
    assert lines[5] == "E: 500/1,000 (50%), 0 failed, 0 unknown, 250/s, ETA 2s"
    assert lines[-1] == "E: 1,000/1,000 (100%), 0 failed, 0 unknown, 250/s"

    out.truncate(0), out.seek(0)          # slow: one reader every 3 s, a line every 10 s
    clock[0] = 0.0
    progress.start(1000, "E")
    for done in range(1, 11):
        clock[0] = done * 3.0
        Report.attempted = done
        progress.update(Report)
    assert [line.split(" ")[1] for line in out.getvalue().splitlines()[1:]] == ["4/1,000", "8/1,000"]


def test_a_terminal_gets_a_rich_progress_bar(tmp_path, mailgun_server):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    assert isinstance(for_stream(io.StringIO()), PlainProgress)
    screen = Terminal()
    display = for_stream(screen)
    assert isinstance(display, RichProgress)
    root = alliance_with(tmp_path)
    provider = make_provider(mailgun_server.settings())
    with provider, Store(db_path(root)) as store:
        SendRun(store, composer(root, WINTER, secret=SECRET.encode()), provider, SendOptions(),
                progress=display).run()
    display.close()
    shown = screen.getvalue()
    assert WINTER in shown and "5/5" in shown and "100%" in shown and "/s" in shown


def test_status_lists_unknown_batches_and_json_for_scripts(tmp_path, mailgun_server):
    root = alliance_with(tmp_path)
    mailgun_server.reset_next(after_processing=True)
    env = api_env(mailgun_server, MAILER_RECONCILE_AFTER="3600")     # Mailgun's events not settled yet
    result = mailer(root, "send", WINTER, "--batch-size", "1", "--no-wait", env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == (f"1 unknown: see `status {WINTER}` for why; `reconcile {WINTER}` "
                                              "checks the provider's events once they settle; `send "
                                              "--resend-unknown` sends them (anyone the provider did get gets it "
                                              "twice)")
    status = mailer(root, "status", WINTER, env=env)
    lines = status.stdout.splitlines()
    assert lines[:2] == [f"{WINTER}: 5 readers: 0 pending, 0 sending, 4 sent, 0 failed, 1 unknown, 0 skipped",
                         f"1 unknown: they may or may not have received it; `reconcile {WINTER}` asks the provider, "
                         "`send --resend-unknown` sends them again"]
    assert re.fullmatch(r"  batch 1: 1 reader, friends--all-phases, mailgun, \S+Z: mailgun: mailgun: POST "
                        r"/v3/mg\.example\.org/messages: the connection was lost before an answer .*", lines[2])
    assert re.fullmatch(r"    still unknown because: waiting for mailgun's events to settle: checked from "
                        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(MAILER_RECONCILE_AFTER=3600 s after the request\) by "
                        r"`send` or `reconcile`", lines[3])
    data = json.loads(mailer(root, "status", WINTER, "--json", env=env).stdout)
    assert {k: v for k, v in data.items() if k != "unknown_batches"} == {
        "edition": WINTER, "total": 5, "pending": 0, "sending": 0, "sent": 4, "failed": 0, "unknown": 1,
        "skipped": 0}
    [batch] = data["unknown_batches"]
    assert (batch["batch"], batch["readers"], batch["variant"], batch["provider"]) == (
        1, 1, "friends--all-phases", "mailgun")
