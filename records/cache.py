"""The parse cache: each record file's outcome, kept between runs under ``<root>/.cache/``.

An outcome is what reading one file gave: for ``build.py check``, the file's problems
(cross-references included) and its sessions for the double-booking check (parallel_check.py),
under a *salt* naming the ids and vocabularies it was checked against; for ``load()``, each
school file's and each Markdown record's outcome: the record, its own problems and the valid
fields of an invalid one (cross-references are checked afresh on every load). It is reused while the file's path, size and modification time are
unchanged, so a re-check after editing one course reads one file. The preview keeps the same
kind of cache in memory only (``disk=False``), holding whole records.

The cache is safe to delete (it is rebuilt on the next run) and is never trusted across code
changes: its folder name carries a hash of the records package's source and the library
versions. Files are split into a few shards by a stable hash of their path, so the workers of
a parallel check each load and save only their own shards. A read-only tree simply runs
without a cache.
"""
from __future__ import annotations

import functools
import hashlib
import os
import pickle
import shutil
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

FOLDER = ".cache"
SHARDS = 8
# A file changed within this many seconds of being read might change again within the same
# timestamp tick and keep its size ("racy git"): such an outcome is stored with a digest of
# the file's bytes and reused only while they match (see RecordCache.put).
SETTLE_SECONDS = 2.0


@functools.lru_cache(maxsize=1)
def _code_key() -> str:
    """Changes when anything that shapes an outcome changes: our code, pydantic, PyYAML,
    python-frontmatter (which splits a record into fields and body), and what a body's
    warnings depend on: Python-Markdown and nh3."""
    import importlib.util
    import frontmatter
    import nh3
    import pydantic
    import yaml
    digest = hashlib.sha256(f"{sys.version}|{pydantic.VERSION}|{yaml.__version__}|"
                            f"{nh3.__version__}".encode())
    # Python-Markdown's version without importing it (20 ms a re-check may not need);
    # python-frontmatter has no version attribute: its source
    spec = importlib.util.find_spec("markdown")
    sources = [Path(spec.origin).with_name("__meta__.py")] if spec and spec.origin else []
    sources += sorted(Path(frontmatter.__file__).parent.glob("*.py"))
    package = Path(__file__).resolve().parent
    for source in sources + sorted(package.glob("*.py")):
        digest.update(source.name.encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


def shard_of(rel: str, shards: int = SHARDS) -> int:
    return zlib.crc32(rel.encode("utf-8")) % shards


class RecordCache:
    """``get``/``put`` outcomes by relative path, checked against the file's (size, mtime)."""

    def __init__(self, root: Path, kind: str = "records", *, shards: int = SHARDS,
                 salt: str = "", disk: bool = True):
        """``salt``: what else the outcomes depend on (a shard saved with another salt is
        ignored); ``disk``: False keeps the cache in memory only (the preview's)."""
        self.root = Path(root)
        self.folder = self.root / FOLDER / f"records-{_code_key()}" if disk else None
        self.kind, self.shards, self.salt = kind, shards, salt
        self._shards: dict[int, dict[str, tuple]] = {}
        self._dirty: set[int] = set()
        self._seen: dict[int, set[str]] = {}
        self.stamps: dict[str, tuple[int, int]] = {}   # rel -> the stamp it was last read under
        self.memo: dict[str, Any] = {}      # what a caller keeps beside it (check_memo.py)
        self.unstored: dict[str, Any] = {}  # rel -> an outcome too new to be stored (below)

    def _shard(self, index: int) -> dict[str, tuple]:
        shard = self._shards.get(index)
        if shard is None:
            shard = {}
            if self.folder is not None:
                try:
                    with open(self.folder / f"{self.kind}-{index}.pickle", "rb") as handle:
                        salt, shard = pickle.load(handle)
                    if salt != self.salt:
                        shard = {}
                except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ValueError,
                        TypeError, ImportError):
                    shard = {}               # missing or damaged: start again
            self._shards[index] = shard
            self._seen[index] = set()
        return shard

    def get(self, rel: str, stamp: tuple[int, int]) -> Any:
        """The outcome stored for ``rel`` if its stamp (size, mtime_ns) still matches."""
        return self.get_many([(rel, stamp)])[0]

    def get_many(self, wanted: list[tuple[str, tuple[int, int] | None]]) -> list[Any]:
        """``get`` for each (rel, stamp), None for a stamp of None (a file that cannot be
        stat'ed): one loop, as a re-check asks for every one of thousands of files."""
        out: list[Any] = []
        shards, loaded, seen, stamps = self.shards, self._shards, self._seen, self.stamps
        for rel, stamp in wanted:
            if stamp is None:
                out.append(None)
                continue
            index = zlib.crc32(rel.encode("utf-8")) % shards       # shard_of, inlined
            shard = loaded.get(index)
            if shard is None:
                shard = self._shard(index)
            seen[index].add(rel)
            stamps[rel] = stamp
            entry = shard.get(rel)
            if entry is None or entry[0] != stamp:
                out.append(None)
            elif entry[2] is not None and entry[2] != _digest(self.root / rel):
                out.append(None)    # saved again within the same timestamp tick: read it afresh
            else:
                out.append(entry[1])
        return out

    def look_up(self, files: list[tuple[str, str | Path]]) -> list[tuple[tuple | None, Any]]:
        """(stamp, stored outcome or None) for each (rel, path): every file stat'ed and looked
        up in one pass (a re-check or a preview's load asks for thousands)."""
        stamps = [stamp(path) for _, path in files]
        return list(zip(stamps, self.get_many([(rel, when) for (rel, _), when
                                               in zip(files, stamps)])))

    def forget(self, rel: str) -> None:
        """Drop what is stored for ``rel`` (saved without it)."""
        index = shard_of(rel, self.shards)
        if self._shard(index).pop(rel, None) is not None:
            self._dirty.add(index)
        self._seen[index].discard(rel)

    def previous(self, rel: str) -> Any:
        """The outcome stored for ``rel`` whatever its stamp (what the file gave last time)."""
        entry = self._shard(shard_of(rel, self.shards)).get(rel)
        return None if entry is None else entry[1]

    def put(self, rel: str, stamp: tuple[int, int], outcome: Any, content: bytes | None = None
            ) -> None:
        """Keep ``outcome`` of the file ``rel`` as it was under ``stamp``. A file changed in
        the last seconds might change again within the same timestamp tick, keeping its size
        ("racy git"): its outcome is kept only with a digest of ``content``, its bytes read
        *before* the outcome was worked out, and is used again only while the bytes match
        (without ``content``, not kept). So a file saved a moment ago is not read and
        validated again on every run until it settles: its bytes are compared instead."""
        digest = None
        if racy(stamp):
            if content is None:
                self.unstored[rel] = outcome
                return
            digest = hashlib.blake2b(content, digest_size=16).digest()
        index = shard_of(rel, self.shards)
        self._shard(index)[rel] = (stamp, outcome, digest)
        self._seen[index].add(rel)
        self._dirty.add(index)

    def save(self) -> None:
        """Write the shards that changed, dropping files not seen in this run (deleted)."""
        if self.folder is None or not self._dirty:
            self._dirty.clear()
            return
        try:
            if not self.folder.is_dir():
                self._forget_old()
            self.folder.mkdir(parents=True, exist_ok=True)
            for index in sorted(self._dirty):
                seen = self._seen[index]
                shard = {rel: entry for rel, entry in self._shards[index].items() if rel in seen}
                fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
                try:
                    with os.fdopen(fd, "wb") as handle:
                        pickle.dump((self.salt, shard), handle, protocol=pickle.HIGHEST_PROTOCOL)
                    os.replace(tmp, self.folder / f"{self.kind}-{index}.pickle")
                except BaseException:
                    os.unlink(tmp)
                    raise
        except OSError:
            pass                              # a read-only tree: no cache, same answers
        self._dirty.clear()

    def load_extra(self, name: str) -> Any:
        """A value kept beside the shards under the same salt (None if there is none)."""
        if self.folder is None:
            return None
        try:
            with open(self.folder / f"{self.kind}-{name}.pickle", "rb") as handle:
                salt, value = pickle.load(handle)
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ValueError,
                TypeError, ImportError):
            return None
        return value if salt == self.salt else None

    def save_extra(self, name: str, value: Any) -> None:
        """Keep ``value`` for the next run (None: forget it); a read-only tree keeps nothing."""
        if self.folder is None:
            return
        path = self.folder / f"{self.kind}-{name}.pickle"
        try:
            if value is None:
                path.unlink(missing_ok=True)
                return
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as handle:
                    pickle.dump((self.salt, value), handle, protocol=pickle.HIGHEST_PROTOCOL)
                os.replace(tmp, path)
            except BaseException:
                os.unlink(tmp)
                raise
        except OSError:
            pass

    def _forget_old(self) -> None:
        """Remove caches written by other versions of the code."""
        for old in self.folder.parent.glob("records-*"):
            if old != self.folder:
                shutil.rmtree(old, ignore_errors=True)


def file_bytes(file: str | Path) -> bytes | None:
    """The file's bytes, None if it cannot be read."""
    try:
        with open(file, "rb") as handle:
            return handle.read()
    except OSError:
        return None


def _digest(path: Path) -> bytes | None:
    content = file_bytes(path)
    return None if content is None else hashlib.blake2b(content, digest_size=16).digest()


def racy(when: tuple[int, int]) -> bool:
    """Whether a file with this stamp changed too recently for its stamp alone to be trusted."""
    return when[1] > (time.time() - SETTLE_SECONDS) * 1e9


def stamp(file: str | Path) -> tuple[int, int] | None:
    try:
        st = os.stat(file)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns)
