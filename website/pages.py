"""Records → the list of pages: which pages exist, where, from which template, with what.

One function per page kind. Nothing here formats text or knows Markdown: a page is a path
(relative to the generated docs folder), a template name and a context. Paths of every kind of
page are in :class:`Paths`, so links and files never disagree.

The site, for an alliance of any size (5,000 courses stay quick to build and to browse):

    index.md                        home: aim, the six strands, next courses, news, join us
    courses/index.md                the course finder: every upcoming course as a card, filters
    strands/<strand>.md             every upcoming course of one strand, as cards
    courses/<course>.md             one page per course, upcoming or past
    archive/index.md                past courses: per strand a count and the latest few
    archive/<strand>.md             every past course of one strand
    sles/index.md                   SLE directory: every SLE as a card, filters
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
    impact.md                       "Our impact", when published figures are chosen (records/impact.py)
    <page>.md                       an editor's free page (content/pages/<page>.md)

Beside the pages (written by pipeline.generate, not from templates): the iCalendar feeds
(calendar/all.ics, calendar/<strand>.ics, calendar/courses/<course>.ics, see calendar.py),
the printable prospectus (prospectus.pdf, see prospectus.py), the open data (courses.json and
its JSON Schema, see opendata.py) and the alliance's colours (identity.py).
"""
from __future__ import annotations

import datetime as dt
import functools
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from markupsafe import Markup

from records import STRANDS, Problems
from records.media import MediaError, image_file
from records.impact import PUBLISHED_FILE, shown_parts
from records.newsletter import courses_for, edition_audiences, news_for
from records.offer import Offer
from records.schema import SLE, Course
from records.tree import Records

from . import calendar as feeds
from .join import join_form
from .nav import NOT_IN_NAV, free_pages_in, nav
from .paths import Paths

NEXT_ON_HOME = 6          # upcoming courses on the home page
NEWS_ON_HOME = 3          # latest stories on the home page
FEW_PER_STRAND = 5        # courses per strand on the catalogue and archive index pages
FINDER_FIRST = 200        # cards in the finder's own HTML; beyond that the rest load after it


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
    offer: Offer | None = None


# --- what several pages need, computed once ---------------------------------------------------

@dataclass
class Index:
    """Lookups made once per build, each when first asked for: every page function reads
    them (the preview's first page after a save, a course's, needs only the offer)."""

    records: Records
    today: dt.date
    offer: Offer

    @classmethod
    def of(cls, records: Records, today: dt.date) -> "Index":
        return cls(records, today, Offer.of(records.courses.values(), today))

    @functools.cached_property
    def past(self) -> list[Course]:
        return self.records.past(self.today)

    @functools.cached_property
    def past_by_strand(self) -> dict[str, list[Course]]:
        found: dict[str, list[Course]] = {s: [] for s in STRANDS}
        for course in self.past:
            found[course.strand].append(course)
        return found

    @functools.cached_property
    def by_facilitator(self) -> dict[str, list[Course]]:
        found: dict[str, list[Course]] = defaultdict(list)
        for course in sorted(self.records.courses.values(), key=lambda c: (c.first_date, c.id)):
            for sle_id in dict.fromkeys(course.facilitators):
                found[sle_id].append(course)
        return found

    @functools.cached_property
    def sles_sorted(self) -> list[SLE]:
        return sorted(self.records.sles.values(), key=person_key)

    @functools.cached_property
    def on_offer(self) -> set[str]:
        """The ids of the courses on offer (not cancelled)."""
        return {c.id for c in self.offer.courses}


def person_key(person: Any) -> tuple[str, str]:
    """Directories sort people by surname, then by full name."""
    name = person.name.casefold()
    return (name.split()[-1], name)


# --- one function per page kind -------------------------------------------------------------

def _route(records: Records, section: str, fallback: str) -> str:
    """Where a home page route leads: the first free page of its section, else ``fallback``."""
    chosen = free_pages_in(records, section)
    return str(Paths.free_page(chosen[0].id)) if chosen else fallback


def _route_summary(records: Records, section: str) -> str:
    """The route's words on the home page: its free page's summary, in the alliance's words."""
    chosen = free_pages_in(records, section)
    return (chosen[0].summary or "") if chosen else ""


def home(ix: Index) -> list[Page]:
    offer, r = ix.offer, ix.records
    # What's next: courses someone could still join (not cancelled, not closed once under way)
    live = [c for c in offer.courses if not offer.facts[c.id].cancelled
            and (not offer.facts[c.id].started or offer.facts[c.id].bookable)]
    counted = Counter(w for c in offer.courses for w in dict.fromkeys(c.audience))
    roles = [{"word": w, "count": counted[w]} for w in r.vocabulary.roles]
    return [Page(Paths.home, "home.md.j2", {
        "next_courses": live[:NEXT_ON_HOME], "upcoming_count": offer.count(),
        "roles": [x for x in roles if x["count"]],
        "support": _route(r, "support", str(Paths.sles)),
        "support_summary": _route_summary(r, "support"),
        "train": _route(r, "train", str(Paths.strand("itt"))),
        "train_summary": _route_summary(r, "train"),
        "free_count": sum(1 for c in offer.courses if c.cost == 0),
        "contact": str(Paths.free_page("contact")) if "contact" in r.pages else "",
        "figures": r.impact.figures if r.impact else [],
        "news": r.news[:NEWS_ON_HOME],
        "subscribe": feeds.feed_url(r, feeds.ALL_FEED, webcal=True)},
        "content/alliance.yml")]


def _options(words: list[str], present: set[str]) -> list[str]:
    """Vocabulary words that some listed record uses, in vocabulary order, then any others."""
    return [w for w in words if w in present] + sorted(present - set(words))


def finder_filters(ix: Index) -> dict[str, Any]:
    """The course finder's choices: only values that some upcoming course has."""
    offer, vocab = ix.offer, ix.records.vocabulary
    roles = {w for c in offer.courses for w in c.audience}
    phases = {w for c in offer.courses for w in c.phase}
    return {"roles": _options(vocab.roles, roles), "phases": _options(vocab.phases, phases),
            "strands": [s for s in STRANDS if offer.count(s)], "terms": offer.terms()}


def catalogue(ix: Index) -> list[Page]:
    """The finder holds every upcoming course's card, up to FINDER_FIRST of them: a bigger
    offer (5,000 courses) would make its first render far too heavy for a phone. Beyond that,
    the finder shows the soonest FINDER_FIRST and strands/all.md holds every card: a link
    for a browser without JavaScript, and the list that finder.js loads once the page is up."""
    offer = ix.offer
    partial = offer.count() > FINDER_FIRST
    pages = [Page(Paths.catalogue, "catalogue.md.j2", {
        "courses": offer.courses[:FINDER_FIRST] if partial else offer.courses,
        "count": offer.count(), "partial": partial, "filters": finder_filters(ix),
        "past_count": len(ix.past),
        "subscribe": feeds.feed_url(ix.records, feeds.ALL_FEED, webcal=True)})]
    if partial:
        pages.append(Page(Paths.all_courses, "all_courses.md.j2", {
            "courses": offer.courses, "count": offer.count()}))
    for s, label in STRANDS.items():
        pages.append(Page(Paths.strand(s), "strand.md.j2", {
            "strand": s, "label": label, "courses": offer.in_strand(s), "count": offer.count(s),
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


def course_page(ix: Index, course: Course) -> Page:
    """One course's page (the preview shows a saved course's own page first with this)."""
    sles, all_venues, offer, today = ix.records.sles, ix.records.venues, ix.offer, ix.today
    facilitators = [sles[i] for i in dict.fromkeys(course.facilitators) if i in sles]
    sessions = course.dated_sessions
    venues = [v for v in dict.fromkeys(s.venue for s in sessions) if v in all_venues]
    finished = course.last_date < today
    facts = None if finished else offer.facts[course.id]
    others = offer.alternatives(course) if facts and (facts.full or facts.cancelled) else []
    return Page(Paths.course(course.id), "course.md.j2", {
        "course": course, "sessions": sessions, "facilitators": facilitators,
        "venues": venues, "finished": finished, "facts": facts, "alternatives": others},
        course.path)


def courses(ix: Index) -> list[Page]:
    return [course_page(ix, course) for course in ix.records.courses.values()]


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
    sles_ = ix.sles_sorted
    pages = [Page(Paths.sles, "sles.md.j2", {
        "sles": sles_, "count": len(sles_),
        "specialisms": _options(vocab.specialisms, {w for s in sles_ for w in s.specialisms}),
        "phases": _options(vocab.phases, {w for s in sles_ for w in s.phase}),
        "availabilities": [a for a in ("available", "limited", "unavailable")
                           if any(s.availability == a for s in sles_)],
        "by_specialism": by_specialism, "by_phase": by_phase})]
    for group in by_specialism:
        pages.append(Page(Paths.specialism(group["word"]), "sle_group.md.j2",
                          {"kind": "specialism", **group}))
    for group in by_phase:
        pages.append(Page(Paths.phase(group["word"]), "sle_group.md.j2",
                          {"kind": "phase", **group}))
    return pages


def sle_page(ix: Index, sle: SLE) -> Page:
    """One SLE's page, with the courses they lead."""
    facilitated = ix.by_facilitator.get(sle.id, [])
    return Page(Paths.sle(sle.id), "sle.md.j2", {
        "sle": sle, "school": ix.records.schools.get(sle.school),
        "upcoming": [c for c in facilitated if c.id in ix.on_offer],     # not cancelled ones
        "past": [c for c in facilitated if not c.is_upcoming(ix.today)][::-1]}, sle.path)


def sles(ix: Index) -> list[Page]:
    return [sle_page(ix, sle) for sle in ix.sles_sorted]


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


def free_pages(ix: Index) -> list[Page]:
    return [Page(Paths.free_page(p.id), "free_page.md.j2", {"free": p}, p.path)
            for p in sorted(ix.records.pages.values(), key=lambda p: p.id)]


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
    accessibility, join, impact, free_pages]


def site(records: Records, today: dt.date, ix: Index | None = None) -> Site:
    """Every page of the site for ``records`` as of ``today``; path clashes are problems.
    ``ix``: the lookups, if already made for these records and day."""
    ix = ix or Index.of(records, today)
    result = Site(nav=nav(records), not_in_nav=list(NOT_IN_NAV) + [
        "/" + str(Paths.free_page(p.id)) for p in records.pages.values() if not p.nav],
        offer=ix.offer)
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
    alliance = records.alliance
    for name in ("logo", "photo"):
        value = getattr(alliance, name, None)
        if not value:
            continue
        try:                # checked again here (svg: only one that can do nothing but draw)
            real = image_file(records.root / "content", value, svg=True)
        except MediaError as err:
            result.problems.error(alliance.path, 0, name, str(err))
            continue
        result.assets.append(Asset(str(Paths.media(value)), real))
    return result
