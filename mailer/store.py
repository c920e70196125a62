"""The mailer's database: subscribers, consent, suppressions and the send ledger (SQLite, WAL).

One file (``data/mailer.sqlite3`` by default, created 0600), never committed. The schema is
versioned with ``PRAGMA user_version`` and migrated forward by :data:`MIGRATIONS` when the store
is opened. Every address hash in it is *keyed* (hashing.py): ``k1:`` + HMAC of the address's
SHA-256 digest; callers hand the store digests (:func:`address_hash`) or addresses.

Subscribers
    One row per normalised address (trimmed, lower-cased), with consent (flag, date, source: a
    cache of the consent history's newest event) and a status: ``subscribed`` or
    ``unsubscribed``. Someone is *sendable* when they consented, are subscribed, and their
    address hash is not in ``suppressions``.
Consent history
    ``consent_events``, append-only: given or withdrawn, when, how, the wording. The newest event
    decides; an import never overrides a later withdrawal (importer.py).
Suppressions
    Keyed hashes of addresses that must never be written to again: unsubscribed, forgotten
    (erased: the subscriber row, consent history and the ledger's link are deleted and only the
    hash stays) or suppressed by a provider (bounce, complaint). No import makes a suppressed
    address sendable again.
The ledger
    One row per (edition, address hash): nobody gets two emails of one edition. States::

        pending --claim--> sending --provider answered--> sent (provider message id)
                                   --provider refused---> failed (reason)
                                   --answer lost--------> unknown
                                   --not attempted------> pending (released)
        pending --reader unsubscribed/forgotten since the plan--> skipped
        unknown --the provider's events, once settled--> sent | pending (not taken) | skipped

    A batch is claimed (rows marked ``sending``, one transaction) *before* its request and
    finished *after* the answer, so a process killed at any moment leaves rows ``sending``;
    :meth:`Store.recover` turns them into ``unknown`` at the next run. Each batch keeps a tag
    of its own and the time of its request, so an ``unknown`` batch can be *reconciled* from
    the provider's events (:mod:`mailer.reconcile`); otherwise ``unknown`` rows are only sent
    again on explicit request (:meth:`Store.resend_unknown`).
"""
from __future__ import annotations

import datetime as dt
import json
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Mapping

from .erasure import redact_everywhere
from .hashing import PREFIX, Keyer, address_digest, candidates, fingerprint
from .private import open_private, private_dir, tighten

STATES = ("pending", "sending", "sent", "failed", "unknown", "skipped")

# Each migration is a list of statements, applied in one transaction; user_version = its index + 1.
# Never edit a migration that has shipped: append a new one.
MIGRATIONS: list[list[str]] = [
    [  # 1: subscribers, suppressions, batches, ledger
        """CREATE TABLE subscribers (
            id              INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused
            email           TEXT NOT NULL UNIQUE,              -- normalised: trimmed, lower-case
            address_hash    TEXT NOT NULL UNIQUE,              -- sha256(email), hex
            first_name      TEXT NOT NULL DEFAULT '',
            last_name       TEXT NOT NULL DEFAULT '',
            school          TEXT NOT NULL DEFAULT '',
            roles           TEXT NOT NULL DEFAULT '',          -- vocabulary words, space-separated
            phases          TEXT NOT NULL DEFAULT '',
            interests       TEXT NOT NULL DEFAULT '',          -- strand ids
            consent         INTEGER NOT NULL DEFAULT 0 CHECK (consent IN (0, 1)),
            consent_date    TEXT,                              -- ISO date consent was given
            consent_source  TEXT NOT NULL DEFAULT '',
            status          TEXT NOT NULL DEFAULT 'subscribed'
                            CHECK (status IN ('subscribed', 'unsubscribed')),
            unsubscribed_at TEXT,
            created_at      TEXT NOT NULL,
            updated_at      TEXT NOT NULL
        )""",
        """CREATE TABLE suppressions (
            address_hash TEXT PRIMARY KEY,
            reason       TEXT NOT NULL,       -- unsubscribed | forgotten | bounce | complaint
            source       TEXT NOT NULL DEFAULT '',
            created_at   TEXT NOT NULL
        ) WITHOUT ROWID""",
        """CREATE TABLE batches (
            id          INTEGER PRIMARY KEY AUTOINCREMENT,
            edition     TEXT NOT NULL,
            provider    TEXT NOT NULL,
            variant     TEXT NOT NULL,
            size        INTEGER NOT NULL,
            state       TEXT NOT NULL DEFAULT 'sending',  -- sending|sent|failed|unknown|released
            reason      TEXT NOT NULL DEFAULT '',
            claimed_at  TEXT NOT NULL,
            finished_at TEXT
        )""",
        """CREATE TABLE ledger (
            id            INTEGER PRIMARY KEY AUTOINCREMENT,
            edition       TEXT NOT NULL,
            address_hash  TEXT NOT NULL,
            subscriber_id INTEGER,                              -- NULL once the reader is forgotten
            audience      TEXT NOT NULL,
            phases        TEXT NOT NULL DEFAULT '',           -- the variant's phases, space-separated
            state         TEXT NOT NULL DEFAULT 'pending' CHECK (state IN
                          ('pending', 'sending', 'sent', 'failed', 'unknown', 'skipped')),
            batch_id      INTEGER,                            -- batches.id
            message_id    TEXT,                               -- the provider's id, once sent
            reason        TEXT NOT NULL DEFAULT '',
            planned_at    TEXT NOT NULL,
            updated_at    TEXT NOT NULL,
            UNIQUE (edition, address_hash)
        )""",
        # partial indexes: only rows that are waiting or in flight, so a state change to sent,
        # failed or unknown costs one index deletion, not a move within a big index
        "CREATE INDEX ledger_pending ON ledger (edition, audience, phases, id) WHERE state = 'pending'",
        "CREATE INDEX ledger_sending ON ledger (batch_id) WHERE state = 'sending'",
        "CREATE INDEX ledger_subscriber ON ledger (subscriber_id)",
    ],
    [  # 2: consent history, append-only; rows that predate it become its first events
        """CREATE TABLE consent_events (
            id           INTEGER PRIMARY KEY AUTOINCREMENT,
            address_hash TEXT NOT NULL,           -- no address: a withdrawal outlives the subscriber row
            given        INTEGER NOT NULL CHECK (given IN (0, 1)),
            at           TEXT NOT NULL,           -- when it was given or withdrawn, UTC, YYYY-MM-DDTHH:MM:SSZ
            source       TEXT NOT NULL,           -- import | sign-up form | one-click | preference centre | office | provider
            detail       TEXT NOT NULL DEFAULT '',  -- e.g. the import file and row
            wording      TEXT,                    -- the consent wording or its version, when known
            recorded_at  TEXT NOT NULL
        )""",
        "CREATE INDEX consent_events_newest ON consent_events (address_hash, at, id)",
        # append-only: the history is evidence (UK GDPR art. 7(1)); only erasure may delete it
        """CREATE TRIGGER consent_events_append_only BEFORE UPDATE OF given, at, source, detail, wording ON consent_events
           BEGIN SELECT RAISE(ABORT, 'consent_events is append-only'); END""",
        """INSERT INTO consent_events (address_hash, given, at, source, detail, recorded_at)
           SELECT address_hash, 1, COALESCE(consent_date || 'T00:00:00Z', created_at), 'import',
                  consent_source, strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
           FROM subscribers WHERE consent = 1 ORDER BY id""",
        """INSERT INTO consent_events (address_hash, given, at, source, detail, recorded_at)
           SELECT address_hash, 0, updated_at, 'import', 'withdrawn before the history was kept',
                  strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
           FROM subscribers WHERE consent = 0 ORDER BY id""",
        """INSERT INTO consent_events (address_hash, given, at, source, detail, recorded_at)
           SELECT s.address_hash, 0, s.unsubscribed_at,
                  CASE x.source WHEN 'one-click' THEN 'one-click' WHEN 'mailgun' THEN 'provider'
                       WHEN 'sendgrid' THEN 'provider' ELSE 'office' END,
                  'unsubscribed before the history was kept' || CASE WHEN x.source IS NULL OR x.source = ''
                       THEN '' ELSE ' (' || x.source || ')' END,
                  strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
           FROM subscribers s LEFT JOIN suppressions x ON x.address_hash = s.address_hash
           WHERE s.status = 'unsubscribed' AND s.unsubscribed_at IS NOT NULL ORDER BY s.id""",
    ],
    [  # 3: settings of the database itself: the fingerprint of the address hash key (hashing.py)
        "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    ],
    [  # 4: the subscription service (mailer/web): sign-ups awaiting confirmation, pauses,
       #    provider webhook events and the replay guard
        """CREATE TABLE signups (
            id              INTEGER PRIMARY KEY AUTOINCREMENT,
            email           TEXT NOT NULL UNIQUE,              -- normalised; deleted once confirmed or expired
            first_name      TEXT NOT NULL DEFAULT '',
            school          TEXT NOT NULL DEFAULT '',
            roles           TEXT NOT NULL DEFAULT '',
            phases          TEXT NOT NULL DEFAULT '',
            interests       TEXT NOT NULL DEFAULT '',
            wording_version TEXT NOT NULL,
            nonce           TEXT NOT NULL,                     -- in the signed link; a new request replaces it
            requested_at    TEXT NOT NULL,
            mails           TEXT NOT NULL DEFAULT ''           -- ISO times of confirmation emails, space-separated
        )""",
        "ALTER TABLE subscribers ADD COLUMN paused_until TEXT",   # ISO date; NULL = not paused
        """CREATE TABLE provider_events (
            id           INTEGER PRIMARY KEY AUTOINCREMENT,
            provider     TEXT NOT NULL,
            event        TEXT NOT NULL,        -- delivered | failed | bounce | complaint | unsubscribed
            address_hash TEXT NOT NULL,
            message_id   TEXT NOT NULL DEFAULT '',
            reason       TEXT NOT NULL DEFAULT '',
            occurred_at  TEXT NOT NULL,
            received_at  TEXT NOT NULL
        )""",
        "CREATE INDEX provider_events_message ON provider_events (message_id)",
        """CREATE TABLE webhook_seen (
            key         TEXT PRIMARY KEY,      -- provider:token (Mailgun) or provider:signature digest
            received_at TEXT NOT NULL
        ) WITHOUT ROWID""",
    ],
    [  # 5 (issue 12): each batch's tag and request time, so a lost answer can be reconciled
        # tag: unique to the batch, sent with it (Mailgun o:tag, SendGrid custom_args)
        "ALTER TABLE batches ADD COLUMN tag TEXT NOT NULL DEFAULT ''",
        # when the (last) request of the batch began, UTC, ISO with milliseconds; for a batch
        # recovered after a kill: when it was recovered (the request began before that)
        "ALTER TABLE batches ADD COLUMN requested_at TEXT",
        # the last reconciliation attempt: when, and why it could not settle the batch
        "ALTER TABLE batches ADD COLUMN checked_at TEXT",
        "ALTER TABLE batches ADD COLUMN check_note TEXT NOT NULL DEFAULT ''",
        "CREATE INDEX batches_unknown ON batches (edition, requested_at) WHERE state = 'unknown'",
    ],
    [  # 6 (issue 13): course evaluations, without names or addresses
        """CREATE TABLE evaluations (
            id            INTEGER PRIMARY KEY AUTOINCREMENT,
            course        TEXT NOT NULL,                     -- a course id
            response_key  TEXT NOT NULL UNIQUE,              -- sha256 of course + cells: re-imports add nothing twice
            submitted_at  TEXT,                              -- ISO date, when the export has one
            rating        INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
            change        TEXT NOT NULL DEFAULT '',          -- "what will you change in your practice?"
            quote_consent INTEGER NOT NULL DEFAULT 0 CHECK (quote_consent IN (0, 1)),
            source        TEXT NOT NULL DEFAULT '',          -- the export's file name or the mapping's source
            imported_at   TEXT NOT NULL
        )""",
        "CREATE INDEX evaluations_course ON evaluations (course, submitted_at)",
    ],
]
# Tables holding address hashes: re-keyed together when a database from before keying is opened.
HASHED_TABLES = ("subscribers", "suppressions", "ledger", "consent_events", "provider_events")
SCHEMA_VERSION = len(MIGRATIONS)

SUBSCRIBER_COLUMNS = ("id", "email", "address_hash", "first_name", "last_name", "school", "roles",
                      "phases", "interests", "consent", "consent_date", "consent_source", "status",
                      "unsubscribed_at", "created_at", "updated_at")

# A subscriber row ``s`` may be written to:
SENDABLE = ("s.consent = 1 AND s.status = 'subscribed' AND NOT EXISTS "
            "(SELECT 1 FROM suppressions x WHERE x.address_hash = s.address_hash) "
            "AND (s.paused_until IS NULL OR s.paused_until <= date('now'))")


class StoreError(Exception):
    """The database cannot be used (newer schema, another send running, ...): one line."""


def normalise(address: str) -> str:
    return address.strip().lower()


def address_hash(address: str) -> str:
    """The address *digest*, SHA-256 of the normalised address, hex: what unsubscribe links
    carry and what callers hand to the store's ``*_hash`` methods. The store keeps only the
    keyed hash of it (hashing.py; :meth:`Store.key`)."""
    return address_digest(address)


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def stamp_ms(epoch: float) -> str:
    """A Unix time as ``2026-11-29T21:50:01.234Z`` (a batch's request time: settle times
    and event queries need better than whole seconds)."""
    moment = dt.datetime.fromtimestamp(epoch, dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def epoch_of(stamp: str) -> float:
    """The Unix time of a stamp written by :func:`now` or :func:`stamp_ms`."""
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def split_words(text: str) -> list[str]:
    return text.split() if text else []


CONSENT_SOURCES = ("import", "sign-up form", "one-click", "preference centre", "office", "provider")


@dataclass(frozen=True)
class ConsentEvent:
    """One entry of a subscriber's consent history: given or withdrawn, when, how."""

    given: bool
    at: dt.datetime                 # timezone-aware, UTC
    source: str                     # one of CONSENT_SOURCES (others are accepted and kept as written)
    detail: str = ""                # e.g. "winter.csv row 12", the form's page, who in the office
    wording: str | None = None      # the consent wording or its version, when known


def utc_text(at: dt.datetime | dt.date) -> str:
    """A moment as stored: UTC, ``YYYY-MM-DDTHH:MM:SSZ`` (sorts as text). A naive datetime is
    taken as UTC; a date as its midnight UTC."""
    if not isinstance(at, dt.datetime):
        at = dt.datetime(at.year, at.month, at.day, tzinfo=dt.timezone.utc)
    elif at.tzinfo is None:
        at = at.replace(tzinfo=dt.timezone.utc)
    return at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_utc(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)


# The newest consent event of an address hash ``h``: later ``at`` wins, then the later entry.
NEWEST_CONSENT = ("SELECT given, at, source, detail FROM consent_events WHERE address_hash = {h} "
                  "ORDER BY at DESC, id DESC LIMIT 1")


@dataclass(frozen=True)
class Reader:
    """One claimed ledger row with what a message to it needs."""

    ledger_id: int
    email: str
    address_hash: str
    first_name: str
    last_name: str


@dataclass(frozen=True)
class Claim:
    batch_id: int
    readers: tuple[Reader, ...]
    tag: str = ""


class Store:
    """A connection to the mailer's database; use as a context manager or call close()."""

    def __init__(self, path: Path | str, *, create: bool = True, env: Mapping[str, str] | None = None):
        self.path = Path(path)
        self._keyer: Keyer | None = None
        self.key_problem = ""           # why there is no hash key (said when one is needed)
        if not create and not self.path.exists():
            raise StoreError(f"no database at {self.path}; import subscribers first")
        private_dir(self.path.parent)
        # personal data: the file is made 0600 before SQLite opens it, and SQLite gives its
        # -wal and -shm files the database file's mode; older files are tightened
        if not self.path.exists():
            open_private(self.path, "ab").close()
        for suffix in ("", "-wal", "-shm", "-journal"):
            tighten(f"{self.path}{suffix}")
        # isolation_level=None: autocommit; transactions are explicit (BEGIN IMMEDIATE).
        self.conn = sqlite3.connect(str(self.path), isolation_level=None, timeout=30.0,
                                    check_same_thread=False)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = FULL")   # a committed claim survives a power cut
        self.conn.execute("PRAGMA cache_size = -32000")   # 32 MB: a 100,000-reader ledger stays in memory
        # No FOREIGN KEY clauses: enforcing them tripled the cost of planning a send; the two
        # references (ledger -> subscribers, ledger -> batches) are kept by this module alone.
        self.migrate()
        self._env = env
        self._find_key(env)

    # --- plumbing ---------------------------------------------------------------------------
    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    @contextmanager
    def _atomic(self) -> Iterator[sqlite3.Connection]:
        """A transaction, or the caller's when one is open (the importer writes events inside its own)."""
        if self.conn.in_transaction:
            yield self.conn
        else:
            with self.transaction() as conn:
                yield conn

    @property
    def version(self) -> int:
        return self.conn.execute("PRAGMA user_version").fetchone()[0]

    def migrate(self) -> None:
        version = self.version
        if version > SCHEMA_VERSION:
            raise StoreError(f"{self.path} has schema version {version}, newer than this mailer's "
                             f"{SCHEMA_VERSION}; update the mailer")
        for number in range(version + 1, SCHEMA_VERSION + 1):
            with self.transaction() as conn:
                for statement in MIGRATIONS[number - 1]:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number}")

    # --- keyed address hashes (hashing.py) -----------------------------------------------------
    def _find_key(self, env: Mapping[str, str] | None) -> None:
        """The hash key whose fingerprint the database holds, from the environment; a database
        from before keying is re-keyed now (its digests get the key). No key is no error
        until one is needed: reading counts or a status needs none."""
        from .tokens import MAKE_ONE, SecretError
        try:
            offered = candidates(env)
        except SecretError as err:
            self.key_problem = str(err)
            return
        stored = self._meta("hash_key")
        if not offered:
            self.key_problem = ("MAILER_SECRET is not set: the database keeps addresses only as hashes keyed with "
                                f"it (and unsubscribe links are signed with it); set it and keep it (make one "
                                f"with: {MAKE_ONE})")
            return
        if stored is None:
            self._rekey(Keyer(offered[0].key))
            return
        match = next((c for c in offered if fingerprint(c.key) == stored), None)
        if match is None:
            self.key_problem = (f"{self.path}: its address hashes were keyed with another secret than "
                                f"{', '.join(c.variable for c in offered)}: set MAILER_HASH_KEY to the "
                                "MAILER_SECRET in use when the database was started (or list that secret in "
                                "MAILER_SECRET_OLD); without it no unsubscribed or erased address is recognised")
            return
        self._keyer = Keyer(match.key)

    def _rekey(self, keyer: Keyer) -> None:
        """Key a new database, or one from before keying: every plain digest gets the key."""
        with self.transaction() as conn:
            already = self._meta("hash_key")            # another process keyed it meanwhile?
            if already is None:
                conn.create_function("mailer_key", 1, keyer, deterministic=True)
                for table in HASHED_TABLES:
                    conn.execute(f"UPDATE {table} SET address_hash = mailer_key(address_hash) "
                                 f"WHERE address_hash NOT LIKE '{PREFIX}%'")
                conn.execute("INSERT INTO meta (name, value) VALUES ('hash_key', ?)", (keyer.fingerprint,))
        if already is None or already == keyer.fingerprint:
            self._keyer = keyer
        else:
            self._find_key(self._env)

    def _meta(self, name: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    @property
    def keyer(self) -> Keyer:
        if self._keyer is None:
            raise StoreError(self.key_problem)
        return self._keyer

    def key(self, digest_or_hash: str) -> str:
        """The stored (keyed) hash for a digest; a stored hash is returned as it is."""
        return digest_or_hash if digest_or_hash.startswith(PREFIX) else self.keyer(digest_or_hash)

    def key_for(self, address: str) -> str:
        return self.keyer.address(address)

    # --- subscribers ---------------------------------------------------------------------------
    def subscriber(self, address: str) -> sqlite3.Row | None:
        return self.conn.execute("SELECT * FROM subscribers WHERE email = ?",
                                 (normalise(address),)).fetchone()

    def subscribers(self, address: str | None = None) -> Iterator[sqlite3.Row]:
        """Every subscriber (or one), by address; streamed, never all in memory."""
        if address is not None:
            return iter(self.conn.execute("SELECT * FROM subscribers WHERE email = ?",
                                          (normalise(address),)).fetchall())
        return self.conn.execute("SELECT * FROM subscribers ORDER BY email")

    def sendable(self) -> Iterator[sqlite3.Row]:
        """Subscribers who may be written to (consent, subscribed, not suppressed), streamed."""
        return self.conn.execute(f"SELECT s.id, s.address_hash, s.roles, s.phases FROM subscribers s "
                                 f"WHERE {SENDABLE} ORDER BY s.id")

    def sendable_for(self, edition: str) -> Iterator[sqlite3.Row]:
        """Sendable subscribers with their ledger state for ``edition`` (None if not planned)."""
        return self.conn.execute(
            f"SELECT s.id, s.email, s.address_hash, s.roles, s.phases, l.state FROM subscribers s "
            f"LEFT JOIN ledger l ON l.edition = ? AND l.address_hash = s.address_hash "
            f"WHERE {SENDABLE} ORDER BY s.id", (edition,))

    def counts(self) -> dict[str, int]:
        row = self.conn.execute(f"""SELECT COUNT(*) AS total,
                COALESCE(SUM({SENDABLE}), 0) AS sendable,
                COALESCE(SUM(s.status = 'unsubscribed'), 0) AS unsubscribed,
                COALESCE(SUM(s.consent = 0 AND s.status = 'subscribed'), 0) AS no_consent
            FROM subscribers s""").fetchone()
        out = dict(row)
        out["suppressed"] = self.conn.execute("SELECT COUNT(*) FROM suppressions").fetchone()[0]
        return out

    def suppression(self, hash_: str) -> sqlite3.Row | None:
        """The suppression of an address digest (or stored hash), if any."""
        return self.conn.execute("SELECT * FROM suppressions WHERE address_hash = ?",
                                 (self.key(hash_),)).fetchone()

    def suppress_hash(self, hash_: str, reason: str, source: str = "") -> bool:
        """Record a suppression; True if it is new. The first reason recorded is kept."""
        cur = self.conn.execute(
            "INSERT INTO suppressions (address_hash, reason, source, created_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (address_hash) DO NOTHING", (self.key(hash_), reason, source, now()))
        return cur.rowcount == 1

    def unsubscribe_hash(self, hash_: str, source: str = "") -> str:
        """Unsubscribe by address hash (what a token carries). Returns what happened:
        ``unsubscribed``, ``already`` (was unsubscribed or suppressed) or ``suppressed`` (no
        subscriber with that hash: the suppression is recorded so no import adds it)."""
        hash_ = self.key(hash_)
        with self.transaction() as conn:
            row = conn.execute("SELECT id, status FROM subscribers WHERE address_hash = ?",
                               (hash_,)).fetchone()
            new = self.suppress_hash(hash_, "unsubscribed", source)
            if row is None and not new or row is not None and row["status"] == "unsubscribed":
                return "already"
            self._withdraw(conn, [hash_], source)
            if row is None:
                return "suppressed"
            stamp = now()
            conn.execute("UPDATE subscribers SET status = 'unsubscribed', unsubscribed_at = ?, "
                         "updated_at = ? WHERE id = ?", (stamp, stamp, row["id"]))
            return "unsubscribed"

    def unsubscribe(self, address: str, source: str = "office") -> str:
        return self.unsubscribe_hash(self.key_for(address), source)

    @staticmethod
    def _withdraw(conn: sqlite3.Connection, hashes: list[str], source: str, detail: str = "") -> None:
        """A withdrawal event now for each hash whose newest event is not already one."""
        kind = source if source in CONSENT_SOURCES else "one-click" if "unsubscribe" in source else \
            "provider" if source in ("mailgun", "sendgrid") else "office"
        detail = detail or ("" if kind == source else source)
        stamp = now()
        conn.execute("INSERT INTO consent_events (address_hash, given, at, source, detail, recorded_at) "
                     "SELECT value, 0, ?, ?, ?, ? FROM json_each(?) WHERE COALESCE(("
                     + NEWEST_CONSENT.format(h="value").replace("given, at, source, detail", "given")
                     + "), 1) = 1", (stamp, kind, detail, stamp, json.dumps(hashes)))

    def apply_suppressions(self, entries: Iterable[tuple[str, str]], source: str) -> dict[str, tuple[int, int]]:
        """Record a provider's suppressions: (address hash, reason) pairs, one transaction.

        ``reason`` is ``unsubscribed``, ``bounce`` or ``complaint``; an unsubscribe also marks
        the subscriber unsubscribed. Returns reason -> (new suppressions, subscribers who were
        sendable and no longer are)."""
        by_reason: dict[str, list[str]] = {}
        for hash_, reason in entries:
            by_reason.setdefault(reason, []).append(self.key(hash_))
        out: dict[str, tuple[int, int]] = {}
        stamp = now()
        with self.transaction() as conn:
            for reason, hashes in by_reason.items():
                stopped = new = 0
                for start in range(0, len(hashes), 500):
                    chunk = hashes[start:start + 500]
                    marks = ",".join("?" * len(chunk))
                    stopped += conn.execute(f"SELECT COUNT(*) FROM subscribers s WHERE s.address_hash IN ({marks}) "
                                            f"AND {SENDABLE}", chunk).fetchone()[0]
                    new += conn.execute(
                        "INSERT INTO suppressions (address_hash, reason, source, created_at) "
                        "SELECT value, ?, ?, ? FROM json_each(?) WHERE true "
                        "ON CONFLICT (address_hash) DO NOTHING",
                        (reason, source, stamp, json.dumps(chunk))).rowcount
                    if reason == "unsubscribed":
                        self._withdraw(conn, chunk, "provider", source)
                        conn.execute(f"UPDATE subscribers SET status = 'unsubscribed', unsubscribed_at = ?, "
                                     f"updated_at = ? WHERE status = 'subscribed' AND address_hash IN ({marks})",
                                     (stamp, stamp, *chunk))
                out[reason] = (new, stopped)
        return out

    def forget(self, address: str, source: str = "command line") -> str:
        """Erase a subscriber's personal data; keep only the hash as a suppression.
        Returns ``forgotten``, ``already`` or ``suppressed`` (not in the database)."""
        hash_ = self.key_for(address)
        self.conn.execute("PRAGMA secure_delete = ON")     # overwrite what is deleted, not just unlink it
        try:
            return self._forget(hash_, source, normalise(address))
        finally:
            self.conn.execute("PRAGMA secure_delete = OFF")

    def _forget(self, hash_: str, source: str, address: str) -> str:
        with self.transaction() as conn:
            row = conn.execute("SELECT id FROM subscribers WHERE address_hash = ?", (hash_,)).fetchone()
            previous = self.suppression(hash_)
            if previous is None:
                self.suppress_hash(hash_, "forgotten", source)
            elif previous["reason"] != "forgotten":
                conn.execute("UPDATE suppressions SET reason = 'forgotten', source = ?, created_at = ? "
                             "WHERE address_hash = ?", (source, now(), hash_))
            conn.execute("DELETE FROM consent_events WHERE address_hash = ?", (hash_,))
            # the subscription service's: a sign-up awaiting confirmation, the providers' events
            conn.execute("DELETE FROM signups WHERE email = ?", (normalise(address),))
            conn.execute("DELETE FROM provider_events WHERE address_hash = ?", (hash_,))
            if row is not None:
                conn.execute("UPDATE ledger SET state = 'skipped', reason = 'forgotten', updated_at = ? "
                             "WHERE subscriber_id = ? AND state = 'pending'", (now(), row["id"]))
                conn.execute("UPDATE ledger SET subscriber_id = NULL WHERE subscriber_id = ?", (row["id"],))
                conn.execute("DELETE FROM subscribers WHERE id = ?", (row["id"],))
            # the ledger keeps its counts, but not even the keyed hash: only the suppression links to them
            conn.execute("UPDATE ledger SET address_hash = 'forgotten:' || id, subscriber_id = NULL "
                         "WHERE address_hash = ?", (hash_,))
            redact_everywhere(conn, address)
        # erased data must not linger in free pages or in old page copies in the write-ahead log
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        if row is None:
            return "already" if previous is not None else "suppressed"
        return "forgotten"

    # --- consent history ------------------------------------------------------------------------
    def add_consent_event(self, email: str, *, given: bool, at: dt.datetime, source: str,
                          detail: str = "", wording: str | None = None) -> None:
        """Append one consent event for ``email`` (which need not be a subscriber yet).

        The history is append-only and the newest event (by ``at``, then by entry) decides: a
        subscriber is sendable only while it is "given". The subscriber row's consent columns
        are kept in step as a cache (sending reads them). A "given" event that becomes the
        newest, from any source but an import, also ends an earlier unsubscribe: the person
        asked again (bounces, complaints and erasure stay suppressed)."""
        self.add_consent_event_hash(self.key_for(email), given=given, at=at, source=source,
                                    detail=detail, wording=wording)

    def add_consent_event_hash(self, hash_: str, *, given: bool, at: dt.datetime | dt.date, source: str,
                               detail: str = "", wording: str | None = None) -> None:
        hash_ = self.key(hash_)
        with self._atomic() as conn:
            conn.execute("INSERT INTO consent_events (address_hash, given, at, source, detail, wording, "
                         "recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (hash_, int(bool(given)), utc_text(at), source, detail, wording, now()))
            self._sync_consent(conn, hash_, resubscribe=given and source != "import")

    def _sync_consent(self, conn: sqlite3.Connection, hash_: str, *, resubscribe: bool = False) -> None:
        """Bring the subscriber row's consent cache in line with the newest event."""
        newest = conn.execute(NEWEST_CONSENT.format(h="?"), (hash_,)).fetchone()
        if newest is None:
            return
        stamp = now()
        if newest["given"]:
            day = newest["at"][:10]
            conn.execute("UPDATE subscribers SET consent = 1, consent_date = ?, updated_at = ?, "
                         "consent_source = CASE WHEN ? = 'import' THEN consent_source ELSE ? END "
                         "WHERE address_hash = ? AND (consent = 0 OR consent_date IS NOT ?)",
                         (day, stamp, newest["source"], newest["source"], hash_, day))
            if resubscribe:
                conn.execute("UPDATE subscribers SET status = 'subscribed', unsubscribed_at = NULL, "
                             "updated_at = ? WHERE address_hash = ? AND status = 'unsubscribed'", (stamp, hash_))
                conn.execute("DELETE FROM suppressions WHERE address_hash = ? AND reason = 'unsubscribed'",
                             (hash_,))
        else:
            conn.execute("UPDATE subscribers SET consent = 0, consent_date = NULL, updated_at = ? "
                         "WHERE address_hash = ? AND consent = 1", (stamp, hash_))

    def consent_history(self, email: str) -> list["ConsentEvent"]:
        """Every consent event of ``email``, oldest first (the last one decides)."""
        return self.consent_history_hash(self.key_for(email))

    def consent_history_hash(self, hash_: str) -> list["ConsentEvent"]:
        return [ConsentEvent(bool(r["given"]), parse_utc(r["at"]), r["source"], r["detail"], r["wording"])
                for r in self.conn.execute("SELECT given, at, source, detail, wording FROM consent_events "
                                           "WHERE address_hash = ? ORDER BY at, id", (self.key(hash_),))]

    def consent_given(self, email: str) -> bool:
        """True when the newest consent event of ``email`` is "given"."""
        newest = self.conn.execute(NEWEST_CONSENT.format(h="?"), (self.key_for(email),)).fetchone()
        return bool(newest and newest["given"])

    def sends_of(self, hash_: str) -> list[sqlite3.Row]:
        return self.conn.execute("SELECT edition, state, updated_at, message_id FROM ledger WHERE address_hash = ? "
                                 "ORDER BY id", (self.key(hash_),)).fetchall()

    # --- the ledger -----------------------------------------------------------------------------
    def plan(self, edition: str, rows: Iterable[tuple[int, str, str, str]], *, chunk: int = 5000) -> int:
        """Insert a pending row per (subscriber id, address hash, audience, phases); idempotent.

        Rows already planned keep their state (a sent reader is never planned again); a
        pending or skipped row takes the reader's current variant and becomes pending again."""
        sql = ("INSERT INTO ledger (edition, subscriber_id, address_hash, audience, phases, state, "
               "planned_at, updated_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?) "
               "ON CONFLICT (edition, address_hash) DO UPDATE SET subscriber_id = excluded.subscriber_id, "
               "audience = excluded.audience, phases = excluded.phases, state = 'pending', reason = '', "
               "updated_at = excluded.updated_at "
               "WHERE ledger.state IN ('pending', 'skipped') AND (ledger.state = 'skipped' OR "
               "ledger.audience <> excluded.audience OR ledger.phases <> excluded.phases)")
        stamp = now()
        before = self.total(edition)
        with self.transaction() as conn:
            buffer: list[tuple] = []
            for subscriber_id, hash_, audience, phases in rows:
                buffer.append((edition, subscriber_id, self.key(hash_), audience, phases, stamp, stamp))
                if len(buffer) >= chunk:
                    conn.executemany(sql, buffer)
                    buffer.clear()
            if buffer:
                conn.executemany(sql, buffer)
        return self.total(edition) - before

    def total(self, edition: str) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM ledger WHERE edition = ?", (edition,)).fetchone()[0]

    def recover(self, edition: str) -> int:
        """Rows left ``sending`` by a run that died become ``unknown``: never sent again on their own."""
        stamp = now()
        with self.transaction() as conn:
            # the request (if any) began before now: the settle time counts from here
            conn.execute("UPDATE batches SET state = 'unknown', reason = 'interrupted', finished_at = ?, "
                         "requested_at = ? WHERE edition = ? AND state = 'sending'",
                         (stamp, stamp_ms(time.time()), edition))
            cur = conn.execute("UPDATE ledger SET state = 'unknown', updated_at = ?, "
                               "reason = 'interrupted while sending: may or may not have gone out' "
                               "WHERE edition = ? AND state = 'sending'", (stamp, edition))
            return cur.rowcount

    def skip_unsendable(self, edition: str) -> int:
        """Pending readers who were forgotten, unsubscribed or lost consent since the plan."""
        stamp = now()
        with self.transaction() as conn:
            n = conn.execute("UPDATE ledger SET state = 'skipped', reason = 'forgotten', updated_at = ? "
                             "WHERE edition = ? AND state = 'pending' AND subscriber_id IS NULL",
                             (stamp, edition)).rowcount
            n += conn.execute(
                "UPDATE ledger SET state = 'skipped', updated_at = ?, reason = CASE "
                " WHEN EXISTS (SELECT 1 FROM suppressions x WHERE x.address_hash = ledger.address_hash) "
                "  THEN (SELECT 'suppressed: ' || x.reason || CASE WHEN x.source <> '' THEN ' (' || x.source || ')' "
                "        ELSE '' END FROM suppressions x WHERE x.address_hash = ledger.address_hash) "
                " WHEN (SELECT status FROM subscribers s WHERE s.id = ledger.subscriber_id) = 'unsubscribed' "
                "  THEN 'unsubscribed' ELSE 'no consent' END "
                f"WHERE edition = ? AND state = 'pending' AND NOT EXISTS (SELECT 1 FROM subscribers s "
                f"WHERE s.id = ledger.subscriber_id AND {SENDABLE})", (stamp, edition)).rowcount
            return n

    def resend_unknown(self, edition: str) -> int:
        """On explicit request only: put ``unknown`` rows back to ``pending``."""
        with self.transaction() as conn:
            return conn.execute("UPDATE ledger SET state = 'pending', batch_id = NULL, reason = '', "
                                "updated_at = ? WHERE edition = ? AND state = 'unknown'",
                                (now(), edition)).rowcount

    def pending_variants(self, edition: str) -> list[tuple[str, str, int]]:
        """(audience, phases, count) of the pending rows, in a stable order."""
        return [(r[0], r[1], r[2]) for r in self.conn.execute(
            "SELECT audience, phases, COUNT(*) FROM ledger WHERE edition = ? AND state = 'pending' "
            "GROUP BY audience, phases ORDER BY audience, phases", (edition,))]

    def has_pending(self, edition: str, audience: str, phases: str) -> bool:
        return self.conn.execute("SELECT 1 FROM ledger WHERE edition = ? AND state = 'pending' AND "
                                 "audience = ? AND phases = ? LIMIT 1", (edition, audience, phases)
                                 ).fetchone() is not None

    def claim(self, edition: str, audience: str, phases: str, size: int, provider: str,
              variant: str = "", tag_for=None) -> Claim | None:
        """Mark up to ``size`` pending, still-sendable rows of one variant ``sending`` as one
        batch, in one transaction, before the provider is asked. None when there are none.
        ``tag_for(batch_id)`` makes the batch's tag, stored in the same transaction."""
        stamp = now()
        with self.transaction() as conn:
            ids = [r[0] for r in conn.execute(
                "SELECT l.id FROM ledger l JOIN subscribers s ON s.id = l.subscriber_id "
                "WHERE l.edition = ? AND l.state = 'pending' AND l.audience = ? AND l.phases = ? "
                f"AND {SENDABLE} ORDER BY l.id LIMIT ?", (edition, audience, phases, size))]
            if not ids:
                return None          # nothing written: the empty transaction costs no fsync
            batch_id = conn.execute(
                "INSERT INTO batches (edition, provider, variant, size, claimed_at) VALUES (?, ?, ?, ?, ?)",
                (edition, provider, variant or f"{audience} {phases}".strip(), len(ids), stamp)).lastrowid
            tag = tag_for(batch_id) if tag_for else ""
            if tag:
                conn.execute("UPDATE batches SET tag = ? WHERE id = ?", (tag, batch_id))
            for start in range(0, len(ids), 10_000):      # one statement per batch, not one per row
                chunk = ids[start:start + 10_000]
                conn.execute(f"UPDATE ledger SET state = 'sending', batch_id = ?, updated_at = ? "
                             f"WHERE id IN ({','.join('?' * len(chunk))})", (batch_id, stamp, *chunk))
            rows = conn.execute(
                "SELECT l.id, s.email, s.address_hash, s.first_name, s.last_name "
                "FROM ledger l JOIN subscribers s ON s.id = l.subscriber_id "
                "WHERE l.batch_id = ? AND l.state = 'sending' ORDER BY l.id", (batch_id,)).fetchall()
        return Claim(batch_id, tuple(Reader(r[0], r[1], r[2], r[3], r[4]) for r in rows), tag)

    def finish_sent(self, batch_id: int, message_ids: Mapping[int, str], *,
                    requested_at: str | None = None) -> tuple[int, int]:
        """The provider answered: rows with a message id are sent; any it did not account for
        are unknown. Returns (sent, unknown)."""
        stamp = now()
        with self.transaction() as conn:
            conn.executemany("UPDATE ledger SET state = 'sent', message_id = ?, reason = '', updated_at = ? "
                             "WHERE id = ? AND batch_id = ? AND state = 'sending'",
                             [(mid, stamp, lid, batch_id) for lid, mid in message_ids.items()])
            unknown = conn.execute(
                "UPDATE ledger SET state = 'unknown', updated_at = ?, reason = 'the provider returned "
                "no message id for this reader' WHERE batch_id = ? AND state = 'sending'",
                (stamp, batch_id)).rowcount
            conn.execute("UPDATE batches SET state = ?, finished_at = ?, requested_at = ? WHERE id = ?",
                         ("sent" if not unknown else "unknown", stamp, requested_at, batch_id))
        return len(message_ids), unknown

    def finish(self, batch_id: int, state: str, reason: str = "", *, requested_at: str | None = None) -> int:
        """End a batch as ``failed`` or ``unknown`` (every row), or ``pending`` (released:
        the request was never made or certainly not accepted, so the rows may be sent later)."""
        if state not in ("failed", "unknown", "pending"):
            raise ValueError(state)
        stamp = now()
        with self.transaction() as conn:
            n = conn.execute("UPDATE ledger SET state = ?, reason = ?, updated_at = ?, batch_id = "
                             "CASE WHEN ? = 'pending' THEN NULL ELSE batch_id END "
                             "WHERE batch_id = ? AND state = 'sending'",
                             (state, reason[:500], stamp, state, batch_id)).rowcount
            conn.execute("UPDATE batches SET state = ?, reason = ?, finished_at = ?, "
                         "requested_at = COALESCE(?, requested_at) WHERE id = ?",
                         ("released" if state == "pending" else state, reason[:500], stamp, requested_at,
                          batch_id))
        return n

    # --- reports ----------------------------------------------------------------------------------
    def status(self, edition: str) -> dict[str, int]:
        counts = dict.fromkeys(STATES, 0)
        for state, n in self.conn.execute("SELECT state, COUNT(*) FROM ledger WHERE edition = ? "
                                          "GROUP BY state", (edition,)):
            counts[state] = n
        return counts

    def status_by_variant(self, edition: str) -> list[tuple[str, str, str, int]]:
        return [tuple(r) for r in self.conn.execute(
            "SELECT audience, phases, state, COUNT(*) FROM ledger WHERE edition = ? "
            "GROUP BY audience, phases, state ORDER BY audience, phases, state", (edition,))]

    def rows_in_state(self, edition: str, state: str) -> Iterator[sqlite3.Row]:
        """Ledger rows in one state with the reader's address when still known (for `status --list`)."""
        return self.conn.execute(
            "SELECT l.id, l.batch_id, l.reason, l.message_id, s.email FROM ledger l "
            "LEFT JOIN subscribers s ON s.id = l.subscriber_id "
            "WHERE l.edition = ? AND l.state = ? ORDER BY l.batch_id, l.id", (edition, state))

    def pending_count(self, edition: str) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM ledger WHERE edition = ? AND state = 'pending'",
                                 (edition,)).fetchone()[0]

    def unknown_batches(self, edition: str) -> list[dict]:
        """Batches with readers in ``unknown``: what ``status`` lists and ``--resend-unknown`` sends."""
        return [dict(r) for r in self.conn.execute(
            "SELECT l.batch_id AS batch, COUNT(*) AS readers, b.variant, b.provider, b.claimed_at, "
            "b.tag, b.requested_at, b.checked_at, b.check_note, "
            "COALESCE(NULLIF(MIN(l.reason), ''), b.reason) AS reason FROM ledger l "
            "LEFT JOIN batches b ON b.id = l.batch_id WHERE l.edition = ? AND l.state = 'unknown' "
            "GROUP BY l.batch_id ORDER BY l.batch_id", (edition,))]

    def editions(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT DISTINCT edition FROM ledger ORDER BY edition")]


def open_store(path: Path | str, *, create: bool = True) -> Store:
    return Store(path, create=create)


def exists(path: Path | str) -> bool:
    return Path(path).is_file()


__all__ = ["Store", "StoreError", "Claim", "Reader", "ConsentEvent", "CONSENT_SOURCES", "normalise", "address_hash", "STATES",
           "stamp_ms", "epoch_of",
           "SCHEMA_VERSION", "MIGRATIONS", "split_words", "SENDABLE"]
