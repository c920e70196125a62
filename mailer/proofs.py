"""``send EDITION --test-to ADDRESS``: a proof of each variant to one address.

Each proof goes through the configured provider exactly as a reader's message would (same
variant, same headers, placeholders filled for the test address), with the subject prefixed
``[Proof: <variant>]`` and a Message-ID of its own (a proof must never share the Message-ID
a real reader's copy will carry, or a receiving system could drop the real one as a
duplicate). Nothing is written to the ledger: proofs are not the edition's send, and the
test address still gets the edition normally if it is a subscriber. The batch is tagged
``EDITION-proof`` (Mailgun's ``v:edition``, SendGrid's ``custom_args``), so the provider's
events tell proofs apart, and the outbox writes them to ``outbox/EDITION-proof/``.

The variants proved are those the current subscribers would get; with none, the all-phases
variant of every audience the edition goes to.
"""
from __future__ import annotations

import dataclasses
import secrets
import time
from dataclasses import dataclass
from typing import Callable

from records.newsletter import VariantKey

from .compose import Composer
from .providers.base import Batch, Provider, ProviderError, Recipient, TransientError
from .store import Reader, Store, address_hash, normalise

PREFIX = "[Proof: {slug}] "
TAG = "{edition}-proof"
ATTEMPTS = 3
MAX_WAIT = 30.0


@dataclass(frozen=True)
class Proof:
    variant: str
    subject: str
    message_id: str          # the provider's id


def proof_keys(store: Store | None, composer: Composer) -> list[VariantKey]:
    """The variants current subscribers would get (in a stable order), else the defaults."""
    keys: dict[VariantKey, None] = {}
    if store is not None:
        planner = composer.planner
        for row in store.sendable():
            key = planner.variant(row["roles"], row["phases"])
            if key is not None:
                keys.setdefault(key, None)
    order = list(composer.records.audiences)
    found = sorted(keys, key=lambda k: (order.index(k.audience), len(k.phases) > 0, k.phases))
    return found or composer.planner.default_keys()


def proof_recipient(composer: Composer, store: Store | None, address: str) -> Recipient:
    address = normalise(address)
    row = store.subscriber(address) if store is not None else None
    first, last = (row["first_name"], row["last_name"]) if row is not None else ("", "")
    recipient = composer.recipient(Reader(0, address, address_hash(address), first, last))
    values = dict(recipient.vars)
    values["message_id"] = f"proof-{secrets.token_hex(6)}.{values['message_id']}"
    return dataclasses.replace(recipient, vars=values)


def send_proofs(composer: Composer, provider: Provider, address: str, keys: list[VariantKey], *,
                store: Store | None = None, sleep: Callable[[float], None] = time.sleep) -> list[Proof]:
    """Send one proof per variant; a ProviderError is raised as it is (after brief retries)."""
    proofs = []
    for key in keys:
        variant = composer.variant(key)
        variant = dataclasses.replace(variant, subject=PREFIX.format(slug=key.slug) + variant.subject)
        # a fresh Message-ID per proof: sending the same variant twice gives two proofs
        recipient = proof_recipient(composer, store, address)
        batch = Batch(TAG.format(edition=composer.edition.id), variant, (recipient,), composer.sender)
        for attempt in range(1, ATTEMPTS + 1):
            try:
                ids = provider.send(batch)
                break
            except TransientError as err:
                if attempt == ATTEMPTS:
                    raise
                sleep(min(MAX_WAIT, err.retry_after if err.retry_after is not None else 2.0 ** attempt))
        proofs.append(Proof(key.slug, variant.subject, ids.get(recipient.address, "")))
    return proofs


__all__ = ["send_proofs", "proof_keys", "Proof", "PREFIX", "TAG", "ProviderError"]
