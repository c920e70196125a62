"""SendGrid: one ``POST /v3/mail/send`` per batch of up to 1,000 personalizations.

One personalization per reader: its ``to`` holds that reader alone (so nobody sees another
address), ``substitutions`` carry the reader's values for the placeholders in the subject
and content (SendGrid substitutes there, and not in headers), and ``headers`` carry the
reader's own List-Unsubscribe (and any other variant header), already filled in here.
``custom_args`` (per personalization: the spec's top-level ``custom_args`` is a string) tag
the events with the edition, the variant and the reader's ``message_id``, and with the send
loop's batch id and tag (``batch``, ``batch_tag``), which :meth:`SendgridProvider.accepted`
looks up in the Email Activity API after a lost answer (where the account has that add-on;
SendGrid allows it 6 requests a minute, and answers 429 beyond: retried after Retry-After).

Message-ID: SendGrid uses the Message-ID / smtp-id for its own tracking and does not
substitute in headers, so no Message-ID is set; the reader's id travels in
``custom_args.message_id`` instead. SendGrid answers 202 with one ``X-Message-Id`` for the
request; :meth:`SendgridProvider.send` returns it for every reader.
"""
from __future__ import annotations

import json
import logging
import time
from typing import Callable, Iterator, Mapping

from ..mime import substitute
from ._http import (BearerAuth, HttpClient, Secret, base_url, batch_recipients, check_values,
                    unique_recipients, used_placeholders)
from .base import AuthError, Batch, CannotReconcile, Lookup, Provider, RejectedError, Suppression

DEFAULT_API_URL = "https://api.sendgrid.com"     # EU subusers: https://api.eu.sendgrid.com
MAX_PERSONALIZATIONS = 1000
MAX_SUBSTITUTION_BYTES = 10_000                  # per personalization
PAGE_SIZE = 500                                  # the most SendGrid's suppression lists return
SUPPRESSION_LISTS = (("unsubscribes", "unsubscribe"), ("bounces", "bounce"), ("spam_reports", "complaint"))
MAX_PAGES = 100_000
ACTIVITY_LIMIT = 1000                            # the most /v3/messages returns: a batch's worth


def no_tracking() -> dict:
    """Click, open, subscription (SendGrid's own unsubscribe footer: ours is in the message) and
    Google Analytics tracking, each explicitly off."""
    return {"click_tracking": {"enable": False, "enable_text": False}, "open_tracking": {"enable": False},
            "subscription_tracking": {"enable": False}, "ganalytics": {"enable": False}}
# Headers SendGrid will not take in "headers" (it sets them itself), plus Message-ID (see above).
_NOT_HEADERS = {"x-sg-id", "x-sg-eid", "received", "dkim-signature", "content-type", "content-transfer-encoding",
                "to", "from", "subject", "reply-to", "cc", "bcc", "message-id"}

log = logging.getLogger("mailer.providers.sendgrid")


def _mailbox(address: str, name: str = "") -> dict:
    box = {"email": address}
    if name and name.strip():
        box["name"] = " ".join(name.split())
    return box


class SendgridProvider(Provider):
    name = "sendgrid"
    batch_size = MAX_PERSONALIZATIONS
    has_suppressions = True
    can_reconcile = True         # if the account has Email Activity (a paid add-on): accepted() finds out
    events_kept = 3 * 86400.0    # kept longer with the add-on; 3 days is what we rely on

    def __init__(self, api_key: str, *, api_url: str = "", timeout: float | tuple[float, float] = 30.0,
                 page_size: int = PAGE_SIZE, get_retries: int = 4, backoff: float = 0.5,
                 sleep: Callable[[float], None] = time.sleep):
        if not api_key:
            raise ValueError("sendgrid: an API key is required (MAILER_API_KEY)")
        self.api_url = base_url(api_url, DEFAULT_API_URL)
        self.page_size = max(1, min(int(page_size), PAGE_SIZE))
        self._key = Secret(api_key)
        self._http = HttpClient(self.name, self.api_url, BearerAuth(self._key), self._key,
                                timeout=timeout, get_retries=get_retries, backoff=backoff, sleep=sleep, logger=log)

    @classmethod
    def from_settings(cls, settings, **options) -> "SendgridProvider":
        options.setdefault("timeout", settings.timeout)
        return cls(settings.api_key, api_url=settings.api_url, **options)

    def __repr__(self) -> str:
        return f"SendgridProvider(api_url={self.api_url!r})"

    def close(self) -> None:
        self._http.close()

    # --- sending -------------------------------------------------------------------------

    def build_payload(self, batch: Batch) -> dict:
        """The JSON body of one request (exposed for tests and benchmarks)."""
        variant, sender = batch.variant, batch.sender
        recipients = batch_recipients(batch, "sendgrid", MAX_PERSONALIZATIONS)
        headers = {k: v for k, v in variant.headers.items() if k.lower() not in _NOT_HEADERS}
        body_names = used_placeholders(variant.subject, variant.text, variant.html)
        header_names = used_placeholders(*headers.values())
        check_values(recipients, [*body_names, *header_names, "message_id"])

        personalizations = []
        for recipient in recipients:
            values = recipient.vars
            personalization: dict = {"to": [_mailbox(recipient.address, recipient.name)]}
            if body_names:
                substitutions = {f"%%{n}%%": str(values[n]) for n in body_names}
                size = sum(len(k.encode()) + len(v.encode()) for k, v in substitutions.items())
                if size > MAX_SUBSTITUTION_BYTES:
                    raise RejectedError(f"sendgrid: substitutions for one reader come to {size} bytes; "
                                        f"SendGrid allows {MAX_SUBSTITUTION_BYTES}")
                personalization["substitutions"] = substitutions
            if headers:
                personalization["headers"] = {k: substitute(v, values) for k, v in headers.items()}
            personalization["custom_args"] = {"edition": batch.edition, "variant": variant.key,
                                              "message_id": str(values["message_id"])}
            if batch.tag:            # the batch's own tag: its Email Activity can be found by it
                personalization["custom_args"].update(batch=str(batch.batch_id), batch_tag=batch.tag)
            personalizations.append(personalization)

        content = []
        if variant.text:                     # text/plain must come first
            content.append({"type": "text/plain", "value": variant.text})
        if variant.html:
            content.append({"type": "text/html", "value": variant.html})
        if not content:
            raise ValueError("sendgrid: the variant has neither text nor html")
        payload: dict = {
            "personalizations": personalizations,
            "from": _mailbox(sender.address, sender.name),
            "subject": variant.subject,
            "content": content,
            # readers never consented to tracking: off in every request, whatever the account says
            "tracking_settings": no_tracking(),
        }
        if sender.reply_to:
            payload["reply_to"] = _mailbox(sender.reply_to)
        return payload

    def send(self, batch: Batch) -> Mapping[str, str]:
        payload = self.build_payload(batch)
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        response = self._http.request("POST", "/v3/mail/send", idempotent=False, data=body,
                                      headers={"Content-Type": "application/json"})
        message_id = response.headers.get("X-Message-Id", "").strip()
        recipients = unique_recipients(batch.recipients)
        log.info("sendgrid: %d recipients accepted for edition %s (%s)", len(recipients), batch.edition,
                 message_id or "no id")
        return {r.address: message_id for r in recipients}

    # --- suppressions --------------------------------------------------------------------

    def suppressions(self) -> Iterator[Suppression]:
        """Global unsubscribes, bounces and spam reports, ``limit``/``offset`` until a short page."""
        seen: set[tuple[str, str]] = set()
        for list_name, reason in SUPPRESSION_LISTS:
            path = f"/v3/suppression/{list_name}"
            offset = 0
            for _ in range(MAX_PAGES):
                items = self._http.get_json(path, params={"limit": self.page_size, "offset": offset},
                                            headers={"Accept": "application/json"})
                if not isinstance(items, list):
                    break
                for item in items:
                    address = str(item.get("email", "")).strip().lower() if isinstance(item, dict) else ""
                    if address and (address, reason) not in seen:
                        seen.add((address, reason))
                        yield Suppression(address, reason)
                if len(items) < self.page_size:
                    break
                offset += len(items)

    # --- reconciliation ------------------------------------------------------------------

    def accepted(self, lookup: Lookup) -> Mapping[str, str]:
        """Readers of the batch SendGrid processed, from the Email Activity API
        (``GET /v3/messages``, filtered on the batch's ``batch_tag`` custom argument). A batch
        holds at most 1,000 readers, the most one answer lists, so one request suffices.
        Without the Email Activity add-on (or a key allowed to read it) SendGrid refuses:
        then the batch cannot be reconciled and stays unknown."""
        query = f"unique_args['batch_tag']=\"{lookup.tag}\""
        try:
            data = self._http.get_json("/v3/messages", params={"limit": ACTIVITY_LIMIT, "query": query},
                                       headers={"Accept": "application/json"})
        except AuthError as err:
            raise CannotReconcile(f"SendGrid's Email Activity API is not available to this key ({err}); "
                                  "it needs the paid Email Activity add-on and a key allowed to read it") from None
        messages = data.get("messages") if isinstance(data, dict) else None
        found: dict[str, str] = {}
        for message in messages or []:
            if not isinstance(message, dict):
                continue
            address = str(message.get("to_email") or "").strip().lower()
            if address:
                found.setdefault(address, str(message.get("msg_id") or "").strip())
        return found
