"""Addresses as keyed hashes: what the database keeps instead of an address it must not keep.

Every address hash in the database (subscribers, suppressions, the ledger, the consent
history) is ``k1:`` + HMAC-SHA256(hash key, SHA-256(normalised address)). Without the key a
copy of the database cannot be searched for a known address (an unsalted SHA-256 of an
address is reversed by hashing a list of likely addresses). The inner SHA-256 is the address
*digest*: what unsubscribe links carry (tokens.py) and what callers pass to the store, so
links already sent keep working, and rows written before keying (plain digests) are migrated
without knowing the addresses: the key is applied to the digest they hold.

The key
    ``MAILER_HASH_KEY`` when set, else ``MAILER_SECRET``; either way the key is derived,
    ``HMAC-SHA256(that secret, "tsa-mailer address hash key v1")``, never the secret itself.
    The database records a fingerprint of the key (not the key), so a different key is
    noticed instead of silently making every suppression unrecognisable.
Rotation
    Re-keying needs each address's digest, which is deliberately not kept for erased
    addresses: the hash key cannot be rotated without forgetting who was erased or
    unsubscribed. So rotating ``MAILER_SECRET`` (for links) keeps the hash key: put the old
    secret in ``MAILER_HASH_KEY`` (or keep it in ``MAILER_SECRET_OLD``, which is also
    searched for the key matching the fingerprint). If the key itself leaks, it protects no
    more than plain SHA-256 did; keep it as you keep the database's backups.
"""
from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from typing import Mapping

PREFIX = "k1:"
HASH_KEY_VARIABLE = "MAILER_HASH_KEY"
_LABEL = b"tsa-mailer address hash key v1"


def address_digest(address: str) -> str:
    """SHA-256 of the normalised (trimmed, lower-cased) address, hex."""
    return hashlib.sha256(address.strip().lower().encode("utf-8")).hexdigest()


def derive_key(secret: bytes) -> bytes:
    return hmac.new(secret, _LABEL, hashlib.sha256).digest()


def fingerprint(key: bytes) -> str:
    """Stored in the database to recognise the key; says nothing about it."""
    return hmac.new(key, b"fingerprint", hashlib.sha256).hexdigest()[:16]


class Keyer:
    """Turns digests into stored hashes with one key; cheap enough for 100,000 rows."""

    def __init__(self, key: bytes):
        self._mac = hmac.new(key, digestmod=hashlib.sha256)
        self.fingerprint = fingerprint(key)

    def __call__(self, digest_or_hash: str) -> str:
        """A stored hash, from a digest (hex) or a stored hash (returned as it is)."""
        if digest_or_hash.startswith(PREFIX):
            return digest_or_hash
        mac = self._mac.copy()
        mac.update(bytes.fromhex(digest_or_hash))
        return PREFIX + mac.hexdigest()

    def address(self, address: str) -> str:
        mac = self._mac.copy()           # (inlined: the importer calls this once per row)
        mac.update(hashlib.sha256(address.strip().lower().encode("utf-8")).digest())
        return PREFIX + mac.hexdigest()


@dataclass(frozen=True)
class Candidate:
    variable: str           # where it came from, for messages (never the value)
    key: bytes


def candidates(env: Mapping[str, str] | None = None) -> list[Candidate]:
    """Keys the environment offers, in order of preference: MAILER_HASH_KEY, MAILER_SECRET,
    then each MAILER_SECRET_OLD entry. Raises tokens.SecretError for a weak one."""
    from .tokens import OLD_SECRETS_VARIABLE, SECRET_VARIABLE, check_secret

    env = os.environ if env is None else env
    out = []
    for variable in (HASH_KEY_VARIABLE, SECRET_VARIABLE):
        value = env.get(variable, "")
        if value:
            out.append(Candidate(variable, derive_key(check_secret(value, variable))))
    for i, part in enumerate(env.get(OLD_SECRETS_VARIABLE, "").split(","), start=1):
        if part.strip():
            label = f"{OLD_SECRETS_VARIABLE} (entry {i})"
            out.append(Candidate(label, derive_key(check_secret(part.strip(), label))))
    return out


__all__ = ["PREFIX", "Keyer", "address_digest", "candidates", "derive_key", "fingerprint", "HASH_KEY_VARIABLE"]
