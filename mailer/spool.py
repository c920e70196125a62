"""A durable queue for changes the database could not take at once (it was locked).

A reader who leaves must never be lost, even while a long transaction holds SQLite's write
lock: the web service retries briefly, then writes the change here and tells the reader it
will take effect within minutes. Each change is one small JSON file in ``<db>.queue/``
(0700; files 0600), written to a temporary name, flushed to disk and renamed into place, so
it survives a crash once the reader has been answered. It holds an address *hash*, never an
address. :func:`drain` applies the queue in order: the service every few seconds, ``send``
before every batch (so a queued leave is honoured by a send that is running), and ``serve``
at start-up. A change is claimed by renaming it, so two processes never apply one twice.
"""
from __future__ import annotations

import json
import logging
import os
import secrets
import sqlite3
import time
from pathlib import Path
from typing import Callable

from .store import Store

log = logging.getLogger("mailer.spool")
OPERATIONS = ("leave", "preferences", "confirm")


def folder_for(db_path: Path | str) -> Path:
    return Path(str(db_path) + ".queue")


def put(db_path: Path | str, operation: str, **arguments) -> Path:
    """Queue one change durably; returns its file. Raises OSError if the disk refuses."""
    if operation not in OPERATIONS:
        raise ValueError(operation)
    folder = folder_for(db_path)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    name = f"{time.time_ns():020d}-{secrets.token_hex(4)}.json"
    temporary = folder / f".{name}.tmp"
    data = json.dumps({"op": operation, "args": arguments, "queued_at": time.time()}).encode()
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    final = folder / name
    os.replace(temporary, final)
    directory = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory)        # the rename itself survives a power cut
    finally:
        os.close(directory)
    return final


STALE_CLAIM = 300.0      # seconds: a claim older than this belongs to a process that died


def pending(db_path: Path | str) -> list[Path]:
    """Queued changes, oldest first; a change claimed by a process that died while applying it
    is put back first (applying twice is harmless: every operation is idempotent)."""
    folder = folder_for(db_path)
    if not folder.is_dir():
        return []
    now = time.time()
    for claimed in folder.glob(".*.applying"):
        try:
            if now - claimed.stat().st_mtime > STALE_CLAIM:
                original = claimed.name[1:].rsplit(".", 2)[0]          # ".NAME.json.PID.applying"
                os.rename(claimed, folder / original)
        except (FileNotFoundError, IndexError):
            continue
    return sorted(p for p in folder.iterdir() if p.name.endswith(".json") and not p.name.startswith("."))


def _apply(store: Store, entry: dict) -> None:
    from . import signups
    op, args = entry["op"], entry["args"]
    if op == "leave":
        signups.leave(store, args["hash"], args["source"])
    elif op == "preferences":
        signups.update_preferences(store, args["hash"], signups.Preferences(
            args["roles"], args["phases"], args["interests"], args.get("paused_until")))
    elif op == "confirm":
        signups.confirm(store, int(args["signup"]), args["nonce"], args.get("hash", ""))


def drain(store: Store, *, on_error: Callable[[Path, Exception], None] | None = None) -> int:
    """Apply every queued change, oldest first; returns how many were applied. A change that
    meets a locked database again stays queued for the next drain."""
    applied = 0
    for path in pending(store.path):
        claimed = path.with_name(f".{path.name}.{os.getpid()}.applying")
        try:
            os.rename(path, claimed)
        except FileNotFoundError:
            continue                       # another process took it
        try:
            entry = json.loads(claimed.read_bytes())
            _apply(store, entry)
        except sqlite3.OperationalError as err:
            os.rename(claimed, path)       # still locked: put it back, stop for now
            log.warning("queued change kept for later: %s", err)
            break
        except Exception as err:           # a damaged entry must not block the others
            log.error("queued change %s could not be applied: %s", path.name, err)
            if on_error:
                on_error(path, err)
            os.rename(claimed, path.with_name(path.name + ".failed"))
            continue
        claimed.unlink()
        applied += 1
    return applied


__all__ = ["put", "drain", "pending", "folder_for"]
