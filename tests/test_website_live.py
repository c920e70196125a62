"""The preview's build after a save (website.live, driven through serve.Preview as the server
drives it): an edited course rewrites its own page's HTML and no other course's; a course added
or removed joins or leaves the finder, the sitemap and the search index; a free page added to a
section joins the nav on every page. Every page read back from the built folder and parsed."""
from __future__ import annotations

import html
import json
import shutil
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from tests.site_support import DEMO_TODAY

REPO = Path(__file__).resolve().parent.parent
COURSE = "a-level-maths-network"
OTHERS = ["adaptive-teaching-send", "aspiring-middle-leaders"]


@pytest.fixture
def preview(tmp_path):
    from website.serve import Preview
    root = tmp_path / "alliance"
    shutil.copytree(REPO / "content", root / "content")
    shutil.copytree(REPO / "courses", root / "courses")
    site = tmp_path / "site"
    preview = Preview(root, root / ".build", site, DEMO_TODAY, "http://127.0.0.1:8000/")
    preview.rebuild()
    assert preview.builds == 1 and preview.problems is None
    return root, site, preview


def _page(site: Path, path: str) -> BeautifulSoup:
    return BeautifulSoup((site / path).read_text(encoding="utf-8"), "html.parser")


def _stamp(path: Path) -> int:
    return path.stat().st_mtime_ns


def _finder_links(site: Path) -> set[str]:
    cards = _page(site, "courses/index.html").select("#finder-results a[href]")
    return {a["href"].rsplit("/", 1)[-1] for a in cards}


def _search_locations(site: Path) -> set[str]:
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    return {doc["location"].split("#")[0] for doc in index["docs"]}


def _nav_titles(page: BeautifulSoup) -> list[str]:
    return [a.get_text(" ", strip=True) for a in page.select("nav.md-nav--primary a.md-nav__link")]


def test_an_edited_course_rewrites_its_page_and_no_other(preview):
    root, site, preview = preview
    others = {name: _stamp(site / "courses" / f"{name}.html") for name in OTHERS}
    before = {name: (site / "courses" / f"{name}.html").read_bytes() for name in OTHERS}
    course = root / "courses" / f"{COURSE}.md"
    course.write_text(course.read_text(encoding="utf-8").replace(
        "title: A level maths network", "title: A level maths & <further> maths network"),
        encoding="utf-8")
    preview.rebuild()
    assert preview.problems is None and preview.builds == 2
    page = _page(site, f"courses/{COURSE}.html")
    assert page.select_one("article h1").get_text(strip=True) == \
        "A level maths & <further> maths network"
    assert page.title.get_text().startswith("A level maths & <further> maths network")
    # a list row made by a macro on another page: its SLE's page lists the course
    sle = _page(site, "sles/lukasz-wisniewski.html")
    rows = [a.get_text(strip=True) for a in sle.select(f"article a[href$='{COURSE}.html']")]
    assert rows == ["A level maths & <further> maths network"], rows
    for name in OTHERS:
        assert _stamp(site / "courses" / f"{name}.html") == others[name], name   # not rewritten
        assert (site / "courses" / f"{name}.html").read_bytes() == before[name]
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    titles = [html.unescape(d["title"]) for d in index["docs"] if d["location"].startswith(f"courses/{COURSE}.html")]
    assert "A level maths & <further> maths network" in titles
    assert "A level maths network" not in titles            # the old entries went


def test_a_course_added_then_removed_joins_and_leaves_the_finder_sitemap_and_search(preview):
    root, site, preview = preview
    new = root / "courses" / "summer-phonics-network.md"
    assert not new.exists() and not (site / "courses" / "summer-phonics-network.html").exists()
    pages_before = len(preview.site._doc_files())
    text = (root / "courses" / f"{COURSE}.md").read_text(encoding="utf-8")
    new.write_text(text.replace("title: A level maths network", "title: Summer phonics network")
                   .replace("facilitators: [lukasz-wisniewski]\n", ""), encoding="utf-8")
    preview.rebuild()
    assert preview.problems is None
    page = _page(site, "courses/summer-phonics-network.html")
    assert page.select_one("article h1").get_text(strip=True) == "Summer phonics network"
    assert "summer-phonics-network.html" in _finder_links(site)
    assert "summer-phonics-network.html" in (site / "sitemap.xml").read_text(encoding="utf-8")
    assert "courses/summer-phonics-network.html" in _search_locations(site)
    assert len(preview.site._doc_files()) == pages_before + 1

    new.unlink()
    preview.rebuild()
    assert preview.problems is None and preview.builds == 3
    assert not (site / "courses" / "summer-phonics-network.html").exists()
    assert len(preview.site._doc_files()) == pages_before
    assert "summer-phonics-network.html" not in _finder_links(site)
    assert f"{COURSE}.html" in _finder_links(site)
    assert "summer-phonics-network.html" not in (site / "sitemap.xml").read_text(encoding="utf-8")
    assert "courses/summer-phonics-network.html" not in _search_locations(site)


def test_a_free_page_added_to_a_section_joins_the_nav_of_every_page(preview):
    root, site, preview = preview
    assert "Our governors" not in _nav_titles(_page(site, f"courses/{COURSE}.html"))
    (root / "content" / "pages" / "governors.md").write_text(
        "---\ntitle: Our governors\nsummary: Who governs the alliance.\nnav: about\norder: 50\n"
        "---\nThe governors meet termly.\n", encoding="utf-8")
    preview.rebuild()
    assert preview.problems is None
    for path in (f"courses/{COURSE}.html", "index.html", f"courses/{OTHERS[0]}.html"):
        assert "Our governors" in _nav_titles(_page(site, path)), path


def test_errors_keep_the_last_good_pages_and_the_fix_builds_again(preview):
    root, site, preview = preview
    course = root / "courses" / f"{COURSE}.md"
    original = course.read_text(encoding="utf-8")
    before = (site / "courses" / f"{COURSE}.html").read_bytes()
    course.write_text(original.replace("strand: cpd", "strand: cdp"), encoding="utf-8")
    preview.rebuild()
    assert [str(p) for p in preview.problems.errors] == [
        f"courses/{COURSE}.md:3: strand: 'cdp' is not one of itt, cpd, leadership, "
        "school-support, sle, research; did you mean 'cpd'?"]
    assert (site / "courses" / f"{COURSE}.html").read_bytes() == before
    course.write_text(original.replace("title: A level maths network", "title: Maths network"),
                      encoding="utf-8")
    preview.rebuild()
    assert preview.problems is None
    assert _page(site, f"courses/{COURSE}.html").select_one("article h1").get_text(strip=True) \
        == "Maths network"


def test_a_warning_is_printed_once_then_counted(preview, capsys):
    root, site, preview = preview
    capsys.readouterr()
    course = root / "courses" / f"{COURSE}.md"
    original = course.read_text(encoding="utf-8")
    course.write_text(original + "\nA <marquee>moving</marquee> line.\n", encoding="utf-8")
    preview.rebuild()
    first = capsys.readouterr().out.splitlines()
    warned = [line for line in first if line.startswith(f"courses/{COURSE}.md:") and "warning" in line]
    assert len(warned) == 1 and "marquee" in warned[0], first
    other = root / "courses" / f"{OTHERS[0]}.md"
    other.write_text(other.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")
    preview.rebuild()
    second = capsys.readouterr().out.splitlines()
    assert not [line for line in second if "marquee" in line], second
    assert "(1 warning as before)" in second, second
    assert preview.problems is None


def test_the_search_index_after_saves_is_what_the_search_plugin_writes(preview):
    """The preview writes the index from entries encoded once (website.live): the same bytes
    as Material's own writer, after an edit, an addition and a removal."""
    root, site, preview = preview
    course = root / "courses" / f"{COURSE}.md"
    text = course.read_text(encoding="utf-8")
    course.write_text(text.replace("title: A level maths network",
                                   'title: "A level maths \\u00e9 & <b> \\"network\\""'), encoding="utf-8")
    (root / "courses" / "new-course-copy.md").write_text(
        text.replace("title: A level maths network", "title: A new course"), encoding="utf-8")
    preview.rebuild()
    (root / "courses" / "new-course-copy.md").unlink()
    preview.rebuild()
    assert preview.problems is None and preview.builds == 3
    plugin = preview.site._search_plugin()
    assert plugin is not None                     # Material's: the faster writer was used
    written = (site / "search" / "search_index.json").read_bytes()
    assert written == plugin.search_index.generate_search_index(None).encode("utf-8")
    titles = [d["title"] for d in json.loads(written)["docs"]]
    assert any("A level maths \u00e9" in t for t in titles), titles
    assert not any("A new course" in t for t in titles)


def _sle_rows(site: Path) -> list[str]:
    sle = _page(site, "sles/lukasz-wisniewski.html")
    return [a.get_text(strip=True) for a in sle.select(f"article a[href$='{COURSE}.html']")]


def test_a_saved_course_is_shown_first_then_the_pages_that_list_it(preview, capsys):
    """The server reloads the browsers showing the saved course as soon as its own page is
    built (publish), then those showing a page the rest of the update built (reload)."""
    root, site, preview = preview
    shown = []
    preview.publish = lambda urls: shown.append((
        set(urls), _page(site, f"courses/{COURSE}.html").select_one("article h1").get_text(strip=True),
        _sle_rows(site)))
    course = root / "courses" / f"{COURSE}.md"
    original = course.read_text(encoding="utf-8")
    course.write_text(original.replace("title: A level maths network",
                                       "title: A level maths & <further> maths"), encoding="utf-8")
    capsys.readouterr()
    preview.rebuild()
    new = "A level maths & <further> maths"
    # when shown first: the course's own page is new, the SLE page listing it not yet
    assert shown == [({f"courses/{COURSE}.html"}, new, ["A level maths network"])]
    assert _sle_rows(site) == [new]                              # then the rest
    assert "sles/lukasz-wisniewski.html" in preview.reload
    assert f"courses/{COURSE}.html" not in preview.reload        # not reloaded twice
    assert "board.html" not in preview.reload
    titles = [html.unescape(d["title"]) for d in json.loads((site / "search" / "search_index.json")
              .read_text(encoding="utf-8"))["docs"] if d["location"].startswith(f"courses/{COURSE}.html")]
    assert new in titles and "A level maths network" not in titles   # the index, at the end
    printed = capsys.readouterr().out
    assert "Rebuilt in " in printed and "(the saved page shown after " in printed, printed

    # a new course waits for the whole update (which checks its address)
    shown.clear()
    added = root / "courses" / "summer-phonics-network.md"
    added.write_text(original.replace("title: A level maths network", "title: Summer phonics"),
                     encoding="utf-8")
    preview.rebuild()
    assert shown == [] and preview.problems is None
    assert _page(site, "courses/summer-phonics-network.html").select_one("article h1") \
        .get_text(strip=True) == "Summer phonics"

    # an error: nothing shown first, every browser reloads (the problems on every page)
    course.write_text(original.replace("strand: cpd", "strand: cdp"), encoding="utf-8")
    preview.rebuild()
    assert shown == [] and preview.problems is not None and preview.reload is None
    # the fix: every browser reloads again (the problems leave every page)
    course.write_text(original, encoding="utf-8")
    preview.rebuild()
    assert shown == [] and preview.problems is None and preview.reload is None
    # and the next save shows its page first again
    course.write_text(original.replace("title: A level maths network", "title: Maths again"),
                      encoding="utf-8")
    preview.rebuild()
    assert [urls for urls, *_ in shown] == [{f"courses/{COURSE}.html"}]
    assert _page(site, f"courses/{COURSE}.html").select_one("article h1").get_text(strip=True) \
        == "Maths again"
