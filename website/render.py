"""Pages → Markdown text: one jinja2 Environment over ``site_templates/site/``.

Safe by default. Autoescape is on, and every ``{{ value }}`` also passes through
:func:`md_text` (the Environment's ``finalize``): record text is HTML-escaped *and* its Markdown
punctuation backslash-escaped, so a title ``Maths & Science <KS2>`` or ``*Star* [x]`` shows
exactly as written. Only values marked safe (Markup) pass through untouched: link targets
(:func:`url`, :func:`mailto`, the paths of ``pages.Paths``), front-matter values (:func:`meta`),
macro output, and editors' Markdown bodies (:func:`markdown`), rendered here and sanitised by
records.markdown (the policy the emails use too).

Formatting for people (British dates, times, money, vocabulary labels) lives here too, as
filters, memoised: the same dates and names recur across thousands of pages.
"""
from __future__ import annotations

import datetime as dt
import functools
import html
import json
import re
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import quote

import jinja2
from markupsafe import Markup

from records import STRANDS, Problems
from records.markdown import to_html

from .links import page_links

TEMPLATES = Path(__file__).resolve().parent.parent / "site_templates" / "site"
HTML_TEMPLATES = TEMPLATES / "html"      # pieces of raw HTML inside the pages (cards, forms)

# --- Markdown-safe text ------------------------------------------------------------------

# The characters Python-Markdown honours a backslash before (core list, plus "|" added by the
# tables extension). Escaping any other character would leave a visible backslash. "<", ">" and
# "&" are taken care of by HTML-escaping, which Markdown leaves alone.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|])")
_SPACE = re.compile(r"\s+")


@functools.lru_cache(maxsize=65536)
def _md_text(text: str) -> Markup:
    text = _SPACE.sub(" ", text)
    return Markup(_MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False)))


def md_text(value: Any) -> Markup:
    """Record text made literal inside Markdown: one line, HTML- and Markdown-escaped."""
    if value is None:
        return Markup("")
    if isinstance(value, Markup) or hasattr(value, "__html__"):
        return Markup(value)
    return _md_text(str(value))


def markdown(value: str | None) -> Markup:
    """An editor's Markdown body as sanitised HTML (records.markdown: the one policy shared
    with the emails), in a block of raw HTML that MkDocs passes through as it is."""
    html = to_html(value).strip("\n")
    return Markup(f'<div class="tsa-prose">\n{html}\n</div>') if html else Markup("")


def meta(value: Any) -> Markup:
    """A front-matter value: a YAML (JSON) string, HTML-escaped, since Material inserts
    ``page.meta.description`` into an attribute without escaping it."""
    text = _SPACE.sub(" ", str(value or "")).strip()
    return Markup(json.dumps(html.escape(text, quote=True), ensure_ascii=False))


def url(value: str) -> Markup:
    """An outside address (booking form, school website, mailto:) as a Markdown link target."""
    return Markup(quote(value.strip(), safe=":/?#[]@!$&'*+,;=%~-._"))


# --- British dates, times, money -----------------------------------------------------------

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


@functools.lru_cache(maxsize=8192)
def long_date(day: dt.date) -> str:
    """Thursday 14 January 2027"""
    return f"{_DAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]} {day.year}"


@functools.lru_cache(maxsize=8192)
def short_date(day: dt.date) -> str:
    """Thu 14 Jan 2027"""
    return f"{_DAYS[day.weekday()][:3]} {day.day} {_MONTHS[day.month - 1][:3]} {day.year}"


def day_month(day: dt.date) -> str:
    """14 January 2027 (news and newsletters)."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def year_month(value: str | None) -> str:
    """'2014-09' -> 'September 2014'; '2014' -> '2014'."""
    if not value:
        return ""
    year, _, month = value.partition("-")
    return f"{_MONTHS[int(month) - 1]} {year}" if month else year


def times(session: Any) -> str:
    """13:30–16:00, or 'All day' for a session without times."""
    if session.start is None:
        return "All day"
    return f"{session.start:%H:%M}\u2013{session.end:%H:%M}"


def money(cost: float) -> str:
    """'Free', '£45', '£12.50'."""
    if cost == 0:
        return "Free"
    return f"£{cost:,.0f}" if float(cost).is_integer() else f"£{cost:,.2f}"


def date_range(course: Any) -> str:
    """'Thu 14 Jan 2027', '4 Mar – 15 Apr 2027 (3 sessions)',
    '23 Sep 2026 – 27 Jan 2027 (3 sessions)'."""
    first, last, count = course.first_date, course.last_date, len(course.sessions)
    if first == last:
        text = short_date(first)
    elif first.year == last.year:
        text = f"{first.day} {_MONTHS[first.month - 1][:3]} \u2013 {_day_month_year(last)}"
    else:
        text = f"{_day_month_year(first)} \u2013 {_day_month_year(last)}"
    return text if count == 1 else f"{text} ({count} sessions)"


def _day_month_year(day: dt.date) -> str:
    return f"{day.day} {_MONTHS[day.month - 1][:3]} {day.year}"


# --- vocabulary words for people ------------------------------------------------------------

LABELS = {
    # roles
    "teaching-assistant": "Teaching assistants", "teacher": "Teachers", "ect": "ECTs",
    "trainee": "Trainees", "middle-leader": "Middle leaders", "senior-leader": "Senior leaders",
    "headteacher": "Headteachers", "governor": "Governors", "senco": "SENCOs",
    "support-staff": "Support staff",
    # phases
    "all-through": "All-through", "post-16": "Post-16",
    # specialisms
    "early-reading": "Early reading", "send": "SEND", "eyfs": "EYFS",
    "itt-mentoring": "ITT mentoring",
    # school roles and SLE availability
    "teaching-school": "Teaching school", "strategic-partner": "Strategic partner",
    "available": "Available for deployment", "limited": "Limited availability",
    "unavailable": "Not available at present",
}


@functools.lru_cache(maxsize=4096)
def label(word: str) -> str:
    """A vocabulary word as people write it: 'early-reading' -> 'Early reading'."""
    return LABELS.get(word) or word.replace("-", " ").capitalize()


def labels(words: Iterable[str], empty: str = "") -> str:
    words = list(words)
    return ", ".join(label(w) for w in words) if words else empty


# --- pieces of course listings -----------------------------------------------------------------

_BADGES = {
    "full": Markup('<span class="tsa-badge tsa-badge--full">Full</span>'),
    "cancelled": Markup('<span class="tsa-badge tsa-badge--cancelled">Cancelled</span>'),
}


def status_badge(course: Any) -> Markup | str:
    """'Open', or a badge that says Full or Cancelled in words (not colour alone)."""
    return _BADGES.get(course.status, "Open")


def venue_names(course: Any, venues: dict) -> str:
    """The distinct places of a course's sessions, in date order: 'Centre, Online'."""
    names = []
    for session in course.dated_sessions:
        venue = venues.get(session.venue)
        name = "Online" if session.online else (venue.name if venue else session.venue)
        if name not in names:
            names.append(name)
    return ", ".join(names)


def mailto(address: str, subject: str = "") -> Markup:
    """A mailto: link target, with an optional subject line."""
    target = f"mailto:{address}"
    if subject:
        target += "?subject=" + quote(subject, safe="")
    return url(target)


# --- the Environment ---------------------------------------------------------------------------

def _finalize(value: Any) -> Any:
    """Applied to every {{ value }} before autoescape: plain text becomes Markdown-safe."""
    kind = type(value)
    if kind is Markup:
        return value
    if kind is str:
        return _md_text(value)
    if kind is int or kind is float:
        return Markup(value)
    if value is None:
        return Markup("")
    return md_text(value)


def environment(templates: Path = TEMPLATES) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates)),
        autoescape=True,
        finalize=_finalize,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )
    env.filters.update(
        md=md_text, markdown=markdown, meta=meta, url=url, long_date=long_date,
        short_date=short_date, day_month=day_month, year_month=year_month, times=times,
        money=money, date_range=date_range, label=label, labels=labels,
        status_badge=status_badge, venue_names=venue_names, mailto=mailto,
    )
    return env


def html_url(value: str) -> str:
    """:func:`url` for an attribute of raw HTML: quoted as in Markdown, then left to
    autoescape (an ``&`` of a query string becomes ``&amp;``, as Python-Markdown writes it)."""
    return str(url(value))


def html_mailto(address: str, subject: str = "") -> str:
    """:func:`mailto` for an attribute of raw HTML (see :func:`html_url`)."""
    return str(mailto(address, subject))


def html_environment(templates: Path = HTML_TEMPLATES) -> jinja2.Environment:
    """For raw HTML blocks inside the Markdown (cards, the finder's form, most of a course's
    or an SLE's page): plain HTML escaping, since Markdown leaves raw HTML blocks alone (a
    Markdown backslash would show)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates)), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True, auto_reload=False)
    env.filters.update(long_date=long_date, short_date=short_date, day_month=day_month,
                       year_month=year_month, times=times, money=money, label=label,
                       labels=labels, venue_names=venue_names, date_range=date_range,
                       status_badge=status_badge, url=html_url, mailto=html_mailto)
    return env


def one_block(html_text: str) -> Markup:
    """Raw HTML as one Markdown block: no blank line inside (which would end the block) and
    no line indented four spaces (which Markdown would read as code)."""
    return Markup("\n".join(line.strip() for line in html_text.splitlines() if line.strip()))


class Renderer:
    """Renders pages; templates are compiled once per Renderer and reused for every page.

    Per-course pieces that recur on many pages (date ranges, venue names) are computed once
    per Renderer: make a new Renderer for each build (records change between builds).
    """

    def __init__(self, templates: Path = TEMPLATES, globals: dict | None = None):
        self.env = environment(templates)
        self.env.globals.update(globals or {})
        self._templates: dict[str, jinja2.Template] = {}
        self._memo: dict[tuple[str, int], Any] = {}
        self.env.globals["once"] = self.once
        self._once: dict[tuple, Markup] = {}
        self._tables: dict[str, dict] = {}
        self.html_env = html_environment(templates / "html")
        for env in (self.env, self.html_env):
            env.filters["date_range"] = self._memoised("date_range", date_range)
            env.filters["venue_names"] = self._memoised("venue_names", venue_names)
        self._html_templates: dict[str, jinja2.Template] = {}
        self.env.filters["markdown"] = self._page_markdown
        self.problems = Problems()      # found while rendering: links to pages that do not exist

    def bind(self, records: Any, today: dt.date, offer: Any, course_url: Any, *,
             docs_paths: frozenset | None = None, directory_urls: bool = False) -> None:
        """The build's records as template globals (a Renderer serves one build); ``docs_paths``:
        every page and file of the site, for the links in editors' Markdown."""
        from records.offer import facts as course_facts
        from records.urls import page_url

        from . import opendata
        from .pages import Paths

        def facts(course: Any) -> Any:
            known = offer.facts.get(course.id) if offer is not None else None
            return known or course_facts(course, today)

        def href(root: str, docs_path: str) -> Markup:
            return Markup(root) + Markup(page_url(str(docs_path)))

        def jsonld(course: Any) -> Markup:
            return opendata.script_json(opendata.course_jsonld(records, course, today, course_url(course.id)))

        html_globals = dict(alliance=records.alliance, today=today, strands=STRANDS,
                            to=Paths, href=href, facts=facts)
        # The record tables macros read are the same dict objects from one bind to the next,
        # refilled: Jinja keeps an imported template's module (_macros.md.j2) with the globals
        # it was made with, so a Renderer bound again (the preview, after a save) would
        # otherwise show a macro the records of its first build.
        for name, table in (("all_venues", records.venues), ("schools", records.schools),
                            ("courses", records.courses), ("sles", records.sles)):
            live = self._tables.setdefault(name, {})
            live.clear()
            live.update(table)
            html_globals[name] = live
        self.html_env.globals.update(html_globals)
        self.env.globals.update(html_globals, offer=offer, html=self.html, card=self.card,
                                cards=self.cards, sle_card=self.sle_card, venue=self.venue,
                                course_item=self.course_item, past_item=self.past_item,
                                jsonld=jsonld, docs_paths=docs_paths,
                                directory_urls=directory_urls, records_root=records.root)

    def html(self, name: str, **context: Any) -> Markup:
        """A raw HTML piece (site_templates/site/html/<name>), as one Markdown block."""
        template = self._html_templates.get(name)
        if template is None:
            template = self._html_templates[name] = self.html_env.get_template(name)
        return one_block(template.render(context))

    def _html_once(self, kind: str, record_id: str, template: str, **context: Any) -> Markup:
        """:meth:`html` of a piece about one record, rendered the first time only: the same
        card, venue or list line appears on many pages. The key is (kind, record id, root):
        the preview forgets a changed course's or SLE's pieces by it (preview._PER_RECORD)."""
        key = (kind, record_id, context.get("root"))
        try:
            return self._once[key]
        except KeyError:
            value = self._once[key] = self.html(template, **context)
            return value

    def card(self, course_id: str, root: str) -> Markup:
        """A course's card: the same on the finder, a strand's page and the home page."""
        return self._html_once("card", course_id, "course_card.html.j2",
                               c=self.env.globals["courses"][course_id], root=root)

    def cards(self, courses: Any, root: str) -> Markup:
        """Every course's card, each on its line: what a ``{% for %}`` of :meth:`card` gives,
        joined here (a loop of thousands costs Jinja a call and a check per card)."""
        card = self.card
        return Markup("".join([card(c.id, root) + "\n" for c in courses]))

    def sle_card(self, sle_id: str, root: str) -> Markup:
        return self._html_once("sle_card", sle_id, "sle_card.html.j2",
                               s=self.env.globals["sles"][sle_id], root=root)

    def venue(self, venue_id: str) -> Markup:
        """A venue's name, address and notes, as on every course page held there."""
        return self._html_once("venue", venue_id, "venue.html.j2",
                               v=self.env.globals["all_venues"][venue_id])

    def course_item(self, course_id: str, root: str) -> Markup:
        """A course as a line of a list (``<li>``): an SLE's courses, a newsletter's."""
        return self._html_once("course_item", course_id, "course_item.html.j2",
                               c=self.env.globals["courses"][course_id], root=root)

    def past_item(self, course_id: str, root: str) -> Markup:
        """A past course as a line of the archive's lists (``<li>``)."""
        return self._html_once("past_item", course_id, "past_item.html.j2",
                               c=self.env.globals["courses"][course_id], root=root)

    @jinja2.pass_context
    def _page_markdown(self, context: Any, value: str | None) -> Markup:
        """:func:`markdown`, with links to other pages (``x.md``) pointing where MkDocs puts
        them, and a warning for a link to a page that does not exist."""
        out = markdown(value)
        page = context.get("page")
        known = context.get("docs_paths")
        if page is None or known is None or 'href="' not in out:
            return out

        def missing(link: str, target: str) -> None:
            root = context.get("records_root")
            line = 0
            if root is not None and page.source:
                from records.markdown import body_line
                lines = (value or "").split("\n")
                first = body_line(Path(root) / page.source, value or "")
                line = first + next((i for i, text in enumerate(lines) if link in text), 0)
            self.problems.warning(page.source or page.path, line, "body",
                                  f"links to {link!r}, but the site has no page {target}; "
                                  "correct the link or remove it")

        return Markup(page_links(out, page.path, known, context.get("directory_urls", False),
                                 missing))

    def once(self, macro: str, *args: Any) -> Markup:
        """The output of a macro of ``_macros.md.j2`` for these (hashable) arguments, rendered
        the first time only: the same course row or venue appears on many pages."""
        key = (macro, *args)
        try:
            return self._once[key]
        except KeyError:
            module = self.template("_macros.md.j2").module
            value = self._once[key] = Markup(getattr(module, macro)(*args))
            return value

    def _memoised(self, name: str, function):
        memo = self._memo

        def cached(record: Any, *args: Any) -> Any:
            key = (name, id(record))
            try:
                return memo[key][1]
            except KeyError:
                value = function(record, *args)
                memo[key] = (record, value)        # keep the record alive: ids stay unique
                return value
        return cached

    def template(self, name: str) -> jinja2.Template:
        template = self._templates.get(name)
        if template is None:
            template = self._templates[name] = self.env.get_template(name)
        return template

    def render(self, template: str, context: dict) -> str:
        return self.template(template).render(context)
