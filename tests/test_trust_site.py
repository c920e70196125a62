"""Hostile records built into a whole site: record text shows exactly as typed in every context
(<title>, meta and Open Graph tags, the header, the search index, calendar feeds, the PDF), and
editors' Markdown is sanitised under one policy, with a warning at the line of what went.

The site is built once for the module with build.py's command line; every test parses output.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import icalendar
import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner

from records.markdown import TAGS, URL_SCHEMES
from tests.site_support import load_cli
from tests.treebuilder import course, write_tree

TODAY = "2026-11-22"
TITLE = 'Maths </title><script>alert(1)</script> & "Q" <b>b</b> *Star* [x](javascript:alert(3)) C:\\temp'
SUMMARY = 'Sum </title><script>alert(4)</script> "x" & <i>y</i>'
ALLIANCE = 'Fen & Marsh </title><script>alert(2)</script> "TSA"'
SHORT = 'F&M </span><script>alert(8)</script>'
AIM = 'Aim </title><script>alert(5)</script> & "more" <br>'
SLE_NAME = "Ada </title><script>alert(6)</script> O'Brien"
NEWS_TITLE = "News </title><script>alert(7)</script> & more"
BODY = """Hello <script>alert(8)</script> there.

<img src="photo.png" onerror="alert(9)">

[click](javascript:alert(10)) and [fine](https://example.org/a?b=1&c=2)

<iframe src="https://evil.example/"></iframe>

![pixel](https://track.example/p.gif) <img src="\\\\track.example\\q.gif" alt="">

<a href="jav&#x61;script:alert(11)">encoded</a> [data](data:text/html;base64,PHNjcmlwdD4=)

<svg onload="alert(12)"><circle r="1"/></svg>

<form action="https://evil.example/"><input name="pw"></form>

[styled](https://example.org){ onclick="alert(13)" }
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = write_tree(
        tmp_path_factory.mktemp("hostile"),
        alliance={"name": ALLIANCE, "short_name": SHORT, "aim": AIM},
        courses={"evil": course(title=TITLE, summary=SUMMARY, body=BODY)},
        sles={"ada-lovelace": {"name": SLE_NAME, "body": BODY}},
        news={"2026-12-01-evil": {"title": NEWS_TITLE, "summary": SUMMARY, "body": BODY}},
        newsletters={"2027-01-05-x": {"subject": "Spring & \"more\" a < b > c", "date": "2027-01-05",
                                      "body": BODY}})
    out = root / "site"
    result = CliRunner().invoke(load_cli(), ["build", "--root", str(root), "--out", str(out),
                                             "--today", TODAY])
    assert result.exit_code == 0, result.output
    return root, out, result.output


def page(out: Path, path: str) -> BeautifulSoup:
    return BeautifulSoup((out / path).read_text(encoding="utf-8"), "html.parser")


def meta(soup: BeautifulSoup, **attrs) -> str:
    tag = soup.find("meta", attrs=attrs)
    assert tag is not None, attrs
    return tag["content"]


PAGES = {  # page -> (its title text, its description text)
    "courses/evil.html": (TITLE, SUMMARY),
    "news/2026-12-01-evil.html": (NEWS_TITLE, SUMMARY),
    "sles/ada-lovelace.html": (SLE_NAME, None),
}


@pytest.mark.parametrize("path", list(PAGES))
def test_the_title_is_the_text_as_typed(built, path):
    _, out, _ = built
    soup = page(out, path)
    title, _ = PAGES[path]
    assert [t.get_text() for t in soup.find_all("title")] == [f"{title} - {ALLIANCE}"]
    assert soup.find("h1").get_text() == title


@pytest.mark.parametrize("path", list(PAGES))
def test_meta_and_open_graph_tags_are_the_text_as_typed(built, path):
    _, out, _ = built
    soup = page(out, path)
    title, description = PAGES[path]
    assert meta(soup, property="og:title") == title
    assert meta(soup, property="og:site_name") == ALLIANCE
    if description:
        assert meta(soup, name="description") == description
        assert meta(soup, property="og:description") == description


def test_the_site_name_in_the_header_and_drawer_is_text(built):
    _, out, _ = built
    soup = page(out, "courses/evil.html")
    topic = soup.select_one(".md-header__topic .md-ellipsis")
    assert topic.select_one(".tsa-name--long").get_text() == ALLIANCE
    assert topic.select_one(".tsa-name--short").get_text() == SHORT       # on a phone
    assert not any("alert(8)" in script.get_text() for script in soup.select("script"))
    for logo in soup.select("a.md-logo"):
        assert logo["title"] == ALLIANCE and logo["aria-label"] == ALLIANCE
    assert soup.select_one("label.md-nav__title").get_text().strip() == ALLIANCE


def test_pages_without_a_description_use_the_aim_as_text(built):
    _, out, _ = built
    for path in ("404.html", "index.html"):
        soup = page(out, path)
        assert meta(soup, name="description") == AIM
        assert [t.get_text() for t in soup.find_all("title")][-1].endswith(ALLIANCE)


def _scripts_that_are_not_the_themes(soup: BeautifulSoup) -> list:
    """Scripts holding a record's planted text. A course's JSON-LD holds its title as data:
    it counts only if it is not pure JSON or a '<' could close the element."""
    found = []
    for s in soup.find_all("script"):
        text = s.get_text()
        if s.get("type") == "application/ld+json":
            json.loads(text)                       # data, never code
            if "<" in text:
                found.append(s)
        elif "alert" in text:
            found.append(s)
    return found


def test_no_page_holds_a_planted_script_or_handler(built):
    _, out, _ = built
    for file in out.rglob("*.html"):
        soup = BeautifulSoup(file.read_text(encoding="utf-8"), "html.parser")
        assert not _scripts_that_are_not_the_themes(soup), file
        for tag in soup.find_all(True):
            handlers = [a for a in tag.attrs if a.lower().startswith("on")]
            assert not handlers, (file, tag.name, handlers)


@pytest.mark.parametrize("path", ["courses/evil.html", "sles/ada-lovelace.html",
                                  "news/2026-12-01-evil.html", "newsletters/2027-01-05-x.html"])
def test_bodies_keep_only_what_the_policy_allows(built, path):
    _, out, _ = built
    prose = page(out, path).select_one("article .tsa-prose")
    assert prose is not None
    for tag in prose.find_all(True):
        assert tag.name in TAGS, tag.name
        for name, value in tag.attrs.items():
            assert not name.startswith("on")
            if name == "href":
                scheme = urlsplit(value).scheme
                assert scheme in URL_SCHEMES or not scheme, value
            if name == "src":
                assert not urlsplit(value).scheme and not value.startswith("//"), value
    text = " ".join(prose.get_text().split())
    assert "Hello there." in text and "alert(8)" not in text
    assert [a["href"] for a in prose.find_all("a", href=True)] == [
        "https://example.org/a?b=1&c=2", "https://example.org"]
    assert [i["src"] for i in prose.find_all("img")] == ["photo.png"]


def test_editors_are_told_what_was_removed_and_where(built):
    root, _, output = built
    lines = (root / "courses" / "evil.md").read_text(encoding="utf-8").splitlines()
    found = {}
    for line in output.splitlines():
        match = re.match(r"^courses/evil\.md:(\d+): body: warning: (.*)$", line)
        if match:
            found.setdefault(int(match.group(1)), []).append(match.group(2))
    # every warning points at a line that holds what it is about
    expected = {"<script>": "<script", "onerror=": "onerror", "javascript:alert(10)": "javascript:alert(10)",
                "<iframe>": "<iframe", "track.example": "track.example", "data:text/html": "data:text/html",
                "<svg>": "<svg", "<form>": "<form", "<input>": "<input", "onclick=": "onclick"}
    for needle, marker in expected.items():
        places = [n for n, messages in found.items() if any(needle in m for m in messages)]
        assert places, (needle, output)
        assert all(marker in lines[n - 1] for n in places), (needle, places)
    assert min(found) > lines.index("---", 1) + 1          # all in the body, none in the fields
    # the same warnings for the SLE, the news story and the edition
    for rel in ("content/sles/ada-lovelace.md", "content/news/2026-12-01-evil.md",
                "content/newsletters/2027-01-05-x.md"):
        assert any(line.startswith(rel + ":") and "removed <script>" in line
                   for line in output.splitlines()), rel


def test_the_search_index_holds_text_not_markup(built):
    _, out, _ = built
    index = json.loads((out / "search" / "search_index.json").read_text(encoding="utf-8"))
    titles = {}
    for doc in index["docs"]:
        # Material's search shows these as HTML: parsed, they must be text only
        for field in ("title", "text"):
            soup = BeautifulSoup(doc[field], "html.parser")
            assert not soup.find_all(["script", "iframe", "svg", "img", "form"]), doc
            assert "alert(8)" not in soup.get_text()
        titles[doc["location"]] = BeautifulSoup(doc["title"], "html.parser").get_text()
    assert titles["courses/evil.html"] == TITLE
    assert titles["news/2026-12-01-evil.html"] == NEWS_TITLE
    assert titles["index.html"] == ALLIANCE


def ical_text(value: str) -> str:
    """An RFC 5545 TEXT value unescaped (3.3.11)."""
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def test_calendar_feeds_hold_the_text_as_typed(built):
    _, out, _ = built
    feed = icalendar.Calendar.from_ical((out / "calendar" / "courses" / "evil.ics").read_bytes())
    events = list(feed.walk("VEVENT"))
    assert [str(e["SUMMARY"]) for e in events] == [TITLE]
    assert str(events[0]["DESCRIPTION"]).startswith(SUMMARY + "\n\n")
    # icalendar leaves NAME and X- properties undecoded (vUnknown); they are TEXT (RFC 7986)
    assert ical_text(str(feed["NAME"])) == TITLE
    assert ical_text(str(feed["X-WR-CALNAME"])) == TITLE
    everything = icalendar.Calendar.from_ical((out / "calendar" / "all.ics").read_bytes())
    assert str(everything["DESCRIPTION"]) == f"Every upcoming course and event of {ALLIANCE}."


def test_the_prospectus_holds_the_text_as_typed(built):
    pypdf = pytest.importorskip("pypdf")
    _, out, _ = built
    reader = pypdf.PdfReader(str(out / "prospectus.pdf"))
    assert reader.metadata.title.startswith(f"{ALLIANCE}: prospectus ")
    text = "".join("".join(p.extract_text() or "" for p in reader.pages).split())
    assert "".join(TITLE.split()) in text              # lines wrap anywhere: compare no spaces


def test_json_in_pages_is_data_that_cannot_close_its_script(built):
    """JSON-LD and any other JSON in a page: parsed, it holds the text as typed; unparsed, it
    holds no '<', so `</script>` in a title cannot end the element early."""
    _, out, _ = built
    for file in out.rglob("*.html"):
        soup = BeautifulSoup(file.read_text(encoding="utf-8"), "html.parser")
        for script in soup.find_all("script", type=re.compile(r"json", re.I)):
            text = script.string or ""
            assert "<" not in text, (file, text[:200])
            data = json.loads(text)
            names = [data.get("name")] if isinstance(data, dict) else []
            if file.name == "evil.html" and names and names[0]:
                assert names[0] == TITLE
