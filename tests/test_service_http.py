"""The subscription service over real HTTP on loopback, against the production server
(``python -m mailer serve``: uvicorn workers): join with double opt-in, confirm, one-click
leave, preferences, CSRF, honeypot, rate limits, limits on bodies, headers and logs."""
from __future__ import annotations

import datetime as dt
import json
import socket
import sqlite3
import time

import pytest
import requests
from bs4 import BeautifulSoup

from mailer.store import Store, address_hash
from mailer.tokens import PREFERENCES, UNSUBSCRIBE, make_token
from tests.mailer_support import SECRET
from tests.service_support import link_in, start


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    svc = start(tmp_path_factory.mktemp("svc"), workers=2)
    yield svc
    svc.stop()


def page(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def main_text(response) -> str:
    return " ".join(page(response).find("main").get_text(" ").split())


def join_form(session: requests.Session, service) -> dict:
    """The service's own join form, as a browser would fill it (with its CSRF value)."""
    soup = page(session.get(service.url + "join"))
    form = soup.find("form")
    return {i["name"]: i.get("value", "") for i in form.find_all("input", type="hidden")}


def join(service, address: str, *, session=None, **extra) -> requests.Response:
    session = session or requests.Session()
    data = join_form(session, service)
    data.update({"email": address, "first_name": "Zoë", "school": "St Mary & St John's",
                 "roles": ["teacher", "senco"], "phases": ["primary"], "interests": ["cpd"],
                 "consent": "yes", "website": ""})
    data.update(extra)
    return session.post(service.url + "join", data=data, timeout=10)


def button_form(session, url) -> tuple[str, dict]:
    response = session.get(url, timeout=10)
    assert response.status_code == 200, response.text
    form = page(response).find("form")
    assert len(page(response).find_all("button")) == 1
    return form["action"], {i["name"]: i.get("value", "") for i in form.find_all("input")}


def subscriber(service, address):
    with Store(service.db) as store:
        return store.subscriber(address)


def sendable(service) -> set[str]:
    with Store(service.db) as store:
        return {r["email"] for r in store.conn.execute(
            "SELECT s.email FROM subscribers s WHERE " + __import__("mailer.store").store.SENDABLE)}


def confirm_by_mail(service, address: str) -> requests.Response:
    session = requests.Session()
    link = link_in(service.mail_to(address), "confirm")
    before = subscriber(service, address)
    action, fields = button_form(session, link)               # a GET: shows one button, changes nothing
    assert subscriber(service, address) == before
    return session.post(action, data=fields, timeout=10)


def test_join_then_confirm_makes_the_address_sendable_with_its_consent(service):
    address = "zoe.join@school.example"
    answer = join(service, address)
    assert answer.status_code == 200 and "Check your inbox" in main_text(answer)
    assert subscriber(service, address) is None and address not in sendable(service)
    mail = service.mail_to(address)
    assert "confirm" in str(mail["Subject"]).lower()
    text = mail.get_body(("plain",)).get_content()
    assert "Hello Zoë," in text
    done = confirm_by_mail(service, address)
    assert done.status_code == 200 and "You are subscribed" in main_text(done)
    row = subscriber(service, address)
    assert row["consent"] == 1 and row["consent_source"] == "sign-up form" and row["status"] == "subscribed"
    assert (row["roles"], row["phases"], row["interests"]) == ("teacher senco", "primary", "cpd")
    assert row["school"] == "St Mary & St John's" and row["first_name"] == "Zoë"
    assert address in sendable(service)
    with Store(service.db) as store:
        event = store.consent_history(address)[-1]
    assert (event.given, event.source, event.wording) == (True, "sign-up form", join_form(requests.Session(), service)["consent_version"])
    assert len(event.wording) == 8 and abs((dt.datetime.now(dt.timezone.utc) - event.at).total_seconds()) < 120


def test_a_confirmation_link_used_twice_or_replaced_says_so(service):
    address = "twice@school.example"
    join(service, address)
    first_link = link_in(service.mail_to(address), "confirm")
    for path in service.outbox.glob("*.eml"):
        path.unlink()
    join(service, address)                                     # a second request replaces the link
    second = link_in(service.mail_to(address), "confirm")
    assert second != first_link
    session = requests.Session()
    action, fields = button_form(session, first_link)
    old = session.post(action, data=fields, timeout=10)
    assert old.status_code == 410 and "replaced" in main_text(old)
    assert address not in sendable(service)
    action, fields = button_form(session, second)
    assert session.post(action, data=fields, timeout=10).status_code == 200
    again = session.post(action, data=fields, timeout=10)
    assert again.status_code == 200 and "You are subscribed" in main_text(again)


def test_the_answer_is_the_same_for_new_known_and_unsubscribed_addresses(service):
    known, gone = "known@school.example", "gone@school.example"
    for address in (known, gone):
        join(service, address)
        confirm_by_mail(service, address)
    with Store(service.db) as store:
        store.unsubscribe(gone)
    answers = [join(service, a) for a in ("brand.new@school.example", known, gone)]
    assert {a.status_code for a in answers} == {200}
    assert len({main_text(a) for a in answers}) == 1
    # each mailbox hears what is true for it; nobody else can tell
    assert "already subscribed" in str(service.mail_to(known)["Subject"]).lower()
    assert "confirm" in str(service.mail_to(gone)["Subject"]).lower()
    assert gone not in sendable(service)


def test_the_honeypot_and_a_missing_consent_tick_subscribe_nobody(service):
    robot = join(service, "robot@spam.example", website="http://buy.example")
    assert robot.status_code == 200 and "Check your inbox" in main_text(robot)
    unticked = join(service, "unticked@school.example", consent="")
    assert unticked.status_code == 400 and "tick the box" in main_text(unticked)
    time.sleep(1)
    with Store(service.db) as store:
        held = {r[0] for r in store.conn.execute("SELECT email FROM signups")}
    assert not held & {"robot@spam.example", "unticked@school.example"}
    assert not [m for m in service.mails() if "robot@" in str(m["To"]) or "unticked@" in str(m["To"])]


def test_csrf_every_form(service):
    # the service's own forms: a token bound to a cookie
    forged = requests.post(service.url + "join", data={"email": "csrf@school.example", "consent": "yes",
                                                       "consent_version": "x", "csrf": "f" * 40}, timeout=10)
    assert forged.status_code == 403
    # the website's static join form carries no token: its Origin must be the site or the service
    fields = {"email": "cross@school.example", "consent": "yes",
              "consent_version": join_form(requests.Session(), service)["consent_version"]}
    evil = requests.post(service.url + "join", data=fields, headers={"Origin": "https://evil.example"}, timeout=10)
    assert evil.status_code == 403
    bare = requests.post(service.url + "join", data=fields, timeout=10)           # no Origin, no Referer
    assert bare.status_code == 403
    site = requests.post(service.url + "join", data=fields,
                         headers={"Origin": "https://www.minster-vale.example"}, timeout=10)
    assert site.status_code == 200
    # confirm, unsubscribe (the page's button) and preferences without the cookie's token
    token = make_token(SECRET, address_hash("nobody@school.example"), UNSUBSCRIBE)
    assert requests.post(service.url + "unsubscribe", data={"t": token}, timeout=10).status_code == 403
    prefs = make_token(SECRET, address_hash("nobody@school.example"), PREFERENCES)
    assert requests.post(service.url + "preferences", data={"t": prefs, "action": "leave"},
                         timeout=10).status_code == 403
    with Store(service.db) as store:
        assert store.suppression(address_hash("nobody@school.example")) is None


def test_rfc8058_one_click_and_a_get_that_changes_nothing(service):
    address = "leaver@school.example"
    join(service, address)
    confirm_by_mail(service, address)
    url = service.url + "unsubscribe?t=" + make_token(SECRET, address_hash(address), UNSUBSCRIBE)
    shown = requests.get(url, timeout=10)
    assert shown.status_code == 200 and len(page(shown).find_all("button")) == 1
    assert address in sendable(service)
    started = time.monotonic()
    answer = requests.post(url, data={"List-Unsubscribe": "One-Click"}, timeout=10)   # as a mail client does
    assert answer.status_code == 200 and time.monotonic() - started < 2
    assert subscriber(service, address)["status"] == "unsubscribed" and address not in sendable(service)
    assert requests.post(url, data={"List-Unsubscribe": "One-Click"}, timeout=10).status_code == 200
    bad = requests.post(url[:-3] + "AAA", data={"List-Unsubscribe": "One-Click"}, timeout=10)
    assert bad.status_code == 400


def test_preferences_change_pause_and_leave(service):
    address = "prefs@school.example"
    join(service, address)
    confirm_by_mail(service, address)
    session = requests.Session()
    url = service.url + "preferences?t=" + make_token(SECRET, address_hash(address), PREFERENCES)
    shown = session.get(url, timeout=10)
    soup = page(shown)
    assert {i["value"] for i in soup.select("input[name=roles][checked]")} == {"teacher", "senco"}
    assert address not in shown.text and "p***@school.example" in shown.text
    forms = soup.find_all("form")
    save = {i["name"]: i.get("value", "") for i in forms[0].find_all("input", type="hidden")}
    until = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    saved = session.post(forms[0]["action"], timeout=10, data={
        **save, "roles": ["headteacher"], "phases": ["secondary", "not-a-phase"], "interests": ["leadership"],
        "paused_until": until, "action": "save"})
    assert saved.status_code == 200 and f"paused until {dt.date.fromisoformat(until).day} {dt.date.fromisoformat(until):%B %Y}" in main_text(saved)
    row = subscriber(service, address)
    assert (row["roles"], row["phases"], row["interests"], row["paused_until"]) == \
        ("headteacher", "secondary", "leadership", until)
    assert address not in sendable(service)                        # paused
    unpaused = session.post(forms[0]["action"], timeout=10, data={**save, "roles": ["headteacher"], "action": "save"})
    assert unpaused.status_code == 200 and address in sendable(service)
    leave = {i["name"]: i.get("value", "") for i in forms[1].find_all("input", type="hidden")}
    gone = session.post(forms[1]["action"], data={**leave, "action": "leave"}, timeout=10)
    assert gone.status_code == 200 and "You are unsubscribed" in main_text(gone)
    assert subscriber(service, address)["status"] == "unsubscribed"


def raw(service, data: bytes, *, timeout: float = 10) -> bytes:
    port = int(service.url.rsplit(":", 1)[1].strip("/"))
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def test_bodies_are_limited_before_they_are_read(service):
    negative = raw(service, b"POST /unsubscribe HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n")
    assert negative.split(b"\r\n")[0] in (b"HTTP/1.1 400 Bad Request",)
    huge = raw(service, b"POST /join HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                        b"Content-Length: 209715200\r\n\r\nemail=a")
    assert huge.startswith(b"HTTP/1.1 413")
    streamed = requests.post(service.url + "join", data=(b"x" * 1024 for _ in range(100)), timeout=10)
    assert streamed.status_code == 413


def test_security_headers_and_logs_without_tokens_or_addresses(service):
    address = "private.person@school.example"
    join(service, address)
    link = link_in(service.mail_to(address), "confirm")
    answer = requests.get(link, timeout=10)
    headers = answer.headers
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store" and "server" not in headers
    time.sleep(0.5)
    log = service.log.read_text(encoding="utf-8")
    token = link.split("t=", 1)[1]
    assert address not in log and token not in log and SECRET.decode() not in log
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert any(e.get("event") == "signup" and e.get("to") == "p***@school.example" for e in lines)
    assert any(e.get("path") == "/confirm" and e.get("status") == 200 for e in lines)


def test_refuses_to_start_on_a_missing_database(tmp_path):
    missing = tmp_path / "wrong" / "mailer.sqlite3"
    svc = start(tmp_path, db=missing, create_db=False, wait=False)
    assert svc.process.wait(30) == 1
    assert "no database at" in svc.log.read_text() and not missing.exists() and not missing.parent.exists()


def test_a_locked_database_queues_the_leave_durably_and_applies_it_later(service):
    address = "locked@school.example"
    join(service, address)
    confirm_by_mail(service, address)
    url = service.url + "unsubscribe?t=" + make_token(SECRET, address_hash(address), UNSUBSCRIBE)
    holder = sqlite3.connect(str(service.db), isolation_level=None, timeout=5)
    holder.execute("BEGIN IMMEDIATE")                  # another writer holds the lock
    try:
        started = time.monotonic()
        answer = requests.post(url, data={"List-Unsubscribe": "One-Click"}, timeout=15)
        took = time.monotonic() - started
        assert answer.status_code == 200 and "within minutes" in answer.text and took < 6
        # a worker may be holding the change (renamed ".NAME.json.PID.applying") while it tries
        # the still-locked database: it is queued either way, once
        folder = service.db.parent / (service.db.name + ".queue")
        for _ in range(50):
            queued = [p for p in folder.iterdir() if p.name.endswith((".json", ".applying"))]
            try:
                text, mode = queued[0].read_text(), queued[0].stat().st_mode
                break
            except (IndexError, FileNotFoundError):     # caught between two renames
                time.sleep(0.1)
        assert len(queued) == 1 and address not in text
        assert oct(mode & 0o777) == "0o600"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and subscriber(service, address)["status"] != "unsubscribed":
        time.sleep(0.2)
    assert subscriber(service, address)["status"] == "unsubscribed"


def test_rate_limits_per_client_and_per_address(tmp_path):
    svc = start(tmp_path, workers=1, env={"MAILER_JOIN_LIMIT": "4/600"})
    try:
        answers = [join(svc, "same@school.example").status_code for _ in range(4)]
        assert answers == [200, 200, 200, 200]
        assert join(svc, "other@school.example").status_code == 429         # the client's fifth
        time.sleep(1.5)
        sent = [json.loads(line) for line in svc.log.read_text().splitlines() if '"signup-mail"' in line]
        assert [e["to"] for e in sent] == ["s***@school.example"] * 3        # three emails a day at most
    finally:
        svc.stop()


def test_cli_refuses_a_bad_secret_before_starting(tmp_path):
    svc = start(tmp_path, wait=False, env={"MAILER_SECRET": "short"})
    assert svc.process.wait(30) == 1 and "MAILER_SECRET" in svc.log.read_text()
