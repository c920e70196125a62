"""The default transport: exactly what would go out, one RFC 5322 ``.eml`` per reader, on disk.

``outbox/EDITION/<name>.eml`` where ``name`` is the first 20 hex digits of the SHA-256 of the
reader's address: never the address itself (the outbox is local and never committed, but file
names end up in listings and backups), stable per reader so a repeated write replaces rather than
duplicates, and findable again by ``subscribers forget`` to erase a forgotten reader's copies.
Each file is written to a temporary name and renamed into place, so a reader never sees half a
message and a killed send leaves no partial ``.eml``.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Mapping

from ..mime import MimeTemplate
from ..private import open_private, private_dir
from .base import Batch, Provider

NAME_DIGITS = 20


def eml_name(address: str) -> str:
    return hashlib.sha256(address.strip().lower().encode("utf-8")).hexdigest()[:NAME_DIGITS] + ".eml"


class OutboxProvider(Provider):
    name = "outbox"
    batch_size = 500

    def __init__(self, directory: Path | str = "outbox", *, batch_size: int | None = None):
        self.directory = Path(directory)
        if batch_size:
            self.batch_size = batch_size
        self._templates: dict[tuple[int, str], MimeTemplate] = {}

    @classmethod
    def from_settings(cls, settings, **options) -> "OutboxProvider":
        directory = options.pop("directory", None) or settings.outbox_dir
        return cls(directory, **options)

    def _template(self, batch: Batch) -> MimeTemplate:
        key = (id(batch.variant), batch.variant.key)
        template = self._templates.get(key)
        if template is None or template.variant is not batch.variant:
            template = self._templates[key] = MimeTemplate(batch.variant, batch.sender)
        return template

    def folder(self, edition: str) -> Path:
        return self.directory / edition

    def send(self, batch: Batch) -> Mapping[str, str]:
        folder = private_dir(self.folder(batch.edition))
        template = self._template(batch)
        ids: dict[str, str] = {}
        pid = os.getpid()
        for recipient in batch.recipients:
            data = template.render(recipient)
            final = folder / eml_name(recipient.address)
            temporary = folder / f".{final.name}.{pid}.tmp"
            with open_private(temporary, "wb") as handle:      # 0600: a message is personal data
                handle.write(data)
            os.replace(temporary, final)
            ids[recipient.address] = recipient.vars["message_id"]
        return ids

    def erase(self, address: str) -> int:
        """Delete every outbox copy for one address (``subscribers forget``)."""
        name = eml_name(address)
        removed = 0
        if self.directory.is_dir():
            for edition in self.directory.iterdir():
                if not edition.is_dir():
                    continue
                target = edition / name
                if target.is_file():
                    target.unlink()
                    removed += 1
                for stale in edition.glob(f".{name}.*.tmp"):    # a killed send's half-written copy
                    stale.unlink(missing_ok=True)
        return removed


def remove_stale_temporaries(folder: Path) -> int:
    """Temporary files a killed run left behind (never complete messages)."""
    removed = 0
    if folder.is_dir():
        for stale in folder.glob(".*.tmp"):
            stale.unlink(missing_ok=True)
            removed += 1
    return removed


__all__ = ["OutboxProvider", "eml_name", "remove_stale_temporaries"]
