"""The subscription service's settings: from the records (names, vocabulary, URLs, consent
wording) and the environment (secrets, webhook keys, limits). Read once per worker.

Environment (secrets only from here, never printed):
    MAILER_DB, MAILER_ROOT          the database (must exist) and the alliance's folder
    MAILER_SECRET [MAILER_SECRET_OLD]   signs every link (old ones still verify)
    MAILER_MAILGUN_WEBHOOK_KEY      Mailgun's "HTTP webhook signing key"
    MAILER_SENDGRID_WEBHOOK_KEY     SendGrid's signed event webhook public key (base64 DER)
    MAILER_JOIN_LIMIT               sign-ups per client, e.g. "10/3600" (10 an hour; default)
    MAILER_TRUSTED_PROXIES          addresses whose X-Forwarded-For is believed (default 127.0.0.1)
    MAILER_BODY_TIMEOUT, MAILER_HEADER_TIMEOUT   seconds a client has to send its body / headers (10)
    MAILER_PROVIDER and its settings   how confirmation emails go out (mailer/settings.py)
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping
from urllib.parse import urlparse

import records as records_pkg
from records.schema import STRANDS

from ..settings import Settings, SettingsError
from ..store import Store, StoreError
from ..tokens import SecretError, secrets_from_env


class ConfigError(Exception):
    """The service cannot start: one line saying why and what to do."""


def origin(url: str) -> str:
    parts = urlparse(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _limit(text: str, default: tuple[int, float]) -> tuple[int, float]:
    if not text.strip():
        return default
    try:
        count, seconds = text.split("/")
        return int(count), float(seconds)
    except ValueError:
        raise ConfigError(f"MAILER_JOIN_LIMIT: {text!r} should be COUNT/SECONDS, e.g. 10/3600") from None


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name, "").strip()
    try:
        value = float(text) if text else default
    except ValueError:
        value = -1
    if value <= 0:
        raise ConfigError(f"{name}: {text!r} should be a number of seconds, e.g. {default:g}")
    return value


@dataclass
class ServiceConfig:
    db: Path
    root: Path
    secrets: list[bytes] = field(repr=False)            # signing key first, then old ones
    name: str = "the newsletter"
    site_url: str = ""
    service_url: str = "/"
    contact_email: str = ""
    roles: list[str] = field(default_factory=list)
    phases: list[str] = field(default_factory=list)
    strands: dict[str, str] = field(default_factory=lambda: dict(STRANDS))
    consent_wording: str = ""
    consent_version: str = ""
    mailgun_key: str = field(default="", repr=False)
    sendgrid_key: str = field(default="", repr=False)
    join_limit: tuple[int, float] = (10, 3600.0)
    body_limit: int = 16 * 1024                 # forms; webhooks get webhook_body_limit
    webhook_body_limit: int = 2 * 1024 * 1024   # SendGrid posts events in batches
    body_timeout: float = 10.0                  # seconds to receive a whole body
    request_timeout: float = 20.0               # seconds for a whole request
    db_retry: float = 3.0                       # seconds a locked database is retried
    webhook_window: int = 900                   # seconds a webhook's timestamp may be off
    settings: Settings | None = field(default=None, repr=False)

    @property
    def allowed_origins(self) -> set[str]:
        return {origin(u) for u in (self.site_url, self.service_url) if u.startswith("http")}

    def url(self, path: str) -> str:
        return self.service_url + path.lstrip("/")


def from_env(env: Mapping[str, str] | None = None) -> ServiceConfig:
    """Everything the service needs; ConfigError if the database is missing or a secret is bad."""
    env = os.environ if env is None else env
    db = Path(env.get("MAILER_DB", "data/mailer.sqlite3"))
    root = Path(env.get("MAILER_ROOT", "."))
    if not db.is_file():
        raise ConfigError(f"no database at {db}: the service never creates one (a wrong path would "
                          "answer every reader from an empty list); give --db the subscribers' database")
    try:
        secrets = secrets_from_env(env)          # [MAILER_SECRET, *MAILER_SECRET_OLD]
    except SecretError as err:
        raise ConfigError(str(err)) from None
    try:
        store = Store(db, create=False, env=env)  # migrates it forward once, before any worker starts
    except StoreError as err:
        raise ConfigError(str(err)) from None
    try:
        if store.key_problem:                     # the address hash key must match the database's
            raise ConfigError(store.key_problem)
    finally:
        store.close()
    recs, problems = records_pkg.load(root)
    if recs.alliance is None:
        raise ConfigError(f"no content/alliance.yml under {root}: give --root the alliance's folder")
    a = recs.alliance
    wording, version = a.consent
    try:
        settings = Settings.from_env(env, default_from=a.contact.email,
                                     outbox_dir=root / "outbox")
    except SettingsError as err:
        raise ConfigError(str(err)) from None
    return ServiceConfig(
        db=db, root=root, secrets=secrets, name=a.display_name, site_url=a.site_url,
        service_url=a.service_url, contact_email=a.contact.email,
        roles=list(recs.vocabulary.roles), phases=list(recs.vocabulary.phases),
        consent_wording=wording, consent_version=version,
        mailgun_key=env.get("MAILER_MAILGUN_WEBHOOK_KEY", "").strip(),
        sendgrid_key=env.get("MAILER_SENDGRID_WEBHOOK_KEY", "").strip(),
        join_limit=_limit(env.get("MAILER_JOIN_LIMIT", ""), (10, 3600.0)),
        body_timeout=_seconds(env, "MAILER_BODY_TIMEOUT", 10.0),
        settings=settings)
