"""Build aside, then swap into place: a failed build leaves the published site untouched.

    publish(Path("site"), build_into)   # build_into(folder) fills an empty folder or raises

The new site is built in a temporary sibling of the output folder (same file system, so the
swap is two renames); the old site is moved aside, the new one renamed into place, and the old
one deleted. Until the first rename nothing under the output folder has changed, byte for byte;
if anything fails, the temporary folder is removed and the exception propagates.
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


def publish(out: Path, build_into: Callable[[Path], object]) -> None:
    out = Path(os.path.abspath(out))
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"{out} exists and is not a folder")
    new = Path(tempfile.mkdtemp(prefix=f"{out.name}.new-", dir=out.parent))
    old: Path | None = None
    try:
        os.chmod(new, 0o777 & ~_umask())      # mkdtemp makes it private; a site is not
        build_into(new)
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
