"""Mailer settings from the environment. Secrets come only from here and are never shown."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

PROVIDERS = ("outbox", "smtp", "mailgun", "sendgrid")


class SettingsError(Exception):
    """A missing or malformed setting: one line naming the variable."""


@dataclass(frozen=True)
class Settings:
    provider: str = "outbox"
    api_key: str = field(default="", repr=False)    # never printed: repr=False, no __str__ of it
    domain: str = ""                                # Mailgun sending domain
    api_url: str = ""                               # scheme and host, before /v3; "" = provider default
    smtp_url: str = field(default="", repr=False)   # smtp[s]://user:password@host:port: holds a password
    from_addr: str = ""
    rate: float = 0.0                               # messages per second; 0 = unlimited
    outbox_dir: Path = Path("outbox")
    timeout: float = 30.0                           # seconds per HTTP request

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, default_from: str = "",
                 outbox_dir: Path = Path("outbox"), provider: str | None = None) -> "Settings":
        env = os.environ if env is None else env
        name = (provider or env.get("MAILER_PROVIDER") or "outbox").strip().lower()
        if name not in PROVIDERS:
            raise SettingsError(f"MAILER_PROVIDER: unknown provider {name!r}; use one of {', '.join(PROVIDERS)}")
        rate_text = env.get("MAILER_RATE", "").strip()
        try:
            rate = float(rate_text) if rate_text else 0.0
            if rate < 0:
                raise ValueError
        except ValueError:
            raise SettingsError(f"MAILER_RATE: {rate_text!r} is not a number of messages per second") from None
        settings = cls(
            provider=name,
            api_key=env.get("MAILER_API_KEY", "").strip(),
            domain=env.get("MAILER_DOMAIN", "").strip(),
            api_url=env.get("MAILER_API_URL", "").strip().rstrip("/"),
            smtp_url=env.get("MAILER_SMTP_URL", "").strip(),
            from_addr=env.get("MAILER_FROM", "").strip() or default_from,
            rate=rate,
            outbox_dir=outbox_dir,
        )
        settings.require()
        return settings

    def require(self) -> None:
        """Fail before anything is sent if the chosen provider lacks a setting."""
        needs = {
            "outbox": [],
            "smtp": [("MAILER_SMTP_URL", self.smtp_url), ("MAILER_FROM", self.from_addr)],
            "mailgun": [("MAILER_API_KEY", self.api_key), ("MAILER_DOMAIN", self.domain),
                        ("MAILER_FROM", self.from_addr)],
            "sendgrid": [("MAILER_API_KEY", self.api_key), ("MAILER_FROM", self.from_addr)],
        }[self.provider]
        for variable, value in needs:
            if not value:
                raise SettingsError(f"{variable} is not set: the {self.provider} provider needs it")
