"""Signed tokens for unsubscribe links: HMAC-SHA256, so they cannot be forged or guessed.

A token names a reader by the SHA-256 hash of their address (not the database id, which a
rebuilt database would give to someone else) and a purpose, signed with ``MAILER_SECRET``::

    token = base64url(address hash, 32 bytes) "." base64url(HMAC-SHA256(secret, purpose|hash)[:16])

The subscription service checks it with :func:`verify_token`, which returns the address hash.
Changing the secret invalidates every link already sent, so set it once and keep it.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from typing import Mapping

UNSUBSCRIBE = "unsubscribe"
PREFERENCES = "preferences"      # the preference centre's link in every email
SECRET_VARIABLE = "MAILER_SECRET"
MIN_SECRET_LENGTH = 16


class SecretError(Exception):
    """MAILER_SECRET is missing or too short: one line, never the secret itself."""


def secret_from_env(env: Mapping[str, str] | None = None) -> bytes:
    env = os.environ if env is None else env
    value = env.get(SECRET_VARIABLE, "")
    if not value:
        raise SecretError(f"{SECRET_VARIABLE} is not set: unsubscribe links are signed with it; "
                          f"set it to a long random string and keep it (e.g. "
                          f"python -c \"import secrets; print(secrets.token_urlsafe(32))\")")
    if len(value) < MIN_SECRET_LENGTH:
        raise SecretError(f"{SECRET_VARIABLE} is too short: use at least {MIN_SECRET_LENGTH} characters")
    return value.encode("utf-8")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, purpose: str, key: bytes) -> bytes:
    return hmac.new(secret, purpose.encode("ascii") + b"|" + key, hashlib.sha256).digest()[:16]


def make_token(secret: bytes, address_hash_hex: str, purpose: str = UNSUBSCRIBE) -> str:
    key = bytes.fromhex(address_hash_hex)
    return f"{_b64(key)}.{_b64(_mac(secret, purpose, key))}"


def verify_token(secret: bytes, token: str, purpose: str = UNSUBSCRIBE) -> str | None:
    """The address hash (hex) a genuine token names, or None for anything else."""
    if not isinstance(token, str) or token.count(".") != 1 or len(token) > 200:
        return None
    key_text, mac_text = token.strip().split(".")
    try:
        key, mac = _unb64(key_text), _unb64(mac_text)
    except (binascii.Error, ValueError):
        return None
    if len(key) != 32 or not hmac.compare_digest(mac, _mac(secret, purpose, key)):
        return None
    return key.hex()


class Tokens:
    """Per-reader unsubscribe URL and mailto, cheap enough to run 100,000 times."""

    def __init__(self, secret: bytes, base_url: str, mailto_address: str, *, preferences_url: str = ""):
        self.secret = secret
        self.base_url = base_url
        self.separator = "&" if "?" in base_url else "?"
        self.mailto_address = mailto_address
        self._mac_prefix = hmac.new(secret, UNSUBSCRIBE.encode("ascii") + b"|", hashlib.sha256)
        self._preferences_base = preferences_url or base_url.rsplit("/", 1)[0] + "/preferences"
        self._preferences_mac = hmac.new(secret, PREFERENCES.encode("ascii") + b"|", hashlib.sha256)

    def preferences_url(self, address_hash_hex: str) -> str:
        """The reader's preference centre: a token of its own purpose, so a leaked
        List-Unsubscribe header cannot be used to read or change their details."""
        key = bytes.fromhex(address_hash_hex)
        mac = self._preferences_mac.copy()
        mac.update(key)
        return f"{self._preferences_base}?t={_b64(key)}.{_b64(mac.digest()[:16])}"

    def token(self, address_hash_hex: str) -> str:
        key = bytes.fromhex(address_hash_hex)
        mac = self._mac_prefix.copy()
        mac.update(key)
        return f"{_b64(key)}.{_b64(mac.digest()[:16])}"

    def url(self, token: str) -> str:
        return f"{self.base_url}{self.separator}t={token}"

    def mailto(self, token: str) -> str:
        return f"mailto:{self.mailto_address}?subject=unsubscribe%20{token}"   # a token is URL-safe


def default_unsubscribe_url(site_url: str) -> str:
    return site_url.rstrip("/") + "/unsubscribe"
