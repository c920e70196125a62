"""Which pages exist and where; the docs folder written incrementally; the preview's regeneration."""
from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest

import records
from website import config as site_config
from website import pages, pipeline, serve

MINI = Path(__file__).resolve().parent / "fixtures" / "mini"
TODAY = dt.date(2027, 1, 10)


def mini(tmp_path: Path) -> Path:
    root = tmp_path / "alliance"
    shutil.copytree(MINI, root)
    return root


def test_every_kind_of_page_and_nothing_else(tmp_path):
    recs, _ = records.load(MINI)
    site = pages.site(recs, TODAY)
    paths = {p.path for p in site.pages}
    assert {"index.md", "courses/index.md", "archive/index.md", "sles/index.md", "schools.md",
            "board.md", "news/index.md", "newsletters/index.md", "accessibility.md"} <= paths
    assert {f"strands/{s}.md" for s in records.STRANDS} <= paths
    assert {f"courses/{c}.md" for c in recs.courses} <= paths
    assert {f"sles/{s}.md" for s in recs.sles} <= paths
    assert "archive/research.md" in paths and "archive/cpd.md" not in paths   # only if any
    assert len(paths) == len(site.pages)
    assert [a.path for a in site.assets] == ["media/sles/sam-okoro.png"]


def test_the_nav_lists_sections_only(tmp_path):
    flat = []

    def walk(items):
        for item in items:
            for value in item.values():
                walk(value) if isinstance(value, list) else flat.append(value)
    walk(pages.nav())
    assert len(flat) == 8          # home, finder, past, SLEs, schools, board, news, newsletters
    assert not any(p.startswith(("courses/", "sles/", "news/", "newsletters/")) and
                   not p.endswith("index.md") for p in flat)


def test_an_id_that_clashes_with_a_listing_page_is_a_problem(tmp_path):
    root = mini(tmp_path)
    shutil.copy(root / "courses" / "enquiry-day.md", root / "courses" / "index.md")
    recs, problems = records.load(root)
    assert not problems.errors
    site = pages.site(recs, TODAY)
    assert [str(p) for p in site.problems] == [
        "courses/index.md: the website needs the address courses/index.md for a page of its "
        "own; rename this file"]


def test_write_files_rewrites_only_what_changed_and_removes_the_rest(tmp_path):
    folder = tmp_path / "docs"
    assert pipeline.write_files(folder, {"a.md": "A", "x/b.md": "B", "x/y/c.md": "C"}, {}) == 3
    stamp = (folder / "a.md").stat().st_mtime_ns
    assert pipeline.write_files(folder, {"a.md": "A", "x/b.md": "B2"}, {}) == 1
    assert (folder / "a.md").stat().st_mtime_ns == stamp
    assert (folder / "x" / "b.md").read_text() == "B2"
    assert not (folder / "x" / "y").exists()


def test_the_preview_regenerates_after_an_edit(tmp_path):
    from website.preview import Incremental

    root = mini(tmp_path)
    folder = tmp_path / "preview"
    preview = Incremental(root, folder, TODAY)
    assert preview.update().ok
    page = folder / "docs" / "courses" / "star-workshop.md"
    untouched = folder / "docs" / "courses" / "enquiry-day.md"
    stamp = untouched.stat().st_mtime_ns
    course = root / "courses" / "star-workshop.md"
    course.write_text(course.read_text().replace("Leaders plan together.", "Leaders plan anew."))
    later = course.stat().st_mtime_ns + 2_000_000_000        # a save the stamps can tell apart
    os.utime(course, ns=(later, later))
    update = preview.update()
    assert update.ok and update.written >= 1
    assert "Leaders plan anew." in page.read_text()
    assert untouched.stat().st_mtime_ns == stamp             # only what the change touches

    course.write_text(course.read_text().replace("strand: leadership", "strand: leadership\ncost: x"))
    os.utime(course, ns=(later + 2_000_000_000,) * 2)
    update = preview.update()
    assert not update.ok and update.problems.errors          # an error: keep the last pages
    assert "Leaders plan anew." in page.read_text()


def test_rendering_in_worker_processes_gives_the_same_pages():
    recs, _ = records.load(MINI)
    _, alone = pipeline.render_site(recs, TODAY, workers=1)
    _, shared = pipeline.render_site(recs, TODAY, workers=2)
    assert list(shared) == list(alone) and shared == alone


# --- beside the pages: feeds and the prospectus -----------------------------------------------

def test_page_addresses_follow_use_directory_urls():
    assert site_config.page_url("courses/x.md", False) == "courses/x.html"
    assert site_config.page_url("courses/x.md", True) == "courses/x/"
    assert site_config.page_url("index.md", False) == "index.html"
    assert site_config.page_url("index.md", True) == ""
    assert site_config.page_url("courses/index.md", True) == "courses/"
    # one address scheme for the whole product, whatever mkdocs.yml says: the mailer links too
    assert site_config.directory_urls({"use_directory_urls": True}) is False
    recs, _ = records.load(MINI)
    cfg = site_config.generated_config(recs, [], [], TODAY, base={"use_directory_urls": True})
    assert cfg["use_directory_urls"] is False


def test_feeds_link_course_pages_where_mkdocs_puts_them():
    recs, _ = records.load(MINI)
    site_url = recs.alliance.site_url.rstrip("/")
    assert pipeline.course_urls(recs, {"use_directory_urls": False})("star-workshop") == \
        f"{site_url}/courses/star-workshop.html"
    assert pipeline.course_urls(recs, {"use_directory_urls": True})("star-workshop") == \
        f"{site_url}/courses/star-workshop.html"          # the generated config forces .html


def test_the_generated_docs_hold_the_feeds_and_a_stand_in_prospectus(tmp_path):
    from pypdf import PdfReader

    recs, _ = records.load(MINI)
    pipeline.generate(recs, TODAY, tmp_path / "project")
    docs = tmp_path / "project" / "docs"
    assert (docs / "calendar" / "all.ics").read_bytes().startswith(b"BEGIN:VCALENDAR\r\n")
    assert {p.stem for p in (docs / "calendar" / "courses").iterdir()} == set(recs.courses)
    text = PdfReader(docs / "prospectus.pdf").pages[0].extract_text()
    assert "made by the full build" in text and "python build.py" in text
    pipeline.generate(recs, TODAY, tmp_path / "project", prospectus=b"%PDF-real")
    assert (docs / "prospectus.pdf").read_bytes() == b"%PDF-real"


@pytest.mark.parametrize("inline", ["1", "0"])
def test_a_prospectus_that_fails_publishes_nothing(tmp_path, monkeypatch, inline):
    def broken(recs, today, **caps):
        raise OSError("no fonts on this machine")
    monkeypatch.setattr(pipeline, "prospectus_pdf", broken)
    monkeypatch.setenv("TSA_PROSPECTUS_INLINE", inline)      # "0": in a forked process if safe
    out = tmp_path / "site"
    result = pipeline.build(mini(tmp_path), out, today=TODAY)
    assert not result.published and not out.exists()
    assert [str(p) for p in result.problems.errors] == [
        "prospectus.pdf: could not make the prospectus: OSError: no fonts on this machine"]
