"""The preview's generator: after a save, only the pages the change touches are rendered again.

:class:`Incremental` keeps, between saves, the records' outcomes (a memory cache: only changed
files are read again), each page's *signature* and Markdown, and each course's calendar
events. A page's signature is its context reduced to plain values, with every record in it
replaced by its file and that file's size and modification time. A page whose signature is
unchanged renders to the same Markdown (templates are pure functions of their context and
the build's globals), so it is neither rendered nor written; the update says which files it
wrote and removed, and the preview (:mod:`website.live`) builds only those.

When the build's globals change (the alliance, venues, schools, the templates), every page is
rendered again.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import operator
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from pydantic import BaseModel

import records
from records import Problems
from records.cache import RecordCache
from records.impact import IMPACT_FILE, PUBLISHED_FILE
from records.offer import Facts
from records.schema import (SLE, Alliance, BoardMember, Course, Edition, FreePage, NewsItem,
                            School, Venue)

from . import calendar as feeds
from . import identity, opendata
from . import config as site_config
from . import pages as site_pages
from .pipeline import PREVIEW_PROSPECTUS, PROSPECTUS, course_urls, write_files
from .prospectus import placeholder_pdf
from .render import TEMPLATES, Renderer


@dataclass
class Update:
    """What one update did: its problems, and how many pages were rendered and written."""

    problems: Problems
    pages: int = 0
    rendered: int = 0
    written: int = 0
    # the generated files (inside docs/) this update wrote and removed; None: all written
    changed: set[str] | None = None
    removed: set[str] = field(default_factory=set)
    seconds: float = 0.0
    ok: bool = False


@dataclass
class Incremental:
    root: Path
    folder: Path                          # the generated MkDocs project
    today: dt.date | None = None
    engine: str = "mkdocs"
    memory: RecordCache = field(init=False)
    _stamps: dict[str, Any] = field(default_factory=dict)
    _signatures: dict[str, Any] = field(default_factory=dict)
    _composites: dict[int, Any] = field(default_factory=dict)
    _composites_before: dict[int, Any] = field(default_factory=dict)
    _json: dict = field(default_factory=dict)
    _urls: Any = None
    _texts: dict[str, str] = field(default_factory=dict)
    _events: dict = field(default_factory=dict)
    _globals: Any = None
    _renderer: Renderer | None = None
    _config: Any = None
    _files: dict | None = None
    _copied: dict = field(default_factory=dict)
    _base: tuple = (None, None)
    _objects: dict = field(default_factory=dict)     # (path, id) -> the record last rendered

    def _sync(self, files: dict[str, str | bytes], copies: dict[str, Path], result: Update) -> None:
        """Write what differs from the last update (kept in memory: no file is read back),
        remove what went; the first update writes the folder with pipeline.write_files.
        ``result`` learns which files were written and removed (the preview builds only them)."""
        docs = self.folder / site_config.DOCS
        copied = {rel: self._stamp_of(source) for rel, source in copies.items()}
        if self._files is None:
            result.written, result.changed = write_files(docs, files, copies), None
        else:
            changed = set()
            for rel, data in files.items():
                if self._files.get(rel) != data:
                    _write(docs / rel, data)
                    changed.add(rel)
            for rel, source in copies.items():
                if self._copied.get(rel) != copied[rel]:
                    _write(docs / rel, source.read_bytes())
                    changed.add(rel)
            gone = (self._files.keys() - files.keys()) | (self._copied.keys() - copies.keys())
            for rel in gone:
                (docs / rel).unlink(missing_ok=True)
            result.written, result.changed, result.removed = len(changed), changed, gone - changed
        self._files, self._copied = files, copied

    @staticmethod
    def _stamp_of(path: Path) -> tuple:
        try:
            st = path.stat()
        except OSError:
            return ()
        return (st.st_size, st.st_mtime_ns)

    def _base_config(self) -> dict:
        """The repository's mkdocs.yml, read again only when it changed."""
        when = site_config.BASE_CONFIG.stat().st_mtime_ns
        if self._base[0] != when:
            self._base = (when, site_config.base_config())
        return self._base[1]

    def __post_init__(self) -> None:
        self.root, self.folder = Path(self.root), Path(self.folder)
        self.memory = RecordCache(self.root, disk=False)

    # --- signatures -------------------------------------------------------------------------
    def _stamp(self, rel: str) -> Any:
        """The version of a record file as it was read (taken before reading, so an edit made
        meanwhile shows as a change next time rather than being missed)."""
        found = self._stamps.get(rel) or self.memory.stamps.get(rel)
        if found is None:
            try:
                st = os.stat(self.root / rel)
                found = (st.st_size, st.st_mtime_ns)
            except OSError:
                found = ()
            self._stamps[rel] = found
        return found

    def signature(self, value: Any, depth: int = 0) -> Any:
        """``value`` as plain, comparable data; a record stands for its file's version."""
        kind = type(value)
        if kind in _PLAIN:
            return value
        if kind is list or kind is tuple:
            if value and _RECORD_KINDS.issuperset(map(type, value)):   # thousands in a list:
                return ("records", tuple(map(_SERIAL, value)))          # one pass, in C
            if kind is tuple:      # often a record's own (sessions in date order): the same
                return self._composite(value, depth, lambda: value)     # object every save
            return tuple([self.signature(v, depth + 1) for v in value])
        if kind in _RECORD_KINDS:
            return ("record", value.serial)
        if kind is Facts:                     # a course's facts for the day: made once
            return self._composite(value, depth, lambda: (
                getattr(value, f.name) for f in dataclasses.fields(value)))
        if isinstance(value, BaseModel):
            private = value.__pydantic_private__ or {}
            path = private.get("_path")
            if path:         # from a file read on every load (impact.yml): a new object
                return ("record", path, private.get("_id"), self._stamp(path))
            return self._composite(value, depth, lambda: value.__dict__.values())
        if kind is dict:
            return tuple([(k, self.signature(v, depth + 1)) for k, v in value.items()])
        if isinstance(value, (str, int, float, bool, dt.date, dt.time)):
            return value
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            # a course's facts: the same object on its page, its strand's, the finder's
            return self._composite(value, depth, lambda: (
                getattr(value, f.name) for f in dataclasses.fields(value)))
        if depth > 6:
            return repr(value)
        if isinstance(value, dict):
            return tuple((k, self.signature(v, depth + 1)) for k, v in value.items())
        if isinstance(value, (list, tuple, set, frozenset)):
            items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
            return tuple(self.signature(v, depth + 1) for v in items)
        return repr(value)

    def _changes(self, recs) -> tuple[set[str], dict]:
        """The ids of the records (see _RECORD_KINDS) whose file changed, came or went since
        the last rendered update, and the records now (to keep once this update renders): the
        memory cache gives back the same record object while its file is unchanged, and a new
        one when it read the file again."""
        kept, now, changed = self._objects, {}, set()
        for kind in (recs.courses.values(), recs.sles.values(), recs.schools.values(),
                     recs.editions.values(), recs.pages.values(), recs.news,
                     recs.venues.values(), recs.board):
            for record in kind:
                key = (record.path, record.id)
                now[key] = record
                if kept.get(key) is not record:
                    changed.add(record.id)
        changed.update(record_id for (path, record_id) in kept.keys() - now.keys())
        return changed, now

    def _composite(self, value: Any, depth: int, parts) -> Any:
        """An object's signature from its parts, made once: kept with the object (so its id
        is not reused) while the object is still in use, across updates too. Records and
        what they hold are not changed once read (an edited file gives new objects)."""
        key = id(value)
        found = self._composites.get(key)
        if found is None or found[0] is not value:
            found = self._composites_before.get(key)
            if found is None or found[0] is not value:
                found = (value, (type(value).__name__,
                                 tuple(self.signature(v, depth + 1) for v in parts())))
            self._composites[key] = found
        return found[1]

    def _forget_changed(self, renderer: Renderer, changed: set[str]) -> None:
        """Drop the renderer's pieces (cards, list rows, memoised filters) of the courses and
        SLEs whose file changed, came or went since the last update (``changed``: their ids);
        keep the rest: a card shows its own course and the build's globals only (a change to
        those renders afresh)."""
        if not changed:
            return
        renderer._once = {key: piece for key, piece in renderer._once.items()
                          if not (len(key) > 1 and key[0] in _PER_RECORD and key[1] in changed)}
        renderer._memo = {key: kept for key, kept in renderer._memo.items()
                          if type(kept[0]) in _MEMOISED and kept[0].id not in changed}

    def _write_own_pages(self, recs, ix: site_pages.Index, changed: set[str], result: Update
                         ) -> set[str]:
        """Render and write the own pages of the saved courses and SLEs (at most FIRST of
        them, each already on the site: a new one waits for the whole update, which checks
        its address); the files written."""
        own = [site_pages.course_page(ix, recs.courses[i]) for i in changed if i in recs.courses]
        own += [site_pages.sle_page(ix, recs.sles[i]) for i in changed if i in recs.sles]
        own = [page for page in own if page.path in self._texts]
        if not own or len(own) > FIRST:
            return set()
        docs, written = self.folder / site_config.DOCS, set()
        for page in own:
            sig, text = self._page_text(page, result)
            self._signatures[page.path], self._texts[page.path] = sig, text
            if self._files.get(page.path) != text:
                _write(docs / page.path, text)
                self._files[page.path] = text
                written.add(page.path)
        return written

    def _page_text(self, page: site_pages.Page, result: Update) -> tuple[Any, str]:
        """(signature, Markdown) of a page: the last text while the signature is the same,
        else rendered again (counted in ``result``)."""
        sig = (page.template, self.signature(page.context))
        if self._signatures.get(page.path) == sig and page.path in self._texts:
            return sig, self._texts[page.path]
        result.rendered += 1
        return sig, self._renderer.render(page.template, dict(page.context, page=page,
                                                              root=page.root))

    def _templates_version(self) -> tuple:
        return tuple(sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size)
                            for p in TEMPLATES.rglob("*.j2")))

    # --- one update ---------------------------------------------------------------------------
    def update(self, first: Callable[[set[str]], None] | None = None) -> Update:
        """Reload the records; if they are valid, rewrite the pages that changed.

        ``first``, if given, is called with the Markdown files of the saved courses' and
        SLEs' own pages as soon as those are written, before the rest (the lists that show
        them, the feeds) is worked out: the preview shows the page being edited first, as
        Hugo's server renders the pages being viewed first."""
        started = time.perf_counter()
        self._stamps = {}
        self._composites_before, self._composites = self._composites, {}
        for shared in (IMPACT_FILE, PUBLISHED_FILE):     # read on every load: their stamps
            self._stamp(shared)                          # taken before reading, as the cache does
        recs, problems = records.load(self.root, memory=self.memory)
        result = Update(problems)
        if problems.errors:
            result.seconds = time.perf_counter() - started
            return result
        today = self.today or _today(recs)
        ix = site_pages.Index.of(recs, today)
        changed, objects = self._changes(recs)
        overall = (today, self.signature(recs.alliance), self.signature(recs.venues),
                   self.signature(recs.schools), self._templates_version(),
                   site_config.BASE_CONFIG.stat().st_mtime_ns, self.engine)
        if overall != self._globals or self._renderer is None:
            self._renderer, self._signatures, self._texts = Renderer(), {}, {}
            self._events, self._json = {}, {}
            self._urls = course_urls(recs, self._base_config())   # the alliance's site_url
            self._globals = overall
        renderer = self._renderer
        # the same globals as a full build; what a page shows of other records (counts, cards,
        # facts) is in its context, so its signature still says when it must be rendered again
        renderer.bind(recs, today, ix.offer, self._urls)
        self._forget_changed(renderer, changed)
        if first is not None and self._files is not None:
            own = self._write_own_pages(recs, ix, changed, result)
            if own:
                first(own)
        site = site_pages.site(recs, today, ix)
        problems.extend(site.problems.items)
        if site.problems.errors:
            result.seconds = time.perf_counter() - started
            return result
        # kept only once the pages are rendered: a change seen by an update that failed is
        # still a change to the next one (its cards and list rows made afresh)
        self._objects = objects
        base = self._base_config()
        texts, signatures = {}, {}
        for page in site.pages:
            signatures[page.path], texts[page.path] = self._page_text(page, result)
        self._signatures, self._texts = signatures, texts
        files: dict[str, str | bytes] = dict(texts)
        files.update(feeds.calendars(recs, today, course_url=self._urls,
                                     memo=self._events,
                                     token=_SERIAL))
        files[PROSPECTUS] = _placeholder()
        # the same extra files as a full build (pipeline.generate): the open data and the
        # alliance's colours
        files[opendata.COURSES_JSON] = opendata.courses_json_text(
            recs, site.offer, self._urls, self._json,
            token=_SERIAL)
        files[opendata.COURSES_SCHEMA] = opendata.schema_text()
        css = identity.identity_css(recs.alliance)
        if css:
            files[identity.IDENTITY_CSS] = css
        self._sync(files, {a.path: a.source for a in site.assets}, result)
        config = site_config.generated_config(recs, site.nav, site.not_in_nav, today, base=base,
                                              engine=self.engine)
        if config != self._config:           # dumping YAML costs a tenth of a second
            if self.engine == "zensical":
                site_config.zensical_overrides(self.folder, base)
            site_config.write_config(self.folder, config)
            self._config = config
        result.pages, result.ok = len(site.pages), True
        result.seconds = time.perf_counter() - started
        return result


FIRST = 20       # saved records whose own pages are shown first; more (a pull): all at once
_PLAIN = frozenset({str, int, float, bool, type(None), dt.date, dt.time})
# records kept by the memory cache: the same object while the file is unchanged (the cache
# reads a file again when its stamp, or for a file saved a moment ago its bytes, changed;
# records are never changed once read), so such a record's signature is its serial
# (Record.serial, one per object), and a list of thousands is made in C
_RECORD_KINDS = frozenset({Course, SLE, School, NewsItem, Edition, FreePage, Venue, Alliance,
                           BoardMember})
_SERIAL = operator.attrgetter("serial")
# the kinds of Renderer._once keys (kind, record id, root) that show one course or SLE
_PER_RECORD = {"card", "course_item", "past_item", "sle_card"}
_MEMOISED = (Course, SLE)          # what the renderer's memoised filters are asked about


_PLACEHOLDER: bytes | None = None


def _placeholder() -> bytes:
    global _PLACEHOLDER
    if _PLACEHOLDER is None:
        _PLACEHOLDER = placeholder_pdf(PREVIEW_PROSPECTUS)
    return _PLACEHOLDER


def _today(recs) -> dt.date:
    from .pipeline import today_for
    return today_for(recs.alliance)


def _write(path: Path, data: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
