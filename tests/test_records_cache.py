"""The parse cache under .cache/: reused while a file is unchanged, never a different answer."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

import records
from records import cache as record_cache
from test_records import COURSE, SLE, make_tree


def _age(root: Path, seconds: float = 60) -> None:
    """Date every file back, as if saved a while ago: the cache stores only settled files."""
    when = time.time() - seconds
    for path in root.rglob("*"):
        if path.is_file() and ".cache" not in path.parts:
            os.utime(path, (when, when))


def _check(root: Path) -> list[str]:
    return [str(p) for p in records.check(root)[1]]


def _cache_files(root: Path) -> list[Path]:
    return sorted((root / ".cache").rglob("*.pickle"))


def test_a_warm_check_gives_the_same_answer_and_sees_an_edit(tmp_path):
    root = make_tree(tmp_path, {"courses/maths-science.md": COURSE.replace("venue: centre", "venue: centr")})
    _age(root)
    first = _check(root)
    assert first == ["courses/maths-science.md:10: sessions[1].venue: unknown venue 'centr'; "
                     "did you mean 'centre'?"]
    assert _cache_files(root), "the outcomes were kept under .cache/"
    assert _check(root) == first
    (root / "courses/maths-science.md").write_text(COURSE, encoding="utf-8")      # fixed
    assert _check(root) == []


RECHECK_SCRIPT = """
import sys
import records
found = [str(p) for p in records.check(sys.argv[1])[1]]
print(repr(("markdown" in sys.modules, found)))
"""


@pytest.mark.parametrize("parallel", [False, True], ids=["one-process", "workers"])
def test_a_suspect_paragraph_is_worked_out_once_and_kept_between_checks(tmp_path, parallel):
    """What a body's suspect paragraph loses is kept under .cache/: a `check` in a new
    process, after an edit elsewhere in the file, gives the same warning at the right line
    without loading Python-Markdown; a new paragraph is worked out, and a damaged kept file
    is only a slower check."""
    import ast
    import subprocess
    import sys
    hostile = COURSE.replace("What we do.", "What we do <by email>, & more.")
    root = make_tree(tmp_path, {"courses/maths-science.md": hostile})
    if parallel:
        for i in range(3):
            (root / f"courses/part-{i}.md").write_text(hostile.replace(
                "venue: centre", "venue: online").replace("[zoe-angstrom]", "[]").replace(
                "title: ", f"title: Part {i} of ", 1), encoding="utf-8")
    _age(root)
    course = root / "courses/maths-science.md"
    env = {**os.environ, "PYTHONPATH": str(Path(records.__file__).parent.parent)}
    prelude = ("from records import parallel_check\nparallel_check.PARALLEL_FROM = 2\n"
               if parallel else "")

    def check_in_a_new_process() -> tuple[bool, list[str]]:
        done = subprocess.run([sys.executable, "-c", prelude + RECHECK_SCRIPT, str(root)],
                              env=env, capture_output=True, text=True, check=True)
        return ast.literal_eval(done.stdout)

    loaded, cold = check_in_a_new_process()            # with workers: rendered in them
    assert loaded is not parallel and any("<by>" in p for p in cold), cold
    course.write_text(hostile.replace("summary: ", "# moved down a line\nsummary: Now "),
                      encoding="utf-8")
    loaded, warm = check_in_a_new_process()
    assert not loaded, "the paragraph's removals came from .cache/"
    assert warm == [str(p) for p in records.check(root, cache=False)[1]]
    assert [p.split(":")[1] for p in warm if "<by>" in p and "maths" in p] == \
        [str(int(p.split(":")[1]) + 1) for p in cold if "<by>" in p and "maths" in p]
    course.write_text(hostile + "\nSee <iframe src=x></iframe>.\n", encoding="utf-8")
    loaded, new = check_in_a_new_process()
    assert loaded and any("<iframe>" in p for p in new), new
    for kept in (root / ".cache").rglob("check-removals.pickle"):
        kept.write_bytes(b"not a pickle")
    course.write_text(hostile, encoding="utf-8")
    loaded, again = check_in_a_new_process()
    assert loaded and again == cold


def test_an_edit_of_the_same_size_within_the_same_second_is_seen(tmp_path):
    root = make_tree(tmp_path)
    course = root / "courses/maths-science.md"
    assert _check(root) == []
    course.write_text(COURSE.replace("strand: cpd", "strand: cdp"), encoding="utf-8")
    assert [p.split(":")[0] for p in _check(root)] == ["courses/maths-science.md"]


def test_a_file_saved_a_moment_ago_is_reused_while_its_bytes_are_the_same(tmp_path):
    """Too new for its stamp alone to be trusted (it could change again within the same
    timestamp tick, keeping its size): kept with a digest of its bytes, so it is not read and
    validated again on every run, and an edit that keeps the size and the stamp is seen."""
    from records.cache import RecordCache
    root = make_tree(tmp_path)
    course = root / "courses/maths-science.md"
    memory = RecordCache(root, disk=False)
    first = records.load(root, memory=memory)[0].courses["maths-science"]
    again = records.load(root, memory=memory)[0].courses["maths-science"]
    assert again is first                                 # from the cache, not read again
    before = os.stat(course)
    course.write_text(COURSE.replace("strand: cpd", "strand: itt"), encoding="utf-8")
    os.utime(course, ns=(before.st_atime_ns, before.st_mtime_ns))   # the same stamp
    assert os.stat(course).st_size == before.st_size
    edited = records.load(root, memory=memory)[0].courses["maths-science"]
    assert edited.strand == "itt"
    assert _check(root) == [] and _check(root) == []      # and through `check`'s cache
    course.write_text(COURSE.replace("strand: cpd", "strand: cdp"), encoding="utf-8")
    os.utime(course, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert [p.split(":")[0] for p in _check(root)] == ["courses/maths-science.md"]


def test_a_new_sle_file_makes_a_reference_known_without_touching_the_course(tmp_path):
    root = make_tree(tmp_path, {"courses/maths-science.md": COURSE.replace("[zoe-angstrom]",
                                                                            "[new-person]")})
    _age(root)
    assert "unknown SLE 'new-person'" in _check(root)[0]
    (root / "content/sles/new-person.md").write_text(SLE, encoding="utf-8")
    assert _check(root) == []


def test_venues_come_from_the_cache_until_the_file_changes(tmp_path):
    root = make_tree(tmp_path)
    _age(root)
    assert _check(root) == []
    venues = root / "content/venues.yml"
    text = venues.read_text(encoding="utf-8")
    recs, problems = records.load(root)
    assert "centre" in recs.venues and problems.items == []
    venues.write_text(text.replace("centre:", "center:", 1), encoding="utf-8")
    found = _check(root)
    assert found and all("unknown venue 'centre'" in p for p in found), found
    assert "centre" not in records.load(root)[0].venues
    venues.write_text(text, encoding="utf-8")
    assert _check(root) == []


def test_the_alliance_and_board_come_from_the_cache_until_their_file_changes(tmp_path):
    """Both are read through the cache (a re-check skips them); an edit is seen at once."""
    from test_records import ALLIANCE, BOARD
    root = make_tree(tmp_path)
    _age(root)
    assert _check(root) == [] and _check(root) == []
    alliance, board = root / "content/alliance.yml", root / "content/board.yml"
    alliance.write_text(ALLIANCE.replace("lead_school: testwick-primary", "lead_school: testwick"),
                        encoding="utf-8")
    board.write_text(BOARD.replace("  organisation: University of Testwick\n", ""), encoding="utf-8")
    found = _check(root)
    assert any(p.startswith("content/alliance.yml:4: lead_school: unknown school 'testwick'")
               for p in found), found
    assert any(p.startswith("content/board.yml:") for p in found), found
    assert records.load(root)[0].alliance.lead_school == "testwick"
    _age(root, 30)
    assert _check(root) == found                          # the same answer from the cache
    alliance.write_text(ALLIANCE, encoding="utf-8")
    board.write_text(BOARD, encoding="utf-8")
    assert _check(root) == []
    assert records.load(root)[0].alliance.lead_school == "testwick-primary"


def test_a_deleted_or_damaged_cache_is_rebuilt(tmp_path):
    root = make_tree(tmp_path, {"courses/maths-science.md": COURSE.replace("strand: cpd", "strand: cdp")})
    _age(root)
    expected = _check(root)
    for shard in _cache_files(root):
        shard.write_bytes(b"not a pickle")
    assert _check(root) == expected
    import shutil
    shutil.rmtree(root / ".cache")
    assert _check(root) == expected


def test_a_read_only_tree_is_checked_without_a_cache(tmp_path):
    root = make_tree(tmp_path)
    _age(root)
    (root / ".cache").write_text("a file where the folder would go", encoding="utf-8")
    assert _check(root) == []
    assert records.load(root)[1].items == []


def test_code_changes_are_never_answered_from_an_old_cache(tmp_path, monkeypatch):
    root = make_tree(tmp_path, {"courses/maths-science.md": COURSE.replace("strand: cpd", "strand: cdp")})
    _age(root)
    assert len(_check(root)) == 1
    old = {p.parent.name for p in _cache_files(root)}
    record_cache._code_key.cache_clear()
    monkeypatch.setattr(record_cache, "_code_key", lambda: "another-version")
    assert len(_check(root)) == 1
    folders = {p.parent.name for p in _cache_files(root)}
    assert folders == {"records-another-version"} and not old & folders


def test_the_parallel_check_shares_the_cache_by_shard(tmp_path, monkeypatch):
    from records import parallel_check
    monkeypatch.setattr(parallel_check, "PARALLEL_FROM", 1)
    changes = {f"courses/c{i}.md": COURSE.replace("venue: centre", "venue: online")
               .replace("[zoe-angstrom]", "[]").replace("title: ", f"title: Part {i} of ", 1)
               for i in range(20)}
    changes["courses/maths-science.md"] = COURSE.replace("strand: cpd", "strand: cdp")
    root = make_tree(tmp_path, changes)
    _age(root)
    expected = [str(p) for p in records.load(root, cache=False)[1]]
    assert len(expected) == 1
    assert _check(root) == expected                     # cold: workers fill their shards
    assert len(_cache_files(root)) > 2
    assert _check(root) == expected                     # warm: nothing is stale
    (root / "courses/maths-science.md").write_text(COURSE, encoding="utf-8")
    assert _check(root) == []


def test_a_warm_load_gives_the_same_records_and_body_warnings_and_sees_an_edit(tmp_path):
    """records.load keeps each Markdown record (with its body's warnings, on the line after
    the blank ones) under .cache/."""
    hostile = COURSE.replace("What we do.", "\n\nWhat we do <by email>, & more.")
    root = make_tree(tmp_path, {"courses/maths-science.md": hostile})
    _age(root)
    cold_records, cold = records.load(root)
    warning = ("courses/maths-science.md:17: body: warning: removed the HTML tag <by> (any text "
               "in it is kept)")
    assert [str(p) for p in cold][0].startswith(warning)
    assert [p.name for p in _cache_files(root) if p.name.startswith("documents-")]
    warm_records, warm = records.load(root)
    assert [str(p) for p in warm] == [str(p) for p in cold]
    course = warm_records.courses["maths-science"]
    assert course is not cold_records.courses["maths-science"]           # read from the pickle
    assert course.model_dump() == cold_records.courses["maths-science"].model_dump()
    assert (course.id, course.path) == ("maths-science", "courses/maths-science.md")
    file = root / "courses/maths-science.md"
    before = file.stat()
    file.write_text(hostile.replace("<by email>", "<by-email>"), encoding="utf-8")
    os.utime(file, ns=(before.st_atime_ns, before.st_mtime_ns))     # same size and time
    assert "<by email>" in records.load(root)[0].courses["maths-science"].body, "from the cache"
    (root / "courses/maths-science.md").write_text(hostile.replace(" <by email>", ""), encoding="utf-8")
    edited, problems = records.load(root)
    assert [str(p) for p in problems] == []
    assert "<by" not in edited.courses["maths-science"].body


@pytest.mark.parametrize("parallel", [False, True], ids=["one-process", "workers"])
def test_the_double_booking_sweep_kept_between_runs_gives_a_fresh_answer(tmp_path, monkeypatch,
                                                                         parallel):
    """`check` keeps its last double-booking answer and reuses it while no file's sessions
    changed: after every edit below, the cached check says what a check without cache says.
    With workers, the unchanged files' sessions come from the cache (packed) and the edited
    file's from a worker."""
    from test_records import DOUBLE
    if parallel:
        from records import parallel_check
        monkeypatch.setattr(parallel_check, "PARALLEL_FROM", 1)
    root = make_tree(tmp_path, {"courses/another.md": DOUBLE})
    another, course = root / "courses/another.md", root / "courses/maths-science.md"

    def same_as_fresh(what: str) -> list[str]:
        _age(root)
        found = _check(root)
        assert found == [str(p) for p in records.check(root, cache=False)[1]], what
        assert _check(root) == found, what                   # and again, from the cache
        return found

    clashes = same_as_fresh("two courses in the same room at once")
    assert sum("double booking" in p for p in clashes) == 2
    another.write_text(DOUBLE.replace("Text.", "Other text."), encoding="utf-8")
    assert same_as_fresh("a description edited") == clashes
    another.write_text(DOUBLE.replace('start: "15:00"', 'start: "16:00"'), encoding="utf-8")
    assert not any("double booking" in p for p in same_as_fresh("moved to after the first"))
    another.write_text(DOUBLE, encoding="utf-8")
    assert same_as_fresh("moved back") == clashes
    (root / "courses/copy.md").write_text(COURSE, encoding="utf-8")
    copied = same_as_fresh("a course copied and not yet changed")
    assert any("a copy not yet changed" in p for p in copied)
    (root / "courses/copy.md").unlink()
    assert same_as_fresh("the copy deleted") == clashes
    course.unlink()
    assert not any("double booking" in p for p in same_as_fresh("one of the two deleted"))
    assert (root / ".cache").is_dir()


@pytest.mark.parametrize("parallel", [False, True], ids=["one-process", "workers"])
def test_a_check_stopped_after_saving_the_files_outcomes_leaves_no_old_sweep(
        tmp_path, monkeypatch, parallel):
    """Ctrl-C (or a killed worker) after the edited file's outcome was saved but before the
    new double-booking answer was: the next check, with nothing left to read, must not give
    the answer from before the edit."""
    from records import parallel_check
    from test_records import DOUBLE
    if parallel:
        monkeypatch.setattr(parallel_check, "PARALLEL_FROM", 1)
    root = make_tree(tmp_path, {"courses/another.md": DOUBLE})
    _age(root)
    assert sum("double booking" in p for p in _check(root)) == 2
    another = root / "courses/another.md"
    another.write_text(DOUBLE.replace('start: "15:00"', 'start: "16:00"'), encoding="utf-8")
    _age(root)

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(parallel_check, "_sweep" if not parallel else "double_bookings", stopped)
    with pytest.raises(KeyboardInterrupt):
        records.check(root)
    monkeypatch.undo()
    found = _check(root)
    assert found == [str(p) for p in records.check(root, cache=False)[1]]
    assert not any("double booking" in p for p in found), found


PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000"
                    "000c49444154789c63f8cfc0000003010100c9fe92ef0000000049454e44ae426082")


@pytest.mark.parametrize("parallel", [False, True], ids=["one-process", "workers"])
def test_a_file_gone_while_checked_is_not_answered_from_before(tmp_path, monkeypatch, parallel):
    """A course renamed away between the listing and the reading (an editor's tool saving,
    a pull) and back, with its old time: the check then had no sessions of it, and the next
    check must not take the sweep of that moment, nor the file's old outcome, as the answer."""
    from records import parallel_check
    from test_records import DOUBLE
    if parallel:
        monkeypatch.setattr(parallel_check, "PARALLEL_FROM", 1)
    root = make_tree(tmp_path / "tree", {"courses/another.md": DOUBLE})
    _age(root)
    clashes = _check(root)
    assert sum("double booking" in p for p in clashes) == 2
    listed, away = parallel_check.markdown_files, tmp_path / "away.md"

    def listed_then_moved(root_, problems):
        files = listed(root_, problems)
        os.rename(root / "courses/another.md", away)
        return files

    monkeypatch.setattr(parallel_check, "markdown_files", listed_then_moved)
    assert not any("double booking" in p for p in _check(root))
    monkeypatch.setattr(parallel_check, "markdown_files", listed)
    os.rename(away, root / "courses/another.md")                       # back, its time kept
    assert _check(root) == [str(p) for p in records.check(root, cache=False)[1]] == clashes


@pytest.mark.parametrize("parallel", [False, True], ids=["one-process", "workers"])
def test_an_sles_photo_replaced_under_the_same_name_is_checked_again(tmp_path, monkeypatch,
                                                                     parallel):
    if parallel:
        from records import parallel_check
        monkeypatch.setattr(parallel_check, "PARALLEL_FROM", 1)
    root = make_tree(tmp_path, {"content/sles/zoe-angstrom.md": SLE.replace(
        "school:", "photo: sles/zoe.png\nschool:")})
    photo = root / "content/sles/zoe.png"
    photo.write_bytes(PNG)
    _age(root)
    assert _check(root) == []
    photo.write_text("not a picture at all", encoding="utf-8")
    found = _check(root)
    assert found == [str(p) for p in records.check(root, cache=False)[1]]
    assert [p.split(":")[0] for p in found] == ["content/sles/zoe-angstrom.md"], found


@pytest.mark.parametrize("parallel", [False, True], ids=["one-process", "workers"])
def test_the_kept_sweep_is_right_when_checks_follow_saves_at_once(tmp_path, monkeypatch,
                                                                  parallel):
    """An editor checks right after saving: the saved file's outcome is too new to be
    stored, so the kept sweep remembers its sessions itself (with workers, as they send
    them back). Saves that move and keep sessions, each checked at once, against a check
    without cache."""
    from test_records import DOUBLE
    if parallel:
        from records import parallel_check
        monkeypatch.setattr(parallel_check, "PARALLEL_FROM", 1)
    root = make_tree(tmp_path, {"courses/another.md": DOUBLE})
    _age(root)
    assert _check(root)                                   # every outcome stored
    another = root / "courses/another.md"
    steps = [DOUBLE.replace("Text.", "Edited."),                       # sessions kept
             DOUBLE.replace('start: "15:00"', 'start: "16:00"'),         # the clash goes
             DOUBLE.replace('start: "15:00"', 'start: "16:00"').replace("Text.", "Again."),
             DOUBLE,                                                      # the clash is back
             DOUBLE.replace("Text.", "Once more.")]
    for number, text in enumerate(steps):
        another.write_text(text, encoding="utf-8")       # now: too new to be stored
        found = _check(root)
        assert found == [str(p) for p in records.check(root, cache=False)[1]], number
        assert _check(root) == found, number
        clash = number not in (1, 2)
        assert any("double booking" in p for p in found) is clash, (number, found)
