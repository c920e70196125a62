"""What the preview remembers between saves gives the same answers as starting afresh.

The preview (website/preview.py) reuses, from one save to the next, each unchanged document's
cross-check outcome (records/check_memo.py), the double-booking sweep, the course feeds and
each page's signature. Each test here makes a series of edits an editor could make and, after
every one, compares the preview's answer with a fresh load or a fresh build of the same files.
"""
from __future__ import annotations

import datetime as dt
import html
import os
import shutil
from pathlib import Path

import pytest

import records
from records.cache import RecordCache
from website import calendar as feeds

MINI = Path(__file__).resolve().parent / "fixtures" / "mini"
TODAY = dt.date(2027, 1, 10)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "alliance"
    shutil.copytree(MINI, root)
    return root


def _save(path: Path, text: str) -> None:
    """Write as an editor saves: a new modification time the stamps can tell apart."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    later = max(path.stat().st_mtime_ns, before + 1_000_000_000)
    os.utime(path, ns=(later, later))


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    _save(path, text.replace(old, new))


def _problems(found) -> list[str]:
    return sorted(str(p) for p in found)


CLASH = """---
title: Another workshop in the hall
strand: leadership
summary: The same morning, the same hall.
audience: [middle-leader]
sessions:
  - date: 2027-03-04
    start: "10:00"
    end: "12:00"
    venue: hall
facilitators: [zoe-bronte]
cost: 0
booking: https://forms.example/another
---
Planned in the same room by mistake.
"""


def _edits(root: Path):
    """Edits, one at a time: each yields what it did, for the assertion's message."""
    courses, sles = root / "courses", root / "content" / "sles"
    _replace(courses / "star-workshop.md", "Leaders plan together.", "Leaders plan anew.")
    yield "a body edited"
    _replace(courses / "star-workshop.md", "venue: hall", "venue: hal")
    yield "an unknown venue"
    _replace(courses / "star-workshop.md", "venue: hal", "venue: hall")
    yield "the venue put right"
    _save(courses / "another-workshop.md", CLASH)
    yield "a new course in the same hall at the same time"
    _replace(courses / "star-workshop.md", '"09:30"', '"13:30"')
    yield "the first course moved to the afternoon: no clash"
    _replace(courses / "star-workshop.md", '"13:30"', '"09:30"')
    yield "back to the morning: the clash again"
    os.rename(sles / "zoe-bronte.md", sles / "zoe-bronte-cosic.md")
    yield "an SLE's file renamed: an unchanged course now names an unknown SLE"
    (sles / "sam-okoro.png").unlink()
    yield "an SLE's photo deleted: the SLE's file is unchanged"
    (courses / "another-workshop.md").unlink()
    yield "the new course deleted"
    _replace(root / "content" / "alliance.yml", "short_name: Mini TSA", "short_name: [broken")
    yield "the alliance file broken"


def test_remembered_cross_checks_agree_with_a_fresh_load(root):
    memory = RecordCache(root, disk=False)
    records.load(root, memory=memory)
    seen = set()
    for what in _edits(root):
        remembered = _problems(records.load(root, memory=memory)[1])
        fresh = _problems(records.load(root, cache=False)[1])
        assert remembered == fresh, what
        seen.add(tuple(fresh))
    assert len(seen) >= 5                     # the edits did change what is reported


def test_a_problem_in_an_unchanged_file_is_still_reported_after_other_saves(root):
    memory = RecordCache(root, disk=False)
    _save(root / "courses" / "another-workshop.md", CLASH)
    first = records.load(root, memory=memory)[1]
    clashes = [p for p in first.warnings if "double booking" in p.message]
    assert clashes and {p.path for p in clashes} >= {"courses/another-workshop.md"}
    _replace(root / "courses" / "enquiry-day.md", "Projects from every school.", "Projects.")
    again = records.load(root, memory=memory)[1]
    assert [str(p) for p in again.warnings if "double booking" in p.message] == [
        str(p) for p in clashes]


def test_the_preview_renders_nothing_again_when_nothing_changed(tmp_path, root):
    """Even for files saved a moment ago, which the record cache does not keep (they might
    change again within the file system's timestamp tick): read again, same pages."""
    from website.preview import Incremental
    preview = Incremental(root, tmp_path / "preview", TODAY)
    first = preview.update()
    assert first.ok and first.rendered == first.pages > 0
    again = preview.update()
    assert again.ok and (again.rendered, again.written) == (0, 0)


def test_a_saved_course_renders_its_own_page_and_the_lists_that_show_it(tmp_path, root):
    from website.preview import Incremental
    preview = Incremental(root, tmp_path / "preview", TODAY)
    assert preview.update().ok
    other = tmp_path / "preview" / "docs" / "courses" / "enquiry-day.md"
    before = other.read_text(encoding="utf-8")
    _replace(root / "courses" / "star-workshop.md", "Leaders plan together.", "Leaders & <plan>.")
    update = preview.update()
    assert update.ok and 1 <= update.rendered < update.pages // 2
    assert update.changed == {"courses/star-workshop.md"}     # a body shows on its page only
    assert other.read_text(encoding="utf-8") == before


def test_course_feeds_after_saves_are_those_of_a_fresh_build(root):
    """The preview keeps each course's events and the whole offer's feeds between saves."""
    memory, memo = RecordCache(root, disk=False), {}
    recs, _ = records.load(root, memory=memory)
    feeds.calendars(recs, TODAY, memo=memo, token=lambda c: memory.stamps.get(c.path))
    for what in ("body", "title", "new", "gone"):
        course = root / "courses" / "star-workshop.md"
        if what == "body":
            _replace(course, "Leaders plan together.", "Leaders plan anew.")
        elif what == "title":
            _replace(course, "leaders' workshop", "leaders' day & <more>")
        elif what == "new":
            _save(root / "courses" / "another-workshop.md", CLASH)
        else:
            (root / "courses" / "another-workshop.md").unlink()
        recs, _ = records.load(root, memory=memory)
        kept = feeds.calendars(recs, TODAY, memo=memo, token=lambda c: memory.stamps.get(c.path))
        fresh = feeds.calendars(records.load(root, cache=False)[0], TODAY)
        assert kept == fresh, what


def test_a_change_saved_with_an_error_elsewhere_shows_once_the_error_is_fixed(tmp_path, root):
    """An update that fails (another file has an error) must not make the next one forget
    that a course changed: its finder card and list rows are made afresh then."""
    from website.preview import Incremental
    preview = Incremental(root, tmp_path / "preview", TODAY)
    assert preview.update().ok
    docs = tmp_path / "preview" / "docs"
    _replace(root / "courses" / "star-workshop.md", "leaders' workshop", "leaders' Zephyrmeet")
    _replace(root / "courses" / "enquiry-day.md", "cost: 12.5", "cost: twelve")
    assert not preview.update().ok
    _replace(root / "courses" / "enquiry-day.md", "cost: twelve", "cost: 12.5")
    assert preview.update().ok
    texts = {path.relative_to(docs).as_posix(): html.unescape(path.read_text(encoding="utf-8"))
             for path in docs.rglob("*.md")}
    shown = {path for path, text in texts.items() if "leaders' Zephyrmeet" in text}
    stale = {path for path, text in texts.items() if "leaders' workshop" in text}
    assert "courses/star-workshop.md" in shown and len(shown) > 1, shown
    assert not stale, stale


def test_a_venue_renamed_in_venues_yml_shows_on_every_page_that_names_it(tmp_path, root):
    from website.preview import Incremental
    preview = Incremental(root, tmp_path / "preview", TODAY)
    assert preview.update().ok
    page = tmp_path / "preview" / "docs" / "courses" / "star-workshop.md"
    assert "Minton Primary School, hall" in html.unescape(page.read_text(encoding="utf-8"))
    _replace(root / "content" / "venues.yml", "Minton Primary School, hall", "The Great Hall & Annexe")
    update = preview.update()
    assert update.ok and update.rendered == update.pages          # a shared file: every page
    text = html.unescape(page.read_text(encoding="utf-8"))
    assert "The Great Hall & Annexe" in text and "Minton Primary School, hall" not in text
    assert preview.update().rendered == 0                         # and then nothing again


def test_an_edit_that_keeps_the_size_and_the_timestamp_still_shows(tmp_path, root):
    """A save within the same timestamp tick that keeps the file's size ("racy git"): the
    memory cache compares the bytes of a file saved a moment ago, and the preview's checks,
    pages and feeds follow the record it reads."""
    from website.preview import Incremental
    preview = Incremental(root, tmp_path / "preview", TODAY)
    course = root / "courses" / "enquiry-day.md"
    _save(course, course.read_text(encoding="utf-8").replace("venue: centre", "venue: centr"))
    update = preview.update()
    assert not update.ok and "unknown venue 'centr'" in str(update.problems.errors)
    before = os.stat(course)
    course.write_text(course.read_text(encoding="utf-8").replace("venue: centr\n", "venue: hall \n"),
                      encoding="utf-8")                  # the same size: "centr", "hall "
    os.utime(course, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(course).st_size == before.st_size
    update = preview.update()
    assert update.ok, update.problems.errors
    page = tmp_path / "preview" / "docs" / "courses" / "enquiry-day.md"
    assert "Minton Primary School, hall" in html.unescape(page.read_text(encoding="utf-8"))
