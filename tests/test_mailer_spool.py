"""The durable queue for changes a locked database could not take: written safely, applied in
order, never twice at once, a crashed claim recovered, a damaged entry set aside."""
from __future__ import annotations

import os
import sqlite3
import time

from mailer import spool
from mailer.importer import Importer
from mailer.store import Store, address_hash
from tests.mailer_support import write_csv


def test_queued_changes_apply_in_order_and_survive_a_crashed_claim(tmp_path):
    db = tmp_path / "m.sqlite3"
    with Store(db) as store:
        Importer(store).import_file(write_csv(tmp_path / "s.csv", "email,roles,consent\nana@x.example,teacher,yes\n"
                                                                  "bo@x.example,teacher,yes\n"))
    digest = address_hash("ana@x.example")
    spool.put(db, "preferences", hash=digest, roles=["headteacher"], phases=["primary"], interests=[],
              paused_until=None)
    spool.put(db, "preferences", hash=digest, roles=["governor"], phases=[], interests=["cpd"], paused_until=None)
    crashed = spool.put(db, "leave", hash=address_hash("bo@x.example"), source="one-click")
    claimed = crashed.with_name(f".{crashed.name}.99999.applying")
    os.rename(crashed, claimed)                                   # a process died while applying it
    old = time.time() - spool.STALE_CLAIM - 10
    os.utime(claimed, (old, old))
    damaged = spool.folder_for(db) / "00000000000000000000-dead.json"
    damaged.write_text("{not json")
    assert oct(spool.folder_for(db).stat().st_mode & 0o777) == "0o700"
    with Store(db) as store:
        assert spool.drain(store) == 3
        ana, bo = store.subscriber("ana@x.example"), store.subscriber("bo@x.example")
    assert (ana["roles"], ana["interests"]) == ("governor", "cpd")           # the later change wins
    assert bo["status"] == "unsubscribed"
    assert sorted(p.name for p in spool.folder_for(db).iterdir()) == ["00000000000000000000-dead.json.failed"]


def test_a_still_locked_database_keeps_the_change_queued(tmp_path):
    db = tmp_path / "m.sqlite3"
    Store(db).close()
    spool.put(db, "leave", hash=address_hash("x@x.example"), source="one-click")
    holder = sqlite3.connect(str(db), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with Store(db) as store:
            store.conn.execute("PRAGMA busy_timeout = 100")
            assert spool.drain(store) == 0
        assert len(spool.pending(db)) == 1
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with Store(db) as store:
        assert spool.drain(store) == 1 and store.suppression(address_hash("x@x.example"))["reason"] == "unsubscribed"
