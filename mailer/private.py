"""Files and folders that hold personal data: created readable by their owner alone.

The one place that decides file modes for the mailer: the database (and SQLite's ``-wal`` and
``-shm`` files, which SQLite creates with the database file's own mode), ``.eml`` copies in
the outbox, exports and previews. Files are created ``0600`` (an existing file written again
is tightened to ``0600`` too); folders the mailer creates are ``0700``. Folders that already
exist are left as they are: ``--db /tmp/x.sqlite3`` must not change ``/tmp``.

Modes are given to ``os.open``/``os.mkdir`` at creation, not set afterwards, so there is no
moment when a file is readable by others; the process umask can only narrow them.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import IO

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: Path | str) -> Path:
    """Create ``path`` and any missing parents, each ``0700``; return it."""
    path = Path(path)
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, DIR_MODE)
        except FileExistsError:      # made meanwhile by another process: fine
            pass
    return path


def open_private(path: Path | str, mode: str = "w", **kwargs) -> IO:
    """``open()`` for a file of personal data: created 0600, or tightened to 0600 if it exists."""
    if not any(c in mode for c in "wax"):
        raise ValueError(f"open_private is for writing, not mode {mode!r}")
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
    if "x" in mode:
        flags |= os.O_EXCL
    elif "a" in mode:
        flags |= os.O_APPEND
    else:
        flags |= os.O_TRUNC
    fd = os.open(path, flags, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        return os.fdopen(fd, mode.replace("x", "w"), **kwargs)
    except BaseException:
        os.close(fd)
        raise


def write_private(path: Path | str, data: str | bytes) -> None:
    if isinstance(data, str):
        with open_private(path, "w", encoding="utf-8") as handle:
            handle.write(data)
    else:
        with open_private(path, "wb") as handle:
            handle.write(data)


def tighten(path: Path | str) -> None:
    """Make an existing file 0600 (a database made before this rule, or its -wal/-shm)."""
    try:
        os.chmod(path, FILE_MODE)
    except FileNotFoundError:
        pass


__all__ = ["private_dir", "open_private", "write_private", "tighten", "FILE_MODE", "DIR_MODE"]
