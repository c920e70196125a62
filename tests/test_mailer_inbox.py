"""The office inbox: unsubscribe requests from an mbox or Maildir export, applied; the rest
reported (python -m mailer inbox)."""
from __future__ import annotations

import mailbox
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner

from mailer.__main__ import cli
from mailer.importer import Importer
from mailer.store import Store, address_hash
from mailer.tokens import UNSUBSCRIBE, make_token
from tests.mailer_support import SECRET, write_csv


def message(sender: str, subject: str, body: str = "", **headers) -> EmailMessage:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = "office@minster-vale.example"
    m["Subject"] = subject
    m["Date"] = "Mon, 01 Feb 2027 09:00:00 +0000"
    for key, value in headers.items():
        m[key.replace("_", "-")] = value
    m.set_content(body or "Thanks")
    return m


def token(address: str) -> str:
    return make_token(SECRET, address_hash(address), UNSUBSCRIBE)


MESSAGES = [
    # the mailto: link of List-Unsubscribe, sent from another address than the subscriber's
    lambda: message("Ana <ana.home@gmail.example>", f"unsubscribe {token('ana@x.example')}"),
    # a reply saying so, from the subscriber's own address (non-ASCII name)
    lambda: message("Zoë Ångström <ZOE@x.example>", "Re: Spring newsletter",
                    "Please unsubscribe me, I have retired.\n\n> Unsubscribe at any time: https://...\n"),
    # a reply that only quotes our footer: not a request
    lambda: message("bo@x.example", "Re: Spring newsletter",
                    "Can I book the maths course?\n\nOn Mon, Feb 1, Office wrote:\n> Unsubscribe at any time\n"),
    # an out-of-office reply
    lambda: message("cy@x.example", "Automatic reply: Spring newsletter", "I am away; unsubscribe",
                    Auto_Submitted="auto-replied"),
    # asks, but from an address we do not hold
    lambda: message("stranger@elsewhere.example", "Unsubscribe"),
    # a token that was tampered with, from an unknown sender
    lambda: message("someone@elsewhere.example", f"unsubscribe {token('bo@x.example')[:-4]}AAAA"),
]


@pytest.fixture
def db(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("MAILER_SECRET", SECRET.decode())
    path = tmp_path / "m.sqlite3"
    with Store(path) as store:
        Importer(store).import_file(write_csv(
            tmp_path / "s.csv", "email,first_name,roles,consent\n" + "".join(
                f"{a}@x.example,{a.title()},teacher,yes\n" for a in ("ana", "zoe", "bo", "cy"))))
    return path


def export(tmp_path: Path, kind: str) -> Path:
    if kind == "mbox":
        path = tmp_path / "office.mbox"
        box = mailbox.mbox(str(path))
    else:
        path = tmp_path / "Maildir"
        box = mailbox.Maildir(str(path))
    for make in MESSAGES:
        box.add(make())
    box.flush()
    box.close()
    return path


@pytest.mark.parametrize("kind", ["mbox", "maildir"])
def test_requests_applied_the_rest_reported(tmp_path, db, kind):
    path = export(tmp_path, kind)
    runner = CliRunner()
    result = runner.invoke(cli, ["--db", str(db), "inbox", str(path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == ("6 messages: unsubscribed 2, 0 already unsubscribed, 1 automatic replies and "
                        "1 other messages left alone, 2 requests not matched")
    assert sorted(lines[1:]) == sorted([
        "not matched: Mon, 01 Feb 2027 09:00:00 +0000: stranger@elsewhere.example: asks to unsubscribe, but "
        "the sender's address is not on the list (they may have written from another address)",
        "not matched: Mon, 01 Feb 2027 09:00:00 +0000: someone@elsewhere.example: asks to unsubscribe, but "
        "the sender's address is not on the list (they may have written from another address)"])
    with Store(db) as store:
        status = {a: store.subscriber(f"{a}@x.example")["status"] for a in ("ana", "zoe", "bo", "cy")}
        withdrawn = store.consent_history("ana@x.example")[-1]
        assert (withdrawn.given, withdrawn.source) == (False, "office")
    assert status == {"ana": "unsubscribed", "zoe": "unsubscribed", "bo": "subscribed", "cy": "subscribed"}
    again = runner.invoke(cli, ["--db", str(db), "inbox", str(path)])
    assert again.output.splitlines()[0].startswith("6 messages: unsubscribed 0, 2 already unsubscribed")


def test_dry_run_changes_nothing_and_a_wrong_file_is_one_clear_line(tmp_path, db):
    path = export(tmp_path, "mbox")
    result = CliRunner().invoke(cli, ["--db", str(db), "inbox", "--dry-run", str(path)])
    assert result.output.startswith("6 messages: would unsubscribe 2,")
    with Store(db) as store:
        assert store.subscriber("ana@x.example")["status"] == "subscribed"
    bad = tmp_path / "notes.txt"
    bad.write_text("hello\n")
    result = CliRunner().invoke(cli, ["--db", str(db), "inbox", str(bad)])
    assert result.exit_code == 1
    assert result.output == (f"error: {bad} is not an mbox file (it should start with 'From '); export the "
                             "mailbox as mbox or Maildir\n")
