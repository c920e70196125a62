"""The content model shared by the website and the mailer: the only code that knows files.

    records, problems = records.load(root)      # read, validate, cross-check
"""
from __future__ import annotations

from pathlib import Path

from .check import check_tree
from .problems import Problem, Problems
from .schema import STRANDS, Course, Edition, Session
from .tree import Records, load_tree


def load(root: Path | str = ".", *, strict: bool = False) -> tuple[Records, Problems]:
    """Every record under ``root`` and every problem found (warnings become errors if strict)."""
    records, problems = load_tree(root)
    check_tree(records, problems)
    return records, problems.strict() if strict else problems


def check(root: Path | str = ".", *, strict: bool = False) -> tuple[int, Problems]:
    """(number of valid records, every problem), without keeping the records: for ``check``,
    on all cores for a big tree."""
    from .parallel_check import check_tree_fast
    count, problems = check_tree_fast(root)
    return count, problems.strict() if strict else problems


__all__ = ["load", "check", "Records", "Problem", "Problems", "STRANDS", "Course", "Edition", "Session"]
