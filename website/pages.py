"""Records → the list of pages: which pages exist, where, from which template, with what.

One function per page kind. Nothing here formats text or knows Markdown: a page is a path
(relative to the generated docs folder), a template name and a context. Paths of every kind of
page are in :class:`Paths`, so links and files never disagree.

The site, for an alliance of any size (5,000 courses stay quick to build and to browse):

    index.md                        home: aim, the six strands, next courses, news, join us
    courses/index.md                catalogue: per strand a count and the next few courses
    strands/<strand>.md             every upcoming course of one strand
    courses/<course>.md             one page per course, upcoming or past
    archive/index.md                past courses: per strand a count and the latest few
    archive/<strand>.md             every past course of one strand
    sles/index.md                   SLE directory: by specialism and by phase
    sles/specialism/<word>.md       every SLE with one specialism
    sles/phase/<word>.md            every SLE in one phase
    sles/<sle>.md                   one page per SLE
    schools.md                      member schools by phase, with their role
    board.md                        the Strategic Board
    news/index.md, news/<id>.md     news, newest first, and one page per story
    newsletters/index.md            the newsletter archive
    newsletters/<id>.md             one page per edition
    accessibility.md                the accessibility statement
    join.md                         join the mailing list: the form posting to the subscription service

Beside the pages (written by pipeline.generate, not from templates): the iCalendar feeds
(calendar/all.ics, calendar/<strand>.ics, calendar/courses/<course>.ics, see calendar.py) and
the printable prospectus (prospectus.pdf, see prospectus.py).
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from markupsafe import Markup

from records import STRANDS, Problems
from records.media import MediaError, image_file
from records.impact import PUBLISHED_FILE, shown_parts
from records.newsletter import courses_for, edition_audiences, news_for
from records.schema import SLE, Course
from records.tree import Records

from . import calendar as feeds
from .join import join_form

NEXT_ON_HOME = 6          # upcoming courses on the home page
NEWS_ON_HOME = 3          # latest stories on the home page
FEW_PER_STRAND = 5        # courses per strand on the catalogue and archive index pages
FEW_PER_GROUP = 12        # SLE names per specialism or phase on the directory page


class Paths:
    """Where each page lives, relative to the docs folder. Returns Markup: ids are
    [a-z0-9-] by validation, so a path is safe as a Markdown link target as it is."""

    home = Markup("index.md")
    catalogue = Markup("courses/index.md")
    archive = Markup("archive/index.md")
    sles = Markup("sles/index.md")
    schools = Markup("schools.md")
    board = Markup("board.md")
    news = Markup("news/index.md")
    newsletters = Markup("newsletters/index.md")
    accessibility = Markup("accessibility.md")
    join = Markup("join.md")
    impact = Markup("impact.md")
    prospectus = Markup("prospectus.pdf")
    all_feed = Markup(feeds.ALL_FEED)

    @staticmethod
    def strand_feed(strand: str) -> Markup:
        return Markup(feeds.strand_feed_path(strand))

    @staticmethod
    def course_feed(course_id: str) -> Markup:
        return Markup(feeds.course_feed_path(course_id))

    @staticmethod
    def course(course_id: str) -> Markup:
        return Markup(f"courses/{course_id}.md")

    @staticmethod
    def strand(strand: str) -> Markup:
        return Markup(f"strands/{strand}.md")

    @staticmethod
    def archive_strand(strand: str) -> Markup:
        return Markup(f"archive/{strand}.md")

    @staticmethod
    def sle(sle_id: str) -> Markup:
        return Markup(f"sles/{sle_id}.md")

    @staticmethod
    def specialism(word: str) -> Markup:
        return Markup(f"sles/specialism/{word}.md")

    @staticmethod
    def phase(word: str) -> Markup:
        return Markup(f"sles/phase/{word}.md")

    @staticmethod
    def story(news_id: str) -> Markup:
        return Markup(f"news/{news_id}.md")

    @staticmethod
    def edition(edition_id: str) -> Markup:
        return Markup(f"newsletters/{edition_id}.md")

    @staticmethod
    def media(photo: str) -> Markup:
        return Markup(f"media/{photo}")


@dataclass
class Page:
    path: str                    # relative to the docs folder, e.g. "courses/phonics.md"
    template: str                # a file in site_templates/site/
    context: dict[str, Any]
    source: str = ""             # the record file it shows, for messages ("" for listings)

    @property
    def root(self) -> Markup:
        """The way back to the docs folder from this page, e.g. '../'."""
        return Markup("../" * self.path.count("/"))


@dataclass
class Asset:
    """A file copied as it is into the docs folder (an SLE's photo)."""

    path: str
    source: Path


@dataclass
class Site:
    """Every page and asset of one build, with the nav of sections."""

    pages: list[Page] = field(default_factory=list)
    assets: list[Asset] = field(default_factory=list)
    nav: list[Any] = field(default_factory=list)
    not_in_nav: list[str] = field(default_factory=list)
    problems: Problems = field(default_factory=Problems)


# --- what several pages need, computed once ---------------------------------------------------

@dataclass
class Index:
    """Lookups computed once per build; every page function reads them."""

    records: Records
    today: dt.date
    upcoming: list[Course]
    past: list[Course]
    upcoming_by_strand: dict[str, list[Course]]
    past_by_strand: dict[str, list[Course]]
    by_facilitator: dict[str, list[Course]]
    sles_sorted: list[SLE]

    @classmethod
    def of(cls, records: Records, today: dt.date) -> "Index":
        upcoming, past = records.upcoming(today), records.past(today)
        upcoming_by_strand: dict[str, list[Course]] = {s: [] for s in STRANDS}
        past_by_strand: dict[str, list[Course]] = {s: [] for s in STRANDS}
        for course in upcoming:
            upcoming_by_strand[course.strand].append(course)
        for course in past:
            past_by_strand[course.strand].append(course)
        by_facilitator: dict[str, list[Course]] = defaultdict(list)
        for course in sorted(records.courses.values(), key=lambda c: (c.first_date, c.id)):
            for sle_id in dict.fromkeys(course.facilitators):
                by_facilitator[sle_id].append(course)
        return cls(records, today, upcoming, past, upcoming_by_strand, past_by_strand,
                   by_facilitator, sorted(records.sles.values(), key=person_key))


def person_key(person: Any) -> tuple[str, str]:
    """Directories sort people by surname, then by full name."""
    name = person.name.casefold()
    return (name.split()[-1], name)


# --- one function per page kind -------------------------------------------------------------

def home(ix: Index) -> list[Page]:
    live = [c for c in ix.upcoming if c.status != "cancelled"]
    strands = []
    for s, label in STRANDS.items():
        running = [c for c in ix.upcoming_by_strand[s] if c.status != "cancelled"]
        strands.append({"id": s, "label": label, "count": len(running),
                        "next": running[0] if running else None})
    return [Page(Paths.home, "home.md.j2", {
        "strands": strands, "next_courses": live[:NEXT_ON_HOME], "upcoming_count": len(ix.upcoming),
        "news": ix.records.news[:NEWS_ON_HOME],
        "subscribe": feeds.feed_url(ix.records, feeds.ALL_FEED, webcal=True)},
        "content/alliance.yml")]


def catalogue(ix: Index) -> list[Page]:
    groups = [{"id": s, "label": label, "courses": ix.upcoming_by_strand[s]}
              for s, label in STRANDS.items()]
    pages = [Page(Paths.catalogue, "catalogue.md.j2", {
        "groups": groups, "count": len(ix.upcoming), "few": FEW_PER_STRAND,
        "past_count": len(ix.past),
        "subscribe": feeds.feed_url(ix.records, feeds.ALL_FEED, webcal=True)})]
    for s, label in STRANDS.items():
        pages.append(Page(Paths.strand(s), "strand.md.j2", {
            "strand": s, "label": label, "courses": ix.upcoming_by_strand[s],
            "past_count": len(ix.past_by_strand[s]),
            "subscribe": feeds.feed_url(ix.records, feeds.strand_feed_path(s), webcal=True)}))
    return pages


def archive(ix: Index) -> list[Page]:
    groups = [{"id": s, "label": label, "courses": ix.past_by_strand[s]}
              for s, label in STRANDS.items()]
    pages = [Page(Paths.archive, "archive.md.j2", {
        "groups": groups, "count": len(ix.past), "few": FEW_PER_STRAND})]
    for s, label in STRANDS.items():
        if ix.past_by_strand[s]:
            pages.append(Page(Paths.archive_strand(s), "archive_strand.md.j2", {
                "strand": s, "label": label, "courses": ix.past_by_strand[s]}))
    return pages


def courses(ix: Index) -> list[Page]:
    pages = []
    for course in ix.records.courses.values():
        facilitators = [ix.records.sles[i] for i in dict.fromkeys(course.facilitators)
                        if i in ix.records.sles]
        sessions = course.dated_sessions
        venues = [v for v in dict.fromkeys(s.venue for s in sessions) if v in ix.records.venues]
        pages.append(Page(Paths.course(course.id), "course.md.j2", {
            "course": course, "sessions": sessions, "facilitators": facilitators,
            "venues": venues, "finished": not course.is_upcoming(ix.today)}, course.path))
    return pages


def _groups(sles: list[SLE], words: list[str], attribute: str) -> list[dict]:
    members: dict[str, list[SLE]] = {w: [] for w in words}
    for sle in sles:
        for word in dict.fromkeys(getattr(sle, attribute)):
            members.setdefault(word, []).append(sle)
    return [{"word": w, "sles": members[w]} for w in members if members[w]]


def sle_directory(ix: Index) -> list[Page]:
    vocab = ix.records.vocabulary
    by_specialism = _groups(ix.sles_sorted, vocab.specialisms, "specialisms")
    by_phase = _groups(ix.sles_sorted, vocab.phases, "phase")
    pages = [Page(Paths.sles, "sles.md.j2", {
        "by_specialism": by_specialism, "by_phase": by_phase, "count": len(ix.sles_sorted),
        "few": FEW_PER_GROUP})]
    for group in by_specialism:
        pages.append(Page(Paths.specialism(group["word"]), "sle_group.md.j2",
                          {"kind": "specialism", **group}))
    for group in by_phase:
        pages.append(Page(Paths.phase(group["word"]), "sle_group.md.j2",
                          {"kind": "phase", **group}))
    return pages


def sles(ix: Index) -> list[Page]:
    pages = []
    for sle in ix.sles_sorted:
        facilitated = ix.by_facilitator.get(sle.id, [])
        pages.append(Page(Paths.sle(sle.id), "sle.md.j2", {
            "sle": sle, "school": ix.records.schools.get(sle.school),
            "upcoming": [c for c in facilitated if c.is_upcoming(ix.today)],
            "past": [c for c in facilitated if not c.is_upcoming(ix.today)][::-1]}, sle.path))
    return pages


def schools(ix: Index) -> list[Page]:
    ordered = sorted(ix.records.schools.items(), key=lambda kv: (kv[1].name.casefold(), kv[0]))
    by_phase: dict[str, list] = {p: [] for p in ix.records.vocabulary.phases}
    for school_id, school in ordered:
        for phase in dict.fromkeys(school.phase):
            by_phase.setdefault(phase, []).append((school_id, school))
    groups = [{"phase": p, "schools": s} for p, s in by_phase.items() if s]
    return [Page(Paths.schools, "schools.md.j2", {"groups": groups, "count": len(ordered)})]


def board(ix: Index) -> list[Page]:
    return [Page(Paths.board, "board.md.j2", {"members": ix.records.board}, "content/board.yml")]


def news(ix: Index) -> list[Page]:
    pages = [Page(Paths.news, "news_index.md.j2", {"stories": ix.records.news})]
    for story in ix.records.news:
        pages.append(Page(Paths.story(story.id), "news.md.j2", {"story": story}, story.path))
    return pages


def newsletters(ix: Index) -> list[Page]:
    r = ix.records
    editions = list(r.editions.values())[::-1]                   # newest first
    pages = [Page(Paths.newsletters, "newsletters.md.j2", {"editions": editions})]
    for edition in editions:
        audiences = [{"audience": r.audiences[a], "courses": courses_for(r, edition, r.audiences[a])}
                     for a in edition_audiences(edition, r.audiences)]
        pages.append(Page(Paths.edition(edition.id), "newsletter.md.j2", {
            "edition": edition, "audiences": audiences, "news": news_for(r, edition)},
            edition.path))
    return pages


def accessibility(ix: Index) -> list[Page]:
    return [Page(Paths.accessibility, "accessibility.md.j2", {})]


def join(ix: Index) -> list[Page]:
    return [Page(Paths.join, "join.md.j2", {"form": join_form(ix.records)}, "content/alliance.yml")]


def impact(ix: Index) -> list[Page]:
    """"Our impact": only when figures were published and an editor still chooses some."""
    parts = shown_parts(ix.records.impact, ix.records.impact_published)
    if not parts:
        return []
    return [Page(Paths.impact, "impact.md.j2", {"published": ix.records.impact_published,
                                                 "parts": parts}, PUBLISHED_FILE)]


PAGE_KINDS: list[Callable[[Index], list[Page]]] = [
    home, catalogue, archive, courses, sle_directory, sles, schools, board, news, newsletters,
    accessibility, join, impact]


# --- the nav: sections only -------------------------------------------------------------------

def nav(records: Records | None = None) -> list[Any]:
    """Sections only. Record pages stay out of the nav: Material repeats the nav on every
    page, so listing thousands of pages in it makes the build quadratic."""
    news = [{"News and stories": str(Paths.news)}, {"Newsletters": str(Paths.newsletters)}]
    if records is not None and shown_parts(records.impact, records.impact_published):
        news.append({"Our impact": str(Paths.impact)})
    return [
        {"Home": str(Paths.home)},
        {"Courses": [{"All upcoming courses": str(Paths.catalogue)},
                     *({label: str(Paths.strand(s))} for s, label in STRANDS.items()),
                     {"Past courses": str(Paths.archive)}]},
        {"People and schools": [{"SLE directory": str(Paths.sles)},
                                {"Member schools": str(Paths.schools)},
                                {"Strategic Board": str(Paths.board)}]},
        {"News": news},
    ]


# gitignore-style patterns (MkDocs' not_in_nav) for the pages deliberately left out of the nav
NOT_IN_NAV = ["/courses/*.md", "/archive/*.md", "/sles/", "/news/*.md", "/newsletters/*.md",
              "/accessibility.md",       # linked from every page's footer
              "/join.md"]                # linked from the home page and the newsletter archive


def site(records: Records, today: dt.date) -> Site:
    """Every page of the site for ``records`` as of ``today``; path clashes are problems."""
    ix = Index.of(records, today)
    result = Site(nav=nav(records), not_in_nav=list(NOT_IN_NAV))
    seen: dict[str, Page] = {}
    for kind in PAGE_KINDS:
        for page in kind(ix):
            other = seen.get(page.path)
            if other is not None:
                culprit = page.source or other.source
                result.problems.error(culprit, 0, "", f"the website needs the address {page.path} "
                                      "for a page of its own; rename this file")
                continue
            seen[page.path] = page
            result.pages.append(page)
    for sle in ix.sles_sorted:
        if sle.photo:
            try:            # checked again here: only a checked picture is ever copied
                real = image_file(records.root / "content", sle.photo)
            except MediaError as err:
                result.problems.error(sle.path, 0, "photo", str(err))
                continue
            result.assets.append(Asset(str(Paths.media(sle.photo)), real))
    return result
