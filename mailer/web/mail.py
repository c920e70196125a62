"""The one email a sign-up gets, through the configured provider (outbox, SMTP, Mailgun or
SendGrid: mailer/providers/), after the page has been answered: sending takes as long for a
new address as for a known one, and a slow provider never holds up the reader.

``confirm``: the signed, expiring link that makes the address sendable. ``known``: the
address is already subscribed: a link to its preferences instead (so the form tells nobody
who is on the list, and the owner of the mailbox learns someone tried).
"""
from __future__ import annotations

import hashlib
import html
import logging
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from ..providers import make_provider
from ..providers.base import Batch, Recipient, Sender, Variant
from .config import ServiceConfig
from .guard import mask

log = logging.getLogger("mailer.web")
TEMPLATES = Path(__file__).resolve().parent.parent.parent / "site_templates" / "email"
EDITION = "sign-ups"          # the outbox folder, and the provider's tag, of these emails


@lru_cache(maxsize=1)
def _env() -> Environment:
    return Environment(loader=FileSystemLoader(str(TEMPLATES)), undefined=StrictUndefined,
                       autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)


_VARIANTS: dict[tuple, Variant] = {}


def variant(config: ServiceConfig, kind: str, hours: int) -> Variant:
    """Rendered once per kind: the reader's values are placeholders."""
    key = (id(config), kind, hours)
    if key not in _VARIANTS:
        _VARIANTS[key] = _render(config, kind, hours)
    return _VARIANTS[key]


def _render(config: ServiceConfig, kind: str, hours: int) -> Variant:
    context = {"kind": kind, "name": config.name, "contact_email": config.contact_email,
               "hours": hours}
    subject = (f"Please confirm: the {config.name} newsletter" if kind == "confirm"
               else f"You are already subscribed to the {config.name} newsletter")
    context["subject"] = subject
    return Variant(key=f"signup-{kind}", subject=subject,
                   html=_env().get_template("signup.html").render(context),
                   text=_env().get_template("signup.txt").render(context))


def send_signup_mail(config: ServiceConfig, kind: str, email: str, first_name: str, link: str,
                     hours: int) -> bool:
    """Send one email; failures are logged (masked address), never raised: the reader has
    had their answer already and can ask again."""
    host = config.service_url.split("/")[2] if "//" in config.service_url else "localhost"
    digest = hashlib.sha256(f"{email}|{link}".encode()).hexdigest()[:24]
    first = first_name or "there"
    recipient = Recipient(address=email, name="", vars={
        "first_name": first, "first_name_html": html.escape(first, quote=True),
        "link_url": link, "message_id": f"signup.{digest}@{host}"})
    sender = Sender(address=config.settings.from_addr or config.contact_email, name=config.name,
                    reply_to=config.contact_email if config.settings.from_addr else None)
    try:
        with make_provider(config.settings) as provider:
            provider.send(Batch(EDITION, variant(config, kind, hours), (recipient,), sender))
    except Exception as err:      # noqa: BLE001 - reported, not raised (see docstring)
        log.error("", extra={"fields": {"event": "signup-mail-failed", "kind": kind,
                                        "to": mask(email), "error": type(err).__name__}})
        return False
    log.info("", extra={"fields": {"event": "signup-mail", "kind": kind, "to": mask(email)}})
    return True
