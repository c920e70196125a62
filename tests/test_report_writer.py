"""The board report written by a forked worker (mailer/report_writer.py): the same files, byte
for byte, as written in this process; its errors raised in the caller; no fork while threads run.

The worker is only forked from a single-threaded process, and a test session may have threads
left by other tests: the forked cases run in a fresh interpreter."""
from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import records
from mailer.report import build_report
from mailer.report_writer import ReportWriter
from mailer.store import Store
from tests import report_support as rs

REPO = Path(__file__).resolve().parent.parent
MADE = dt.date(2026, 11, 2)

# Runs in a fresh interpreter: the worker is forked before the records are read, as in the CLI.
SCRIPT = """
import datetime as dt, sys
from pathlib import Path
import records
from mailer.report import build_report
from mailer.report_writer import ReportWriter
from mailer.store import Store
root, db, out = map(Path, sys.argv[1:4])
with ReportWriter() as writer:
    print("forked" if writer.forked else "not forked")
    recs, _ = records.load(root)
    with Store(db) as store:
        report = build_report(recs, store, start=dt.date(2025, 11, 1), end=dt.date(2026, 11, 1),
                              today=dt.date(2026, 11, 2))
    try:
        files = writer.write(report, out)
    except Exception as err:
        print(f"raised {type(err).__name__}: {err}")
        sys.exit(3)
print("stages:", ", ".join(stage for stage, _, _ in writer.laps))
print("files:", " ".join(sorted(files)))
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return rs.make_world(tmp_path_factory.mktemp("writer"))


def _in_fresh_python(world, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", SCRIPT, str(world.root), str(world.db), str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)


def _report(world):
    recs, _ = records.load(world.root)
    with Store(world.db) as store:
        return build_report(recs, store, start=rs.START, end=rs.END, today=MADE)


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def test_the_worker_writes_the_same_files_as_this_process(world, tmp_path):
    run = _in_fresh_python(world, tmp_path / "worker")
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "forked"
    # the stages were timed in the worker, which did the imports first
    assert lines[1] == "stages: imports, six SVG charts, HTML, CSV, the PDF (WeasyPrint)"
    here = ReportWriter(worker=False)
    assert not here.forked
    files = here.write(_report(world), tmp_path / "here")
    assert [stage for stage, _, _ in here.laps] == ["six SVG charts, HTML, CSV", "the PDF (WeasyPrint)"]
    assert lines[2] == "files: " + " ".join(sorted(files))
    worker, local = _files(tmp_path / "worker"), _files(tmp_path / "here")
    assert sorted(worker) == sorted(local) and "report.pdf" in worker and "charts/newsletters.svg" in worker
    for name in local:
        assert worker[name] == local[name], f"{name} differs"


def test_an_error_in_the_worker_is_raised_in_the_caller(world, tmp_path):
    blocker = tmp_path / "taken"
    blocker.write_text("a file where the report's folder would go", encoding="utf-8")
    run = _in_fresh_python(world, blocker)
    assert run.stdout.splitlines()[0] == "forked"
    assert run.returncode == 3, run.stdout + run.stderr
    assert f"raised NotADirectoryError: [Errno 20] Not a directory: '{blocker / 'charts'}'" in run.stdout
    assert blocker.read_text(encoding="utf-8").startswith("a file where")


def test_no_fork_while_other_threads_run(world, tmp_path):
    release = threading.Event()
    thread = threading.Thread(target=release.wait, daemon=True)
    thread.start()
    try:
        with ReportWriter() as writer:
            assert not writer.forked
            files = writer.write(_report(world), tmp_path / "out", pdf=False)
    finally:
        release.set()
        thread.join()
    assert files["html"].is_file() and "pdf" not in files
    assert [stage for stage, _, _ in writer.laps] == ["six SVG charts, HTML, CSV"]
