"""Build aside, then swap into place: a failed build leaves the published site untouched.

    publish(Path("site"), build_into)   # build_into(folder) fills an empty folder or raises

The new site is built in a temporary sibling of the output folder (same file system, so the
swap is two renames); the old site is moved aside, the new one renamed into place, and the old
one deleted. Until the first rename nothing under the output folder has changed, byte for byte;
if anything fails, the temporary folder is removed and the exception propagates.

Every published site carries a marker file (:data:`MARKER`). An existing output folder is
replaced only if it is empty or holds that marker: ``--out data`` must never delete the
subscriber database, nor ``--out .`` the alliance's records.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


MARKER = ".tsa-site-build"
MARKER_TEXT = ("This folder is a website built by build.py. Each build replaces the whole folder:\n"
               "keep nothing else in it.\n")


class NotASiteFolder(OSError):
    """The output folder holds something other than an earlier build: it is left alone."""


def refusal(out: Path) -> str | None:
    """Why ``out`` may not be replaced by a build, in plain words; None if it may be."""
    out = Path(os.path.abspath(out))
    if os.path.islink(out) or (out.exists() and not out.is_dir()):
        return "is a file or a link, not a folder; choose another --out folder"
    if not out.exists():
        return None
    if (out / MARKER).is_file():
        return None
    with os.scandir(out) as entries:
        if next(entries, None) is None:
            return None
    return (f"holds files that are not an earlier build of this site (it has no "
            f"{MARKER} file), and a build replaces the whole folder; choose an empty or new "
            "--out folder (if it is a site built before build.py marked its builds, delete it "
            "yourself first)")


def publish(out: Path, build_into: Callable[[Path], object]) -> None:
    out = Path(os.path.abspath(out))
    reason = refusal(out)
    if reason is not None:
        raise NotASiteFolder(reason)
    out.parent.mkdir(parents=True, exist_ok=True)
    new = Path(tempfile.mkdtemp(prefix=f"{out.name}.new-", dir=out.parent))
    old: Path | None = None
    try:
        os.chmod(new, 0o777 & ~_umask())      # mkdtemp makes it private; a site is not
        build_into(new)
        with open(new / MARKER, "w", encoding="utf-8") as handle:
            handle.write(MARKER_TEXT)
        reason = refusal(out)                     # checked again: the build took a while
        if reason is not None:
            raise NotASiteFolder(reason)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f"{out.name}.old-", dir=out.parent))
            os.rename(out, old / out.name)
        try:
            os.rename(new, out)
        except OSError:
            if old is not None:                      # put the old site back
                os.rename(old / out.name, out)
            raise
    except BaseException:
        shutil.rmtree(new, ignore_errors=True)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
