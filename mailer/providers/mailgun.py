"""Mailgun: one ``POST /v3/{domain}/messages`` per batch of up to 1,000 readers.

The variant's placeholders ``%%name%%`` become Mailgun's ``%recipient.name%`` and every
reader's values go into ``recipient-variables``. With recipient-variables Mailgun sends each
``to`` address its own copy, so no reader sees another's address (without them every reader
would see the whole list). Headers are ``h:`` fields and may hold recipient variables too,
so each reader gets their own ``List-Unsubscribe`` URL and their own ``Message-Id``
(``h:Message-Id: <%recipient.message_id%>``: the pattern Ghost uses in production; a bare id
must look like ``local@domain``). ``v:edition`` and ``v:variant`` tag the events; the send
loop's batch tag goes in ``o:tag`` (one tag: Mailgun allows 3 per message, ASCII, 128
characters) with the ledger's batch id in ``v:batch``, so :meth:`MailgunProvider.accepted`
can find the batch's ``accepted`` events after a lost answer.

Mailgun answers 200 with one id for the whole request; :meth:`MailgunProvider.send` returns
that id (without angle brackets) for every reader. The per-reader Message-ID is the
reader's own ``message_id`` value, which the caller already holds.

Limits checked before sending: 1,000 recipients; the ``o:``/``h:``/``v:``/``t:`` options
16 KB in all (Mailgun refuses the request otherwise).
"""
from __future__ import annotations

import json
import logging
import time
from email.utils import formataddr
from typing import Callable, Iterator, Mapping
from urllib.parse import parse_qsl, urlsplit

from ..mime import _PLACEHOLDER_RE
from ._http import (BasicAuth, HttpClient, Secret, base_url, batch_recipients, check_values,
                    unique_recipients, used_placeholders)
from .base import Batch, Lookup, Provider, RejectedError, Suppression, TransientError

DEFAULT_API_URL = "https://api.mailgun.net"      # EU region: https://api.eu.mailgun.net
MAX_RECIPIENTS = 1000
MAX_OPTIONS_BYTES = 16 * 1024                    # o:, h:, v:, t: fields together
SUPPRESSION_LISTS = (("unsubscribes", "unsubscribe"), ("bounces", "bounce"), ("complaints", "complaint"))
EVENTS_PAGE = 300                                # the most the events API returns per page
MAX_PAGES = 100_000                              # a guard against a paging loop
NO_TRACKING = (("o:tracking", "no"), ("o:tracking-clicks", "no"), ("o:tracking-opens", "no"))

log = logging.getLogger("mailer.providers.mailgun")


def to_mailgun(template: str) -> str:
    """``%%first_name%%`` -> ``%recipient.first_name%``."""
    return _PLACEHOLDER_RE.sub(lambda m: f"%recipient.{m.group(1)}%", template)


def _address(name: str, address: str) -> str:
    return formataddr((" ".join(name.split()), address)) if name else address


class MailgunProvider(Provider):
    name = "mailgun"
    batch_size = MAX_RECIPIENTS
    has_suppressions = True
    can_reconcile = True
    events_kept = 3 * 86400.0        # "at least 3 days" (the events API's description)

    def __init__(self, api_key: str, domain: str, *, api_url: str = "", timeout: float | tuple[float, float] = 30.0,
                 page_size: int = 1000, get_retries: int = 4, backoff: float = 0.5,
                 sleep: Callable[[float], None] = time.sleep):
        if not api_key:
            raise ValueError("mailgun: an API key is required (MAILER_API_KEY)")
        if not domain or "/" in domain:
            raise ValueError("mailgun: a sending domain is required (MAILER_DOMAIN)")
        self.domain = domain.strip()
        self.api_url = base_url(api_url, DEFAULT_API_URL)
        self.page_size = max(1, min(int(page_size), 1000))
        self._key = Secret(api_key)
        self._http = HttpClient(self.name, self.api_url, BasicAuth("api", self._key), self._key,
                                timeout=timeout, get_retries=get_retries, backoff=backoff, sleep=sleep, logger=log)

    @classmethod
    def from_settings(cls, settings, **options) -> "MailgunProvider":
        options.setdefault("timeout", settings.timeout)
        return cls(settings.api_key, settings.domain, api_url=settings.api_url, **options)

    def __repr__(self) -> str:
        return f"MailgunProvider(domain={self.domain!r}, api_url={self.api_url!r})"

    def close(self) -> None:
        self._http.close()

    # --- sending -------------------------------------------------------------------------

    def build_fields(self, batch: Batch) -> list[tuple[str, str]]:
        """The form fields of one request, in order (exposed for tests and benchmarks)."""
        variant, sender = batch.variant, batch.sender
        recipients = batch_recipients(batch, "mailgun", MAX_RECIPIENTS)
        headers = {k: v for k, v in variant.headers.items() if k.lower() != "message-id"}
        names = used_placeholders(variant.subject, variant.html, variant.text, *headers.values())
        if "message_id" not in names:
            names.append("message_id")
        check_values(recipients, names)

        fields: list[tuple[str, str]] = [("from", _address(sender.name, sender.address))]
        fields += [("to", _address(r.name, r.address)) for r in recipients]
        fields.append(("subject", to_mailgun(variant.subject)))
        if variant.text:
            fields.append(("text", to_mailgun(variant.text)))
        if variant.html:
            fields.append(("html", to_mailgun(variant.html)))
        if not variant.text and not variant.html:
            raise ValueError("mailgun: the variant has neither text nor html")

        # readers never consented to open or click tracking: say so in every request, whatever
        # the domain's settings (an open pixel and rewritten links would be personal data too)
        options: list[tuple[str, str]] = list(NO_TRACKING)
        if sender.reply_to:
            options.append(("h:Reply-To", sender.reply_to))
        options += [(f"h:{name}", to_mailgun(value)) for name, value in headers.items()]
        options.append(("h:Message-Id", "<%recipient.message_id%>"))
        options += [("v:edition", batch.edition), ("v:variant", variant.key)]
        if batch.tag:               # unique to the batch: its accepted events can be found by it
            options += [("o:tag", batch.tag), ("v:batch", str(batch.batch_id))]
        size = sum(len(k.encode()) + len(v.encode()) for k, v in options)
        if size > MAX_OPTIONS_BYTES:
            raise RejectedError(f"mailgun: the o:/h:/v: options come to {size} bytes; Mailgun allows "
                                f"{MAX_OPTIONS_BYTES} (shorten the variant's headers)")
        fields += options

        variables = {r.address: {n: str(r.vars[n]) for n in names} for r in recipients}
        fields.append(("recipient-variables", json.dumps(variables, ensure_ascii=False, separators=(",", ":"))))
        return fields

    def send(self, batch: Batch) -> Mapping[str, str]:
        fields = self.build_fields(batch)
        recipients = unique_recipients(batch.recipients)
        files = [(key, (None, value.encode("utf-8"))) for key, value in fields]
        response = self._http.request("POST", f"/v3/{self.domain}/messages", idempotent=False, files=files)
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        message_id = str(answer.get("id", "") if isinstance(answer, dict) else "").strip().strip("<>")
        log.info("mailgun: %d recipients accepted for edition %s (%s)", len(recipients), batch.edition,
                 message_id or "no id")
        return {r.address: message_id for r in recipients}

    # --- suppressions --------------------------------------------------------------------

    def suppressions(self) -> Iterator[Suppression]:
        """Unsubscribes, bounces and complaints, following ``paging.next`` until an empty page.

        Only the query of ``paging.next`` is used: the request always goes to the configured
        API host, so the key never travels to a host named in an answer.
        """
        seen: set[tuple[str, str]] = set()
        for path_name, reason in SUPPRESSION_LISTS:
            path = f"/v3/{self.domain}/{path_name}"
            params: list[tuple[str, str]] = [("limit", str(self.page_size))]
            for _ in range(MAX_PAGES):
                data = self._http.get_json(path, params=params)
                if not isinstance(data, dict):
                    break
                items = data.get("items") or []
                if not items:
                    break
                for item in items:
                    address = str(item.get("address", "")).strip().lower() if isinstance(item, dict) else ""
                    if address and (address, reason) not in seen:
                        seen.add((address, reason))
                        yield Suppression(address, reason)
                next_url = (data.get("paging") or {}).get("next")
                if not next_url:
                    break
                next_params = parse_qsl(urlsplit(next_url).query, keep_blank_values=True)
                if next_params == params:
                    break
                params = next_params

    # --- reconciliation ------------------------------------------------------------------

    def accepted(self, lookup: Lookup) -> Mapping[str, str]:
        """Readers of the batch Mailgun accepted, from ``GET /v3/{domain}/events`` with
        ``event=accepted`` and the batch's tag, following ``paging.next`` to an empty page.

        The caller waits the settle time first: Mailgun's events reach its log late, so a
        page of recent events may still be missing some. Only the path of ``paging.next`` is
        used, and only under this domain's events (the key never goes to another host)."""
        path = f"/v3/{self.domain}/events"
        params: list[tuple[str, str]] | None = [
            ("begin", f"{lookup.since:.0f}"), ("end", f"{time.time() + 60:.0f}"), ("ascending", "yes"),
            ("limit", str(EVENTS_PAGE)), ("event", "accepted"), ("tags", lookup.tag)]
        found: dict[str, str] = {}
        seen_pages: set[str] = set()
        for _ in range(MAX_PAGES):
            data = self._http.get_json(path, params=params)
            items = data.get("items") if isinstance(data, dict) else None
            if not items:
                return found
            for item in items:
                self._take_event(item, lookup, found)
            next_url = (data.get("paging") or {}).get("next") or ""
            parts = urlsplit(next_url)
            if not parts.path.startswith(f"/v3/{self.domain}/events") or next_url in seen_pages:
                raise TransientError(f"mailgun: the events' next page link {next_url[:200]!r} is not "
                                     "one this mailer follows; the batch stays unknown for now")
            seen_pages.add(next_url)
            path, params = parts.path, parse_qsl(parts.query, keep_blank_values=True) or None
        raise TransientError("mailgun: too many pages of events for one batch")

    @staticmethod
    def _take_event(item, lookup: Lookup, found: dict[str, str]) -> None:
        """Keep one accepted event of this batch: its recipient and Mailgun's message id."""
        if not isinstance(item, dict) or item.get("event") != "accepted":
            return
        tags = [str(t).lower() for t in item.get("tags") or []]
        variables = item.get("user-variables") or {}
        if lookup.tag.lower() not in tags or str(variables.get("batch", lookup.batch_id)) != str(lookup.batch_id):
            return
        recipient = str(item.get("recipient") or "").strip().lower()
        headers = (item.get("message") or {}).get("headers") or {}
        message_id = str(headers.get("message-id") or item.get("id") or "").strip().strip("<>")
        if recipient:
            found.setdefault(recipient, message_id)
