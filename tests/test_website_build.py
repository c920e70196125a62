"""End to end: the demo alliance (the repository's own content) built with `build.py` into a
temporary folder, its HTML parsed and checked against the records it came from.

The site is built once per session (conftest.py's demo_site, about 3 s); every test reads it.
"""
from __future__ import annotations

import datetime as dt
import functools
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest
from bs4 import BeautifulSoup

import records
from records.offer import facts
from tests.site_support import DEMO_TODAY

REPO = Path(__file__).resolve().parent.parent
TODAY = DEMO_TODAY
DATE_RE = re.compile(r"^(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday) "
                     r"(\d{1,2}) (January|February|March|April|May|June|July|August|September|"
                     r"October|November|December) (\d{4})$")
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]


@pytest.fixture(scope="module")
def demo():
    recs, problems = records.load(REPO)
    assert not problems.errors, "\n".join(map(str, problems))
    return recs


@pytest.fixture(scope="module")
def site(engine_site) -> Path:
    return engine_site        # built once per session and engine (conftest.py)


def search_locations(site: Path) -> set[str]:
    """The pages in the site's search index: Material's search/search_index.json, or
    Zensical's search.json."""
    material = site / "search/search_index.json"
    if material.exists():
        docs = json.loads(material.read_text(encoding="utf-8"))["docs"]
    else:
        docs = json.loads((site / "search.json").read_text(encoding="utf-8"))["items"]
    return {doc["location"].split("#")[0] for doc in docs}


@functools.lru_cache(maxsize=None)
def _parsed(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def soup(site: Path, path: str) -> BeautifulSoup:
    """A built page, parsed once (tests only read it)."""
    return _parsed(site / path)


def article(site: Path, path: str):
    return soup(site, path).select_one("article")


def course_links(page) -> set[str]:
    """Ids of the courses a page links to (links to courses/<id>.html)."""
    ids = set()
    for a in page.select("a[href]"):
        match = re.search(r"(?:^|/)courses/([a-z0-9-]+)\.html$", a["href"])
        if match and match.group(1) != "index":
            ids.add(match.group(1))
    return ids


def parse_date(text: str) -> dt.date:
    match = DATE_RE.match(text.strip())
    assert match, text
    return dt.date(int(match.group(4)), MONTHS.index(match.group(3)) + 1, int(match.group(2)))


# --- home --------------------------------------------------------------------------------

def test_home_routes_first_then_how_to_join(site, demo):
    page = article(site, "index.html")
    assert page.h1.get_text() == demo.alliance.name
    assert demo.alliance.aim in page.get_text()
    routes = {s.h2.get_text(): [a["href"] for a in s.select("a.md-button")]
              for s in page.select("section.tsa-route")}
    support = min((p for p in demo.pages.values() if p.nav == "support"), key=lambda p: p.order)
    train = min((p for p in demo.pages.values() if p.nav == "train"), key=lambda p: p.order)
    assert routes == {"Find a course": ["courses/index.html"],
                      "Get support for your school": [f"{support.id}.html"],
                      "Train to teach with us": [f"{train.id}.html"]}
    headings = [h.get_text() for h in page.select("h2")]
    assert headings.index("Train to teach with us") < headings.index("What's next")
    links = [a["href"] for a in page.select("a[href]")]
    assert demo.alliance.signup_url in links
    assert f"mailto:{demo.alliance.contact.email}" in links


SHORT_DATE = re.compile(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (\d{1,2}) (\w{3}) (\d{4})")


def test_home_lists_the_next_courses_with_honest_dates_and_latest_news(site, demo):
    page = article(site, "index.html")
    shown = course_links(page)
    assert shown and shown <= {c.id for c in demo.upcoming(TODAY)}
    for when in page.select(".tsa-card__when"):
        dates = [dt.datetime.strptime(" ".join(m.groups()[1:]), "%d %b %Y").date()
                 for m in SHORT_DATE.finditer(when.get_text())]
        next_date = dates[-1] if when.get_text().startswith("Started") else dates[0]
        assert next_date >= TODAY, when.get_text()
    assert f"news/{demo.news[0].id}.html" in [a["href"] for a in page.select("a[href]")]


# --- catalogue and archive ------------------------------------------------------------------

def test_catalogue_lists_every_upcoming_course_and_no_past_one(site, demo):
    """Every upcoming course going ahead; a cancelled one is not on offer (its page says so)."""
    upcoming = {c.id for c in demo.upcoming(TODAY) if c.status != "cancelled"}
    past = {c.id for c in demo.past(TODAY)}
    assert upcoming and past, "the demo should have both upcoming and past courses"
    listed = set()
    for strand in records.STRANDS:
        page = article(site, f"strands/{strand}.html")
        ids = course_links(page)
        assert ids == {c.id for c in demo.upcoming(TODAY) if c.strand == strand and c.id in upcoming}
        listed |= ids
    assert listed == upcoming
    assert course_links(article(site, "courses/index.html")) <= upcoming


def test_catalogue_cards_show_date_audience_phase_venue_cost_and_status(site, demo):
    course = next(c for c in demo.upcoming(TODAY) if c.cost == 0 and c.status == "open"
                  and c.first_date >= TODAY)
    for path in ("courses/index.html", f"strands/{course.strand}.html"):
        card = next(li for li in article(site, path).select("li.tsa-card")
                    if li.select_one(f'h3 a[href$="{course.id}.html"]'))
        facts = dict(zip([dt_.get_text() for dt_ in card.select("dt")],
                         [dd.get_text() for dd in card.select("dd")]))
        assert card.h3.get_text() == course.title
        assert facts["Cost"] == "Free"
        assert set(facts) == {"For", "Phase", "Where", "Cost"}
        assert card.select_one(".tsa-badge").get_text() == "Open"
        assert card.select_one("a.md-button")["href"] == course.booking


def test_archive_lists_only_past_courses(site, demo):
    past = {c.id for c in demo.past(TODAY)}
    listed = set(course_links(article(site, "archive/index.html")))
    for strand in records.STRANDS:
        path = site / f"archive/{strand}.html"
        if path.exists():
            listed |= course_links(article(site, f"archive/{strand}.html"))
    assert listed == past


def test_listing_pages_are_left_out_of_search_and_record_pages_are_in(site, demo):
    locations = search_locations(site)
    assert "strands/cpd.html" not in locations
    assert "courses/index.html" not in locations
    assert "sles/index.html" not in locations
    for course_id, course in demo.courses.items():         # past courses are not searched
        assert (f"courses/{course_id}.html" in locations) == course.is_upcoming(TODAY), course_id
    material = site / "search/search_index.json"
    if material.exists():                                    # Material keeps the boost
        index = json.loads(material.read_text(encoding="utf-8"))
        boosts = {doc.get("boost") for doc in index["docs"] if doc["location"].startswith("courses/")}
        assert boosts == {2}                                 # upcoming ones rank above the rest
    for sle_id in demo.sles:
        assert f"sles/{sle_id}.html" in locations


# --- course pages --------------------------------------------------------------------------

def test_every_course_page_shows_its_title_exactly_and_its_summary_as_description(site, demo):
    for course_id, course in demo.courses.items():
        page = soup(site, f"courses/{course_id}.html")
        assert page.select_one("article h1").get_text() == course.title
        assert page.find("meta", attrs={"name": "description"})["content"] == course.summary


def test_sessions_are_in_date_order_with_times_and_venue_address(site, demo):
    checked = 0
    for course_id, course in demo.courses.items():
        items = article(site, f"courses/{course_id}.html").select("ol.tsa-sessions > li")
        assert len(items) == len(course.sessions), course_id
        for session, item in zip(course.dated_sessions, items):
            when = item.select_one(".tsa-session__when")
            assert parse_date(when.strong.get_text()) == session.date
            time = "All day" if not session.start else f"{session.start:%H:%M}\u2013{session.end:%H:%M}"
            assert when.get_text().split(", ", 1)[1].startswith(time)
            past = when.select_one(".tsa-badge--past")
            assert (past is not None and past.get_text() == "Past") == (session.date < TODAY)
            where = item.select_one(".tsa-session__where").get_text()
            if session.online:
                assert where == "Online"
            else:
                venue = demo.venues[session.venue]
                assert where == f"{venue.name}, {venue.address}"
        checked += len(course.sessions) > 1
    assert checked, "the demo should have a course of several sessions"


def test_full_and_cancelled_courses_have_a_badge_and_no_booking_button(site, demo):
    seen = set()
    for course_id, course in demo.courses.items():
        page = article(site, f"courses/{course_id}.html")
        buttons = [a for a in page.select("a.md-button") if a.get_text().startswith("Book")
                   and not a.find_parent(class_="tsa-cards")]     # not a suggested course's
        if course.status in ("full", "cancelled"):
            seen.add(course.status)
            badge = page.select_one(f".tsa-badge--{course.status}")
            assert badge is not None and badge.get_text() == course.status.capitalize()
            titles = [t.get_text().strip() for t in page.select(".admonition-title")]
            if course.status == "cancelled" or course.is_upcoming(TODAY):
                assert course.status.capitalize() in titles
            assert not buttons, course_id
        elif facts(course, TODAY).bookable:
            assert [a["href"] for a in buttons] == [course.booking], course_id
        else:
            assert not buttons, f"{course_id} has finished: nothing to book"
    assert seen == {"full", "cancelled"}


def test_badges_are_words_not_colour_alone(site, demo):
    course = next(c for c in demo.upcoming(TODAY) if c.status == "full")
    card = next(li for li in article(site, f"strands/{course.strand}.html").select("li.tsa-card")
                if li.select_one(f'a[href$="courses/{course.id}.html"]'))
    assert card.select_one(".tsa-badge--full").get_text() == "Full"


def test_facilitator_links_resolve_to_existing_sle_pages(site, demo):
    linked = 0
    for course_id, course in demo.courses.items():
        page = article(site, f"courses/{course_id}.html")
        hrefs = [a["href"] for a in page.select("a[href]") if "/sles/" in a["href"]]
        assert sorted(Path(h).stem for h in hrefs) == sorted(set(course.facilitators))
        for href in hrefs:
            target = (site / "courses" / href).resolve()
            assert target.is_file(), href
            assert soup(site, str(target.relative_to(site))).select_one("article h1").get_text() \
                == demo.sles[target.stem].name
            linked += 1
    assert linked


# --- SLEs, schools, board, news, newsletters --------------------------------------------------

def test_sle_pages_show_school_availability_and_their_courses(site, demo):
    for sle_id, sle in demo.sles.items():
        page = article(site, f"sles/{sle_id}.html")
        text = page.get_text()
        assert demo.schools[sle.school].name in text
        assert "Availability:" in text
        # the courses they lead, past and going ahead: an upcoming cancelled one is not listed
        assert course_links(page) == {c.id for c in demo.facilitated_by(sle_id)
                                      if not (c.status == "cancelled" and c.is_upcoming(TODAY))}


def test_sle_directory_is_cards_and_group_pages_by_specialism_and_phase(site, demo):
    page = article(site, "sles/index.html")
    cards = page.select("#sle-results > li.tsa-card")
    assert sorted(c.h3.a["href"] for c in cards) == sorted(f"../sles/{i}.html" for i in demo.sles)
    for card in cards:
        sle = demo.sles[Path(card.h3.a["href"]).stem]
        assert card["data-specialism"].split() == sle.specialisms
        assert card["data-availability"] == sle.availability
    for sle_id, sle in demo.sles.items():
        for word in sle.specialisms:
            where = f"sles/specialism/{word}.html"
            group = soup(site, where)             # links resolved: engines spell them differently
            assert f"sles/{sle_id}.html" in [urljoin(where, a["href"])
                                             for a in group.select("article a[href]")]
        for word in sle.phase:
            assert (site / f"sles/phase/{word}.html").is_file()


def test_member_schools_by_phase_with_role(site, demo):
    text = article(site, "schools.html").get_text()
    for school in demo.schools.values():
        assert school.name in text
    assert "Teaching school (lead school)" in text


def test_board_in_display_order(site, demo):
    rows = article(site, "board.html").select("li")
    assert [li.strong.get_text() for li in rows] == [m.name for m in demo.board]


def test_news_newest_first_with_a_page_per_story(site, demo):
    titles = [h.get_text() for h in article(site, "news/index.html").select("h2")]
    assert titles == [n.title for n in demo.news]
    for story in demo.news:
        assert article(site, f"news/{story.id}.html").h1.get_text() == story.title


def test_newsletter_archive_has_a_page_per_edition(site, demo):
    from records.newsletter import courses_for, edition_audiences
    for edition_id, edition in demo.editions.items():
        page = article(site, f"newsletters/{edition_id}.html")
        assert page.h1.get_text() == edition.subject
        listed = course_links(page)
        wanted = set()
        for audience_id in edition_audiences(edition, demo.audiences):
            wanted |= {c.id for c in courses_for(demo, edition, demo.audiences[audience_id])}
        assert listed == wanted
        assert "@" not in page.get_text().replace(demo.alliance.contact.email, "")


# --- the site as a whole ------------------------------------------------------------------------

def test_sitemap_lists_every_page_under_the_site_url(site, demo):
    tree = ET.parse(site / "sitemap.xml")
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    urls = {loc.text for loc in tree.findall(".//s:loc", ns)}
    base = demo.alliance.site_url
    assert urljoin(base, "index.html") in urls
    for course_id in demo.courses:
        assert urljoin(base, f"courses/{course_id}.html") in urls
    for sle_id in demo.sles:
        assert urljoin(base, f"sles/{sle_id}.html") in urls


def test_no_page_asks_a_font_cdn_or_any_other_host(site):
    pages = list(site.rglob("*.html"))
    assert len(pages) > 50
    for path in pages:
        text = path.read_text(encoding="utf-8")
        assert "fonts.googleapis" not in text and "fonts.gstatic" not in text, path
        page = _parsed(path)
        for tag, attribute in (("link", "href"), ("script", "src"), ("img", "src")):
            for element in page.find_all(tag):
                if tag == "link" and {"canonical", "alternate"} & set(element.get("rel", [])):
                    continue                 # an address, not a request
                value = element.get(attribute)
                if value:
                    assert not urlparse(value).netloc, f"{path}: {value}"


def test_internal_links_resolve(site):
    for path in site.rglob("*.html"):
        page = _parsed(path)
        for a in page.select("article a[href]"):
            href = a["href"]
            if urlparse(href).scheme or href.startswith("#"):
                continue
            href = href.split("#")[0].split("?")[0]
            # the 404 page's links are absolute paths (it is served at any address)
            target = (site / href[1:] if href.startswith("/") else path.parent / href).resolve()
            assert target.exists(), f"{path.relative_to(site)} links to missing {href}"


def test_copyright_and_site_name_come_from_the_records(site, demo):
    page = soup(site, "index.html")
    assert demo.alliance.name in page.select_one(".md-copyright").get_text()
    assert page.select_one("link[rel=stylesheet][href$='alliance.css']") is not None


# --- calendar feeds, the prospectus, sharing, the accessibility statement ----------------------

def test_the_site_has_a_calendar_of_every_upcoming_course(site, demo):
    import icalendar

    feed = icalendar.Calendar.from_ical((site / "calendar/all.ics").read_bytes())
    events = feed.walk("VEVENT")
    upcoming = demo.upcoming(TODAY)
    assert len(events) == sum(len(c.sessions) for c in upcoming)
    assert {str(e["URL"]) for e in events} == {
        urljoin(demo.alliance.site_url, f"courses/{c.id}.html") for c in upcoming}
    for strand in records.STRANDS:
        assert (site / f"calendar/{strand}.ics").is_file()


def test_catalogue_home_and_strands_link_their_feeds(site, demo):
    for path, feed in [("index.html", "calendar/all.ics"),
                       ("courses/index.html", "calendar/all.ics"),
                       *((f"strands/{s}.html", f"calendar/{s}.ics") for s in records.STRANDS
                         if any(c.strand == s for c in demo.upcoming(TODAY)))]:
        hrefs = [a["href"] for a in article(site, path).select("a[href]")]
        local = [h for h in hrefs if h.endswith(feed) and not urlparse(h).scheme]
        assert local, f"{path} does not link {feed}"
        assert (site / path).parent.joinpath(local[0]).resolve().is_file()
        webcal = [h for h in hrefs if h.startswith("webcal://")]
        assert webcal == ["webcal://" + urljoin(demo.alliance.site_url, feed).split("://")[1]]


def test_add_to_calendar_links_resolve_to_the_courses_own_feed(site, demo):
    import icalendar

    linked = 0
    for course in demo.upcoming(TODAY):
        page = site / f"courses/{course.id}.html"
        links = [a for a in article(site, f"courses/{course.id}.html").select("a[href]")
                 if a.get_text() == "Add to calendar"]
        if course.status == "cancelled":
            assert not links, f"{course.id} is cancelled: nothing to add"
            continue
        assert len(links) == 1, course.id
        target = (page.parent / links[0]["href"]).resolve()
        assert target == (site / f"calendar/courses/{course.id}.ics").resolve()
        events = icalendar.Calendar.from_ical(target.read_bytes()).walk("VEVENT")
        assert len(events) == len(course.sessions)
        # the page the feed points at is this page, as published (name.html, not name/)
        assert {str(e["URL"]) for e in events} == {
            urljoin(demo.alliance.site_url, page.relative_to(site).as_posix())}
        linked += 1
    assert linked > 10


def test_the_prospectus_is_linked_from_the_home_page_and_is_a_real_pdf(site):
    from pypdf import PdfReader

    links = [a for a in article(site, "index.html").select("a[href]")
             if a["href"] == "prospectus.pdf"]
    assert links and "PDF" in links[0].get_text()
    reader = PdfReader(site / "prospectus.pdf")
    assert len(reader.pages) > 5
    assert "The printable prospectus is made by the full build" not in \
        reader.pages[0].extract_text()


def test_every_page_has_a_description_and_open_graph_tags(site, demo):
    for path in site.rglob("*.html"):
        if path.name == "404.html":
            continue
        page = _parsed(path)
        description = page.find("meta", attrs={"name": "description"})
        assert description and description["content"].strip(), path
        og = {m["property"]: m["content"] for m in page.select("meta[property^='og:']")}
        assert og["og:title"] and og["og:description"] == description["content"], path
        assert og["og:type"] in ("website", "article")
        assert og["og:url"].startswith(demo.alliance.site_url), path
    course = next(iter(demo.courses.values()))
    og = {m["property"]: m["content"]
          for m in soup(site, f"courses/{course.id}.html").select("meta[property^='og:']")}
    assert og["og:title"] == course.title
    assert og["og:description"] == course.summary
    assert og["og:url"] == urljoin(demo.alliance.site_url, f"courses/{course.id}.html")
    home = {m["property"]: m["content"] for m in soup(site, "index.html").select("meta[property^='og:']")}
    assert home["og:url"] == demo.alliance.site_url and home["og:title"] == demo.alliance.name


def test_the_accessibility_statement_is_in_every_footer(site, demo):
    for path in ("index.html", "courses/index.html", f"courses/{next(iter(demo.courses))}.html"):
        footer = soup(site, path).select_one("footer")
        links = [a["href"] for a in footer.select("a[href]") if a.get_text() == "Accessibility statement"]
        assert links and (site / path).parent.joinpath(links[0]).resolve() == \
            (site / "accessibility.html").resolve()
    page = article(site, "accessibility.html")
    text = " ".join(page.get_text().split())
    headings = [h.get_text() for h in page.select("h2, h3")]
    for heading in ("Feedback and contact information",
                    "Reporting accessibility problems with this website",
                    "Enforcement procedure", "Compliance status",
                    "Preparation of this accessibility statement", "How we tested this website"):
        assert heading in headings
    assert f"This statement was prepared on {TODAY:%A} {TODAY.day} {TODAY:%B %Y}." in text
    assert "Equality and Human Rights Commission (EHRC)" in text
    assert any(a["href"].startswith(f"mailto:{demo.alliance.contact.email}")
               for a in page.select("a[href]"))
    assert "1280" in text and "375" in text and "axe" in text
