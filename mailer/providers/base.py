"""The one small interface every transport sits behind (after listmonk's Messenger).

A *variant* is one rendered newsletter (an audience and a phase) holding placeholders
``%%name%%`` where each reader's own values go; a *batch* is one variant and up to
``Provider.batch_size`` readers. Providers either substitute the placeholders themselves
(Mailgun's recipient-variables, SendGrid's substitutions) or build one MIME message per
reader with :func:`mailer.mime.personalise` (outbox, SMTP).

Providers raise the errors below; ``mailer.send`` alone decides what they mean for the
ledger (retry, mark failed, stop, or mark unknown).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Mapping

PLACEHOLDER = "%%{}%%"  # e.g. %%first_name%%: survives HTML escaping, CSS inlining and QP


def placeholder(name: str) -> str:
    return PLACEHOLDER.format(name)


@dataclass(frozen=True)
class Sender:
    address: str                 # e.g. news@riverside-tsa.example
    name: str = ""               # display name, e.g. the alliance's short name
    reply_to: str | None = None


@dataclass(frozen=True)
class Variant:
    key: str                     # e.g. "teachers--primary": stable, safe in a file name
    subject: str                 # one line, no markup
    html: str                    # full HTML document, CSS inlined, with placeholders
    text: str                    # plain-text part, with placeholders
    # extra headers, values may hold placeholders (List-Unsubscribe, List-Unsubscribe-Post, ...)
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Recipient:
    address: str                 # normalised: trimmed, lower-cased
    # placeholder name -> value. Always present: first_name (text), first_name_html
    # (HTML-escaped), unsubscribe_url, unsubscribe_mailto, message_id (without <>).
    vars: Mapping[str, str]
    name: str = ""               # display name for To:, may be empty


@dataclass(frozen=True)
class Batch:
    edition: str
    variant: Variant
    recipients: tuple[Recipient, ...]
    sender: Sender
    # set by the send loop: the ledger's batch id and a tag unique to this batch, which the
    # API providers attach to the request (Mailgun o:tag + v:batch, SendGrid custom_args) so
    # that a lost answer can be looked up in the provider's events (see accepted())
    batch_id: int = 0
    tag: str = ""


@dataclass(frozen=True)
class Lookup:
    """What :meth:`Provider.accepted` needs to find one batch in the provider's events."""
    tag: str
    batch_id: int
    since: float                 # Unix time a little before the request was made
    addresses: tuple[str, ...] = ()   # the batch's readers (normalised), if the provider wants them


@dataclass(frozen=True)
class Suppression:
    address: str                 # normalised
    reason: str                  # "unsubscribe" | "bounce" | "complaint"


class ProviderError(Exception):
    """Base of every error a provider raises. ``str(err)`` never holds a secret."""


class TransientError(ProviderError):
    """Safe to retry: 429, 5xx, could not connect, or lost before the request was complete."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after   # seconds the provider asked us to wait, if it did


class RejectedError(ProviderError):
    """The provider refused this batch (400, 422, SMTP 5xx for the recipient): mark failed, go on."""


class AuthError(ProviderError):
    """401/403 or SMTP authentication failure: stop the whole send at once."""


class OutcomeUnknownError(ProviderError):
    """The request may or may not have been delivered (answer lost, read timeout)."""


class CannotReconcile(ProviderError):
    """The provider cannot say afterwards what it accepted (SMTP, outbox, SendGrid without the
    Email Activity add-on): an unknown batch stays unknown. ``str(err)`` says why, for status."""


class Provider(ABC):
    name: str = "provider"
    batch_size: int = 1          # most recipients one send() takes
    has_suppressions: bool = False   # True if suppressions() asks the provider (Mailgun, SendGrid)
    can_reconcile: bool = False      # True if accepted() may answer (Mailgun; SendGrid with Email Activity)
    events_kept: float = 0.0         # seconds the provider surely keeps what accepted() reads

    @abstractmethod
    def send(self, batch: Batch) -> Mapping[str, str]:
        """Deliver one batch; return address -> provider message id for every recipient."""

    def suppressions(self) -> Iterator[Suppression]:
        """The provider's unsubscribes, bounces and complaints, following pagination."""
        return iter(())

    def accepted(self, lookup: Lookup) -> Mapping[str, str]:
        """Address -> provider message id of every reader the provider accepted in the batch
        tagged ``lookup.tag``, from its event log (every page). Raises :class:`CannotReconcile`
        when the provider cannot tell, a :class:`TransientError` when it cannot tell *now*."""
        raise CannotReconcile(f"{self.name} cannot say afterwards which messages it took")

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def chunks(items: Iterable, size: int) -> Iterator[list]:
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
