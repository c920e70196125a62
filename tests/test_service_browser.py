"""The subscription forms in Chromium, end to end over loopback: the website's join.html (built
with build.py, served statically) posts to the service (``python -m mailer serve``); the
confirmation link from the email; the preference centre; leaving. Every page passes axe
(WCAG 2.0/2.1/2.2 A and AA) at 1280 px and 375 px, and the join form works with JavaScript
switched off. Screenshots go to ``screenshots/`` (or $SCREENSHOT_DIR) for a person."""
from __future__ import annotations

import datetime as dt
import functools
import http.server
import os
import threading

import pytest
from click.testing import CliRunner

from mailer.store import Store, address_hash
from mailer.tokens import PREFERENCES, UNSUBSCRIBE, make_token
from tests.mailer_support import SECRET
from tests.service_support import free_port, link_in, start
from tests.site_support import CHROMIUM, REPO, load_cli
from tests.site_support import CHROMIUM_ARGS as ARGS

sync_api = pytest.importorskip("playwright.sync_api")
axe_module = pytest.importorskip("axe_playwright_python")
if not os.path.exists(CHROMIUM):
    pytest.skip(f"no Chromium at {CHROMIUM}", allow_module_level=True)
AXE_SCRIPT = os.path.join(os.path.dirname(axe_module.__file__), "axe.min.js")
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]},
               "resultTypes": ["violations"]}
SETTINGS = [(1280, "light"), (375, "light"), (1280, "dark")]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """(site URL, service): the built site on one port, the service on another."""
    tmp = tmp_path_factory.mktemp("browser")
    site_port = free_port()
    site_url = f"http://127.0.0.1:{site_port}/"
    svc = start(tmp, workers=2, site_url=site_url)
    out = tmp / "site"
    result = CliRunner().invoke(load_cli(), ["build", "--root", str(svc.root), "--out", str(out),
                                             "--today", "2027-01-10"])
    assert result.exit_code == 0, result.output
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", site_port),
                                            functools.partial(_Quiet, directory=str(out)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield site_url, svc
    httpd.shutdown()
    httpd.server_close()
    svc.stop()


@pytest.fixture(scope="module")
def chromium():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


def shots() -> str:
    folder = os.environ.get("SCREENSHOT_DIR") or str(REPO / "screenshots")
    os.makedirs(folder, exist_ok=True)
    return folder


def audit(page, name: str, width: int, scheme: str) -> None:
    page.add_script_tag(path=AXE_SCRIPT)
    violations = page.evaluate("o => axe.run(document, o)", AXE_OPTIONS)["violations"]
    assert not violations, f"{name} at {width}px {scheme}: " + "; ".join(
        f"{v['id']}: {v['help']} at {[n['target'] for n in v['nodes'][:3]]}" for v in violations)
    if scheme == "light":
        page.screenshot(path=os.path.join(shots(), f"service-{name}-{width}.png"), full_page=True)


@pytest.mark.parametrize("width, scheme", SETTINGS, ids=[f"{w}-{s}" for w, s in SETTINGS])
def test_join_confirm_preferences_leave_in_chromium(world, chromium, width, scheme):
    site_url, svc = world
    address = f"browser.{width}.{scheme}@school.example"
    # bypass_csp: only so that axe can be injected (the CSP itself is checked in test_service_http)
    context = chromium.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme, bypass_csp=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: errors.append(f"left loopback: {r.url}") if not r.url.startswith(
        ("http://127.0.0.1", "data:", "blob:")) else None)

    page.goto(site_url + "join.html")
    audit(page, "join", width, scheme)
    page.fill("#join-email", address)
    page.fill("#join-first-name", "Siân")
    page.check("input[name=roles][value=teacher]")
    page.check("input[name=phases][value=primary]")
    page.check("#join-consent")
    page.click("button[type=submit].tsa-button")
    page.wait_for_selector("h1")
    assert page.inner_text("h1") == "Check your inbox"
    audit(page, "check-inbox", width, scheme)

    page.goto(link_in(svc.mail_to(address), "confirm"))
    assert page.inner_text("h1") == "Confirm your subscription"
    audit(page, "confirm", width, scheme)
    page.click("main button")
    assert page.inner_text("h1") == "You are subscribed"
    audit(page, "subscribed", width, scheme)

    page.goto(svc.url + "preferences?t=" + make_token(SECRET, address_hash(address), PREFERENCES))
    assert page.is_checked("input[name=roles][value=teacher]")
    audit(page, "preferences", width, scheme)
    page.check("input[name=roles][value=headteacher]")
    until = dt.date.today() + dt.timedelta(days=14)
    page.fill("#pause", until.isoformat())
    page.click("button[value=save]")
    assert page.inner_text("[role=status]") == f"Saved. The newsletter is paused until {until.day} {until:%B %Y}."
    audit(page, "preferences-saved", width, scheme)
    with Store(svc.db) as store:
        row = store.subscriber(address)
    assert (row["roles"], row["paused_until"], row["first_name"]) == ("teacher headteacher", until.isoformat(), "Siân")

    page.goto(svc.url + "unsubscribe?t=" + make_token(SECRET, address_hash(address), UNSUBSCRIBE))
    audit(page, "unsubscribe", width, scheme)
    page.click("main button")
    assert page.inner_text("h1") == "You are unsubscribed"
    audit(page, "unsubscribed", width, scheme)
    with Store(svc.db) as store:
        assert store.subscriber(address)["status"] == "unsubscribed"
    assert not errors, errors
    context.close()


def test_the_join_form_works_without_javascript(world, chromium):
    site_url, svc = world
    context = chromium.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(site_url + "join.html")
    page.fill("#join-email", "nojs@school.example")
    page.check("#join-consent")
    page.click("button[type=submit].tsa-button")
    page.wait_for_selector("h1")
    assert page.inner_text("h1") == "Check your inbox"
    page.goto(link_in(svc.mail_to("nojs@school.example"), "confirm"))
    page.click("main button")
    assert page.inner_text("h1") == "You are subscribed"
    context.close()
