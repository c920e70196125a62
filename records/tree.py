"""The whole alliance: every record file read, validated field by field, held in one place.

``load_tree(root)`` reads ``root/content`` and ``root/courses`` and returns the records that
are valid plus every problem found; cross-references are checked afterwards by check.py.
"""
from __future__ import annotations

import datetime as dt
import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from pydantic import BaseModel, ValidationError

from .files import Document, LineDict, LineList, read_markdown, read_yaml
from .markdown import body_warnings
from .layout import LINK_MESSAGE, empty_message, misplaced, record_files
from .partial import partial_record
from .impact import IMPACT_FILE, PUBLISHED_FILE, ImpactChoice, PublishedImpact
from .cache import RecordCache, file_bytes, racy, stamp
from .problems import Problems, did_you_mean
from .schema import (ID_RE, SLE, Alliance, Audience, BoardMember, Course, Edition, FreePage,
                     NewsItem, Record, School, Venue, Vocabulary)


@dataclass
class Records:
    root: Path
    alliance: Alliance | None = None
    venues: dict[str, Venue] = field(default_factory=dict)
    schools: dict[str, School] = field(default_factory=dict)
    board: list[BoardMember] = field(default_factory=list)
    sles: dict[str, SLE] = field(default_factory=dict)
    courses: dict[str, Course] = field(default_factory=dict)
    news: list[NewsItem] = field(default_factory=list)          # newest first
    audiences: dict[str, Audience] = field(default_factory=dict)  # in file order: order matters
    editions: dict[str, Edition] = field(default_factory=dict)   # oldest first
    pages: dict[str, FreePage] = field(default_factory=dict)     # editors' free pages, by id
    impact: ImpactChoice | None = None                            # content/impact.yml (impact.py)
    impact_published: PublishedImpact | None = None               # content/impact-published.yml
    # folder -> ids of every well-named record file in it, valid or not: references are checked
    # against these, so one broken SLE file does not also make every course naming it "unknown"
    # (a shared file that cannot be read at all maps to None: references to it go unchecked,
    # its own problem being reported once)
    ids: dict[str, set[str] | None] = field(default_factory=dict)
    # records with field errors, holding only their valid fields: cross-checked all the same,
    # so one run reports every problem of a file; never published
    incomplete: list[Record] = field(default_factory=list)

    # --- questions both halves ask ------------------------------------------------------
    def upcoming(self, today: dt.date) -> list[Course]:
        """Courses whose last session is today or later, soonest first."""
        return sorted((c for c in self.courses.values() if c.is_upcoming(today)),
                      key=lambda c: (c.first_date, c.title.lower(), c.id))

    def past(self, today: dt.date) -> list[Course]:
        """Courses whose last session is before today, most recent first."""
        done = [c for c in self.courses.values() if not c.is_upcoming(today)]
        return sorted(done, key=lambda c: (c.last_date, c.id), reverse=True)

    def facilitated_by(self, sle_id: str) -> list[Course]:
        return sorted((c for c in self.courses.values() if sle_id in c.facilitators),
                      key=lambda c: (c.first_date, c.id))

    def with_sessions_between(self, start: dt.date, end: dt.date) -> list[Course]:
        """Courses with a session from ``start`` to ``end`` (inclusive), by their first session
        in that time (then in file order). Asked for every newsletter edition and audience, so
        the courses are indexed by session day once (after loading: the index is not updated
        if courses are added later)."""
        by_day = self.__dict__.get("_by_day")
        if by_day is None:
            by_day = {}
            for course in self.courses.values():
                for day in {s.date for s in course.sessions}:
                    by_day.setdefault(day, []).append(course)
            self.__dict__["_by_day"] = by_day
        found: dict[str, Course] = {}
        day = start
        while day <= end:
            for course in by_day.get(day, ()):
                found[course.id] = course
            day += dt.timedelta(days=1)
        return list(found.values())

    def previous_edition(self, edition_id: str) -> Edition | None:
        ordered = list(self.editions.values())
        index = [e.id for e in ordered].index(edition_id)
        return ordered[index - 1] if index > 0 else None

    @property
    def vocabulary(self) -> Vocabulary:
        return self.alliance.vocabulary if self.alliance else Vocabulary()


# --- locating a field's line --------------------------------------------------------------

def line_of(data: Any, loc: Iterable, default: int = 0) -> int:
    """The line of the deepest key of ``loc`` found in the parsed YAML (LineDict/LineList)."""
    line = getattr(data, "line", default) or default
    for key in loc:
        if isinstance(data, LineDict) and key in data:
            line, data = data.lines.get(key, line), data[key]
        elif isinstance(data, LineList) and isinstance(key, int) and 0 <= key < len(data):
            line, data = data.lines[key], data[key]
        else:
            break
    return line


def field_name(loc: Iterable) -> str:
    """('sessions', 1, 'venue') -> 'sessions[2].venue' (counted from 1, as editors count)."""
    name = ""
    for key in loc:
        name += f"[{key + 1}]" if isinstance(key, int) else (f".{key}" if name else str(key))
    return name


_MESSAGES = {
    "missing": "is required",
    "list_type": "should be a list",
    "model_type": "should be a group of fields (name: value) on the lines below it",
    "model_attributes_type": "should be a group of fields (name: value) on the lines below it",
    "dict_type": "should be a group of fields (name: value) on the lines below it",
    "bool_type": "should be true or false",
    "bool_parsing": "should be true or false",
    "int_type": "should be a whole number",
    "int_parsing": "should be a whole number",
    "string_type": "should be text",
}


def _message(error: dict) -> str:
    if error["type"] in ("value_error", "assertion_error"):
        return str(error["ctx"]["error"])
    return _MESSAGES.get(error["type"], error["msg"])


def _validate(model: type[Record], data: Any, *, path: str, line: int, loc_prefix: tuple,
              source: Any, problems: Problems, extra: dict | None = None,
              incomplete: list | None = None) -> Record | None:
    """Validate one record; every field error becomes a Problem with its line. A record with
    field errors is also checked for unknown fields and, through ``incomplete``, references."""
    if not isinstance(data, dict):
        problems.error(path, line, field_name(loc_prefix),
                       "should be a group of fields (name: value), one per line")
        return None
    try:
        record = model.model_validate({**data, **(extra or {})})
    except ValidationError as err:
        failed = set()
        for error in err.errors(include_url=False):
            loc = loc_prefix + tuple(error["loc"])
            failed.add(error["loc"][0] if error["loc"] else None)
            problems.error(path, line_of(source, loc, line), field_name(loc), _message(error))
        _warn_unknown(model, data, path, loc_prefix, source, problems)
        if incomplete is not None:
            incomplete.append(partial_record(model, {**data, **(extra or {})}, failed))
        return None
    _warn_unknown(model, data, path, loc_prefix, source, problems)
    return record


def _nested_models(model: type[BaseModel]) -> dict[str, type[BaseModel]]:
    """Field name -> the model of its value (or of each item of its list), for nested groups."""
    nested = {}
    for name, info in model.model_fields.items():
        for candidate in (info.annotation, *getattr(info.annotation, "__args__", ())):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                nested[name] = candidate
    return nested


def _warn_unknown(model: type[BaseModel], data: Any, path: str, loc: tuple, source: Any,
                  problems: Problems) -> None:
    """Unknown fields are warnings (errors under --strict), with the nearest known field."""
    known = model.model_fields
    for name in data.keys() - known.keys():
        suggestion = did_you_mean(name, [k for k in known if k != "body"])
        problems.warning(path, line_of(source, loc + (name,)), field_name(loc + (name,)),
                         f"unknown field{suggestion}")
    if model not in _NESTED:
        _NESTED[model] = _nested_models(model)
    for name, sub in _NESTED[model].items():
        value = data.get(name)
        if isinstance(value, dict):
            _warn_unknown(sub, value, path, loc + (name,), source, problems)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    _warn_unknown(sub, item, path, loc + (name, i), source, problems)


_NESTED: dict[type, dict[str, type[BaseModel]]] = {}


def _keep(record: Record | None, record_id: str, path: str, source: Any) -> Any:
    if record is not None:
        record._id, record._path, record._source = record_id, path, source
    return record


def source_line(record: Record, *loc) -> int:
    return line_of(record._source, loc, 1)


# --- one reader per kind of file ------------------------------------------------------------

def _rel(root: Path, file: str | Path) -> str:
    base, path = _prefix(str(root)), str(file)
    if os.sep == "/" and path.startswith(base):      # thousands of files a load
        return path[len(base):]
    return Path(file).relative_to(root).as_posix()


@functools.lru_cache(maxsize=8)
def _prefix(root: str) -> str:
    return root.rstrip("/") + "/"


def _check_one(model: type[Record], data: Any, record_id: str, path: str, line: int, loc: tuple,
               source: Any, problems: Problems, incomplete: list, extra: dict | None = None
               ) -> Record | None:
    """Validate a record and keep its id and source; one with field errors goes, with its valid
    fields only, to ``incomplete`` so that its references are checked too. ``source`` holds
    the lines of ``loc``; an entry of a shared file keeps its own part of it."""
    found: list = []
    record = _validate(model, data, path=path, line=line, loc_prefix=loc, source=source,
                       problems=problems, extra=extra, incomplete=found)
    own = data if loc else source
    for partial in found:
        incomplete.append(_keep(partial, record_id, path, own))
    return _keep(record, record_id, path, own)


def _markdown_record(root: Path, model: type[Record], record_id: str, file: str,
                     body_required: bool) -> tuple[Record | None, list, list]:
    """Read and validate one Markdown record: (the record or None, its own problems, its
    incomplete records: the fields that were valid, for cross-checks)."""
    problems, incomplete = Problems(), []
    doc: Document = read_markdown(file, _rel(root, file), problems)
    if doc.data is None:
        return None, problems.items, incomplete
    no_body = body_required and not (doc.body or "").strip()
    if no_body:       # reported here, where the body is; the fields are checked all the same
        problems.error(doc.path, doc.body_line, "body",
                       "the text after the '---' line is empty; write a description")
    record = _check_one(model, doc.data, record_id, doc.path, 1, (), doc.source, problems,
                        incomplete, extra={"body": "-" if no_body else doc.body})
    if record is not None and no_body:
        incomplete.append(record)
        record = None
    if record is not None:          # kept with the record, so the parse cache keeps it too
        record.__pydantic_private__["_body_warnings"] = body_warnings(
            file, getattr(record, "body", None), doc.text)
    return record, problems.items, incomplete


def _cached(cache: RecordCache | None, root: Path, file: str | Path, read, rel: str | None = None
            ) -> tuple[Any, list, list]:
    """``read()``'s outcome for ``file`` (``rel``: its path from ``root``, if known), from
    the cache while the file is unchanged."""
    if cache is None:
        return read()
    rel, when = rel or _rel(root, file), stamp(file)
    outcome = cache.get(rel, when) if when is not None else None
    return _read_into(cache, file, rel, when, read) if outcome is None else outcome


def _read_into(cache: RecordCache, file: str | Path, rel: str, when: tuple | None, read
               ) -> tuple[Any, list, list]:
    """``read()``'s outcome for a file the cache has no outcome of, kept in the cache."""
    content = file_bytes(file) if when is not None and racy(when) else None   # before reading
    outcome = read()
    if when is not None:
        cache.put(rel, when, outcome, content)
    return outcome


def _read_markdown_files(root: Path, model: type[Record], items: list[tuple[str, str]],
                         cache: RecordCache | None = None, folder: str | None = None
                         ) -> tuple[dict[str, Record], list, list]:
    """Read and validate some Markdown records of ``folder`` (relative to ``root``): (valid
    records, problems, incomplete records)."""
    problems: list = []
    out, incomplete = {}, []
    body_field = model.model_fields.get("body")
    body_required = body_field is not None and body_field.is_required()
    # layout.record_files named each file: its id and .md (no path arithmetic per file)
    rels = [f"{folder}/{record_id}.md" if folder else _rel(root, file) for record_id, file in items]
    found = [(None, None)] * len(items) if cache is None else \
        cache.look_up([(rel, file) for rel, (_, file) in zip(rels, items)])
    for (record_id, file), rel, (when, outcome) in zip(items, rels, found):
        if outcome is None:
            read = functools.partial(_markdown_record, root, model, record_id, file,
                                     body_required)
            outcome = read() if cache is None else _read_into(cache, file, rel, when, read)
        record, found, partial = outcome
        problems += found
        incomplete += partial
        if record is not None:
            out[record_id] = record
    return out, problems, incomplete


def _yaml_mapping(root: Path, rel: str, problems: Problems, *, required: bool) -> Document | None:
    """A shared YAML file's fields; None (with one problem) if missing, empty or unreadable."""
    file = root / rel
    if file.is_symlink():
        problems.error(rel, 0, "", LINK_MESSAGE)
        return None
    if not file.exists():
        if required:
            problems.error(rel, 0, "", "this file is missing; every alliance needs one")
        return None
    before = len(problems.errors)
    doc = read_yaml(file, rel, problems)
    if doc.data is None and len(problems.errors) == before:
        problems.error(rel, 1, "", empty_message(rel))
    return doc if doc.data is not None else None


def _keyed(root: Path, rel: str, model: type[Record], problems: Problems, incomplete: list
           ) -> tuple[dict[str, Record], set[str] | None]:
    """A file of records keyed by id (venues.yml, audiences.yml), in file order, and the ids
    it holds, valid or not (None when the file cannot be read: nothing can be said)."""
    doc = _yaml_mapping(root, rel, problems, required=False)
    if doc is None:
        return {}, (None if (root / rel).exists() else set())
    if not isinstance(doc.data, dict):
        problems.error(rel, 1, "", "should list records by id, e.g. `centre:` then its fields indented")
        return {}, None
    out = {}
    for key, data in doc.data.items():
        line = doc.data.lines.get(key, 1)
        if not ID_RE.match(str(key)):
            problems.error(rel, line, str(key), "is not a valid id: use lower-case letters, digits and hyphens")
            continue
        record = _check_one(model, data, key, rel, line, (key,), doc.data, problems, incomplete)
        if record is not None:
            out[key] = record
    return out, {str(key) for key in doc.data}


def _keyed_cached(cache: RecordCache | None, root: Path, rel: str, model: type[Record],
                  problems: Problems, incomplete: list) -> tuple[dict[str, Record], set[str] | None]:
    """:func:`_keyed` through the parse cache: a region's venues.yml holds hundreds of venues,
    validated again only when the file changed (a re-check after one course's edit)."""
    file = root / rel
    if cache is None or file.is_symlink():
        return _keyed(root, rel, model, problems, incomplete)

    def read() -> tuple:
        found, partial = Problems(), []
        out, ids = _keyed(root, rel, model, found, partial)
        return out, ids, found.items, partial
    out, ids, found, partial = _cached(cache, root, file, read)
    problems.extend(found)
    incomplete.extend(partial)
    return out, ids


def _file_cached(cache: RecordCache | None, root: Path, rel: str, read_into, problems: Problems,
                 incomplete: list) -> Any:
    """``read_into(root, problems, incomplete)`` for one shared file, through the parse cache
    while the file is unchanged: a re-check after one course's edit skips reading and
    validating alliance.yml and board.yml (and building their validators)."""
    file = root / rel
    if cache is None or file.is_symlink() or not file.is_file():
        return read_into(root, problems, incomplete)

    def read() -> tuple:
        found, partial = Problems(), []
        return read_into(root, found, partial), found.items, partial
    value, found, partial = _cached(cache, root, file, read, rel)
    problems.extend(found)
    incomplete.extend(partial)
    return value


def _board(root: Path, problems: Problems, incomplete: list) -> list[BoardMember]:
    rel = "content/board.yml"
    doc = _yaml_mapping(root, rel, problems, required=False)
    if doc is None:
        return []
    if not isinstance(doc.data, list):
        problems.error(rel, 1, "", "should be a list: each member starts with '- name: ...'")
        return []
    members = []
    for i, data in enumerate(doc.data):
        record = _check_one(BoardMember, data, str(i + 1), rel, doc.data.lines[i], (i,), doc.data,
                            problems, incomplete)
        if record is not None:
            members.append(record)
    return members


def _school(root: Path, school_id: str, file: str) -> tuple[School | None, list, list]:
    problems, incomplete = Problems(), []
    doc = read_yaml(file, _rel(root, file), problems)
    if doc.data is None:
        if not problems.errors:
            problems.error(doc.path, 1, "", empty_message(doc.path))
        return None, problems.items, incomplete
    record = _check_one(School, doc.data, school_id, doc.path, 1, (), doc.data, problems,
                        incomplete)
    return record, problems.items, incomplete


def _schools(root: Path, problems: Problems, incomplete: list,
             cache: RecordCache | None = None) -> tuple[dict[str, School], set[str]]:
    """The valid schools, and the id of every school file (valid or not)."""
    out = {}
    files = record_files(root, "content/schools", ".yml", problems)
    for school_id, file in files:
        record, found, partial = _cached(cache, root, file, lambda: _school(root, school_id, file))
        problems.extend(found)
        incomplete.extend(partial)
        if record is not None:
            out[school_id] = record
    return out, {school_id for school_id, _ in files}


def _single(root: Path, rel: str, model: type[Record], problems: Problems,
            incomplete: list | None = None) -> Record | None:
    """An optional file holding one record (content/impact.yml and its generated partner)."""
    incomplete = [] if incomplete is None else incomplete
    doc = _yaml_mapping(root, rel, problems, required=False)
    if doc is None:
        return None
    return _check_one(model, doc.data, Path(rel).stem, doc.path, 1, (), doc.data, problems,
                      incomplete)


def _alliance(root: Path, problems: Problems, incomplete: list) -> Alliance | None:
    doc = _yaml_mapping(root, "content/alliance.yml", problems, required=True)
    if doc is None:
        return None
    return _check_one(Alliance, doc.data, "alliance", doc.path, 1, (), doc.data, problems, incomplete)


MARKDOWN_KINDS: dict[str, type[Record]] = {
    "content/news": NewsItem, "content/newsletters": Edition, "content/sles": SLE, "courses": Course,
    "content/pages": FreePage}


def markdown_files(root: Path, problems: Problems) -> dict[str, list[tuple[str, str]]]:
    """folder -> (id, file) of every Markdown record, listed without reading them."""
    return {folder: record_files(root, folder, ".md", problems) for folder in MARKDOWN_KINDS}


def load_core(root: Path, problems: Problems, *, cache: bool = True,
              memory: RecordCache | None = None) -> Records:
    """The small files every check needs first: alliance, venues, schools, board, audiences.
    School files, venues.yml and audiences.yml go through the parse cache (``cache``, or
    ``memory`` if given); the other shared files are read."""
    renamed = misplaced(root, problems)
    incomplete: list[Record] = []
    school_cache = memory or (RecordCache(root, "schools", shards=1) if cache else None)
    schools, school_ids = _schools(root, problems, incomplete, school_cache)
    venues, venue_ids = _keyed_cached(school_cache, root, "content/venues.yml", Venue, problems,
                                      incomplete)
    audiences, audience_ids = _keyed_cached(school_cache, root, "content/audiences.yml", Audience,
                                            problems, incomplete)
    ids = {"content/schools": school_ids, "content/venues.yml": venue_ids,
           "content/audiences.yml": audience_ids}
    for rel in renamed:                 # e.g. only venues.yaml: its error is reported, once
        ids[rel] = None
    alliance = _file_cached(school_cache, root, "content/alliance.yml", _alliance, problems,
                            incomplete)
    board = _file_cached(school_cache, root, "content/board.yml", _board, problems, incomplete)
    if school_cache is not None:
        school_cache.save()
    return Records(root=root, alliance=alliance, venues=venues,
                   schools=schools, board=board, audiences=audiences,
                   ids=ids, incomplete=incomplete,
                   impact=_single(root, IMPACT_FILE, ImpactChoice, problems, incomplete),
                   impact_published=_single(root, PUBLISHED_FILE, PublishedImpact, problems,
                                            incomplete))


def add_documents(records: Records, files: dict[str, list[tuple[str, str]]], problems: Problems,
                  cache: RecordCache | None = None) -> None:
    """Read and validate the given Markdown records into ``records`` (through ``cache``)."""
    found = {}
    for folder, model in MARKDOWN_KINDS.items():
        found[folder], folder_problems, incomplete = _read_markdown_files(
            records.root, model, files.get(folder, []), cache, folder)
        problems.extend(folder_problems)
        records.incomplete.extend(incomplete)
    records.sles.update(found["content/sles"])
    records.courses.update(found["courses"])
    records.pages.update(found["content/pages"])
    records.news = sorted([*records.news, *found["content/news"].values()],
                          key=lambda n: (n.date, n.id), reverse=True)
    editions = {**records.editions, **found["content/newsletters"]}
    records.editions = dict(sorted(editions.items(), key=lambda kv: (kv[1].date, kv[0])))


def load_tree(root: Path | str, *, cache: bool = True, memory: RecordCache | None = None
              ) -> tuple[Records, Problems]:
    """Read and validate every record under root; never stops at the first problem.
    ``cache``: reuse unchanged record files' outcomes (schools, Markdown records) from
    ``root/.cache`` (see cache.py): unpickling 5,000 courses takes a tenth of reading them;
    ``memory``: a cache of every record file's outcome kept by the caller (the preview)."""
    root = Path(root)
    problems = Problems()
    if not (root / "content").is_dir():
        problems.error("content", 0, "", f"no content/ folder in {root}; is this an alliance's folder?")
        return Records(root), problems
    files = markdown_files(root, problems)
    records = load_core(root, problems, cache=cache, memory=memory)
    records.ids.update({folder: {record_id for record_id, _ in items} for folder, items in files.items()})
    documents = memory or (RecordCache(root, "documents") if cache else None)
    add_documents(records, files, problems, documents)
    if documents is not None:
        documents.save()
    return records, problems
