"""The provider's suppressions, brought into the store before each send (and by ``sync``).

Mailgun keeps unsubscribes, bounces and complaints; SendGrid unsubscribes, bounces and spam
reports (both as :class:`mailer.providers.base.Suppression`, following pagination). Each
address is stored only as its hash, with the reason (``unsubscribed``, ``bounce``,
``complaint``) and the provider as source, so no later import makes it sendable again; an
unsubscribe at the provider also marks the subscriber unsubscribed here. Addresses we do not
hold are recorded too (as hashes): an import of them later is then refused.

Outbox and SMTP keep no such list: :func:`sync` returns ``None`` for them.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from .providers.base import Provider
from .store import Store, address_hash, normalise

REASONS = {"unsubscribe": "unsubscribed", "bounce": "bounce", "complaint": "complaint"}
CHUNK = 5000          # suppressions written per transaction, while the next pages are fetched


@dataclass
class SyncReport:
    provider: str
    fetched: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REASONS.values(), 0))
    new: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REASONS.values(), 0))
    stopped: int = 0          # subscribers who were sendable and are not any more
    elapsed: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.fetched.values())

    def line(self) -> str:
        counts = ", ".join(f"{self.fetched[r]} {r} ({self.new[r]} new)" for r in self.fetched)
        readers = f"{self.stopped} subscriber{'s' if self.stopped != 1 else ''}"
        return f"suppressions from {self.provider}: {counts}; {readers} no longer sent to"


def sync(store: Store, provider: Provider) -> SyncReport | None:
    """Fetch every suppression of ``provider`` and record it; None if it keeps none.

    Raises the provider's error (AuthError, TransientError after its own retries) unchanged:
    the caller decides (a send stops before anything is sent)."""
    if not provider.has_suppressions:
        return None
    report = SyncReport(provider.name)
    started = time.monotonic()
    buffer: list[tuple[str, str]] = []

    def flush() -> None:
        for reason, (new, stopped) in store.apply_suppressions(buffer, provider.name).items():
            report.new[reason] += new
            report.stopped += stopped
        buffer.clear()

    for item in provider.suppressions():
        reason = REASONS.get(item.reason, item.reason)
        report.fetched[reason] = report.fetched.get(reason, 0) + 1
        report.new.setdefault(reason, 0)
        buffer.append((address_hash(normalise(item.address)), reason))
        if len(buffer) >= CHUNK:
            flush()
    if buffer:
        flush()
    report.elapsed = time.monotonic() - started
    return report


def fetch_hashes(provider: Provider) -> set[str] | None:
    """The provider's suppressed address hashes, read only (for ``send --dry-run``)."""
    if not provider.has_suppressions:
        return None
    return {address_hash(item.address) for item in provider.suppressions()}


__all__ = ["sync", "fetch_hashes", "SyncReport", "REASONS"]
