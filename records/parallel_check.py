"""``build.py check`` on a big tree: the Markdown records checked in parts, on every core.

Reading YAML is CPU-bound (~0.15 ms a file even with libyaml), so a tree of thousands of
records is split between worker processes. Each worker reads, validates and cross-checks its
share against the core files and the id lists (read once, before the fork) and sends back only
its problems and the sessions for the double-booking check, which is cheap to transfer.
(Sending whole validated records back costs more than the parsing it shares out, so a build,
which needs the records, reads them in one process.)

The parse cache (cache.py) is split into shards by file path; each worker gets whole shards, so
it loads and saves only its own and an unchanged tree is checked from the cache.
"""
from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path

from .cache import SHARDS, RecordCache, file_bytes, racy, shard_of, stamp
from .check import Booking, check_core, check_documents, double_bookings
from .markdown import REMOVALS_KEPT, known_removals, learn_removals
from .problems import Problem, Problems
from .tree import MARKDOWN_KINDS, Records, add_documents, load_core, load_tree, markdown_files

PARALLEL_FROM = 1500          # Markdown files; below this, starting processes costs more than it saves

_core: Records | None = None  # set before the fork; the workers inherit it


def fingerprint(core: Records) -> str:
    """What a document's check depends on beside its own file: vocabularies, the ids of
    venues, schools, SLEs and audiences. A check outcome is reused only under the same one."""
    vocab = core.vocabulary
    parts = [vocab.roles, vocab.phases, vocab.specialisms, sorted(core.venues),
             sorted(core.audiences), *(None if core.ids[folder] is None else sorted(core.ids[folder])
               for folder in sorted(core.ids))]
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def _photos_unchanged(root: Path, photos: list[tuple[str, tuple | None]]) -> bool:
    """Whether each picture an outcome checked is as it was: its stamp (None: no file)."""
    return all(stamp(os.path.join(root, "content", photo)) == then for photo, then in photos)


def _outcomes(records: Records, problems: Problems, bookings: list[Booking],
              stale: list[tuple[str, tuple]]) -> dict[str, tuple]:
    """Split one part's results by file: rel -> (valid, problems, bookings, photos)."""
    valid = {r.path for kind in (records.sles, records.courses, records.editions, records.pages)
             for r in kind.values()} | {n.path for n in records.news}
    photos = {s.path: [(s.photo, stamp(os.path.join(records.root, "content", s.photo)))]
              for s in records.sles.values() if s.photo}
    by_path: dict[str, list] = {rel: [] for rel, _ in stale}
    for problem in problems:
        by_path.setdefault(problem.path, []).append(problem)
    booked: dict[str, list] = {rel: [] for rel, _ in stale}
    for booking in bookings:
        booked.setdefault(booking.path, []).append(tuple(booking))
    return {rel: (rel in valid, by_path[rel], _pack(booked[rel]), photos.get(rel, []))
            for rel, _ in stale}


# A file's sessions are kept in its outcome pickled on their own (bytes): a re-check that
# reuses the last double-booking sweep never needs them, and unpickling 12,000 sessions
# (5,000 courses) was half the cost of loading the cache.

def _pack(bookings: list[tuple]) -> bytes:
    return pickle.dumps(bookings, protocol=pickle.HIGHEST_PROTOCOL) if bookings else b""


def _unpack(packed: bytes) -> list[tuple]:
    return pickle.loads(packed) if packed else []


def _unpack_all(packed: list[bytes]) -> list[Booking]:
    return [Booking._make(b) for blob in packed for b in _unpack(blob)]


Files = dict[str, list[tuple[str, str]]]        # folder -> (id, path)


def _lookup(cache: RecordCache, files: Files) -> tuple[tuple, Files, list]:
    """Outcomes of the unchanged files, summed: ((count, problems, their sessions packed), the
    stale files by folder, their (rel, stamp))."""
    root = _core.root
    count, problems, bookings = 0, [], []
    stale_files: Files = {folder: [] for folder in files}
    stale: list[tuple[str, tuple]] = []
    every = [(folder, record_id, file) for folder, items in files.items() for record_id, file in items]
    # layout.record_files named each file: its id and .md
    rels = [f"{folder}/{record_id}.md" for folder, record_id, _ in every]
    found = cache.look_up([(rel, file) for rel, (_, _, file) in zip(rels, every)])
    for (folder, record_id, file), rel, (when, outcome) in zip(every, rels, found):
        if outcome is not None and (not outcome[3] or _photos_unchanged(root, outcome[3])):
            count += outcome[0]
            problems += outcome[1]
            if outcome[2]:
                bookings.append(outcome[2])
            continue
        stale_files[folder].append((record_id, file))
        stale.append((rel, when))
    return (count, problems, bookings), stale_files, stale


def _check_stale(cache: RecordCache, files: Files, stale: list[tuple[str, tuple]]
                 ) -> tuple[int, list[Problem], list[Booking]]:
    """Read and check the files that changed; store their outcomes in ``cache``."""
    if not stale:
        return 0, [], []
    records = Records(_core.root, alliance=_core.alliance, venues=_core.venues,
                      schools=_core.schools, audiences=_core.audiences, ids=_core.ids)
    # a file saved a moment ago is kept with its bytes, read before it is (cache.put)
    contents = {rel: file_bytes(_core.root / rel) for rel, when in stale if when and racy(when)}
    found = Problems()
    add_documents(records, files, found)
    bookings = check_documents(records, found)
    outcomes = _outcomes(records, found, bookings, stale)
    for rel, when in stale:
        if when is not None:
            cache.put(rel, when, outcomes[rel], contents.get(rel))
        else:       # gone or unreadable as it was listed: what it held before is no answer
            cache.forget(rel)       # (nor are its sessions, which the kept sweep compares)
    cache.save()
    count = len(records.sles) + len(records.courses) + len(records.news) + len(records.editions) \
        + len(records.pages)
    return count, found.items, bookings


_CACHE: RecordCache | None = None   # loaded before the fork; each worker saves its own shards


def _check_part(part: tuple[Files, list]) -> tuple[int, list[Problem], list[Booking], dict, dict]:
    """In a worker: ``_check_stale`` of its share; the sessions of the files whose outcome
    could not be stored (a file unreadable as it was read: see RecordCache.put), which the
    parent keeps with the sweep, as _sweep does; the bodies' removals worked out."""
    count, problems, bookings = _check_stale(_CACHE, *part)
    unstored = {rel: outcome[2] for rel, outcome in _CACHE.unstored.items()}
    return count, problems, bookings, unstored, known_removals()


def _can_fork() -> bool:
    import multiprocessing
    return "fork" in multiprocessing.get_all_start_methods()


def _workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _by_shard(files: Files, part: int, parts: int) -> Files:
    """The files whose cache shard belongs to ``part`` of ``parts``."""
    mine = set(range(part, SHARDS, parts))
    return {folder: [(i, f) for i, f in items if shard_of(f"{folder}/{i}.md") in mine]
            for folder, items in files.items()}


def check_tree_fast(root: Path | str, *, cache: bool = True) -> tuple[int, Problems]:
    """(number of valid records, every problem): the same answer as ``load()``, sooner."""
    global _core
    root = Path(root)
    problems = Problems()
    if not (root / "content").is_dir():
        records, problems = load_tree(root, cache=cache)
        return 0, problems
    files = markdown_files(root, problems)
    workers = _workers()
    core = load_core(root, problems, cache=cache)
    core.ids.update({folder: {record_id for record_id, _ in items} for folder, items in files.items()})
    check_core(core, problems)
    count = (core.alliance is not None) + len(core.venues) + len(core.schools) + len(core.board) \
        + len(core.audiences)
    _core = core
    cache = RecordCache(root, "check", salt=fingerprint(core), disk=cache)
    (known, known_problems, bookings), stale_files, stale = _lookup(cache, files)
    count += known
    problems.extend(known_problems)
    if len(stale) < PARALLEL_FROM or workers < 2 or not _can_fork():
        count += _check_here(cache, stale_files, stale, bookings, problems)
    else:
        count += _check_in_workers(cache, stale_files, stale, bookings, problems,
                                   min(workers, SHARDS))
    return count, problems


def _check_here(cache: RecordCache, stale_files: Files, stale: list, known: list[bytes],
                problems: Problems) -> int:
    """Check the stale files in this process (a re-check): the double-booking sweep is the
    last run's while no session changed. Returns the number of valid records read."""
    kept = cache.load_extra(SWEEP)
    before = _sessions_before(cache, kept, stale)      # before their outcomes are replaced
    learnt = None
    if stale:
        learnt = _learn_removals(cache)
        _drop_sweep(cache)
    count, found, fresh = _check_stale(cache, stale_files, stale)
    problems.extend(found)
    _sweep(cache, kept, known, fresh, before, problems, saved=not stale)
    if learnt is not None:
        _keep_removals(cache, learnt, known_removals())
    return count


def _check_in_workers(cache: RecordCache, stale_files: Files, stale: list, known: list[bytes],
                      problems: Problems, workers: int) -> int:
    """Check the stale files (thousands) in ``workers`` forked processes, each with whole
    shards of the cache; then the double-booking sweep over all sessions, kept for the next
    run. Returns the number of valid records read."""
    global _CACHE
    import multiprocessing                    # here: a re-check of a few files needs no workers
    from concurrent.futures import ProcessPoolExecutor
    for model in MARKDOWN_KINDS.values():     # validators made once, before the fork, not in
        model.model_rebuild()                 # each worker (the models are built on first use)
    parts = []
    for i in range(workers):
        mine = _by_shard(stale_files, i, workers)
        rels = {f"{folder}/{record_id}.md" for folder, items in mine.items() for record_id, _ in items}
        parts.append((mine, [(rel, when) for rel, when in stale if rel in rels]))
    _CACHE = cache
    _drop_sweep(cache)
    count, fresh, unstored, removals = 0, [], {}, {}
    learnt = _learn_removals(cache)
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            for part_count, part_problems, part_bookings, part_unstored, part_removals in \
                    pool.map(_check_part, parts):
                count += part_count
                problems.extend(part_problems)
                fresh += part_bookings
                unstored.update(part_unstored)
                removals.update(part_removals)
    finally:
        _CACHE = None
    _keep_removals(cache, learnt, removals)
    clashes = Problems()
    double_bookings(_unpack_all(known) + fresh, clashes)
    problems.extend(clashes.items)
    cache.save_extra(SWEEP, (clashes.items, unstored))     # this answer, for the next run
    return count


# --- what a body's suspect paragraphs lose, kept between runs ---------------------------------

REMOVALS = "removals"


def _learn_removals(cache: RecordCache) -> dict:
    """The removals the last run kept, taken (records.markdown.learn_removals)."""
    kept = cache.load_extra(REMOVALS) or {}
    learn_removals(kept)
    return kept


def _keep_removals(cache: RecordCache, learnt: dict, now: dict) -> None:
    """Keep ``now`` (the removals this run knows) for the next run, if they are new."""
    if now.keys() - learnt.keys():
        cache.save_extra(REMOVALS, dict(list({**learnt, **now}.items())[-REMOVALS_KEPT:]))


# --- the double-booking sweep, kept between runs ---------------------------------------------

SWEEP = "sweep"


def _drop_sweep(cache: RecordCache) -> None:
    """Forget the kept sweep before the shards change: a check stopped after saving them
    (Ctrl-C, a worker killed) leaves no sweep that the next check could take as the answer
    for files whose sessions it never saw. The check that finishes keeps its own."""
    cache.save_extra(SWEEP, None)


def _sweep(cache: RecordCache, kept: tuple | None, known: list[bytes], fresh: list[Booking],
           before: dict[str, list | None], problems: Problems, *, saved: bool = True) -> None:
    """:func:`check.double_bookings` over the unchanged files' sessions (``known``, packed)
    and the re-read files' (``fresh``): the last run's answer (``kept``) when every re-read
    file holds the sessions that run saw (``before``). A re-check after an edited description
    then neither builds nor sweeps 12,000 sessions (5,000 courses). ``saved``: whether
    ``kept`` is still on disk (see _drop_sweep)."""
    if kept is not None and _same_sessions(fresh, before):
        problems.extend(kept[0])
        found = kept[0]
    else:
        checked = Problems()
        double_bookings(_unpack_all(known) + fresh, checked)
        problems.extend(checked.items)
        found = checked.items
    # kept with the sessions of the files whose outcome was too new to be stored (an editor
    # checks right after saving): the next run compares with those, not the cache's older ones
    unstored = {rel: outcome[2] for rel, outcome in cache.unstored.items()}
    if not saved or kept is None or found is not kept[0] or unstored != kept[1]:
        cache.save_extra(SWEEP, (found, unstored))


def _sessions_before(cache: RecordCache, kept: tuple | None, stale: list[tuple[str, tuple]]
                     ) -> dict[str, list | None]:
    """Each re-read file's sessions as the last run's sweep saw them: from the cache, or kept
    with the sweep for a file then too new to be stored (None: not known)."""
    unstored = kept[1] if kept is not None else {}
    before: dict[str, list | None] = {}
    for rel, _ in stale:
        if rel in unstored:
            before[rel] = _unpack(unstored[rel])
        else:
            outcome = cache.previous(rel)
            before[rel] = None if outcome is None else _unpack(outcome[2])
    return before


def _same_sessions(fresh: list[Booking], before: dict[str, list | None]) -> bool:
    """Whether the re-read files hold the sessions they held last time. (A file that came or
    went changed the ids in the cache's salt: then nothing of the last run is reused.)"""
    now: dict[str, list[tuple]] = {rel: [] for rel in before}
    for booking in fresh:
        now.setdefault(booking.path, []).append(tuple(booking))
    return all(before.get(rel) == sessions for rel, sessions in now.items())
