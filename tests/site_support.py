"""What the website's end-to-end tests share: the demo's fixed "today", build.py's command
line, and which built page stands for each kind of page."""
from __future__ import annotations


import contextlib
import datetime as dt
import functools
import http.server
import importlib.util
import os
import threading
from pathlib import Path
from typing import Iterator

import records
from records.tree import Records

REPO = Path(__file__).resolve().parent.parent
DEMO_TODAY = dt.date(2026, 11, 22)     # the demo then has upcoming, full, cancelled and past courses


def load_cli():
    """build.py's click group (build.py is a script, not a module)."""
    spec = importlib.util.spec_from_file_location("build_cli", REPO / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.cli


def demo_records() -> Records:
    recs, problems = records.load(REPO)
    assert not problems.errors, "\n".join(map(str, problems))
    return recs


def page_kinds(recs: Records, today: dt.date = DEMO_TODAY) -> dict[str, str]:
    """One built page (path from the site's root) for every kind of page, chosen from the
    records so the tests follow the demo when it changes."""
    upcoming = recs.upcoming(today)
    courses = sorted(recs.courses.values(), key=lambda c: c.id)
    full = next((c for c in upcoming if c.status == "full"),
                next(c for c in courses if c.status == "full"))
    cancelled = next((c for c in upcoming if c.status == "cancelled"),
                     next(c for c in courses if c.status == "cancelled"))
    open_ = next(c for c in upcoming if c.status == "open" and c.booking and c.first_date >= today)
    sles = sorted(recs.sles.values(), key=lambda s: s.id)
    sle = next((s for s in sles if s.photo), sles[0])
    edition = list(recs.editions)[-1]
    free = sorted(recs.pages)
    from records.impact import shown_parts
    impact = {"impact": "impact.html"} if shown_parts(recs.impact, recs.impact_published) else {}
    return {
        "home": "index.html",
        "catalogue": "courses/index.html",
        "strand": f"strands/{open_.strand}.html",
        "archive": "archive/index.html",
        "course-open": f"courses/{open_.id}.html",
        "course-full": f"courses/{full.id}.html",
        "course-cancelled": f"courses/{cancelled.id}.html",
        "sle-directory": "sles/index.html",
        "sle-group": f"sles/specialism/{sle.specialisms[0]}.html",
        "sle-profile": f"sles/{sle.id}.html",
        "schools": "schools.html",
        "board": "board.html",
        "news": "news/index.html",
        "news-story": f"news/{recs.news[0].id}.html",
        "newsletters": "newsletters/index.html",
        "newsletter": f"newsletters/{edition}.html",
        "accessibility": "accessibility.html",
        **({"free-page": f"{free[0]}.html"} if free else {}),
        "finder-filtered": "courses/index.html?role=teaching-assistant&bookable=1",
        "sle-directory-filtered": "sles/index.html?availability=available",
        "not-found": "404.html",
        **impact,
    }


# Debian's Chromium for the browser tests (no browser download works here), and the flags that
# keep it quiet offline; each browser test file skips itself when it is missing.
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


# --- a built site over HTTP, and Chromium: one copy for every browser test -----------------

class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):       # noqa: A002 (the base class's name)
        pass


@contextlib.contextmanager
def served(folder: Path) -> Iterator[str]:
    """``folder`` over HTTP on 127.0.0.1 and a port the system chose; yields the base URL."""
    handler = functools.partial(QuietHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True, name="site-server")
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@contextlib.contextmanager
def chromium() -> Iterator:
    """Debian's Chromium through playwright (imported here: only browser tests need it)."""
    from playwright import sync_api
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def copy_demo(tmp_path: Path) -> Path:
    """A copy of the demo alliance (content, courses and the editors' schemas) to change."""
    import shutil
    root = tmp_path / "alliance"
    for folder in ("content", "courses", "schemas"):
        shutil.copytree(REPO / folder, root / folder)
    return root
