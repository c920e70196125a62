"""Helpers for tests/test_send_*.py: an alliance with subscribers, the CLI run with a provider's
environment, and checks of what each reader received (through real loopback servers)."""
from __future__ import annotations

import email
import email.policy
import re
from email.utils import getaddresses
from pathlib import Path

from click.testing import CliRunner

from mailer.__main__ import cli
from mailer.importer import Importer
from mailer.store import Store, address_hash
from mailer.tokens import make_token
from tests.mailer_support import SPRING, TODAY, WINTER, copy_alliance, write_csv

SECRET = "send-secret-0123456789abcdef"
FROM = "Minster News <news@minster-vale.example>"
# the fixture's subscribers: who gets the winter edition (everyone sendable) and the spring one
FIXTURE_WINTER = ["ana.primary@school.example", "zoe@school.example", "lukasz@school.example",
                  "head@school.example", "friend@mail.example"]
FIXTURE_SPRING = FIXTURE_WINTER[:4]
MAILER_VARIABLES = ("MAILER_PROVIDER", "MAILER_API_KEY", "MAILER_DOMAIN", "MAILER_API_URL", "MAILER_SMTP_URL",
                    "MAILER_FROM", "MAILER_RATE", "MAILER_DB", "MAILER_UNSUBSCRIBE_URL", "MAILER_RECONCILE_AFTER")

__all__ = ["SECRET", "SPRING", "WINTER", "alliance_with", "mailer", "api_env", "smtp_env", "token_for",
           "check_api_messages", "check_smtp_messages", "db_path", "more_readers", "count_per_address"]


def more_readers(n: int, start: int = 0) -> str:
    """CSV rows (no header) of ``n`` readers spread over roles and phases, so several variants."""
    kinds = [("teacher", "primary"), ("teacher", "secondary"), ("teaching-assistant", "special"),
             ("headteacher", ""), ("governor", "")]
    rows = []
    for i in range(start, start + n):
        role, phase = kinds[i % len(kinds)]
        rows.append(f"reader{i:03d}@readers.example,Reader{i},Test,,{role},{phase},,yes,test\n")
    return "".join(rows)


def alliance_with(tmp_path: Path, extra: int = 0) -> Path:
    """A copy of tests/fixtures/mailer-mini with its subscribers (and ``extra`` more) imported
    into ROOT/data/mailer.sqlite3, the CLI's default database."""
    root = copy_alliance(tmp_path)
    text = (root / "subscribers.csv").read_text(encoding="utf-8")
    if extra:
        text = text.rstrip("\n") + "\n" + more_readers(extra)
    with Store(db_path(root)) as store:
        Importer(store, today=TODAY).import_file(write_csv(tmp_path / "readers.csv", text))
    return root


def db_path(root: Path) -> Path:
    return root / "data" / "mailer.sqlite3"


def mailer(root: Path, *args: str, env: dict | None = None):
    """``python -m mailer --root ROOT ARGS`` in-process, with only the given MAILER_* set."""
    environment: dict = {name: None for name in MAILER_VARIABLES}
    environment["MAILER_SECRET"] = SECRET
    environment.update(env or {})
    return CliRunner().invoke(cli, ["--root", str(root), *args], env=environment, catch_exceptions=False)


def api_env(server, **overrides) -> dict:
    # the stand-in's events show at once: no settle time (Mailgun's own is half an hour)
    env = {"MAILER_PROVIDER": server.provider, "MAILER_API_KEY": server.api_key, "MAILER_API_URL": server.url,
           "MAILER_FROM": FROM, "MAILER_RECONCILE_AFTER": "0"}
    if server.provider == "mailgun":
        env["MAILER_DOMAIN"] = server.domain
    env.update(overrides)
    return env


def smtp_env(port: int, **overrides) -> dict:
    env = {"MAILER_PROVIDER": "smtp", "MAILER_SMTP_URL": f"smtp://127.0.0.1:{port}", "MAILER_FROM": FROM}
    env.update(overrides)
    return env


def token_for(address: str) -> str:
    return make_token(SECRET.encode(), address_hash(address))


def _all_text(*parts) -> str:
    return "\n".join(str(p) for p in parts)


def check_api_messages(server, expected: list[str], everyone: list[str]) -> None:
    """Each expected reader got exactly one message, addressed to them alone, with their own
    unsubscribe link and nobody else's address or link; nobody else got anything."""
    messages = server.messages
    assert sorted(m.recipient for m in messages) == sorted(expected)
    assert server.invalid == []
    for m in messages:
        assert [a for _, a in getaddresses([m.to])] == [m.recipient]
        mine = token_for(m.recipient)
        assert mine in m.header("List-Unsubscribe") and mine in m.text and mine in m.html
        assert m.header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
        assert "%recipient." not in _all_text(m.subject, m.text, m.html, m.headers)
        assert "%%" not in _all_text(m.subject, m.text, m.html, m.headers)
        whole = _all_text(m.to, m.subject, m.text, m.html, m.headers, m.variables).lower()
        for other in everyone:
            if other != m.recipient:
                assert other.lower() not in whole and token_for(other) not in whole


def check_smtp_messages(recorder, expected: list[str], everyone: list[str]) -> None:
    delivered = recorder.delivered
    assert sorted(r for d in delivered for r in d.rcpt_tos) == sorted(expected)
    for d in delivered:
        assert len(d.rcpt_tos) == 1
        address = d.rcpt_tos[0]
        message = email.message_from_bytes(d.content, policy=email.policy.default)
        assert [a.addr_spec for a in message["To"].addresses] == [address]
        mine = token_for(address)
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert mine in message["List-Unsubscribe"] and mine in text and mine in html
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert "%%" not in d.content.decode("ascii")
        whole = (d.content.decode("ascii") + text + html).lower()
        for other in everyone:
            if other != address:
                assert other.lower() not in whole and token_for(other) not in whole


def count_per_address(server) -> dict[str, int]:
    counts: dict[str, int] = {}
    for address in server.accepted_recipients():
        address = re.sub(r"^.*<|>$", "", address).lower()
        counts[address] = counts.get(address, 0) + 1
    return counts
