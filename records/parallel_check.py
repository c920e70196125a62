"""``build.py check`` on a big tree: the Markdown records checked in parts, on every core.

Reading YAML is CPU-bound (~0.15 ms a file even with libyaml), so a tree of thousands of
records is split between worker processes. Each worker reads, validates and cross-checks its
share against the core files and the id lists (read once, before the fork) and sends back only
its problems and the sessions for the double-booking check, which is cheap to transfer.
(Sending whole validated records back costs more than the parsing it shares out, so a build,
which needs the records, reads them in one process.)
"""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from .check import Booking, check_core, check_documents, double_bookings
from .problems import Problem, Problems
from .tree import Records, add_documents, load_core, load_tree, markdown_files

PARALLEL_FROM = 1500          # Markdown files; below this, starting processes costs more than it saves

_core: Records | None = None  # set before the fork; the workers inherit it


def _check_part(files: dict[str, list[tuple[str, Path]]]) -> tuple[int, list[Problem], list[Booking]]:
    records = Records(_core.root, alliance=_core.alliance, venues=_core.venues, schools=_core.schools,
                      audiences=_core.audiences, ids=_core.ids)
    problems = Problems()
    add_documents(records, files, problems)
    bookings = check_documents(records, problems)
    count = len(records.sles) + len(records.courses) + len(records.news) + len(records.editions) \
        + len(records.pages)
    return count, problems.items, bookings


def _workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def check_tree_fast(root: Path | str) -> tuple[int, Problems]:
    """(number of valid records, every problem): the same answer as ``load()``, sooner."""
    global _core
    root = Path(root)
    problems = Problems()
    if not (root / "content").is_dir():
        records, problems = load_tree(root)
        return 0, problems
    files = markdown_files(root, problems)
    total = sum(len(items) for items in files.values())
    workers = _workers()
    core = load_core(root, problems)
    core.ids.update({folder: {record_id for record_id, _ in items} for folder, items in files.items()})
    check_core(core, problems)
    count = (core.alliance is not None) + len(core.venues) + len(core.schools) + len(core.board) \
        + len(core.audiences) + (core.impact is not None)
    if total < PARALLEL_FROM or workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        _core = core
        part_count, part_problems, bookings = _check_part(files)
        problems.extend(part_problems)
        double_bookings(bookings, problems)
        return count + part_count, problems
    parts = [{folder: items[i::workers] for folder, items in files.items()} for i in range(workers)]
    _core = core
    bookings: list[Booking] = []
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        for part_count, part_problems, part_bookings in pool.map(_check_part, parts):
            count += part_count
            problems.extend(part_problems)
            bookings += part_bookings
    double_bookings(bookings, problems)
    return count, problems
