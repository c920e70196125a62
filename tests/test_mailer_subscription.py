"""The subscription service: tokens, the confirmation page, RFC 8058 one-click, over real HTTP."""
from __future__ import annotations

import threading
import urllib.error
import urllib.request
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

from mailer.importer import Importer
from mailer.store import Store, address_hash
from mailer.subscription import make_app
from mailer.tokens import Tokens, make_token, verify_token
from tests.mailer_support import SECRET, TODAY, write_csv


class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def service(tmp_path):
    db = tmp_path / "m.sqlite3"
    with Store(db) as store:
        Importer(store, today=TODAY).import_file(write_csv(
            tmp_path / "s.csv", "email,first_name,roles,consent\nana@x.example,Ana,teacher,yes\n"
                                "bo@x.example,Bo,teacher,yes\n"))
    server = make_server("127.0.0.1", 0, make_app(db, SECRET, name="Minster & Vale TSA",
                                                  site_url="https://www.minster-vale.example/"),
                         handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    tokens = Tokens(SECRET, f"http://127.0.0.1:{server.server_port}/unsubscribe", "office@x.example")
    yield db, tokens
    server.shutdown()
    server.server_close()


def request(url, data=None, headers=None):
    req = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def status_of(db, address):
    with Store(db) as store:
        return store.subscriber(address)["status"], store.counts()["sendable"]


def test_tokens_verify_and_cannot_be_forged():
    token = make_token(SECRET, address_hash("ana@x.example"))
    assert verify_token(SECRET, token) == address_hash("ana@x.example")
    assert verify_token(b"wrong-secret-wrong-secret", token) is None
    assert verify_token(SECRET, token, purpose="something-else") is None
    key, mac = token.split(".")
    other = make_token(SECRET, address_hash("bo@x.example")).split(".")[0]
    assert verify_token(SECRET, f"{other}.{mac}") is None           # someone else's hash, my signature
    for junk in ("", "abc", "a.b.c", key, f"{key}.", f"{key}.!!!!", "x" * 500):
        assert verify_token(SECRET, junk) is None
    assert Tokens(SECRET, "https://x.example/u", "o@x.example").token(address_hash("ana@x.example")) == token


def test_get_shows_a_confirmation_and_changes_nothing(service):
    db, tokens = service
    url = tokens.url(tokens.token(address_hash("ana@x.example")))
    code, page = request(url)
    assert code == 200 and "Unsubscribe from Minster &amp; Vale TSA" in page and '<form method="post">' in page
    assert status_of(db, "ana@x.example") == ("subscribed", 2)


def test_one_click_post_unsubscribes(service):
    db, tokens = service
    url = tokens.url(tokens.token(address_hash("ana@x.example")))
    code, page = request(url, data=b"List-Unsubscribe=One-Click",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert code == 200 and "You are unsubscribed" in page
    assert status_of(db, "ana@x.example") == ("unsubscribed", 1)
    assert status_of(db, "bo@x.example")[0] == "subscribed"
    code, _ = request(url, data=b"List-Unsubscribe=One-Click")         # idempotent
    assert code == 200
    with Store(db) as store:
        assert store.suppression(address_hash("ana@x.example"))["source"] == "one-click"


def test_the_confirmation_form_posts_the_token(service):
    db, tokens = service
    token = tokens.token(address_hash("bo@x.example"))
    base = tokens.base_url
    code, _ = request(base, data=f"t={token}".encode())
    assert code == 200 and status_of(db, "bo@x.example")[0] == "unsubscribed"


def test_a_bad_token_is_refused(service):
    db, tokens = service
    token = tokens.token(address_hash("ana@x.example"))
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    code, page = request(tokens.url(forged), data=b"List-Unsubscribe=One-Click")
    assert code == 400 and "This link is not valid" in page
    code, _ = request(tokens.base_url, data=b"List-Unsubscribe=One-Click")
    assert code == 400
    assert status_of(db, "ana@x.example") == ("subscribed", 2)


def test_a_forgotten_reader_stays_suppressed(service):
    db, tokens = service
    with Store(db) as store:
        store.forget("ana@x.example")
    url = tokens.url(tokens.token(address_hash("ana@x.example")))
    code, _ = request(url, data=b"List-Unsubscribe=One-Click")
    assert code == 200
    with Store(db) as store:
        assert store.suppression(address_hash("ana@x.example"))["reason"] == "forgotten"
