"""Cross-references and vocabularies, all in one place, with "did you mean".

Every reference from one record to another (a school, a venue, an SLE, an audience) and every
vocabulary word is checked here against the known ids, after all files are read.
"""
from __future__ import annotations

import re
from collections import defaultdict
from typing import Iterable, NamedTuple

from pathlib import Path, PurePosixPath

from .colours import AA_TEXT, WHITE, contrast
from .layout import slug
from .markdown import body_line, body_problems
from .media import MediaError, read_image
from .placeholders import is_placeholder
from .problems import Problems, did_you_mean
from .schema import (ID_RE, SLE, Alliance, Audience, BoardMember, Course, Edition, Record, School,
                     Session)
from .tree import Records, field_name, line_of, source_line

ONLINE = "online"


class _Checker:
    def __init__(self, records: Records, problems: Problems):
        self.r = records
        self.p = problems
        vocab = records.vocabulary
        self.words = {"roles": vocab.roles, "phases": vocab.phases, "specialisms": vocab.specialisms}
        self.word_sets = {kind: set(words) for kind, words in self.words.items()}
        # references are checked against the ids that exist in files, valid or not; None: the
        # shared file could not be read, its own problem is reported and nothing more is said
        ids = records.ids
        venues = ids.get("content/venues.yml", set(records.venues))
        self.venue_ids = None if venues is None else set(venues) | {ONLINE}
        self.school_ids = ids.get("content/schools", records.schools.keys())
        self.sle_ids = ids.get("content/sles", records.sles.keys())
        self.audience_ids = ids.get("content/audiences.yml", records.audiences.keys())
        self.names = {"venue": {v.name: k for k, v in records.venues.items()},
                      "school": {s.name: k for k, s in records.schools.items()}}

    def ref(self, record: Record, loc: tuple, value: str, known: Iterable[str] | None, what: str,
            path: str | None = None) -> None:
        if known is None or value in known:      # known: a dict or set, so this is a hash lookup
            return
        self.p.error(path or record.path, source_line(record, *loc), field_name(loc),
                     self._unknown(value, known, what))

    def _unknown(self, value: str, known: Iterable[str], what: str) -> str:
        if not ID_RE.match(value):         # a name, or an id typed with capitals or spaces
            named = self.names.get(what, {}).get(value) or slug(value)
            if named in known:
                return f"{value!r} is a name; write the {what}'s id: {named}"
            return f"unknown {what} {value!r}{did_you_mean(slug(value), known)}"
        return f"unknown {what} {value!r}{did_you_mean(value, known)}"

    def vocab(self, record: Record, field: str, values: list[str], kind: str, loc: tuple = ()) -> None:
        known = self.word_sets[kind]
        for i, value in enumerate(values):
            if value not in known:
                self.p.error(record.path, source_line(record, *loc, field, i), field_name(loc + (field,)),
                             self._unknown_word(value, kind))

    def _unknown_word(self, value: str, kind: str) -> str:
        words = self.words[kind]
        listing = f"the {kind} are: {', '.join(words)}"
        singular = {"roles": "role", "phases": "phase", "specialisms": "specialism"}[kind]
        if kind == "phases":
            hint = phase_hint(value, words)
            if hint:
                return f"{value!r} is not a phase; {hint}; {listing}"
        return f"unknown {singular} {value!r}{did_you_mean(slug(value), words)}; {listing}"


def phase_hint(value: str, phases: list[str]) -> str:
    """'Key Stage 2 is junior or primary' for the ways schools name their stages."""
    text = " ".join(value.lower().replace("-", " ").split())
    stage = re.fullmatch(r"(?:ks|key stage) ?([1-5])", text)
    year = re.fullmatch(r"(?:year|yr|y) ?(\d{1,2}|r)", text)
    if stage:
        label = f"Key Stage {stage.group(1)}"
        names = {"1": ["infant", "primary"], "2": ["junior", "primary"], "3": ["secondary"],
                 "4": ["secondary"], "5": ["post-16"]}[stage.group(1)]
    elif year:
        label = f"Year {year.group(1).upper()}"
        n = 0 if year.group(1) == "r" else int(year.group(1))
        names = (["infant", "primary"] if n <= 2 else ["junior", "primary"] if n <= 6
                 else ["secondary"] if n <= 11 else ["post-16"])
    elif text in ("eyfs", "early years", "reception", "nursery school", "pre school"):
        label, names = value, ["nursery", "infant"]
    elif text in ("sixth form", "6th form", "ks5", "a level", "college"):
        label, names = value, ["post-16"]
    else:
        return ""
    names = [name for name in names if name in phases]
    return f"{label} is {' or '.join(names)}" if names else ""


def check_tree(records: Records, problems: Problems) -> None:
    """Add every cross-reference, vocabulary and double-booking problem to ``problems``."""
    check_core(records, problems)
    double_bookings(check_documents(records, problems), problems)


def unfilled_placeholders(root: Path, records: Iterable[Record], problems: Problems) -> None:
    """A record from `build.py new` still holding its placeholder words: a warning each."""
    for record in records:
        for name in type(record).model_fields:
            value = getattr(record, name, None)
            if is_placeholder(name, value):
                line = (source_line(record, name) if name != "body"
                        else body_line(Path(root) / record.path, value))
                problems.warning(record.path, line, name,
                                 "still the placeholder that `build.py new` wrote; write your own "
                                 "words here before it is published")


def _of(records: Records, kind: type) -> list:
    """The incomplete records of one kind (field errors reported; references still checked)."""
    return [r for r in records.incomplete if isinstance(r, kind)]


def check_core(records: Records, problems: Problems) -> None:
    """The alliance, venues, schools, board and audiences."""
    c = _Checker(records, problems)
    r = records
    unfilled_placeholders(r.root, r.schools.values(), problems)
    for alliance in [r.alliance, *_of(r, Alliance)]:
        if alliance is not None and getattr(alliance, "lead_school", None):
            c.ref(alliance, ("lead_school",), alliance.lead_school, c.school_ids, "school")
    lead = r.schools.get(r.alliance.lead_school) if r.alliance is not None else None
    if lead is not None and lead.role != "teaching-school":
        problems.warning(lead.path, source_line(lead, "role"), "role",
                         "this is the alliance's lead school; its role should be teaching-school")
    if r.alliance is not None:
        _check_identity(r, problems)
    if ONLINE in r.venues:
        problems.error("content/venues.yml", source_line(r.venues[ONLINE]), ONLINE,
                       "'online' is reserved for online sessions; give this venue another id")
    for school in [*r.schools.values(), *_of(r, School)]:
        c.vocab(school, "phase", getattr(school, "phase", []), "phases")
    for member in [*r.board, *_of(r, BoardMember)]:
        if getattr(member, "school", None):
            c.ref(member, ("school",), member.school, c.school_ids, "school")
    _check_audiences(c)


def check_documents(records: Records, problems: Problems) -> list["Booking"]:
    """SLEs, courses, editions and news; returns the bookings for :func:`double_bookings`.

    Needs only ``records``' core files and id lists beside the documents it checks, so a big
    tree can be checked in parts (see records.check_fast).
    """
    c = _Checker(records, problems)
    r = records
    unfilled_placeholders(r.root, [*r.sles.values(), *r.courses.values(), *r.news, *r.editions.values(),
                           *r.pages.values()], problems)
    for sle in [*r.sles.values(), *_of(r, SLE)]:
        if getattr(sle, "school", None):
            c.ref(sle, ("school",), sle.school, c.school_ids, "school")
        c.vocab(sle, "specialisms", getattr(sle, "specialisms", []), "specialisms")
        c.vocab(sle, "phase", getattr(sle, "phase", []), "phases")
        photo = getattr(sle, "photo", None)
        if photo:
            _check_picture(sle, "photo", photo, r.root, problems)
    bookings = []
    for course in r.courses.values():
        _check_course(c, course)
        bookings += _bookings(course)
    for course in _of(r, Course):
        _check_course(c, course)
    for edition in [*r.editions.values(), *_of(r, Edition)]:
        for i, audience_id in enumerate(getattr(edition, "audiences", None) or []):
            c.ref(edition, ("audiences", i), audience_id, c.audience_ids, "audience")
    _check_news(records, problems)
    for kind in (r.sles.values(), r.courses.values(), r.editions.values(), r.news, r.pages.values()):
        body_problems(kind, r.root, problems)
    return bookings


def _check_picture(record: Record, field: str, rel: str, root: Any, problems: Problems) -> None:
    """A picture a record names (records.media: inside content/, no links, a real image)."""
    try:
        read_image(root / "content", rel)
    except MediaError as err:
        problems.error(record.path, source_line(record, field), field, str(err))


def _check_course(c: _Checker, course: Course) -> None:
    c.vocab(course, "audience", getattr(course, "audience", []), "roles")
    c.vocab(course, "phase", getattr(course, "phase", []), "phases")
    for i, session in enumerate(getattr(course, "sessions", [])):
        if getattr(session, "venue", None) is not None:     # a partial session may have none
            c.ref(course, ("sessions", i, "venue"), session.venue, c.venue_ids, "venue")
    for i, sle_id in enumerate(getattr(course, "facilitators", [])):
        c.ref(course, ("facilitators", i), sle_id, c.sle_ids, "SLE")


LOGO_SUFFIXES = {".svg", ".png", ".jpg", ".jpeg"}
PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".svg"}


def _check_identity(r: Records, problems: Problems) -> None:
    """The logo and photo are pictures under content/, checked by records.media (an SVG only
    if it can do nothing but draw); the colours carry white text (header, buttons) and stand
    as text on white pages (links): WCAG AA asks 4.5:1 of each."""
    a = r.alliance
    for name, suffixes, what in (("logo", LOGO_SUFFIXES, "an SVG, PNG or JPEG"),
                                 ("photo", PHOTO_SUFFIXES, "a JPEG, PNG, WebP or SVG picture")):
        value = getattr(a, name, None)
        if not value:
            continue
        line = source_line(a, name)
        if PurePosixPath(value).suffix.lower() not in suffixes:
            problems.error(a.path, line, name, f"{value!r} should be {what}")
            continue
        try:
            read_image(r.root / "content", value, svg=True)
        except MediaError as err:
            problems.error(a.path, line, name, str(err))
    if getattr(a, "colours", None) is not None:
        for name in ("primary", "accent"):
            colour = getattr(a.colours, name)
            if colour is None:
                continue
            ratio = contrast(colour, WHITE)
            if ratio < AA_TEXT:
                problems.error(a.path, source_line(a, "colours", name), f"colours.{name}",
                               f"{colour} has a contrast ratio of {ratio:.2f}:1 with white, below "
                               f"the {AA_TEXT}:1 that WCAG AA needs for text; choose a darker colour")


def _check_audiences(c: _Checker) -> None:
    audiences = c.r.audiences
    for audience in _of(c.r, Audience):
        c.vocab(audience, "roles", getattr(audience, "roles", []), "roles")
    for audience in audiences.values():
        c.vocab(audience, "roles", audience.roles, "roles")
        if not audience.roles and not audience.default:
            c.p.warning(audience.path, source_line(audience), audience.id,
                        "has no roles and is not the default: nobody will belong to it")
    defaults = [a for a in [*audiences.values(), *_of(c.r, Audience)] if getattr(a, "default", False)]
    if audiences and len(defaults) != 1:
        first = next(iter(audiences.values()))
        c.p.error(first.path, source_line(defaults[1] if defaults else first), "default",
                  f"exactly one audience must have `default: true`; {len(defaults)} do")


_NEWS_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})-[a-z0-9-]+$")


def _check_news(records: Records, problems: Problems) -> None:
    by_slug: dict[str, list[str]] = defaultdict(list)      # the same story under two dates
    for news_id in sorted(records.ids.get("content/news") or ()):
        match = _NEWS_NAME.match(news_id)
        by_slug[news_id[11:] if match else news_id].append(news_id)
    for item in records.news:
        same = by_slug.get(item.id[11:], [])
        if _NEWS_NAME.match(item.id) and len(same) > 1 and same[0] != item.id:
            problems.warning(item.path, source_line(item, "title"), "title",
                             f"the same story as content/news/{same[0]}.md; delete one of the "
                             "two files")
            continue
        match = _NEWS_NAME.match(item.id)
        if not match:
            problems.warning(item.path, 0, "", "news files are named YYYY-MM-DD-slug.md, "
                             f"e.g. {item.date.isoformat()}-{item.id}.md")
        elif match.group(1) != item.date.isoformat():
            problems.warning(item.path, source_line(item, "date"), "date",
                             f"{item.date.isoformat()} differs from the date in the file name, {match.group(1)}")


class Booking(NamedTuple):
    """One session of a live course, as much as the double-booking check needs (and cheap to
    send between processes: plain values and the two lines a clash is reported on)."""

    path: str
    index: int                       # the session's position in the file, from 0
    date: str                        # ISO dates and times (fixed width, so they compare as
    start: str                       # the times do): cheaper to cache and send than objects
    end: str
    times: str                       # "13:30-16:00" or "all day", for the message
    venue: str
    facilitators: tuple[str, ...]
    venue_line: int                  # where a venue clash is reported
    facilitators_line: int           # where an SLE clash is reported
    title: str                       # casefolded: to tell a copy left unchanged from a clash
    title_line: int


def _bookings(course: Course) -> list[Booking]:
    if course.status == "cancelled":
        return []
    facilitators = tuple(sorted(set(course.facilitators)))
    source = course._source
    sle_line = line_of(source, ("facilitators",), 1) if facilitators else 1
    title, title_line = course.title.casefold(), line_of(source, ("title",), 1)
    bookings = []
    for i, s in enumerate(course.sessions):
        start, end = s.span()
        bookings.append(Booking(course.path, i, s.date.isoformat(), start.isoformat("microseconds"),
                                end.isoformat("microseconds"), _times(s), s.venue, facilitators,
                                line_of(source, ("sessions", i, "venue"), 1), sle_line,
                                title, title_line))
    return bookings


def _copies(bookings: list[Booking], problems: Problems) -> set[str]:
    """A course file copied and not yet changed (same title, same sessions): one warning, and
    its sessions are not also reported as double bookings. Returns the copies' paths."""
    by_path: dict[str, list[Booking]] = {}
    for b in bookings:
        by_path.setdefault(b.path, []).append(b)
    first: dict[tuple, str] = {}
    copies = set()
    for path in sorted(by_path, key=lambda p: (len(p), p)):      # a copy's name is longer
        items = by_path[path]
        key = (items[0].title, tuple(sorted((b.date, b.start, b.end, b.venue) for b in items)))
        original = first.setdefault(key, path)
        if original != path:
            copies.add(path)
            problems.warning(path, items[0].title_line, "title",
                             f"the same title and dates as {original}: a copy not yet changed? "
                             "Change it, or delete the file")
    return copies


def double_bookings(bookings: list[Booking], problems: Problems) -> None:
    """Two live sessions in one venue, or one SLE in two sessions, at overlapping times."""
    copies = _copies(bookings, problems)
    by_venue: dict[tuple, list[Booking]] = defaultdict(list)
    by_sle: dict[tuple, list[Booking]] = defaultdict(list)
    for b in bookings:
        if copies and b.path in copies:
            continue
        if b.venue != ONLINE:
            by_venue[(b.venue, b.date)].append(b)
        for sle_id in b.facilitators:
            by_sle[(sle_id, b.date)].append(b)
    for (venue, day), items in by_venue.items():
        if len(items) < 2:                   # most days in most venues: nothing to compare
            continue
        for b1, b2 in _clashes(items):
            problems.warning(b1.path, b1.venue_line,
                             f"sessions[{b1.index + 1}]",
                             f"double booking: {venue} on {day} {b1.times} clashes with "
                             f"{b2.path} session {b2.index + 1} ({b2.times})")
    for (sle_id, day), items in by_sle.items():
        if len(items) < 2:
            continue
        for b1, b2 in _clashes(items):
            problems.warning(b1.path, b1.facilitators_line, "facilitators",
                             f"double booking: SLE {sle_id} facilitates session {b1.index + 1} on {day} "
                             f"{b1.times} and {b2.path} session {b2.index + 1} ({b2.times})")


def _clashes(items: list[Booking]):
    """Pairs of bookings of different courses whose times overlap, the first in file order:
    a sweep over the bookings sorted by start, so a busy venue costs n log n, not n²."""
    if len(items) < 2:                       # most days in most venues: nothing to compare
        return
    items = sorted(items, key=lambda b: (b.start, b.path, b.index))
    for i, b1 in enumerate(items):
        for b2 in items[i + 1:]:
            if b2.start >= b1.end:
                break
            if b1.path != b2.path and b1.start < b2.end:
                yield (b1, b2) if (b1.path, b1.index) < (b2.path, b2.index) else (b2, b1)


def _times(session: Session) -> str:
    if session.start is None:
        return "all day"
    return f"{session.start:%H:%M}-{session.end:%H:%M}"
