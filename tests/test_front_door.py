"""The front door's records and data (issue 9), without a browser: the new fields and record
kind, honest facts (terms, state, alternatives, one count), courses.json and the JSON-LD
against their schemas, the newsletter's link to the website."""
from __future__ import annotations

import datetime as dt
import json
from urllib.parse import unquote
import re
from pathlib import Path

import jsonschema
import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner

import records
from records import urls
from records.colours import contrast
from records.offer import Offer, easter, facts, term_of
from tests.site_support import DEMO_TODAY, REPO, demo_records, load_cli
from tests.treebuilder import course, load_ok, session, write_tree
from website import opendata, pages, pipeline
from website.prospectus import prospectus_context

TODAY = dt.date(2027, 1, 10)
FORMAT = jsonschema.Draft202012Validator.FORMAT_CHECKER
COURSES_SCHEMA = json.loads((opendata.SCHEMAS / "courses.schema.json").read_text())
JSONLD_SCHEMA = json.loads(opendata.JSONLD_SCHEMA.read_text())


def problems_of(root) -> list[str]:
    _, problems = records.load(root)
    return [str(p) for p in problems]


# --- new fields and the new record kind ----------------------------------------------------

def test_places_left_and_late_joining_are_checked_with_editor_messages(tmp_path):
    root = write_tree(tmp_path, courses={
        "too-many": course(places=10, places_left=12),
        "negative": course(places_left=-1),
        "maybe": course(late_joining="maybe"),
        "fine": course(places=10, places_left=0, late_joining=True),
    })
    found = problems_of(root)
    assert any(re.match(r"courses/too-many\.md:\d+: places_left: 12 is more than `places` \(10\)", p) for p in found), found
    assert any(re.match(r"courses/negative\.md:\d+: places_left: -1 should be a whole number, 0 or more", p) for p in found), found
    assert any(re.match(r"courses/maybe\.md:\d+: late_joining: 'maybe' should be true or false", p) for p in found), found
    assert not any(p.startswith("courses/fine.md") for p in found), found


def test_colours_below_aa_are_errors_that_give_the_ratio(tmp_path):
    root = write_tree(tmp_path, alliance={"colours": {"primary": "#7fb3ff", "accent": "#1d4f91"}})
    found = problems_of(root)
    ratio = contrast("#7fb3ff", "#ffffff")
    assert found == [f"content/alliance.yml:13: colours.primary: #7fb3ff has a contrast ratio of "
                     f"{ratio:.2f}:1 with white, below the 4.5:1 that WCAG AA needs for text; "
                     "choose a darker colour"]
    assert problems_of(write_tree(tmp_path / "ok", alliance={"colours": {"primary": "#17506e"}})) == []
    bad = problems_of(write_tree(tmp_path / "bad", alliance={"colours": {"primary": "blue"}}))
    assert len(bad) == 1 and "colours.primary: 'blue' is not a colour" in bad[0]


def test_logo_and_photo_must_be_files_inside_content(tmp_path):
    (tmp_path / "outside.svg").write_text("<svg/>")
    root = write_tree(tmp_path / "a", alliance={"logo": "../../outside.svg", "photo": "me.gif"})
    found = problems_of(root)
    assert len(found) == 2, found
    assert re.match(r"content/alliance\.yml:\d+: logo: '\.\./\.\./outside\.svg' should be a path "
                    r"inside content/", found[0])
    assert re.match(r"content/alliance\.yml:\d+: photo: 'me\.gif' should be a JPEG, PNG, WebP or SVG", found[1])


@pytest.mark.parametrize("drawing, why", [
    ('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "holds a <script> element"),
    ('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>', "has an event handler (onload=)"),
    ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:x="http://www.w3.org/1999/xlink">'
     '<image x:href="https://evil.example/t.png"/></svg>', "holds a <image> element"),
    ('<svg xmlns="http://www.w3.org/2000/svg"><use href="https://evil.example/a.svg#x"/></svg>',
     "links to 'https://evil.example/a.svg#x'"),
    ('<svg xmlns="http://www.w3.org/2000/svg"><rect style="fill:url(https://evil.example/)"/></svg>',
     "has a style= that fetches another file"),
    ('<!DOCTYPE svg [<!ENTITY a "b">]><svg xmlns="http://www.w3.org/2000/svg"/>', "has a DOCTYPE"),
])
def test_an_svg_logo_that_could_do_more_than_draw_is_refused(tmp_path, drawing, why):
    root = write_tree(tmp_path, alliance={"logo": "identity/logo.svg"})
    (root / "content/identity").mkdir(parents=True, exist_ok=True)
    (root / "content/identity/logo.svg").write_text(drawing)
    found = problems_of(root)
    assert len(found) == 1, found
    assert re.match(r"content/alliance\.yml:\d+: logo: content/identity/logo\.svg ", found[0]), found
    assert why in found[0], found


def test_a_logo_named_png_must_be_a_png(tmp_path):
    root = write_tree(tmp_path, alliance={"logo": "identity/logo.png"})
    (root / "content/identity").mkdir(parents=True, exist_ok=True)
    (root / "content/identity/logo.png").write_text("<svg/>")
    found = problems_of(root)
    assert len(found) == 1 and "logo: content/identity/logo.png is not a picture" in found[0], found


def test_free_pages_are_validated_like_other_records(tmp_path):
    root = write_tree(tmp_path, pages={
        "about-us": {"title": "About us", "nav": "abuot", "body": "Hello."},
        "no-title": {"body": "Text."},
        "empty": {"title": "Empty", "body": ""},
    })
    found = problems_of(root)
    assert "content/pages/about-us.md:3: nav: 'abuot' is not one of courses, support, train, about, news; did you mean 'about'?" in found
    assert "content/pages/no-title.md:2: title: is required" in found
    assert any(p.startswith("content/pages/empty.md") and "empty" in p for p in found), found


def test_free_pages_are_published_in_their_nav_section_in_order(tmp_path):
    root = write_tree(tmp_path, pages={
        "second": {"title": "Second", "nav": "support", "order": 20, "body": "B."},
        "first": {"title": "First & <best>", "nav": "support", "order": 10, "body": "A."},
        "privacy": {"title": "Privacy", "body": "P."},
        "schools": {"title": "Clash", "body": "C."},
    })
    recs = load_ok(root)
    site = pages.site(recs, TODAY)
    paths = {p.path for p in site.pages}
    assert {"first.md", "second.md", "privacy.md"} <= paths
    support = next(v for item in site.nav for k, v in item.items() if k == "Support for schools")
    assert support[:2] == [{"First & <best>": "first.md"}, {"Second": "second.md"}]
    assert "/privacy.md" in site.not_in_nav
    assert [str(p) for p in site.problems] == [
        "content/pages/schools.md: the website needs the address schools.md for a page of its "
        "own; rename this file"]


# --- honest facts ---------------------------------------------------------------------------

def test_terms_follow_the_school_year_and_easter():
    assert [easter(y) for y in (2026, 2027, 2028)] == [dt.date(2026, 4, 5), dt.date(2027, 3, 28),
                                                      dt.date(2028, 4, 16)]
    assert term_of(dt.date(2026, 12, 31)).id == "autumn-2026"
    assert term_of(dt.date(2027, 1, 1)).id == "spring-2027"
    assert term_of(dt.date(2027, 3, 28)).id == "spring-2027"       # Easter Sunday
    assert term_of(dt.date(2027, 3, 29)).id == "summer-2027"
    assert term_of(dt.date(2027, 8, 31)).label == "Summer 2027"
    assert term_of(dt.date(2027, 9, 1)).label == "Autumn 2027"


def test_a_course_under_way_says_whether_late_joining_is_possible(tmp_path):
    runs = [session("2026-12-01"), session("2027-02-01")]
    root = write_tree(tmp_path, courses={
        "late-ok": course(sessions=runs, late_joining=True),
        "late-no": course(sessions=runs, late_joining=False),
        "late-unsaid": course(sessions=runs),
        "no-places": course(places=10, places_left=0),
        "past": course(sessions=[session("2026-12-01")]),
    })
    recs = load_ok(root)
    f = {cid: facts(c, TODAY) for cid, c in recs.courses.items()}
    assert f["late-ok"].started and f["late-ok"].bookable and f["late-ok"].status == "open"
    assert f["late-no"].status == "started" and not f["late-no"].bookable
    assert f["late-unsaid"].status == "started" and "Ask us" in f["late-unsaid"].late_joining_text
    assert f["no-places"].status == "full" and not f["no-places"].bookable
    assert f["past"].finished and f["past"].next_session is None
    assert f["late-ok"].next_session.date == dt.date(2027, 2, 1)
    assert [t.id for t in f["late-ok"].terms] == ["spring-2027"]


def test_a_full_course_suggests_up_to_three_open_ones_for_the_same_people(tmp_path):
    courses = {"full-one": course(audience=["teaching-assistant"], phase=["primary"], status="full")}
    for i in range(5):
        courses[f"ta-{i}"] = course(audience=["teaching-assistant", "teacher"],
                                    phase=["secondary"] if i < 2 else ["primary"],
                                    sessions=[session(f"2027-02-0{i + 1}")])
    courses["for-heads"] = course(audience=["headteacher"], sessions=[session("2027-01-20")])
    courses["ta-cancelled"] = course(audience=["teaching-assistant"], status="cancelled", booking=None)
    recs = load_ok(write_tree(tmp_path, courses=courses))
    offer = Offer.of(recs.courses.values(), TODAY)
    assert [c.id for c in offer.alternatives(recs.courses["full-one"])] == ["ta-2", "ta-3", "ta-4"]


def test_every_count_on_the_demo_site_agrees(demo_site):
    recs = demo_records()
    offer = Offer.of(recs.courses.values(), DEMO_TODAY)
    home = BeautifulSoup((demo_site / "index.html").read_text(), "html.parser")
    finder = BeautifulSoup((demo_site / "courses/index.html").read_text(), "html.parser")
    data = json.loads((demo_site / "courses.json").read_text())
    total = offer.count()
    going_ahead = [c for c in recs.courses.values() if c.last_date >= DEMO_TODAY and c.status != "cancelled"]
    cancelled = [c for c in recs.courses.values() if c.last_date >= DEMO_TODAY and c.status == "cancelled"]
    assert total == len(going_ahead) and cancelled             # the demo has one of each kind
    assert f"{total} upcoming courses" in home.select_one("section.tsa-route").get_text()
    assert home.find("a", string=f"All {total} upcoming courses") is not None
    assert finder.select_one("#finder-count").get_text() == f"{total} upcoming courses"
    assert len(finder.select("#finder-results > li")) == total
    assert data["count"] == total
    assert sorted(c["id"] for c in data["courses"] if c["status"] == "cancelled") == sorted(c.id for c in cancelled)
    assert len(data["courses"]) == total + len(cancelled)    # listed, so that those who booked learn of it
    cover = prospectus_context(recs, DEMO_TODAY)
    assert cover["offer_count"] == total
    for strand in records.STRANDS:
        page = BeautifulSoup((demo_site / f"strands/{strand}.html").read_text(), "html.parser")
        assert len(page.select("li.tsa-card")) == offer.count(strand)
    assert sum(offer.counts_by_strand().values()) == total
    chips = {a["href"].split("role=")[1]: int(a.select_one(".tsa-chips__count").get_text().strip("()"))
             for a in home.select(".tsa-chips a")}
    assert chips == {r: sum(1 for c in offer.courses if r in c.audience)
                     for r in recs.vocabulary.roles if any(r in c.audience for c in offer.courses)}


def test_without_javascript_the_finder_lists_every_upcoming_course(demo_site):
    recs = demo_records()
    finder = BeautifulSoup((demo_site / "courses/index.html").read_text(), "html.parser")
    assert finder.select_one("form.tsa-filters").has_attr("hidden")
    ids = [Path(li.h3.a["href"]).stem for li in finder.select("#finder-results > li")]
    assert sorted(ids) == sorted(c.id for c in recs.upcoming(DEMO_TODAY) if c.status != "cancelled")
    assert not any(li.has_attr("hidden") for li in finder.select("#finder-results > li"))


def test_impact_figures_from_the_records_are_on_the_home_page(demo_site):
    recs = demo_records()
    home = BeautifulSoup((demo_site / "index.html").read_text(), "html.parser")
    shown = [(li.select_one(".tsa-figures__value").get_text(), li.select_one(".tsa-figures__label").get_text())
             for li in home.select("ul.tsa-figures > li")]
    assert shown == [(f.value, f.label) for f in recs.impact.figures] and shown


def test_identity_logo_favicon_colours_and_no_generator_notice(demo_site):
    recs = demo_records()
    home = BeautifulSoup((demo_site / "index.html").read_text(), "html.parser")
    logo = f"media/{recs.alliance.logo}"
    assert home.select_one("link[rel=icon]")["href"] == logo
    assert home.select_one(".md-header__button.md-logo img")["src"] == logo
    assert (demo_site / logo).is_file()
    css = (demo_site / "assets/stylesheets/identity.css").read_text()
    assert f"--md-primary-fg-color: {recs.alliance.colours.primary};" in css
    assert home.select_one(".md-tabs") is not None                 # tabs, not a docs tree
    assert "Made with" not in home.select_one("footer").get_text()
    assert home.select_one(".md-footer__inner") is None             # no Previous/Next
    photo = home.select_one("img.tsa-hero__photo")
    assert photo["alt"] == recs.alliance.photo_alt and (demo_site / photo["src"]).is_file()


# --- open data ------------------------------------------------------------------------------

def test_courses_json_validates_and_matches_the_records(demo_site):
    recs = demo_records()
    data = json.loads((demo_site / "courses.json").read_text())
    jsonschema.validate(data, COURSES_SCHEMA, format_checker=FORMAT)
    shipped = json.loads((demo_site / "courses.schema.json").read_text())
    assert shipped == COURSES_SCHEMA
    by_id = {c["id"]: c for c in data["courses"]}
    assert set(by_id) == {c.id for c in recs.upcoming(DEMO_TODAY)}
    for cid, item in by_id.items():
        c = recs.courses[cid]
        assert item["title"] == c.title and item["cost"] == c.cost
        assert len(item["sessions"]) == len(c.sessions)
        assert (demo_site / urls.page_url(urls.course_path(cid))).is_file()
        assert item["url"] == urls.absolute(recs.alliance.site_url, urls.course_path(cid))
        for s, raw in zip(item["sessions"], c.dated_sessions):
            if raw.start:
                moment = dt.datetime.fromisoformat(s["start"])
                assert moment.utcoffset() in (dt.timedelta(0), dt.timedelta(hours=1))
                assert moment.time() == raw.start


def test_json_ld_on_every_course_page_validates(demo_site):
    recs = demo_records()
    for cid, c in recs.courses.items():
        page = BeautifulSoup((demo_site / f"courses/{cid}.html").read_text(), "html.parser")
        scripts = page.select('script[type="application/ld+json"]')
        assert len(scripts) == 1, cid
        data = json.loads(scripts[0].string)
        jsonschema.validate(data, JSONLD_SCHEMA, format_checker=FORMAT)
        assert data["name"] == c.title and len(data["hasCourseInstance"]) == len(c.sessions)


def test_hostile_titles_stay_inside_json_and_json_ld(tmp_path):
    title = 'Maths </script><script>alert("x")</script> & <!-- "quotes"'
    root = write_tree(tmp_path / "a", courses={"hostile": course(title=title, places=5, places_left=2)})
    out = tmp_path / "site"
    result = CliRunner().invoke(load_cli(), ["build", "--root", str(root), "--out", str(out),
                                             "--today", TODAY.isoformat()])
    assert result.exit_code == 0, result.output
    page = BeautifulSoup((out / "courses/hostile.html").read_text(), "html.parser")
    data = json.loads(page.select_one('script[type="application/ld+json"]').string)
    assert data["name"] == title
    assert len(page.select("script[type='application/ld+json']")) == 1
    assert "</script><script>" not in page.select_one('script[type="application/ld+json"]').decode_contents()
    card = BeautifulSoup((out / "courses/index.html").read_text(), "html.parser").select_one("#finder-results h3")
    assert card.get_text() == title
    data = json.loads((out / "courses.json").read_text())
    jsonschema.validate(data, COURSES_SCHEMA, format_checker=FORMAT)
    assert data["courses"][0]["title"] == title and data["courses"][0]["places_left"] == 2


def test_synthetic_alliance_courses_json_validates(tmp_path):
    import sys
    sys.path.insert(0, str(REPO / "bench"))
    from synth import make_alliance
    make_alliance(tmp_path, courses=400, sles=40, schools=20, news=5)
    recs = load_ok(tmp_path)
    offer = Offer.of(recs.courses.values(), dt.date(2026, 11, 22))
    data = opendata.courses_json(recs, offer, pipeline.course_urls(recs))
    jsonschema.validate(json.loads(opendata.dump(data)), COURSES_SCHEMA, format_checker=FORMAT)
    assert data["count"] == len(offer.courses) > 100
    for c in list(recs.courses.values())[:100]:
        ld = opendata.course_jsonld(recs, c, dt.date(2026, 11, 22), "https://x.example/c.html")
        jsonschema.validate(json.loads(opendata.script_json(ld)), JSONLD_SCHEMA, format_checker=FORMAT)


# --- the newsletter's link to the website -------------------------------------------------

def test_the_newsletters_read_on_the_website_link_is_a_real_page(demo_site):
    from mailer.compose import edition_url
    recs = demo_records()
    for edition in recs.editions.values():
        url = edition_url(recs, edition)
        assert url.startswith(recs.alliance.site_url) and url.endswith(".html")
        assert (demo_site / url[len(recs.alliance.site_url):]).is_file(), url


def test_newsletters_show_places_left_never_the_group_size(tmp_path):
    from mailer.compose import course_view
    recs = load_ok(write_tree(tmp_path, courses={
        "some-left": course(places=30, places_left=4),
        "size-only": course(places=30),
        "none-left": course(places=30, places_left=0)}))
    views = {cid: course_view(recs, c, TODAY) for cid, c in recs.courses.items()}
    assert (views["some-left"].places, views["some-left"].full) == (4, False)
    assert views["size-only"].places is None
    assert views["none-left"].full


def test_an_sle_page_offers_support_only_when_the_sle_gives_it(demo_site):
    recs = demo_records()
    offer = Offer.of(recs.courses.values(), DEMO_TODAY)
    kinds = {}
    for sle in recs.sles.values():
        page = BeautifulSoup((demo_site / f"sles/{sle.id}.html").read_text(), "html.parser")
        ask = page.find(id="ask-for-support").find_next("p")
        mails = [a["href"] for a in ask.find_all("a") if a["href"].startswith("mailto:")]
        named = any(sle.name in unquote(m) for m in mails)
        kinds[sle.availability] = True
        if sle.availability == "unavailable":
            assert "is not taking on support" in ask.get_text() and not named
        else:
            assert named and ("limited time" in ask.get_text()) == (sle.availability == "limited")
        coming = page.find(id="coming-up")
        listed = {Path(a["href"]).stem for a in coming.find_next("ul").find_all("a")} if coming else set()
        assert listed == {c.id for c in offer.courses if sle.id in c.facilitators}
    assert set(kinds) == {"available", "limited", "unavailable"}    # the demo has each


def test_the_header_has_the_short_name_for_phones(demo_site):
    recs = demo_records()
    page = BeautifulSoup((demo_site / "courses/index.html").read_text(), "html.parser")
    topic = page.select_one(".md-header__topic .md-ellipsis")
    assert topic.select_one(".tsa-name--long").get_text() == recs.alliance.name
    assert topic.select_one(".tsa-name--short").get_text() == recs.alliance.short_name
