"""The event logs of the loopback provider stand-ins (tests/provider_server.py).

Mailgun: one ``accepted`` event per recipient of every accepted request, with the request's
``o:tag`` values and ``v:`` variables, served by ``GET /v3/{domain}/events`` with Mailgun's
filters (``event``, ``tags``, ``recipient``, ``begin``/``end``/``ascending``) and its paging:
``paging.next`` is ``/v3/{domain}/events/{token}``, an opaque token carrying the query and
the position; pages follow until an empty one. ``delay`` seconds pass before an event shows
(Mailgun's events reach its log late: the reason for the sender's settle time).

SendGrid: one Email Activity message per personalization, served by ``GET /v3/messages``
(``limit`` up to 1,000, ``query`` such as ``unique_args['batch_tag']="..."``: only that form
and ``to_email="..."`` are understood here; SendGrid's own language is larger).
"""
from __future__ import annotations

import base64
import json
import re
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import quote

MAILGUN_PAGE_DEFAULT = 100
_QUERY_RE = re.compile(r"""^\s*\(?\s*(unique_args\['([A-Za-z0-9_]+)'\]|to_email)\s*=\s*"([^"]*)"\s*\)?\s*$""")


@dataclass
class Event:
    seq: int
    timestamp: float
    data: dict
    custom: dict = field(default_factory=dict)      # SendGrid: the personalization's custom_args


def _token(payload: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")


def _untoken(token: str) -> dict | None:
    try:
        return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except ValueError:
        return None


class EventLog:
    """Thread-safe store of one stand-in's events."""

    def __init__(self, provider: str, domain: str = ""):
        self.provider = provider
        self.domain = domain
        self.delay = 0.0                 # seconds after it happened before an event can be read
        self._events: list[Event] = []
        self._by_tag: dict[str, list[Event]] = {}    # Mailgun: lower-cased tag -> its events
        self._by_custom: dict[tuple[str, str], list[Event]] = {}   # SendGrid: (name, value) -> events
        self._lock = threading.Lock()
        self._seq = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._events)

    # --- recording ---------------------------------------------------------------------------
    def _add(self, data: dict, custom: dict | None = None) -> None:
        now = time.time()
        with self._lock:
            self._seq += 1
            data.setdefault("timestamp", now)
            event = Event(self._seq, data["timestamp"], data, custom or {})
            self._events.append(event)
            for tag in {str(t).lower() for t in data.get("tags", [])}:
                self._by_tag.setdefault(tag, []).append(event)
            for item in event.custom.items():
                self._by_custom.setdefault(item, []).append(event)

    def mailgun_accepted(self, provider_id: str, fields: list[tuple[str, str]], recipients: list[str]) -> None:
        tags = [value for key, value in fields if key == "o:tag"]
        variables = {key[2:]: value for key, value in fields if key.startswith("v:")}
        single = dict(reversed(fields))
        for recipient in recipients:
            self._add({
                "event": "accepted", "id": f"ev{self._seq + 1:08d}", "log-level": "info",
                "recipient": recipient, "recipient-domain": recipient.rpartition("@")[2],
                "tags": list(tags), "user-variables": dict(variables), "method": "HTTP",
                "flags": {"is-authenticated": True, "is-test-mode": False},
                "message": {"headers": {"to": recipient, "message-id": provider_id,
                                        "from": single.get("from", ""), "subject": single.get("subject", "")},
                            "attachments": [], "size": 1000},
            })

    def sendgrid_processed(self, provider_id: str, payload: dict) -> None:
        sender = payload.get("from", {}).get("email", "")
        for index, personalization in enumerate(payload.get("personalizations", [])):
            for box in personalization.get("to", []):
                self._add({"from_email": sender, "msg_id": f"{provider_id}.filter0001p1las1.{index}.0",
                           "subject": payload.get("subject", ""), "to_email": box["email"], "status": "processed",
                           "opens_count": 0, "clicks_count": 0},
                          custom=dict(personalization.get("custom_args", {})))

    # --- reading -----------------------------------------------------------------------------
    def _visible(self, within: list[Event] | None = None) -> list[Event]:
        now = time.time()
        with self._lock:
            return [e for e in (self._events if within is None else within) if e.timestamp + self.delay <= now]

    def mailgun_page(self, base_url: str, path: str, query: list[tuple[str, str]]) -> tuple[int, dict]:
        """One page of ``GET /v3/{domain}/events[/{token}]``."""
        parts = path.strip("/").split("/")
        if len(parts) == 4:                      # a paging link
            state = _untoken(parts[3])
            if state is None:
                return 400, {"message": "invalid page token"}
            filters, after = state["q"], state["after"]
        else:
            filters, after = dict(query), None
        limit = int(filters.get("limit", MAILGUN_PAGE_DEFAULT))
        chosen = [e for e in self._matching(filters) if after is None or e.seq > after][:limit]
        last = chosen[-1].seq if chosen else after
        first = chosen[0].seq - 1 if chosen else after
        link = f"{base_url}/v3/{self.domain}/events/"
        return 200, {"items": [e.data for e in chosen],
                     "paging": {"next": link + _token({"q": filters, "after": last}),
                                "previous": link + _token({"q": filters, "after": first}),
                                "first": link + _token({"q": filters, "after": None}),
                                "last": link + _token({"q": filters, "after": last})}}

    def _matching(self, filters: dict) -> list[Event]:
        begin = float(filters["begin"]) if filters.get("begin") else None
        end = float(filters["end"]) if filters.get("end") else None
        out = []
        with self._lock:
            within = list(self._by_tag.get(filters["tags"].lower(), [])) if filters.get("tags") else None
        for e in self._visible(within):
            d = e.data
            if filters.get("event") and d.get("event") != filters["event"]:
                continue
            if filters.get("tags") and filters["tags"].lower() not in [t.lower() for t in d.get("tags", [])]:
                continue
            if filters.get("recipient") and d.get("recipient", "").lower() != filters["recipient"].lower():
                continue
            if begin is not None and e.timestamp < begin or end is not None and e.timestamp > end:
                continue
            out.append(e)
        descending = filters.get("ascending") == "no" or (begin is not None and end is not None and end < begin)
        return sorted(out, key=lambda e: e.seq, reverse=descending)

    def sendgrid_messages(self, query: list[tuple[str, str]]) -> tuple[int, dict]:
        params = dict(query)
        match = _QUERY_RE.match(params.get("query", ""))
        if match is None:
            return 400, {"errors": [{"field": "query", "message": "invalid query (this stand-in understands "
                                     "unique_args['name']=\"value\" and to_email=\"value\")"}]}
        name, value = match.group(2), match.group(3)
        limit = int(params.get("limit", 10))
        found = []
        with self._lock:
            within = list(self._by_custom.get((name, value), [])) if name else None
        for e in self._visible(within):
            if (name and e.custom.get(name) == value) or (not name and e.data["to_email"] == value):
                found.append(dict(e.data, last_event_time=time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                        time.gmtime(e.timestamp))))
        return 200, {"messages": found[:limit]}


def sendgrid_query_errors(query: list[tuple[str, str]]) -> list[str]:
    """What SendGrid documents for ``GET /v3/messages`` (its spec is not in tests/specs/)."""
    errors = []
    allowed = {"limit", "query"}
    for name, value in query:
        if name not in allowed:
            errors.append(f"unknown query parameter {name!r}")
    params = dict(query)
    limit = params.get("limit", "10")
    if not (limit.isdigit() and 1 <= int(limit) <= 1000):
        errors.append("limit must be between 1 and 1000")
    if "query" in params and not params["query"].strip():
        errors.append("query must not be empty")
    return errors


def mailgun_events_path(domain: str) -> str:
    return f"/v3/{quote(domain)}/events"
