"""Signed links: unsubscribe and preference tokens, confirmation links that expire; the
subscription API below the web service (mailer/signups.py)."""
from __future__ import annotations

import datetime as dt

from itsdangerous import URLSafeTimedSerializer

from mailer import signups
from mailer.importer import Importer
from mailer.store import Store, address_hash
from mailer.tokens import PREFERENCES, UNSUBSCRIBE, Tokens, make_token, verify_token
from mailer.web.links import Links
from tests.mailer_support import SECRET, write_csv


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


def test_a_preferences_link_is_not_an_unsubscribe_link_and_old_secrets_still_verify():
    tokens = Tokens(SECRET, "https://lists.x.example/unsubscribe", "o@x.example",
                    preferences_url="https://lists.x.example/preferences")
    url = tokens.preferences_url(address_hash("ana@x.example"))
    assert url.startswith("https://lists.x.example/preferences?t=")
    token = url.split("t=")[1]
    assert verify_token(SECRET, token, PREFERENCES) == address_hash("ana@x.example")
    assert verify_token(SECRET, token, UNSUBSCRIBE) is None
    links = Links([b"a-new-secret-0123456789", SECRET], 72)       # rotated: the old one still verifies
    assert links.reader(token, PREFERENCES) == address_hash("ana@x.example")
    assert Links([b"a-new-secret-0123456789"], 72).reader(token, PREFERENCES) is None


def test_confirmation_links_expire_and_cannot_be_changed():
    links = Links([SECRET], 72)
    token = links.confirm_token(7, "nonce", address_hash("ana@x.example"))
    state, payload = links.read_confirm(token)
    assert state == "ok" and payload["s"] == 7 and payload["n"] == "nonce"
    assert links.read_confirm(token[:-3] + "AAA")[0] == "invalid"
    assert links.read_confirm("")[0] == "invalid"

    old = URLSafeTimedSerializer([SECRET], salt="confirm-signup")
    signer = old.make_signer()
    signer.get_timestamp = lambda: int((dt.datetime.now() - dt.timedelta(days=4)).timestamp())
    aged = signer.sign(old.dump_payload({"s": 7, "n": "nonce", "h": "ab"})).decode()
    assert links.read_confirm(aged)[0] == "expired"


def test_only_a_confirmed_sign_up_is_sendable_and_a_forgotten_reader_stays_suppressed(tmp_path):
    with Store(tmp_path / "m.sqlite3") as store:
        outcome = signups.request_signup(store, signups.JoinRequest("New@School.example", "Ní", roles=("teacher",),
                                                                    wording_version="abcd1234"))
        assert outcome.mail == "confirm" and store.counts()["sendable"] == 0
        assert signups.confirm(store, outcome.signup_id, "wrong-nonce").outcome == "invalid"
        assert store.counts()["sendable"] == 0
        assert signups.confirm(store, outcome.signup_id, outcome.nonce).outcome == "confirmed"
        assert store.counts()["sendable"] == 1
        assert store.conn.execute("SELECT COUNT(*) FROM signups").fetchone()[0] == 0    # no pending copy kept
        Importer(store).import_file(write_csv(tmp_path / "s.csv", "email,consent\nana@x.example,yes\n"))
        store.forget("ana@x.example")
        assert signups.leave(store, address_hash("ana@x.example"), "one-click") == "already"
        assert store.suppression(address_hash("ana@x.example"))["reason"] == "forgotten"


def test_unconfirmed_sign_ups_are_deleted_once_expired(tmp_path):
    with Store(tmp_path / "m.sqlite3") as store:
        then = dt.datetime(2027, 1, 1, tzinfo=dt.timezone.utc)
        signups.request_signup(store, signups.JoinRequest("old@x.example"), now=then)
        signups.request_signup(store, signups.JoinRequest("new@x.example"), now=then + dt.timedelta(days=3))
        assert signups.purge_expired(store, now=then + dt.timedelta(days=3, hours=1)) == 1
        assert [r[0] for r in store.conn.execute("SELECT email FROM signups")] == ["new@x.example"]


def test_forget_erases_a_pending_sign_up_and_the_providers_events(tmp_path):
    with Store(tmp_path / "m.sqlite3") as store:
        signups.request_signup(store, signups.JoinRequest("Pending@X.example", "Pat", school="Pat's School"))
        store.conn.execute("INSERT INTO provider_events (provider, event, address_hash, occurred_at, received_at) "
                           "VALUES ('mailgun', 'delivered', ?, 'x', 'x')", (store.key_for("pending@x.example"),))
        store.forget("pending@x.example")
        assert store.conn.execute("SELECT COUNT(*) FROM signups").fetchone()[0] == 0
        assert store.conn.execute("SELECT COUNT(*) FROM provider_events").fetchone()[0] == 0
        assert "Pat" not in " ".join(str(v) for r in store.conn.execute("SELECT * FROM signups") for v in r)
