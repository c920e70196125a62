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


__all__ = ["load", "Records", "Problem", "Problems", "STRANDS", "Course", "Edition", "Session"]
