"""Transports behind one interface (see base.py). ``make_provider`` picks one by name."""
from __future__ import annotations

from importlib import import_module

from .base import Provider

_REGISTRY = {
    "outbox": "mailer.providers.outbox:OutboxProvider",
    "smtp": "mailer.providers.smtp:SmtpProvider",
    "mailgun": "mailer.providers.mailgun:MailgunProvider",
    "sendgrid": "mailer.providers.sendgrid:SendgridProvider",
}


def make_provider(settings, **options) -> Provider:
    """Build the provider named by ``settings.provider``; each class has ``from_settings``."""
    module_name, class_name = _REGISTRY[settings.provider].split(":")
    cls = getattr(import_module(module_name), class_name)
    return cls.from_settings(settings, **options)
