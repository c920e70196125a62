"""Signed tokens for unsubscribe links: HMAC-SHA256, so they cannot be forged or guessed.

A token names a reader by the SHA-256 digest of their address (not the database id, which a
rebuilt database would give to someone else) and a purpose, signed with ``MAILER_SECRET``::

    token = base64url(address digest, 32 bytes) "." base64url(HMAC-SHA256(secret, purpose|digest)[:16])

The subscription service checks it with :func:`verify_token`, which returns the digest.

Rotation: new links are always signed with ``MAILER_SECRET``; links already sent, signed with
an earlier secret, keep working while that secret is listed in ``MAILER_SECRET_OLD``
(comma-separated). A secret must be hard to guess: :func:`check_secret` refuses short or
low-variety ones (one letter repeated, spaces, "abcabcabc...") with a plain message.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import os
from collections import Counter
from typing import Iterable, Mapping

UNSUBSCRIBE = "unsubscribe"
PREFERENCES = "preferences"      # the preference centre's link in every email
SECRET_VARIABLE = "MAILER_SECRET"
OLD_SECRETS_VARIABLE = "MAILER_SECRET_OLD"
MIN_SECRET_LENGTH = 16
MIN_DISTINCT = 10            # different characters
MIN_BITS = 80.0              # length x Shannon entropy per character: token_urlsafe(32) gives about 200
MAKE_ONE = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'


class SecretError(Exception):
    """MAILER_SECRET is missing, too short or too predictable: one line, never the secret itself."""


def check_secret(value: str, variable: str = SECRET_VARIABLE) -> bytes:
    """The secret as bytes, or SecretError saying plainly why it will not do and how to make one."""
    if len(value) < MIN_SECRET_LENGTH:
        raise SecretError(f"{variable} is too short ({len(value)} characters): use at least "
                          f"{MIN_SECRET_LENGTH} random characters; make one with: {MAKE_ONE}")
    counts = Counter(value)
    bits = -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values()) * len(value)
    if not value.strip() or len(counts) < MIN_DISTINCT or bits < MIN_BITS:
        raise SecretError(f"{variable} is too easy to guess (it has {len(counts)} different characters): it "
                          f"must be random, not a word, a pattern or one character repeated; make one with: "
                          f"{MAKE_ONE}")
    return value.encode("utf-8")


def secret_from_env(env: Mapping[str, str] | None = None) -> bytes:
    env = os.environ if env is None else env
    value = env.get(SECRET_VARIABLE, "")
    if not value:
        raise SecretError(f"{SECRET_VARIABLE} is not set: unsubscribe links are signed with it; "
                          f"set it to a long random string and keep it (e.g. {MAKE_ONE})")
    return check_secret(value)


def old_secrets_from_env(env: Mapping[str, str] | None = None) -> list[bytes]:
    """Earlier secrets from MAILER_SECRET_OLD (comma-separated): accepted for verifying links
    already sent, never used to sign. Each must be a proper secret too."""
    env = os.environ if env is None else env
    return [check_secret(part.strip(), f"{OLD_SECRETS_VARIABLE} (entry {i})")
            for i, part in enumerate(env.get(OLD_SECRETS_VARIABLE, "").split(","), start=1) if part.strip()]


def secrets_from_env(env: Mapping[str, str] | None = None) -> list[bytes]:
    """[MAILER_SECRET, *MAILER_SECRET_OLD]: the first signs, all verify."""
    return [secret_from_env(env), *old_secrets_from_env(env)]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, purpose: str, key: bytes) -> bytes:
    return hmac.new(secret, purpose.encode("ascii") + b"|" + key, hashlib.sha256).digest()[:16]


def make_token(secret: bytes, address_hash_hex: str, purpose: str = UNSUBSCRIBE) -> str:
    key = bytes.fromhex(address_hash_hex)
    return f"{_b64(key)}.{_b64(_mac(secret, purpose, key))}"


def verify_token(secret: bytes | Iterable[bytes], token: str, purpose: str = UNSUBSCRIBE) -> str | None:
    """The address digest (hex) a genuine token names, or None for anything else. ``secret``
    may be a list: the current secret and earlier ones (MAILER_SECRET_OLD)."""
    if not isinstance(token, str) or token.count(".") != 1 or len(token) > 200:
        return None
    key_text, mac_text = token.strip().split(".")
    try:
        key, mac = _unb64(key_text), _unb64(mac_text)
    except (binascii.Error, ValueError):
        return None
    if len(key) != 32:
        return None
    candidates = [secret] if isinstance(secret, (bytes, bytearray)) else list(secret)
    # every candidate is compared (no early exit), so timing says nothing about which one matched
    matched = [hmac.compare_digest(mac, _mac(bytes(c), purpose, key)) for c in candidates]
    return key.hex() if any(matched) else None


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


class UrlError(ValueError):
    """MAILER_UNSUBSCRIBE_URL (or the site's URL it defaults to) will not do: one line."""


def check_unsubscribe_url(url: str, variable: str = "MAILER_UNSUBSCRIBE_URL") -> str:
    """The base of every unsubscribe link: https with a host (plain http only to this machine,
    for tests), no credentials, no fragment. The link carries a personal token, and mail
    clients refuse one-click unsubscribe (RFC 8058) that is not https."""
    from urllib.parse import urlsplit

    from .providers._http import is_loopback

    text = url.strip()
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
    except ValueError:
        parts, host = None, ""
    if parts is None or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in text):
        raise UrlError(f"{variable}: {text!r} is not a web address")
    if parts.scheme == "http" and is_loopback(host):
        pass
    elif parts.scheme != "https":
        raise UrlError(f"{variable}: {text!r} is not an https:// address; unsubscribe links must use "
                       "https (plain http only for a test server on this machine), e.g. "
                       "https://www.your-alliance.example/unsubscribe")
    if not host or parts.username is not None or parts.password is not None or parts.fragment:
        raise UrlError(f"{variable}: {text!r} needs a host, and no user name, password or #fragment, e.g. "
                       "https://www.your-alliance.example/unsubscribe")
    return text
