"""The course finder and the SLE directory in Chromium (issue 9), on the demo and on a
synthetic alliance (bench/synth.py): a query string shows exactly the courses an independent
computation over the records selects; no page scrolls sideways on a phone; the filters work by
keyboard and announce their count; the "TA courses in primary schools this spring" question is
answered in three interactions on a phone; without JavaScript every course is listed.

Axe (WCAG 2.2 AA, 1280 and 375 px, light and dark) runs on the new pages in test_browser.py,
which visits every page kind of tests/site_support.py, the finder and directory included.
"""
from __future__ import annotations

import datetime as dt
import random
import re
import sys
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlparse

import pytest
from click.testing import CliRunner

from tests.site_support import (CHROMIUM, DEMO_TODAY, REPO, chromium, demo_records, load_cli,
                                page_kinds, served)

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: "
                               "run `bash scripts/setup.sh test`")
if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM}: `bash scripts/setup.sh test` installs it",
                allow_module_level=True)
SYNTH_TODAY = dt.date(2026, 11, 22)

# --- the selection, computed independently of records.offer and finder.js -------------------

EASTER = {2026: dt.date(2026, 4, 5), 2027: dt.date(2027, 3, 28), 2028: dt.date(2028, 4, 16),
          2029: dt.date(2029, 4, 1), 2030: dt.date(2030, 4, 21)}


def term(day: dt.date) -> str:
    if day.month >= 9:
        return f"autumn-{day.year}"
    return f"{'spring' if day <= EASTER[day.year] else 'summer'}-{day.year}"


def expected(recs, today: dt.date, query: dict[str, str]) -> set[str]:
    chosen = set()
    for c in recs.courses.values():
        remaining = [s for s in c.sessions if s.date >= today]
        if not remaining or c.status == "cancelled":      # a cancelled course is not on offer
            continue
        started = min(s.date for s in c.sessions) < today
        tests = {
            "role": lambda v: v in c.audience,
            "phase": lambda v: not c.phase or v in c.phase,
            "strand": lambda v: c.strand == v,
            "term": lambda v: v in {term(s.date) for s in remaining},
            "cost": lambda v: (c.cost == 0) == (v == "free"),
            "mode": lambda v: any((s.venue == "online") == (v == "online") for s in remaining),
            "bookable": lambda v: (c.status == "open" and c.places_left != 0 and bool(c.booking)
                                   and (not started or c.late_joining is True)),
        }
        if all(tests[k](v) for k, v in query.items()):
            chosen.add(c.id)
    return chosen


# --- fixtures: two built sites, served; one browser -------------------------------------------

@pytest.fixture(scope="module")
def demo_url(demo_site):
    with served(demo_site) as url:
        yield url


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """A synthetic alliance of 300 courses (awkward names, clock changes, online sessions,
    places_left and late_joining), built and served."""
    sys.path.insert(0, str(REPO / "bench"))
    from synth import make_alliance

    import records
    root = tmp_path_factory.mktemp("synth")
    make_alliance(root, courses=300, sles=40, schools=20, news=5)
    out = root / "site"
    result = CliRunner().invoke(load_cli(), ["build", "--root", str(root), "--out", str(out),
                                             "--today", SYNTH_TODAY.isoformat()])
    assert result.exit_code == 0, result.output
    recs, _ = records.load(root)
    with served(out) as url:
        yield recs, url


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture
def tab(browser):
    """tab(width, javascript=True): a fresh page."""
    contexts = []

    def open_(width: int = 1280, javascript: bool = True):
        context = browser.new_context(viewport={"width": width, "height": 900},
                                      java_script_enabled=javascript, reduced_motion="reduce")
        contexts.append(context)
        return context.new_page()
    yield open_
    for context in contexts:
        context.close()


SHOWN = """() => [...document.querySelectorAll('#finder-results > li')]
    .filter(li => !li.hidden && getComputedStyle(li).display !== 'none')
    .map(li => li.querySelector('h3 a').getAttribute('href').split('/').pop().replace(/\\.html$/, ''))"""


READY = "() => document.getElementById('finder').dataset.ready === '1'"


def shown(page) -> set[str]:
    """The courses listed, after pressing "Show more" until every match is shown."""
    more = page.locator("#finder-show-more")
    for _ in range(100):                   # 100 presses show 20,000 cards: a loop means a bug
        if not (more.count() and more.is_visible()):
            break
        assert re.fullmatch(r"Show \d+ more \(\d+ not shown yet\)", more.inner_text()), more.inner_text()
        assert not more.inner_text().startswith("Show 0 ")
        more.click()
    else:
        raise AssertionError("Show more never went away")
    return set(page.evaluate(SHOWN))


def queries(recs, today: dt.date, seed: int) -> list[dict[str, str]]:
    """Every single filter value the records offer, and random combinations of them."""
    upcoming = [c for c in recs.courses.values() if max(s.date for s in c.sessions) >= today]
    values = {
        "role": sorted({r for c in upcoming for r in c.audience}),
        "phase": sorted({p for c in upcoming for p in c.phase}),
        "strand": sorted({c.strand for c in upcoming}),
        "term": sorted({term(s.date) for c in upcoming for s in c.sessions if s.date >= today}),
        "cost": ["free", "paid"], "mode": ["online", "in-person"], "bookable": ["1"],
    }
    out = [{k: v} for k, vs in values.items() for v in vs]
    rng = random.Random(seed)
    for _ in range(15):
        keys = rng.sample(sorted(values), rng.randint(2, 4))
        out.append({k: rng.choice(values[k]) for k in keys})
    out.append({"role": "teaching-assistant", "phase": "primary", "term": "spring-2027",
                "cost": "free", "mode": "online", "bookable": "1", "strand": "cpd"})
    return out


def check_queries(page, base: str, recs, today: dt.date, seed: int) -> int:
    total = len(expected(recs, today, {}))
    nonempty = 0
    for query in queries(recs, today, seed):
        page.goto(f"{base}courses/index.html?{urlencode(query)}", wait_until="load")
        page.wait_for_function(READY)
        want = expected(recs, today, query)
        assert shown(page) == want, query
        count = page.locator("#finder-count").inner_text()
        assert count == f"{len(want)} of {total} upcoming courses match{'es' if len(want) == 1 else ''}", (query, count)
        nonempty += bool(want)
    return nonempty


# --- the tests ---------------------------------------------------------------------------------

def test_query_strings_select_exactly_the_right_courses_on_the_demo(tab, demo_url):
    assert check_queries(tab(), demo_url, demo_records(), DEMO_TODAY, seed=9) >= 10


def test_query_strings_select_exactly_the_right_courses_on_a_synthetic_alliance(tab, synthetic):
    recs, url = synthetic
    assert check_queries(tab(), url, recs, SYNTH_TODAY, seed=11) >= 20


def test_sle_directory_query_strings(tab, demo_url):
    recs = demo_records()
    page = tab()
    for query in ({"specialism": "maths"}, {"phase": "primary", "availability": "available"},
                  {"specialism": "early-reading", "phase": "infant"}):
        page.goto(f"{demo_url}sles/index.html?{urlencode(query)}", wait_until="load")
        page.wait_for_function("() => !document.getElementById('sle-finder').hidden")
        visible = set(page.evaluate("""() => [...document.querySelectorAll('#sle-results > li')]
            .filter(li => !li.hidden).map(li => li.querySelector('h3 a').getAttribute('href')
            .split('/').pop().replace(/\\.html$/, ''))"""))
        want = {s.id for s in recs.sles.values()
                if query.get("specialism", s.specialisms[0]) in s.specialisms
                and query.get("phase", s.phase[0]) in s.phase
                and query.get("availability", s.availability) == s.availability}
        assert visible == want and want, query


def test_a_big_offer_loads_every_card_after_the_first_render(tab, synthetic):
    """300 courses: the finder's page holds the soonest 200; every card arrives after it,
    and without JavaScript a link leads to them all."""
    recs, url = synthetic
    every = expected(recs, SYNTH_TODAY, {})
    page = tab(1280)
    page.goto(url + "courses/index.html", wait_until="load")
    page.wait_for_function(READY)
    assert shown(page) == every and len(every) > 200
    assert page.locator("#finder-count").inner_text() == f"{len(every)} upcoming courses"
    assert not page.locator("#finder-more").is_visible()
    plain = tab(375, javascript=False)
    plain.goto(url + "courses/index.html", wait_until="load")
    assert len(shown(plain)) == 200
    plain.get_by_role("link", name=f"See all {len(every)} upcoming courses").click()
    plain.wait_for_url("**/strands/all.html")
    listed = plain.evaluate("""() => [...document.querySelectorAll('#all-results > li h3 a')]
        .map(a => a.getAttribute('href').split('/').pop().replace(/\\.html$/, ''))""")
    assert set(listed) == every


def test_without_javascript_every_upcoming_course_shows(tab, demo_url):
    page = tab(375, javascript=False)
    page.goto(f"{demo_url}courses/index.html?role=headteacher", wait_until="load")
    recs = demo_records()
    assert shown(page) == expected(recs, DEMO_TODAY, {})
    assert not page.locator("#finder").is_visible()          # no form that could not work


def _pages_to_check(recs) -> list[str]:
    kinds = page_kinds(recs)
    return sorted(set(kinds.values()))


def test_no_page_scrolls_sideways_at_375_px(tab, demo_url, synthetic):
    page = tab(375)
    recs, synth_url = synthetic
    synth_pages = ["index.html", "courses/index.html", "sles/index.html", "schools.html",
                   "archive/index.html", *(f"courses/{c}.html" for c in sorted(recs.courses)[:15]),
                   *(f"sles/{s}.html" for s in sorted(recs.sles)[:5])]
    checked = []
    for base, paths in ((demo_url, _pages_to_check(demo_records())), (synth_url, synth_pages)):
        for path in paths:
            page.goto(base + path, wait_until="load")
            page.add_style_tag(content=".tsa-card { content-visibility: visible !important; }")
            widths = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
            assert widths[0] <= widths[1], f"{path} is {widths[0]} px wide at {widths[1]} px"
            checked.append(path)
    assert len(checked) > 30


def test_filters_work_by_keyboard_and_announce_the_count(tab, demo_url):
    recs = demo_records()
    page = tab(1280)
    page.goto(demo_url + "courses/index.html", wait_until="load")
    page.wait_for_function(READY)
    status = page.locator("#finder-count")
    assert status.get_attribute("role") == "status" and status.get_attribute("aria-live") == "polite"
    for _ in range(60):                                   # Tab, as a person would, to the first filter
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "f-role":
            break
    assert page.evaluate("document.activeElement.id") == "f-role"
    assert page.evaluate("document.activeElement.labels[0].textContent") == "Who is it for?"
    page.keyboard.press("ArrowDown")                      # the first role
    role = page.evaluate("document.activeElement.value")
    assert role and dict(parse_qsl(urlparse(page.url).query)) == {"role": role}
    while page.evaluate("document.activeElement.id") != "f-bookable":
        page.keyboard.press("Tab")
    page.keyboard.press("Space")
    want = expected(recs, DEMO_TODAY, {"role": role, "bookable": "1"})
    assert shown(page) == want
    assert dict(parse_qsl(urlparse(page.url).query)) == {"role": role, "bookable": "1"}
    assert status.inner_text().startswith(f"{len(want)} of ")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.type") == "reset"
    page.keyboard.press("Enter")
    page.wait_for_function("() => !location.search")
    assert shown(page) == expected(recs, DEMO_TODAY, {})


def test_ta_courses_in_primary_this_spring_in_three_interactions_on_a_phone(tab, demo_url):
    """From the home page on a phone: tap "Teaching assistants", choose the phase, choose the
    term. The list then holds exactly those courses, and the address can be shared."""
    recs = demo_records()
    page = tab(375)
    page.goto(demo_url, wait_until="load")
    page.locator("article").get_by_role("link", name="Teaching assistants").click()  # 1
    page.wait_for_function(READY)
    page.get_by_label("Phase").select_option("primary")                          # 2
    page.get_by_label("Term").select_option(label="Spring 2027")                 # 3
    want = expected(recs, DEMO_TODAY, {"role": "teaching-assistant", "phase": "primary",
                                       "term": "spring-2027"})
    assert want and shown(page) == want
    assert dict(parse_qsl(urlparse(page.url).query)) == {
        "role": "teaching-assistant", "phase": "primary", "term": "spring-2027"}
    first = page.locator("#finder-results > li:not([hidden])").first
    box = first.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 375
    assert first.locator(".tsa-badge").is_visible() and first.locator("dd").nth(3).is_visible()


def test_the_404_page_offers_the_finder_and_search(tab, demo_url):
    page = tab(375)
    response = page.goto(demo_url + "404.html", wait_until="load")
    assert response.ok
    link = page.locator("article").get_by_role("link", name="Find a course")
    assert link.get_attribute("href").endswith("courses/index.html")
    page.get_by_role("button", name="Search this website").click()
    page.wait_for_function("document.activeElement?.matches('input.md-search__input')")
