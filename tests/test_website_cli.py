"""`build.py` as editors and CI use it: exit codes, exact messages, and a failed build that
leaves the published site exactly as it was."""
from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from website.publish import MARKER, publish

REPO = Path(__file__).resolve().parent.parent
MINI = REPO / "tests" / "fixtures" / "mini"
TODAY = "2027-01-10"
BUILT = re.compile(r"^Built (\d+) pages into (.+) in \d+\.\d s \((\d+) errors?, (\d+) warnings?\)$")


@pytest.fixture(scope="module")
def cli():
    spec = importlib.util.spec_from_file_location("build_cli", REPO / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.cli


def run(cli, *args: str):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def tree(tmp_path) -> Path:
    root = tmp_path / "alliance"
    shutil.copytree(MINI, root)
    return root


def break_tree(root: Path) -> None:
    """One error (a misspelt venue) and one warning (an unknown field)."""
    course = root / "courses" / "maths-and-science.md"
    course.write_text(course.read_text().replace("    venue: centre", "    venue: centr"))
    sle = root / "content" / "sles" / "zoe-bronte.md"
    sle.write_text(sle.read_text().replace("designated: 2019-09\n",
                                           "designated: 2019-09\ntwitter: \"@zoe\"\n"))


ERROR = ("courses/maths-and-science.md:16: sessions[2].venue: unknown venue 'centr'; "
         "did you mean 'centre'?")
WARNING = "content/sles/zoe-bronte.md:7: twitter: warning: unknown field"


def snapshot(folder: Path) -> dict[str, str]:
    """Every file and folder under ``folder`` with a hash of its bytes."""
    return {p.relative_to(folder).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest()
                                               if p.is_file() else "dir")
            for p in sorted(folder.rglob("*"))}


def leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f"{out.name}."))


# --- build -----------------------------------------------------------------------------------

def test_build_succeeds_with_a_summary_line(cli, tree, tmp_path):
    out = tmp_path / "site"
    result = run(cli, "build", "--root", tree, "--out", out, "--today", TODAY)
    assert result.exit_code == 0, result.output
    match = BUILT.match(result.output.strip())
    assert match, result.output
    assert (match.group(3), match.group(4)) == ("0", "0")
    assert match.group(2).endswith("site/")
    assert (out / "index.html").is_file() and (out / "sitemap.xml").is_file()
    assert leftovers(out) == []


def test_a_tree_with_errors_prints_every_problem_and_publishes_nothing(cli, tree, tmp_path):
    break_tree(tree)
    out = tmp_path / "site"
    result = run(cli, "build", "--root", tree, "--out", out, "--today", TODAY)
    assert result.exit_code == 1
    assert result.output.splitlines() == [WARNING, ERROR, "1 error, 1 warning: nothing was published"]
    assert not out.exists()
    assert leftovers(out) == []


def test_a_failed_build_leaves_the_existing_site_byte_for_byte(cli, tree, tmp_path):
    out = tmp_path / "site"
    assert run(cli, "build", "--root", tree, "--out", out, "--today", TODAY).exit_code == 0
    before = snapshot(out)
    break_tree(tree)
    result = run(cli, "build", "--root", tree, "--out", out, "--today", TODAY)
    assert result.exit_code == 1
    assert snapshot(out) == before
    assert leftovers(out) == []


def test_mkdocs_warnings_are_reported_and_fatal_under_strict(cli, tree, tmp_path):
    course = tree / "courses" / "star-workshop.md"
    course.write_text(course.read_text().replace("Leaders plan together.",
                                                 "Leaders plan together: see [the notes](notes.md)."))
    out = tmp_path / "site"
    result = run(cli, "build", "--root", tree, "--out", out, "--today", TODAY)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("courses/star-workshop.md:") and lines[0].endswith(
        ": body: warning: links to 'notes.md', but the site has no page courses/notes.md; "
        "correct the link or remove it"), lines
    assert BUILT.match(lines[-1]).group(4) == "1"
    before = snapshot(out)

    result = run(cli, "build", "--root", tree, "--out", out, "--today", TODAY, "--strict")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith("courses/star-workshop.md:") and ": body: links to 'notes.md'" in lines[0], lines
    assert lines[-1] == "1 error, 0 warnings: nothing was published"
    assert snapshot(out) == before
    assert leftovers(out) == []


def test_strict_turns_record_warnings_into_errors(cli, tree, tmp_path):
    sle = tree / "content" / "sles" / "zoe-bronte.md"
    sle.write_text(sle.read_text().replace("designated: 2019-09\n", "designated: 2019-09\ntwitter: x\n"))
    out = tmp_path / "site"
    assert run(cli, "build", "--root", tree, "--out", out, "--today", TODAY).exit_code == 0
    result = run(cli, "build", "--root", tree, "--out", out, "--today", TODAY, "--strict")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "content/sles/zoe-bronte.md:7: twitter: unknown field",
        "1 error, 0 warnings: nothing was published"]


def test_github_format(cli, tree, tmp_path):
    break_tree(tree)
    result = run(cli, "build", "--root", tree, "--out", tmp_path / "site", "--today", TODAY,
                 "--format", "github")
    assert result.exit_code == 1
    assert result.output.splitlines()[:2] == [
        "::warning file=content/sles/zoe-bronte.md,line=7,title=twitter::twitter: unknown field",
        "::error file=courses/maths-and-science.md,line=16,title=sessions[2].venue::sessions[2].venue: unknown venue "
        "'centr'; did you mean 'centre'?"]


def test_a_bad_today_is_refused(cli, tree, tmp_path):
    result = run(cli, "build", "--root", tree, "--out", tmp_path / "site", "--today", "14/01/2027")
    assert result.exit_code == 2
    assert "'14/01/2027' is not a date; write it as YYYY-MM-DD" in result.output


def test_no_command_means_build_into_site(cli, tree, monkeypatch):
    monkeypatch.chdir(tree)
    result = run(cli)
    assert result.exit_code == 0, result.output
    assert BUILT.match(result.output.strip()).group(2) == "site/"
    assert (tree / "site" / "index.html").is_file()


# --- check -----------------------------------------------------------------------------------

def test_check_validates_only(cli, tree):
    result = run(cli, "check", "--root", tree)
    assert result.exit_code == 0
    assert re.fullmatch(r"Checked 19 records in \d+\.\d s \(0 errors, 0 warnings\)\n", result.output)
    assert not (tree / "site").exists()


def test_check_reports_every_problem_and_fails(cli, tree):
    break_tree(tree)
    result = run(cli, "check", "--root", tree)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[:2] == [WARNING, ERROR]
    assert re.fullmatch(r"Checked \d+ records in \d+\.\d s \(1 error, 1 warning\)", lines[2])


def test_check_does_not_import_mkdocs_or_jinja(tree):
    code = ("import sys, runpy; sys.argv = ['build.py', 'check', '--root', sys.argv[1]]\n"
            "try:\n    runpy.run_path(%r, run_name='__main__')\n"
            "except SystemExit as exit:\n    assert not exit.code, exit.code\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('mkdocs', 'material', 'jinja2')))"
            % str(REPO / "build.py"))
    result = subprocess.run([sys.executable, "-c", code, str(tree)], capture_output=True, text=True,
                            cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "[]"


# --- publish -----------------------------------------------------------------------------------

def test_publish_swaps_in_the_new_site_and_cleans_up(tmp_path):
    out = tmp_path / "site"
    out.mkdir()
    (out / "old.html").write_text("old")
    (out / MARKER).write_text("an earlier build")

    def build_into(folder: Path) -> None:
        (folder / "index.html").write_text("new")

    publish(out, build_into)
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "index.html"]
    assert (out.stat().st_mode & 0o777) == 0o777 & ~_umask()
    assert leftovers(out) == []


def test_publish_keeps_the_old_site_when_the_build_fails(tmp_path):
    out = tmp_path / "site"
    out.mkdir()
    (out / "index.html").write_text("old")
    (out / MARKER).write_text("an earlier build")
    before = snapshot(out)

    def build_into(folder: Path) -> None:
        (folder / "index.html").write_text("half")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        publish(out, build_into)
    assert snapshot(out) == before
    assert leftovers(out) == []


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
