"""What the mailer's commands share: the context (root, database, records), one-line errors,
address checking, the composer for an edition, and logging to standard error."""
from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click

import records as records_pkg
from records.problems import did_you_mean

from .store import Store, StoreError, normalise

DEFAULT_DB = Path("data") / "mailer.sqlite3"


class Context:
    def __init__(self, root: Path, db: Path | None):
        self.root = root
        self.db = db if db is not None else root / DEFAULT_DB
        self._records = None

    def store(self, *, create: bool = True, need_key: bool = True) -> Store:
        """The database; with ``need_key`` (anything that looks an address up or writes one),
        a one-line error now if there is no hash key (MAILER_SECRET), not half-way through."""
        try:
            store = Store(self.db, create=create)
        except (StoreError, OSError) as err:
            fail(str(err))
        if need_key and store.key_problem:
            problem = store.key_problem
            store.close()
            fail(problem)
        return store

    def records(self, *, strict: bool = True):
        """The alliance's records; with errors, print them and exit 1 before anything is written."""
        if self._records is None:
            self._records = records_pkg.load(self.root)
        recs, problems = self._records
        if strict and problems.errors:
            for problem in problems:
                if problem.is_error:
                    click.echo(str(problem), err=True)
            fail(f"the records have {len(problems.errors)} error{'s' if len(problems.errors) > 1 else ''}; "
                 "fix them first (nothing was written)")
        return recs

    def edition(self, edition_id: str):
        recs = self.records()
        if edition_id not in recs.editions:
            known = list(recs.editions)
            fail(f"no edition {edition_id!r} in content/newsletters/{did_you_mean(edition_id, known)}"
                 + (f" (editions: {', '.join(known)})" if known else ""))
        return recs, recs.editions[edition_id]


def fail(message: str, code: int = 1):
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def parse_address(value: str) -> str:
    from .importer import valid_address
    address = normalise(value)
    if not valid_address(address):
        fail(f"{value!r} is not an email address")
    return address


def make_composer(obj: Context, edition_id: str, *, secret: bytes | None, from_addr: str = ""):
    from .compose import ComposeError, Composer, default_sender, make_tokens
    from .tokens import UrlError
    recs, edition = obj.edition(edition_id)
    try:
        tokens = make_tokens(recs, secret, os.environ.get("MAILER_UNSUBSCRIBE_URL", "").strip()) if secret else None
        return Composer(recs, edition, tokens=tokens, sender=default_sender(recs, from_addr))
    except (UrlError, ComposeError) as err:
        fail(str(err))


def secret_or_fail() -> bytes:
    """MAILER_SECRET, which signs new links (MAILER_SECRET_OLD is checked too, so that a bad
    entry is found before a send rather than when a reader clicks)."""
    return secrets_or_fail()[0]


def secrets_or_fail() -> list[bytes]:
    """[MAILER_SECRET, *MAILER_SECRET_OLD]: the first signs, all verify."""
    from .tokens import SecretError, secrets_from_env
    try:
        return secrets_from_env()
    except SecretError as err:
        fail(str(err))


class _StderrHandler(logging.Handler):
    """Log lines on whatever standard error is at the time (a progress bar may have wrapped it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            click.echo(self.format(record), err=True)
        except Exception:      # logging must never break a send
            self.handleError(record)


def log_to_stderr(level: int) -> None:
    """The mailer's warnings (a provider's error, before the send loop decides) on stderr;
    secrets never reach a log message (providers scrub them)."""
    logger = logging.getLogger("mailer")
    for handler in [h for h in logger.handlers if isinstance(h, _StderrHandler)]:
        logger.removeHandler(handler)
    handler = _StderrHandler(level)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    logger.addHandler(handler)
    if level < logging.WARNING and (logger.level == logging.NOTSET or logger.level > level):
        logger.setLevel(level)
