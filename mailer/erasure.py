"""Erasure's sweep: an address wherever the database still holds it, after ``Store.forget``
has removed what it knows of (the subscriber row, the consent history, the ledger's link).

A provider's failure reason is stored in the ledger and the batches as the provider wrote it,
and may name a reader, in another letter case or percent-encoded; a column another part of the
mailer adds later may hold an address too. Rather than a list of places that goes stale, every
text column of every table is searched.
"""
from __future__ import annotations

import sqlite3

from .providers._http import any_encoding_pattern


def redact_everywhere(conn: sqlite3.Connection, address: str) -> None:
    """The address wherever else it is written (a provider's failure reason in the ledger
    and the batches, a column another part of the mailer adds later), in any letter case or
    percent-encoding, becomes "(forgotten)". Consent events cannot be changed: one that
    names the address is deleted."""
    pattern = any_encoding_pattern(address)
    conn.create_function("mailer_mentions", 1, lambda v: isinstance(v, str) and pattern.search(v) is not None)
    conn.create_function("mailer_redact", 1, lambda v: pattern.sub("(forgotten)", v) if isinstance(v, str) else v)
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                         "AND name NOT LIKE 'sqlite_%'")]
    for table in tables:
        columns = [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')
                   if not r[2].upper().startswith(("INT", "REAL", "NUM"))]
        for column in columns:
            where = f'WHERE mailer_mentions("{column}")'
            if table == "consent_events":
                conn.execute(f"DELETE FROM consent_events {where}")
                continue
            try:
                conn.execute(f'UPDATE "{table}" SET "{column}" = mailer_redact("{column}") {where}')
            except sqlite3.IntegrityError:      # a unique column: the row itself goes
                conn.execute(f'DELETE FROM "{table}" {where}')
