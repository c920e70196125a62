"""The content model shared by the website and the mailer: the only code that knows files.

    records, problems = records.load(root)      # read, validate, cross-check
"""
from __future__ import annotations

import contextlib
import gc
from pathlib import Path

from .check import check_tree
from .problems import Problem, Problems
from .schema import STRANDS, Course, Edition, Session
from .tree import Records, load_tree


@contextlib.contextmanager
def _without_gc():
    """Reading builds hundreds of thousands of small objects and no cycles worth collecting:
    the cycle collector's passes over them cost up to a third of a check. Paused, not lost."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def load(root: Path | str = ".", *, strict: bool = False, cache: bool = True,
         memory=None) -> tuple[Records, Problems]:
    """Every record under ``root`` and every problem found (warnings become errors if strict).
    ``cache``: reuse unchanged record files' outcomes from ``root/.cache/`` (safe to delete);
    ``memory``: a ``cache.RecordCache(root, disk=False)`` the caller keeps between loads, so
    only changed files are read again (the preview)."""
    with _without_gc():
        records, problems = load_tree(root, cache=cache, memory=memory)
        if memory is None:
            check_tree(records, problems)
        else:
            from .check_memo import check_tree_again
            check_tree_again(records, problems, memory)
    return records, problems.strict() if strict else problems


def check(root: Path | str = ".", *, strict: bool = False, cache: bool = True
          ) -> tuple[int, Problems]:
    """(number of valid records, every problem), without keeping the records: for ``check``,
    on all cores for a big tree."""
    from .parallel_check import check_tree_fast
    with _without_gc():
        count, problems = check_tree_fast(root, cache=cache)
    return count, problems.strict() if strict else problems


__all__ = ["load", "check", "Records", "Problem", "Problems", "STRANDS", "Course", "Edition", "Session"]
