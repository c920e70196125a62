"""The board report in a real browser (Debian's Chromium through Playwright), as
tests/test_browser.py runs the website: axe-core's WCAG 2.0/2.1/2.2 A and AA rules find
nothing at 1280 px and at 375 px, every chart image loads, nothing is requested from outside
127.0.0.1, no console error; and the tables can be reached by keyboard. Full-page screenshots
go to ``screenshots/`` (or ``$SCREENSHOT_DIR``) for a person to look at.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

import records
from mailer.report import build_report
from mailer.report_render import write_report
from mailer.store import Store
from tests import report_support as rs
from tests.site_support import CHROMIUM, chromium
from tests.site_support import served as serve_folder

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: "
                               "run `bash scripts/setup.sh test`")
axe_module = pytest.importorskip("axe_playwright_python", reason="axe-playwright-python is not "
                                 "installed: run `bash scripts/setup.sh test`")
if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM}: `bash scripts/setup.sh test` installs it",
                allow_module_level=True)

AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                                                     "wcag22aa"]}, "resultTypes": ["violations"]}
AXE_SCRIPT = Path(axe_module.__file__).parent / "axe.min.js"
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    world = rs.make_world(tmp_path_factory.mktemp("browser"))
    recs, _ = records.load(world.root)
    out = tmp_path_factory.mktemp("report")
    with Store(world.db) as store:
        write_report(build_report(recs, store, start=rs.START, end=rs.END), out, pdf=False)
    with serve_folder(out) as url:
        yield url + "report.html"


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


def _summary(violations: list[dict]) -> str:
    return "\n".join(f"{v['id']}: {v['help']} ({len(v['nodes'])}): "
                     + "; ".join(str(n["target"]) for n in v["nodes"][:5]) for v in violations)


@pytest.mark.parametrize("width", [1280, 375])
def test_the_report_passes_axe_and_loads_only_its_own_files(browser, served, width):
    context = browser.new_context(viewport={"width": width, "height": 900}, reduced_motion="reduce")
    context.add_init_script(path=str(AXE_SCRIPT))
    page = context.new_page()
    errors, requests = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    try:
        response = page.goto(served, wait_until="load")
        assert response is not None and response.ok
        violations = page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)["violations"]
        assert not violations, _summary(violations)
        assert not errors, errors
        assert all(u.startswith("http://127.0.0.1:") for u in requests), requests
        images = page.evaluate("[...document.images].map(i => [i.getAttribute('src'), i.naturalWidth])")
        assert len(images) == 6 and all(w > 0 for _, w in images), images
        # a table too wide for a phone scrolls in its own region, reachable by keyboard
        focusable = page.evaluate("[...document.querySelectorAll('.table-wrap')].every(e => e.tabIndex === 0)")
        assert focusable
        folder = Path(os.environ.get("SCREENSHOT_DIR") or REPO / "screenshots")
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / f"report-{width}.png"), full_page=True)
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Skip to the report"
    finally:
        context.close()
