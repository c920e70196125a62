"""`build.py serve`, for real: a server on a free loopback port over a copy of the demo, edited
as an editor would, read back over HTTP and parsed. (How fast it is: bench/bench_site.py.)"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from tests.site_support import DEMO_TODAY

REPO = Path(__file__).resolve().parent.parent
COURSE = "a-level-maths-network"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """The serve process, its output collected line by line."""

    def __init__(self, root: Path, port: int):
        self.url = f"http://127.0.0.1:{port}/"
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, str(REPO / "build.py"), "serve", "--root", str(root), "--port",
             str(port), "--today", DEMO_TODAY.isoformat()],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=dict(os.environ, PYTHONUNBUFFERED="1"))
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for_line(self, start: str, count: int = 1, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while sum(line.startswith(start) for line in self.lines) < count:
            assert self.process.poll() is None, "\n".join(self.lines)
            assert time.monotonic() < deadline, "\n".join(self.lines)
            time.sleep(0.05)

    def page(self, path: str) -> BeautifulSoup:
        # MkDocs' server binds its port in serve(), just after "Preview:" is printed: on a busy
        # machine the first request can come before it listens
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(self.url + path, timeout=30) as response:
                    return BeautifulSoup(response.read().decode("utf-8"), "html.parser")
            except urllib.error.URLError as err:
                if not isinstance(err.reason, ConnectionRefusedError) or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def served(tmp_path):
    root = tmp_path / "alliance"
    shutil.copytree(REPO / "content", root / "content")
    shutil.copytree(REPO / "courses", root / "courses")
    server = Served(root, _free_port())
    try:
        server.wait_for_line("Preview: http://")
        yield root, server
    finally:
        server.stop()


def _save(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def test_a_saved_edit_is_served_after_one_rebuild_and_errors_show_in_the_browser(served):
    root, server = served
    course = root / "courses" / f"{COURSE}.md"
    original = course.read_text(encoding="utf-8")
    assert server.page(f"courses/{COURSE}.html").select_one("article h1").get_text(strip=True) \
        == "A level maths network"

    _save(course, original.replace("title: A level maths network",
                                   "title: A level maths & further maths network"))
    server.wait_for_line("Rebuilt in", 2)
    page = server.page(f"courses/{COURSE}.html")
    assert page.select_one("article h1").get_text(strip=True) == \
        "A level maths & further maths network", "\n".join(server.lines)
    assert page.select_one("#tsa-preview-problems") is None
    rebuilt = [line for line in server.lines if line.startswith("Rebuilt in")]
    assert len(rebuilt) == 2, server.lines                # the first build and one for the save
    assert rebuilt[-1].endswith("removed"), rebuilt          # only what changed, not a full build
    built = int(rebuilt[-1].split("written, ")[1].split(" page")[0])
    assert 1 <= built < 10, rebuilt
    rendered, total = map(int, rebuilt[-1].split(": ")[1].split(" pages")[0].split(" of "))
    assert 1 <= rendered < total, rebuilt

    _save(course, original.replace("strand: cpd", "strand: cdp"))
    server.wait_for_line("1 error(s): shown in the browser")
    for path in (f"courses/{COURSE}.html", "index.html"):
        overlay = server.page(path).select_one("#tsa-preview-problems")
        assert overlay is not None and overlay["role"] == "alertdialog"
        items = [li.get_text() for li in overlay.select("li")]
        assert items == [f"courses/{COURSE}.md:3: strand: 'cdp' is not one of itt, cpd, "
                         "leadership, school-support, sle, research; did you mean 'cpd'?"]

    _save(course, original)
    server.wait_for_line("Rebuilt in", 3)
    page = server.page(f"courses/{COURSE}.html")
    assert page.select_one("#tsa-preview-problems") is None
    assert page.select_one("article h1").get_text(strip=True) == "A level maths network"


def test_the_overlay_escapes_what_editors_wrote():
    from records import Problems
    from website.serve import overlay
    problems = Problems()
    problems.error("courses/x.md", 2, "title", "<script>alert(1)</script> & more")
    html = BeautifulSoup(overlay(problems), "html.parser")
    assert html.find("script") is None
    assert html.select_one("li").get_text() == "courses/x.md:2: title: <script>alert(1)</script> & more"


def _epoch(served: Served, path: str) -> int:
    """The live-reload epoch a page was served with (MkDocs' script at its end)."""
    with urllib.request.urlopen(served.url + path, timeout=30) as response:
        text = response.read().decode("utf-8")
    found = re.search(r"livereload\((\d+), \d+\)", text)
    assert found, text[-500:]
    return int(found[1])


class Poll(threading.Thread):
    """A browser's live-reload long poll, from the page ``path`` (its Referer)."""

    def __init__(self, served: Served, path: str):
        super().__init__(daemon=True)
        self.epoch = _epoch(served, path)
        self.request = urllib.request.Request(f"{served.url}livereload/{self.epoch}/1",
                                              headers={"Referer": served.url + path})
        self.answer: int | None = None
        self.start()

    def run(self) -> None:
        with urllib.request.urlopen(self.request, timeout=90) as response:
            self.answer = int(response.read())

    @property
    def reloads(self) -> bool:
        return self.answer is not None and self.answer > self.epoch


def test_only_the_browsers_showing_a_changed_page_reload(served):
    root, server = served
    course = root / "courses" / f"{COURSE}.md"
    original = course.read_text(encoding="utf-8")
    on_course, on_board = Poll(server, f"courses/{COURSE}.html"), Poll(server, "board.html")
    time.sleep(0.5)                                      # both polls waiting
    _save(course, original.replace("title: A level maths network",
                                   "title: A level maths network for Year 12"))
    server.wait_for_line("Rebuilt in", 2)
    on_course.join(timeout=30)
    assert on_course.reloads, server.lines
    assert "(the saved page shown after" in server.lines[-1] or any(
        "(the saved page shown after" in line for line in server.lines), server.lines
    on_board.join(timeout=2)
    assert on_board.is_alive() and on_board.answer is None   # its page did not change

    # an error shows on every page: every browser reloads
    _save(course, original.replace("strand: cpd", "strand: cdp"))
    server.wait_for_line("1 error(s): shown in the browser")
    on_board.join(timeout=30)
    assert on_board.reloads


def test_the_theme_files_are_cached_by_the_browser(served):
    _root, server = served
    page = server.page("index.html")
    sheets = [link["href"] for link in page.select("link[rel=stylesheet]")]
    material = next(h for h in sheets if re.search(r"main\.[0-9a-f]{8}\.min\.css$", h))
    ours = next(h for h in sheets if h.endswith("alliance.css"))
    for href, control in ((material, "max-age=31536000, immutable"), (ours, "no-cache")):
        with urllib.request.urlopen(server.url + href, timeout=30) as response:
            assert response.headers["Cache-Control"] == control
            tag, body = response.headers["ETag"], response.read()
        assert body
        again = urllib.request.Request(server.url + href, headers={"If-None-Match": tag})
        with pytest.raises(urllib.error.HTTPError) as unchanged:
            urllib.request.urlopen(again, timeout=30)
        assert unchanged.value.code == 304
    with pytest.raises(urllib.error.HTTPError) as missing:     # logged as a warning, after
        urllib.request.urlopen(server.url + "no-such-file.txt", timeout=30)   # the 304s
    assert missing.value.code == 404
    server.wait_for_line("WARNING", timeout=30)
    # a file the browser already has is not a warning in the editor's terminal
    assert not [line for line in server.lines if "code 304" in line], server.lines


def test_the_saved_page_is_served_while_the_rest_is_built(tmp_path, monkeypatch):
    """A request for the saved course's page made during the rebuild is answered once that
    page is built, not at the end: the rest (here made to take 3 s, as the lists and feeds
    of a big alliance do) is still being built when it has the new text."""
    from website import pages as site_pages
    from website.serve import Preview, _server_class
    root = tmp_path / "alliance"
    shutil.copytree(REPO / "content", root / "content")
    shutil.copytree(REPO / "courses", root / "courses")
    port = _free_port()
    preview = Preview(root, root / ".build", tmp_path / "site", DEMO_TODAY,
                      f"http://127.0.0.1:{port}/")
    server = _server_class()(builder=lambda: server.build(), host="127.0.0.1", port=port,
                             root=str(tmp_path / "site"))
    server.preview, preview.publish = preview, server.publish
    preview.rebuild()
    server.watch(str(root / "courses"))
    threading.Thread(target=server.serve, daemon=True).start()
    url = f"http://127.0.0.1:{port}/courses/{COURSE}.html"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(url, timeout=30).close()
                break
            except urllib.error.URLError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        site, building = site_pages.site, threading.Event()

        def slow_site(*args, **kwargs):           # the rest of the update, made slow
            building.set()
            time.sleep(3)
            return site(*args, **kwargs)
        monkeypatch.setattr(site_pages, "site", slow_site)
        course = root / "courses" / f"{COURSE}.md"
        _save(course, course.read_text(encoding="utf-8").replace(
            "title: A level maths network", "title: A level maths network, shown first"))
        assert building.wait(20)
        with urllib.request.urlopen(url, timeout=30) as response:
            h1 = BeautifulSoup(response.read(), "html.parser").select_one("article h1")
        assert h1.get_text(strip=True) == "A level maths network, shown first"
        assert building.is_set() and server._visible_epoch != server._wanted_epoch   # mid-build
    finally:
        server.shutdown()
