"""Addresses are kept as keyed hashes, never as plain SHA-256 (issue 8, item 10): a copy of the
database cannot be searched for a known address without the key; older databases are re-keyed
in place; a different key is noticed, not silently accepted."""
from __future__ import annotations

import hashlib
import sqlite3

import pytest

from mailer.store import MIGRATIONS, Store, StoreError, address_hash
from tests.mailer_support import copy_alliance, import_text
from tests.test_mailer_cli import mailer

HEADER = "email,first_name,roles,consent\n"
PEOPLE = ["ana@x.example", "bo@x.example", "cy@x.example"]


def every_value(db) -> str:
    """Every cell of every table, as one string."""
    conn = sqlite3.connect(db)
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    cells = [repr(row) for t in tables for row in conn.execute(f'SELECT * FROM "{t}"')]
    conn.close()
    return "\n".join(cells)


def sha256(address: str) -> str:
    return hashlib.sha256(address.encode()).hexdigest()


def test_no_plain_sha256_of_an_address_is_kept(tmp_path):
    db = tmp_path / "m.sqlite3"
    with Store(db) as store:
        import_text(store, tmp_path, HEADER + "".join(f"{a},A,teacher,yes\n" for a in PEOPLE))
        store.unsubscribe("bo@x.example")
        store.forget("cy@x.example")
        store.unsubscribe("never@x.example")              # a suppression for an address we never held
        store.plan("ed", [(r["id"], r["address_hash"], "teachers", "") for r in store.sendable()])
        assert store.suppression(address_hash("cy@x.example"))["reason"] == "forgotten"
    text = every_value(db)
    for address in [*PEOPLE, "never@x.example"]:
        assert sha256(address) not in text
    assert "cy@x.example" not in text
    with Store(db) as store:                               # still recognised with the key
        result = import_text(store, tmp_path, HEADER + "cy@x.example,C,teacher,yes\nnever@x.example,N,teacher,yes\n")
        assert (result.added, result.suppressed) == (0, 2)


def old_database(path):
    """A database as the mailer kept it before keying (schema 1): plain SHA-256 everywhere."""
    conn = sqlite3.connect(path)
    for statement in MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    stamp = "2026-10-01T10:00:00Z"
    conn.execute("INSERT INTO subscribers (email, address_hash, consent, consent_date, roles, created_at, "
                 "updated_at) VALUES ('ana@x.example', ?, 1, '2026-01-02', 'teacher', ?, ?)",
                 (sha256("ana@x.example"), stamp, stamp))
    conn.execute("INSERT INTO suppressions VALUES (?, 'forgotten', 'command line', ?)", (sha256("gone@x.example"), stamp))
    conn.execute("INSERT INTO ledger (edition, address_hash, subscriber_id, audience, state, planned_at, "
                 "updated_at) VALUES ('old', ?, NULL, 'teachers', 'sent', ?, ?)", (sha256("gone@x.example"), stamp, stamp))
    conn.commit()
    conn.close()


def test_an_older_database_is_rekeyed_in_place(tmp_path):
    db = tmp_path / "old.sqlite3"
    old_database(db)
    with Store(db) as store:
        assert sha256("gone@x.example") not in every_value(db) and sha256("ana@x.example") not in every_value(db)
        # the erased address is still refused, though its address was never known to the migration
        result = import_text(store, tmp_path, HEADER + "gone@x.example,G,teacher,yes\n")
        assert (result.added, result.suppressed) == (0, 1)
        # a link sent before the change (it carries the plain digest) still unsubscribes
        assert store.unsubscribe_hash(sha256("ana@x.example"), "one-click") == "unsubscribed"
        assert [e.given for e in store.consent_history("ana@x.example")] == [True, False]
        assert store.sends_of(sha256("gone@x.example"))[0]["edition"] == "old"


def test_the_key_comes_from_mailer_secret_and_survives_its_rotation(tmp_path, monkeypatch):
    monkeypatch.delenv("MAILER_HASH_KEY")
    first, second = "first-secret-Rk9vYmFyQmF6UXV4", "second-secret-U3BhbUVnZ3NIYW0"
    db = tmp_path / "m.sqlite3"
    with Store(db, env={"MAILER_SECRET": first}) as store:
        import_text(store, tmp_path, HEADER + "ana@x.example,A,teacher,yes\n")
        store.forget("ana@x.example")
    with Store(db, env={"MAILER_SECRET": second}) as store:      # rotated, the old secret dropped
        assert "keyed with another secret than MAILER_SECRET: set MAILER_HASH_KEY" in store.key_problem
        with pytest.raises(StoreError, match="no unsubscribed or erased address is recognised"):
            store.forget("bo@x.example")
    for env in ({"MAILER_SECRET": second, "MAILER_SECRET_OLD": first},
                {"MAILER_SECRET": second, "MAILER_HASH_KEY": first}):
        with Store(db, env=env) as store:
            assert store.key_problem == ""
            assert store.suppression(address_hash("ana@x.example"))["reason"] == "forgotten"


def test_without_a_key_the_commands_that_need_one_refuse_plainly(tmp_path, monkeypatch):
    monkeypatch.delenv("MAILER_HASH_KEY")
    root = copy_alliance(tmp_path)
    assert mailer(root, "subscribers", "import", str(root / "subscribers.csv")).exit_code == 0
    for args in (["subscribers", "import", str(root / "subscribers.csv")], ["subscribers", "forget", "a@x.example"]):
        result = mailer(root, *args, env={"MAILER_SECRET": None})
        assert result.exit_code == 1 and result.stderr.startswith("error: MAILER_SECRET is not set: the database keeps")
    listing = mailer(root, "subscribers", "list", env={"MAILER_SECRET": None})
    assert listing.exit_code == 0 and "5 sendable" in listing.stdout
