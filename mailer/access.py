"""Everything the mailer holds about an address: a subject-access request (UK GDPR art. 15).

:func:`held_about` gathers, for one address: the subscriber row, the consent history, every
send (edition, date, outcome, the provider's message id) and the suppression, if any. The
export writes it as CSV (one row per subscriber, importable again) or JSON (everything,
nested); ``subscribers status ADDRESS`` prints it for a person at the office.

A send's failure reason is left out: a provider's message about a whole batch may name other
readers.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Iterator, TextIO

from . import spreadsheet
from .store import ConsentEvent, Store

CSV_COLUMNS = ("email", "first_name", "last_name", "school", "roles", "phases", "interests", "consent",
               "source", "status", "unsubscribed_at", "created_at", "updated_at", "sends", "consent_history",
               "suppression")
PROFILE = ("email", "first_name", "last_name", "school", "roles", "phases", "interests", "consent",
           "consent_date", "consent_source", "status", "unsubscribed_at", "created_at", "updated_at")


@dataclass
class Held:
    address: str
    subscriber: dict | None = None
    consent: list[ConsentEvent] = field(default_factory=list)
    sends: list[dict] = field(default_factory=list)
    suppression: dict | None = None

    @property
    def anything(self) -> bool:
        return bool(self.subscriber or self.consent or self.sends or self.suppression)

    def as_json(self) -> dict:
        return {
            "address": self.address,
            "subscriber": self.subscriber,
            "consent_history": [dict(asdict(e), at=e.at.isoformat(), given=e.given) for e in self.consent],
            "sends": self.sends,
            "suppression": self.suppression,
        }


def _held(store: Store, address: str, row) -> Held:
    hash_ = row["address_hash"] if row is not None else store.key_for(address)
    sends = [{"edition": s["edition"], "date": s["updated_at"], "outcome": s["state"],
              "provider_message_id": s["message_id"] or ""} for s in store.sends_of(hash_)]
    suppression = store.suppression(hash_)
    return Held(address,
                subscriber={k: row[k] for k in PROFILE} if row is not None else None,
                consent=store.consent_history_hash(hash_), sends=sends,
                suppression={k: suppression[k] for k in ("reason", "source", "created_at")} if suppression else None)


def held_about(store: Store, address: str) -> Held:
    return _held(store, address, store.subscriber(address))


def everyone(store: Store) -> Iterator[Held]:
    for row in store.subscribers():
        yield _held(store, row["email"], row)


def event_text(e: ConsentEvent) -> str:
    how = e.source + (f" ({e.detail})" if e.detail else "")
    wording = f" [wording: {e.wording}]" if e.wording else ""
    return f"{e.at:%Y-%m-%d %H:%M} UTC {'given' if e.given else 'withdrawn'}: {how}{wording}"


def send_text(s: dict) -> str:
    mid = f" ({s['provider_message_id']})" if s["provider_message_id"] else ""
    return f"{s['edition']} {s['date'][:10]} {s['outcome']}{mid}"


def suppression_text(x: dict | None) -> str:
    if not x:
        return ""
    return f"{x['reason']} {x['created_at'][:10]}" + (f" ({x['source']})" if x["source"] else "")


def write_csv(handle: TextIO, people) -> int:
    """One row per subscriber; cells neutralised against formula injection. Returns the rows."""
    out = spreadsheet.writer(handle)
    out.writerow(CSV_COLUMNS)
    n = 0
    for held in people:
        row = held.subscriber
        if row is None:
            continue
        n += 1
        out.writerow([row["email"], row["first_name"], row["last_name"], row["school"],
                      row["roles"].replace(" ", ";"), row["phases"].replace(" ", ";"),
                      row["interests"].replace(" ", ";"),
                      (row["consent_date"] or "yes") if row["consent"] else "no",
                      row["consent_source"], row["status"], row["unsubscribed_at"] or "",
                      row["created_at"], row["updated_at"],
                      "; ".join(send_text(s) for s in held.sends),
                      "; ".join(event_text(e) for e in held.consent),
                      suppression_text(held.suppression)])
    return n


def write_json(handle: TextIO, people) -> int:
    items = [held.as_json() for held in people]
    handle.write(json.dumps(items, indent=2, ensure_ascii=False) + "\n")
    return len(items)


def status_lines(held: Held, sendable: bool) -> list[str]:
    """``subscribers status ADDRESS``: what is held and whether they are sent to, for the office."""
    row = held.subscriber
    lines = [f"{held.address}: {'sent newsletters' if sendable else 'not sent newsletters'}"
             + ("" if row else " (not a subscriber: no name or details held)")]
    if row:
        name = f"{row['first_name']} {row['last_name']}".strip() or "-"
        lines.append(f"  name: {spreadsheet.neutralise(name)}; status: {row['status']}")
    if held.suppression:
        lines.append(f"  suppressed: {suppression_text(held.suppression)}")
    lines.append(f"  consent history ({len(held.consent)} event{'s' if len(held.consent) != 1 else ''}, "
                 "the last one decides):")
    lines += [f"    {event_text(e)}" for e in held.consent] or ["    none"]
    lines.append(f"  sends ({len(held.sends)}):")
    lines += [f"    {send_text(s)}" for s in held.sends] or ["    none"]
    return lines


__all__ = ["Held", "held_about", "everyone", "write_csv", "write_json", "status_lines", "CSV_COLUMNS"]
