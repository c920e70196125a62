"""Subscribers from a CSV export (CONTENT-FORMAT.md, "Subscribers") into the store.

Streaming and fast: rows are read and validated one at a time, then written in chunks with
``executemany`` inside one transaction (one fsync for the whole file). A bad row is reported
with its row number (the header is row 1, as a spreadsheet counts) and skipped; the good rows
are imported. An upsert on the normalised address makes a re-import idempotent.

Consent rules (what the issue left open, decided here):
- a row whose consent is yes/true/1 or an ISO date is imported and sendable; a bare "yes" is
  dated today unless the subscriber had already consented (the first date is kept);
- a row with consent missing or no/false/0 never adds anyone (we keep no data we may not use);
  an explicit no records a withdrawal in the consent history (by address hash, even for an
  address we do not hold, so that an older export imported later cannot subscribe it); a
  blank leaves a known subscriber unchanged;
- consent is an append-only history (store.consent_events) and the newest event wins: a row's
  consent is recorded as given on its date (a bare yes: today), so an import never overrides a
  later withdrawal; after a withdrawal only a consent dated after it counts (a bare yes does not);
- an address that unsubscribed, was forgotten or is suppressed is left alone: the row is not
  applied at all, so no import ever makes it sendable again.
"""
from __future__ import annotations

import csv
import datetime as dt
import functools
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from records.problems import did_you_mean
from records.schema import DEFAULT_VOCABULARY, STRANDS

from .spreadsheet import restore
from .store import Store, now, utc_text

COLUMNS = ("email", "first_name", "last_name", "school", "roles", "phases", "interests", "consent",
           "source")
_HEADER_ALIASES = {"e-mail": "email", "email_address": "email", "firstname": "first_name",
                   "lastname": "last_name", "surname": "last_name", "role": "roles",
                   "phase": "phases", "interest": "interests"}
# A practical address check: one @, no spaces or characters that could break a header,
# a dotted domain of letters, digits and hyphens. Addresses are lower-cased first.
_EMAIL_RE = re.compile(r"^[a-z0-9!#$%&'*+/=?^_`{|}~.-]+@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"
                       r"[a-z][a-z0-9-]*[a-z0-9]$")
_SPLIT_RE = re.compile(r"[;,]")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]+")
_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0"}
CHUNK = 2000
MAX_TEXT = 200


class ImportError_(Exception):
    """The file as a whole cannot be imported (no email column, not UTF-8): one line."""


@dataclass
class ImportResult:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0            # bad rows
    no_consent: int = 0         # rows without consent (never added; an explicit no withdraws)
    withdrawn: int = 0          # of no_consent: known subscribers whose consent was withdrawn
    suppressed: int = 0         # rows for unsubscribed, forgotten or suppressed addresses
    duplicates: int = 0         # rows repeating an earlier row's address (the later row wins)
    withdrawal_kept: int = 0    # rows whose consent is older than a withdrawal (not applied)
    rows: int = 0
    messages: list[str] = field(default_factory=list)   # "row N: field: message"

    def summary(self) -> str:
        return (f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
                f"{self.skipped} skipped, {self.no_consent} without consent, "
                f"{self.suppressed} unsubscribed or suppressed (left alone)"
                + (f", {self.withdrawal_kept} with consent older than a withdrawal (left alone)"
                   if self.withdrawal_kept else ""))


@dataclass(frozen=True)
class Vocab:
    roles: tuple[str, ...] = tuple(DEFAULT_VOCABULARY["roles"])
    phases: tuple[str, ...] = tuple(DEFAULT_VOCABULARY["phases"])
    # strand ids, and specialisms ("send", "maths"): what a questionnaire asks people about
    interests: tuple[str, ...] = tuple(dict.fromkeys([*STRANDS, *DEFAULT_VOCABULARY["specialisms"]]))

    @classmethod
    def from_records(cls, records) -> "Vocab":
        vocab = records.vocabulary
        return cls(tuple(vocab.roles), tuple(vocab.phases),
                   tuple(dict.fromkeys([*STRANDS, *vocab.specialisms])))


class RowError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")


def valid_address(text: str) -> bool:
    return len(text) <= 254 and "@" in text and bool(_EMAIL_RE.match(text)) and ".." not in text \
        and not text.startswith(".") and ".@" not in text


def _clean(value: str | None, field: str) -> str:
    if not value:
        return ""
    if value.isprintable() and len(value) <= MAX_TEXT and "  " not in value \
            and value[0] != " " and value[-1] != " ":
        return value                  # the common case, checked in C
    text = " ".join(_CONTROL_RE.sub(" ", value).split())
    if len(text) > MAX_TEXT:
        raise RowError(field, f"is {len(text)} characters; at most {MAX_TEXT}")
    return text


_WORDS_MEMO: dict[tuple, str | RowError] = {}


def _words(value: str | None, field: str, known: tuple[str, ...], singular: str) -> str:
    """'Teacher; ECT' -> 'teacher ect' (order kept as written, duplicates dropped). Memoised:
    a list of 100,000 readers holds a few hundred distinct role and phase cells."""
    if not value:
        return ""
    memo_key = (value, field, known)
    found = _WORDS_MEMO.get(memo_key)
    if found is None:
        try:
            found = _parse_words(value, field, known, singular)
        except RowError as err:
            found = err
        if len(_WORDS_MEMO) < 50_000:
            _WORDS_MEMO[memo_key] = found
    if isinstance(found, RowError):
        raise RowError(field, str(found).split(": ", 1)[1])
    return found


def _parse_words(value: str, field: str, known: tuple[str, ...], singular: str) -> str:
    out: list[str] = []
    for raw in _SPLIT_RE.split(value):
        word = "-".join(raw.strip().lower().replace("_", " ").split())
        if not word:
            continue
        if word not in known:
            raise RowError(field, f"unknown {singular} {raw.strip()!r}{did_you_mean(word, known)}")
        if word not in out:
            out.append(word)
    return " ".join(out)


def _consent(value: str | None, today: dt.date) -> tuple[bool | None, str | None]:
    """(True, date) for consent, (False, None) for an explicit no, (None, None) when blank."""
    text = (value or "").strip().lower()
    if not text:
        return None, None
    if text in _YES:
        return True, None
    if text in _NO:
        return False, None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise RowError("consent", f"{value.strip()!r} is not yes, no or a date (YYYY-MM-DD)") from None
    if day > today:
        raise RowError("consent", f"{day.isoformat()} is in the future")
    return True, day.isoformat()


def _header(names: list[str]) -> tuple[dict[str, int], list[str]]:
    index: dict[str, int] = {}
    unknown = []
    for i, name in enumerate(names):
        key = "_".join(name.strip().lstrip("\ufeff").lower().replace("-", " ").split()) if name else ""
        key = _HEADER_ALIASES.get(key, _HEADER_ALIASES.get(name.strip().lower(), key))
        if key in COLUMNS and key not in index:
            index[key] = i
        elif name.strip():
            unknown.append(name.strip())
    return index, unknown


# Columns compared to tell "updated" from "unchanged", in this order.
_FIELDS = ("first_name", "last_name", "school", "roles", "phases", "interests", "consent",
           "consent_date", "consent_source")


class Importer:
    def __init__(self, store: Store, vocab: Vocab = Vocab(), *, source: str = "",
                 today: dt.date | None = None):
        self.store = store
        self.vocab = vocab
        self.source = source
        self.today = today or dt.date.today()
        # the moment of this import's consent events (a bare yes, a no): "today" at the current time
        clock = dt.datetime.now(dt.timezone.utc)
        self.moment = clock if today is None else dt.datetime.combine(today, clock.time(), dt.timezone.utc)
        self.file_label = "import"

    def import_file(self, path: Path | str, *, source: str | None = None) -> ImportResult:
        path = Path(path)
        self.file_label = path.name
        # surrogateescape: a byte that is not UTF-8 spoils only its own row, reported by number
        with open(path, encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
            return self.import_stream(handle, source=source if source is not None else (self.source or path.name))

    def import_stream(self, handle: TextIO, *, source: str = "") -> ImportResult:
        self.store.keyer            # no hash key (MAILER_SECRET): StoreError before a row is read
        result = ImportResult()
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
        except (UnicodeDecodeError, csv.Error) as err:
            raise ImportError_(_file_error(err, 1)) from None
        if header is None:
            raise ImportError_("the file is empty: it needs a header row with at least an email column")
        columns, unknown = _header(header)
        if "email" not in columns:
            raise ImportError_(f"no email column in the header row (found: {', '.join(h for h in header if h) or 'nothing'})")
        if unknown:
            result.messages.append(f"row 1: ignored column{'s' if len(unknown) > 1 else ''}: "
                                   f"{', '.join(unknown)}; the columns are: {', '.join(COLUMNS)}")
        stamp = now()
        seen: dict[bytes, int] = {}     # 8-byte address digests -> row: duplicates in the file
        with self.store.transaction() as conn:
            chunk: list[tuple[int, dict]] = []
            row_number = 1
            try:
                for values in reader:
                    row_number += 1
                    if not any(v.strip() for v in values):
                        continue                      # a blank line is no row
                    result.rows += 1
                    try:
                        row = self._row(values, columns, len(header), source)
                    except RowError as err:
                        result.skipped += 1
                        result.messages.append(f"row {row_number}: {err}")
                        continue
                    digest = hashlib.blake2b(row["email"].encode(), digest_size=8).digest()
                    first = seen.get(digest)
                    if first is not None:
                        result.duplicates += 1
                        result.messages.append(f"row {row_number}: same address as row {first}; "
                                               f"the later row is kept")
                    seen[digest] = row_number
                    chunk.append((row_number, row))
                    if len(chunk) >= CHUNK:
                        self._write(conn, chunk, result, stamp)
                        chunk = []
            except (UnicodeDecodeError, csv.Error) as err:
                raise ImportError_(_file_error(err, row_number + 1)) from None
            if chunk:
                self._write(conn, chunk, result, stamp)
        return result

    def _row(self, values: list[str], columns: dict[str, int], width: int, source: str) -> dict:
        try:
            "\x00".join(values).encode("utf-8")
        except UnicodeEncodeError:
            raise RowError("row", "is not UTF-8 text; save the file as \"CSV UTF-8\" and import it again") from None
        if len(values) > width:
            raise RowError("row", f"has {len(values)} fields but the header has {width}; "
                           "put text holding a comma in double quotes")

        def get(name: str) -> str:
            i = columns.get(name)
            if i is None or i >= len(values):
                return ""
            value = values[i]
            # an export of ours neutralised formula-like cells with a leading ': undone here
            return restore(value) if value[:1] == "'" else value

        email = get("email").strip().lower()
        if not email:
            raise RowError("email", "is missing")
        if not valid_address(email):
            raise RowError("email", f"{get('email').strip()!r} is not an email address")
        consent, consent_date = _consent(get("consent"), self.today)
        return {
            "email": email,
            "first_name": _clean(get("first_name"), "first_name"),
            "last_name": _clean(get("last_name"), "last_name"),
            "school": _clean(get("school"), "school"),
            "roles": _words(get("roles"), "roles", self.vocab.roles, "role"),
            "phases": _words(get("phases"), "phases", self.vocab.phases, "phase"),
            "interests": _words(get("interests"), "interests", self.vocab.interests, "interest (a strand or specialism)"),
            "consent": consent,
            "consent_date": consent_date,
            "consent_source": _clean(get("source"), "source") or source,
        }

    def write_rows(self, rows, result: ImportResult) -> None:
        """Rows already read and checked (row number, the dict :meth:`_row` makes), e.g. from a
        form export through a mapping (form_import.py): written as a CSV's rows are."""
        stamp = now()
        with self.store.transaction() as conn:
            chunk: list[tuple[int, dict]] = []
            for item in rows:
                chunk.append(item)
                if len(chunk) >= CHUNK:
                    self._write(conn, chunk, result, stamp)
                    chunk = []
            if chunk:
                self._write(conn, chunk, result, stamp)

    def _write(self, conn, chunk: list[tuple[int, dict]], result: ImportResult, stamp: str) -> None:
        emails = list({row["email"] for _, row in chunk})
        marks = ",".join("?" * len(emails))
        existing = {r["email"]: dict(r) for r in conn.execute(
            f"SELECT email, address_hash, status, {', '.join(_FIELDS)} FROM subscribers "
            f"WHERE email IN ({marks})", emails)}
        hashes = {e: self.store.key_for(e) for e in emails}
        suppressed = {r[0] for r in conn.execute(
            f"SELECT address_hash FROM suppressions WHERE address_hash IN ({marks})", list(hashes.values()))}
        newest = {r[0]: (bool(r[1]), r[2]) for r in conn.execute(
            f"SELECT value, n.given, n.at FROM json_each(?) JOIN consent_events n ON n.id = ("
            f"SELECT id FROM consent_events WHERE address_hash = value ORDER BY at DESC, id DESC LIMIT 1)",
            (json.dumps(list(hashes.values())),))}
        inserts: list[tuple] = []
        updates: list[tuple] = []
        events: list[tuple] = []
        moment = utc_text(self.moment)
        today = self.today.isoformat()
        for row_number, row in chunk:
            email = row["email"]
            hash_ = hashes[email]
            old = existing.get(email)
            if hash_ in suppressed or (old is not None and old["status"] == "unsubscribed"):
                result.suppressed += 1
                continue
            consent = row["consent"]
            detail = f"{self.file_label} row {row_number}" + (
                f": {row['consent_source']}" if row["consent_source"] not in ("", self.file_label) else "")
            last = newest.get(hash_)
            if consent is not True:
                result.no_consent += 1
                if consent is False:
                    if last is None or last[0]:
                        events.append((hash_, 0, moment, detail, row.get("consent_wording"), stamp))
                        newest[hash_] = (False, moment)
                    if old is not None and old["consent"]:
                        result.withdrawn += 1
                        new = dict(old, consent=0, consent_date=None, consent_source=row["consent_source"])
                        updates.append(tuple(new[f] for f in _FIELDS) + (stamp, email))
                        existing[email] = new
                continue
            given_at = _midnight(row["consent_date"]) if row["consent_date"] else moment
            if last is not None and not last[0] and (row["consent_date"] is None or given_at <= last[1]):
                result.withdrawal_kept += 1            # an import never overrides a later withdrawal
                result.messages.append(
                    f"row {row_number}: consent: withdrawn on {last[1][:10]}, after this row's consent "
                    f"({row['consent_date'] or 'a yes without a date'}); left alone. If they agreed again, "
                    f"give the date they did")
                continue
            if last is None or not last[0] or (row["consent_date"] and given_at > last[1]):
                events.append((hash_, 1, given_at, detail, row.get("consent_wording"), stamp))
                newest[hash_] = (True, given_at)
                date, source = given_at[:10] if row["consent_date"] else today, row["consent_source"]
            elif old is not None and old["consent"] and old["consent_date"]:
                date, source = old["consent_date"], old["consent_source"]   # consent held: keep its first date
            else:
                date, source = newest[hash_][1][:10], row["consent_source"]
            new = {"first_name": row["first_name"], "last_name": row["last_name"], "school": row["school"],
                   "roles": row["roles"], "phases": row["phases"], "interests": row["interests"],
                   "consent": 1, "consent_date": date, "consent_source": source}
            if old is None:
                result.added += 1
                inserts.append((email, hash_, *(new[f] for f in _FIELDS), stamp, stamp))
                existing[email] = dict(new, email=email, address_hash=hash_, status="subscribed")
            elif all(old[f] == new[f] for f in _FIELDS):
                result.unchanged += 1
            else:
                result.updated += 1
                updates.append(tuple(new[f] for f in _FIELDS) + (stamp, email))
                existing[email] = dict(old, **new)
        if events:
            # wording: the consent answer as the form put it (form_import.py), when there is one
            conn.executemany("INSERT INTO consent_events (address_hash, given, at, source, detail, wording, "
                             "recorded_at) VALUES (?, ?, ?, 'import', ?, ?, ?)", events)
        if inserts:
            conn.executemany(
                f"INSERT INTO subscribers (email, address_hash, {', '.join(_FIELDS)}, created_at, updated_at) "
                f"VALUES ({', '.join('?' * (len(_FIELDS) + 4))})", inserts)
        if updates:
            conn.executemany(
                f"UPDATE subscribers SET {', '.join(f + ' = ?' for f in _FIELDS)}, updated_at = ? WHERE email = ?",
                updates)


@functools.lru_cache(maxsize=4096)
def _midnight(day: str) -> str:
    """'2026-09-01' -> '2026-09-01T00:00:00Z' (a consent date as a moment; few distinct dates)."""
    return utc_text(dt.date.fromisoformat(day))


def _file_error(err: Exception, row: int) -> str:
    if isinstance(err, UnicodeDecodeError):
        return (f"row {row}: the file is not UTF-8 text; save it as \"CSV UTF-8\" and import it again "
                "(nothing was imported)")
    return f"row {row}: the file is not valid CSV ({err}); nothing was imported"


def import_csv(store: Store, path: Path | str, vocab: Vocab = Vocab(), *, source: str | None = None,
               today: dt.date | None = None) -> ImportResult:
    return Importer(store, vocab, today=today).import_file(path, source=source)
