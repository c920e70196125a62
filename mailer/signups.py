"""Join with double opt-in, change preferences, leave: the subscription service's Python API.

The web layer (mailer/web/) only parses requests and renders pages; everything that touches
the database is here, so tests and the durable queue (mailer/spool.py) call the same code.

Join
    :func:`request_signup` records a *pending* sign-up (table ``signups``), never a subscriber:
    nobody becomes sendable before they click the signed link in the confirmation email. The
    outcome says which email to send, if any; the web page is the same in every case, so the
    form cannot be used to find out who is on the list.
Confirm
    :func:`confirm` turns the pending sign-up into a subscribed reader with consent (source
    "sign-up form", the wording's version, the time), lifting an earlier unsubscribe, erasure
    or bounce (the person has just asked again, from that mailbox); never a complaint.
Preferences and leave
    :func:`update_preferences`, :func:`leave` by address hash (what a signed link carries).
"""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field

from .store import Store, address_hash, normalise

CONFIRM_HOURS = 72               # a confirmation link works this long
MAILS_PER_ADDRESS_PER_DAY = 3    # confirmation (or "you are already subscribed") emails
LIFTED_BY_CONFIRMATION = ("unsubscribed", "forgotten", "bounce")
SOURCE = "sign-up form"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)


@dataclass(frozen=True)
class JoinRequest:
    email: str
    first_name: str = ""
    school: str = ""
    roles: tuple[str, ...] = ()
    phases: tuple[str, ...] = ()
    interests: tuple[str, ...] = ()
    wording_version: str = ""


@dataclass(frozen=True)
class SignupOutcome:
    """What :func:`request_signup` decided. ``mail`` is ``confirm`` (send the signed link),
    ``known`` (already subscribed: send the preference link instead), or ``None`` (send
    nothing: too many emails to this address today, or it complained about us)."""

    mail: str | None
    email: str
    address_hash: str
    signup_id: int = 0
    nonce: str = ""
    first_name: str = ""


@dataclass
class Preferences:
    roles: list[str] = field(default_factory=list)
    phases: list[str] = field(default_factory=list)
    interests: list[str] = field(default_factory=list)
    paused_until: str | None = None       # ISO date, or None


def _recent(mails: str, now: dt.datetime) -> list[str]:
    cutoff = now - dt.timedelta(days=1)
    return [m for m in mails.split() if parse_iso(m) > cutoff]


def request_signup(store: Store, req: JoinRequest, *, now: dt.datetime | None = None,
                   per_day: int = MAILS_PER_ADDRESS_PER_DAY) -> SignupOutcome:
    """Record a sign-up awaiting confirmation (one transaction); decide which email to send."""
    now = now or utcnow()
    email = normalise(req.email)
    hash_ = address_hash(email)             # the digest: what links carry
    stored = store.key(hash_)               # the keyed hash the database keeps
    with store.transaction() as conn:
        row = conn.execute("SELECT id, mails FROM signups WHERE email = ?", (email,)).fetchone()
        recent = _recent(row["mails"], now) if row else []
        suppressed = conn.execute("SELECT reason FROM suppressions WHERE address_hash = ?",
                                  (stored,)).fetchone()
        if len(recent) >= per_day or (suppressed is not None and suppressed["reason"] == "complaint"):
            return SignupOutcome(None, email, hash_)
        subscriber = conn.execute(
            "SELECT s.id FROM subscribers s WHERE s.email = ? AND s.consent = 1 AND s.status = 'subscribed'",
            (email,)).fetchone()
        mail = "known" if subscriber is not None and suppressed is None else "confirm"
        nonce = secrets.token_urlsafe(12)
        mails = " ".join(recent + [iso(now)])
        values = (req.first_name, req.school, " ".join(req.roles), " ".join(req.phases),
                  " ".join(req.interests), req.wording_version, nonce, iso(now), mails)
        if row is None:
            signup_id = conn.execute(
                "INSERT INTO signups (first_name, school, roles, phases, interests, wording_version, nonce, "
                "requested_at, mails, email) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", (*values, email)).lastrowid
        else:
            signup_id = row["id"]
            conn.execute("UPDATE signups SET first_name = ?, school = ?, roles = ?, phases = ?, interests = ?, "
                         "wording_version = ?, nonce = ?, requested_at = ?, mails = ? WHERE id = ?",
                         (*values, signup_id))
    return SignupOutcome(mail, email, hash_, signup_id, nonce, req.first_name)


@dataclass(frozen=True)
class Confirmation:
    outcome: str                 # confirmed | already | invalid
    email: str = ""
    wording_version: str = ""


def confirm(store: Store, signup_id: int, nonce: str, digest: str = "", *,
            now: dt.datetime | None = None) -> Confirmation:
    """Make the pending sign-up a subscribed reader with consent, in one transaction.

    ``already``: the link was used before and the reader is subscribed; ``invalid``: a newer
    request replaced this link, or the sign-up expired and was purged."""
    now = now or utcnow()
    with store.transaction() as conn:
        row = conn.execute("SELECT * FROM signups WHERE id = ?", (signup_id,)).fetchone()
        if row is None or not secrets.compare_digest(row["nonce"], nonce):
            if _is_digest(digest) and conn.execute(
                    "SELECT 1 FROM subscribers WHERE address_hash = ? AND consent = 1 AND status = 'subscribed'",
                    (store.key(digest),)).fetchone():
                return Confirmation("already")
            return Confirmation("invalid")
        email, stamp = row["email"], iso(now)
        hash_ = store.key_for(email)
        existing = conn.execute("SELECT id FROM subscribers WHERE email = ?", (email,)).fetchone()
        details = (row["first_name"], row["school"], row["roles"], row["phases"], row["interests"])
        if existing is None:
            conn.execute(
                "INSERT INTO subscribers (email, address_hash, first_name, school, roles, phases, interests, "
                "consent, consent_date, consent_source, status, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, 'subscribed', ?, ?)",
                (email, hash_, *details, stamp[:10], SOURCE, stamp, stamp))
        else:
            conn.execute(
                "UPDATE subscribers SET first_name = CASE WHEN ? <> '' THEN ? ELSE first_name END, "
                "school = CASE WHEN ? <> '' THEN ? ELSE school END, roles = ?, phases = ?, interests = ?, "
                "consent = 1, consent_date = ?, consent_source = ?, status = 'subscribed', "
                "unsubscribed_at = NULL, paused_until = NULL, updated_at = ? WHERE id = ?",
                (details[0], details[0], details[1], details[1], *details[2:], stamp[:10], SOURCE, stamp,
                 existing["id"]))
        marks = ",".join("?" * len(LIFTED_BY_CONFIRMATION))
        conn.execute(f"DELETE FROM suppressions WHERE address_hash = ? AND reason IN ({marks})",
                     (hash_, *LIFTED_BY_CONFIRMATION))
        conn.execute("DELETE FROM signups WHERE id = ?", (signup_id,))
        _consent(store, email, True, now, SOURCE, f"confirmed by the signed link; requested {row['requested_at']}",
                 row["wording_version"])
    return Confirmation("confirmed", email, row["wording_version"])


def _consent(store: Store, email: str, given: bool, at: dt.datetime, source: str, detail: str = "",
             wording: str | None = None) -> None:
    """Append to the consent history (Store.add_consent_event), inside the caller's transaction."""
    store.add_consent_event(email, given=given, at=at, source=source, detail=detail, wording=wording)


def _is_digest(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)


def purge_expired(store: Store, *, now: dt.datetime | None = None, hours: int = CONFIRM_HOURS) -> int:
    """Unconfirmed sign-ups are personal data we have no consent to keep: delete them once
    their link has expired and a day has passed (the per-address email count needs that day)."""
    cutoff = iso((now or utcnow()) - dt.timedelta(hours=max(hours, 24)))
    with store.transaction() as conn:
        return conn.execute("DELETE FROM signups WHERE requested_at < ?", (cutoff,)).rowcount


def subscriber_by_hash(store: Store, digest: str):
    """The subscriber a link's address digest names, or None."""
    return store.conn.execute("SELECT * FROM subscribers WHERE address_hash = ?", (store.key(digest),)).fetchone()


def update_preferences(store: Store, hash_: str, prefs: Preferences, *,
                       now: dt.datetime | None = None) -> str:
    """``updated`` or ``unknown`` (no subscriber holds that hash: forgotten)."""
    stamp = iso(now or utcnow())
    with store.transaction() as conn:
        n = conn.execute("UPDATE subscribers SET roles = ?, phases = ?, interests = ?, paused_until = ?, "
                         "updated_at = ? WHERE address_hash = ?",
                         (" ".join(prefs.roles), " ".join(prefs.phases), " ".join(prefs.interests),
                          prefs.paused_until, stamp, store.key(hash_))).rowcount
    return "updated" if n else "unknown"


def leave(store: Store, hash_: str, source: str) -> str:
    """Unsubscribe by address hash; the store appends the withdrawal to the consent history
    with ``source`` ("one-click", "preference centre", "office", "provider"). Returns what
    :meth:`Store.unsubscribe_hash` returns: ``unsubscribed``, ``already`` or ``suppressed``."""
    return store.unsubscribe_hash(hash_, source)


__all__ = ["JoinRequest", "SignupOutcome", "Confirmation", "Preferences", "request_signup", "confirm",
           "update_preferences", "leave", "purge_expired", "subscriber_by_hash", "CONFIRM_HOURS"]
