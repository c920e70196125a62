"""Consent as an append-only history: the newest event wins, an import never overrides a later
withdrawal, every way in and out is recorded (issue 8, item 4)."""
from __future__ import annotations

import datetime as dt
import sqlite3

import pytest

from mailer.store import MIGRATIONS, Store, address_hash
from tests.mailer_support import TODAY, import_text

HEADER = "email,first_name,roles,consent,source\n"
UTC = dt.timezone.utc


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "data" / "mailer.sqlite3") as s:
        yield s


def sendable(store: Store) -> set[str]:
    return {r["email"] for r in store.sendable_for("any-edition")}


def test_an_older_export_never_undoes_a_withdrawal(store, tmp_path):
    import_text(store, tmp_path, HEADER + "ana@x.example,Ana,teacher,2026-09-01,questionnaire\n", name="autumn.csv")
    import_text(store, tmp_path, HEADER + "ana@x.example,Ana,teacher,no,\n", name="withdrawals.csv")
    assert sendable(store) == set()
    old = import_text(store, tmp_path, HEADER + "ana@x.example,Ana,teacher,2025-01-10,old list\n", name="old.csv")
    assert sendable(store) == set()                                # the withdrawal still stands
    assert old.withdrawal_kept == 1 and old.messages == [
        f"row 2: consent: withdrawn on {TODAY.isoformat()}, after this row's consent (2025-01-10); left "
        "alone. If they agreed again, give the date they did"]
    bare = import_text(store, tmp_path, HEADER + "ana@x.example,Ana,teacher,yes,\n", name="bare.csv")
    assert bare.withdrawal_kept == 1 and sendable(store) == set()  # a yes without a date is no newer
    history = store.consent_history("ANA@x.example")
    assert [(e.given, e.at.date().isoformat(), e.source, e.detail) for e in history] == [
        (True, "2026-09-01", "import", "autumn.csv row 2: questionnaire"),
        (False, TODAY.isoformat(), "import", "withdrawals.csv row 2")]


def test_a_consent_dated_after_the_withdrawal_counts(store, tmp_path):
    import_text(store, tmp_path, HEADER + "ana@x.example,Ana,teacher,2026-09-01,\n")
    store.add_consent_event("ana@x.example", given=False, at=dt.datetime(2026, 10, 1, 9, 0, tzinfo=UTC),
                            source="office", detail="phoned the office")
    assert sendable(store) == set()
    import_text(store, tmp_path, HEADER + "ana@x.example,Ana,teacher,2026-11-02,open evening\n")
    assert sendable(store) == {"ana@x.example"}
    assert store.subscriber("ana@x.example")["consent_date"] == "2026-11-02"


def test_a_no_for_an_address_we_do_not_hold_is_remembered(store, tmp_path):
    result = import_text(store, tmp_path, HEADER + "bo@x.example,Bo,teacher,no,\n")
    assert (result.added, result.no_consent) == (0, 1)
    assert store.subscriber("bo@x.example") is None              # no personal data kept
    assert [e.given for e in store.consent_history("bo@x.example")] == [False]
    import_text(store, tmp_path, HEADER + "bo@x.example,Bo,teacher,2026-01-05,\n")
    assert store.subscriber("bo@x.example") is None and sendable(store) == set()


def test_the_newest_event_decides_whatever_order_they_arrive_in(store, tmp_path):
    import_text(store, tmp_path, HEADER + "cy@x.example,Cy,teacher,2026-05-01,\n")
    # a withdrawal that happened before the consent we hold, recorded late: consent still stands
    store.add_consent_event("cy@x.example", given=False, at=dt.datetime(2026, 4, 1, tzinfo=UTC),
                            source="office")
    assert sendable(store) == {"cy@x.example"} and store.consent_given("cy@x.example")
    store.add_consent_event("cy@x.example", given=False, at=dt.datetime(2026, 6, 1, tzinfo=UTC),
                            source="preference centre", wording="v2")
    assert sendable(store) == set() and not store.consent_given("cy@x.example")
    history = store.consent_history("cy@x.example")
    assert [(e.given, e.at, e.source) for e in history] == [
        (False, dt.datetime(2026, 4, 1, tzinfo=UTC), "office"),
        (True, dt.datetime(2026, 5, 1, tzinfo=UTC), "import"),
        (False, dt.datetime(2026, 6, 1, tzinfo=UTC), "preference centre")]
    assert history[-1].wording == "v2"


def test_unsubscribing_is_a_withdrawal_and_asking_again_a_new_consent(store, tmp_path):
    import_text(store, tmp_path, HEADER + "di@x.example,Di,teacher,2026-05-01,\n")
    store.unsubscribe("di@x.example")
    assert [(e.given, e.source) for e in store.consent_history("di@x.example")] == [
        (True, "import"), (False, "office")]
    assert store.unsubscribe("di@x.example") == "already"
    assert len(store.consent_history("di@x.example")) == 2        # no duplicate event
    store.add_consent_event("di@x.example", given=True, at=dt.datetime.now(UTC), source="sign-up form",
                            detail="double opt-in confirmed", wording="Newsletter consent v3")
    assert sendable(store) == {"di@x.example"}
    assert store.subscriber("di@x.example")["status"] == "subscribed"


def test_a_provider_unsubscribe_is_recorded_once(store, tmp_path):
    import_text(store, tmp_path, HEADER + "ed@x.example,Ed,teacher,2026-09-01,\n")
    for _ in range(2):                                  # every sync fetches the whole list again
        store.apply_suppressions([(address_hash("ed@x.example"), "unsubscribed")], "mailgun")
    assert [(e.given, e.source, e.detail) for e in store.consent_history("ed@x.example")][1:] == [
        (False, "provider", "mailgun")]


def test_the_history_is_append_only(store, tmp_path):
    import_text(store, tmp_path, HEADER + "fi@x.example,Fi,teacher,yes,\n")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.conn.execute("UPDATE consent_events SET given = 0")


def test_forget_erases_the_history(store, tmp_path):
    import_text(store, tmp_path, HEADER + "gu@x.example,Gu,teacher,yes,\n")
    store.forget("gu@x.example")
    assert store.consent_history("gu@x.example") == []


def test_a_database_from_before_the_history_gets_its_first_events(tmp_path):
    db = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(db)
    for statement in MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    stamp = "2026-10-01T10:00:00Z"
    rows = [("a@x.example", address_hash("a@x.example"), 1, "2026-01-02", "form", "subscribed", None),
            ("b@x.example", address_hash("b@x.example"), 0, None, "", "subscribed", None),
            ("c@x.example", address_hash("c@x.example"), 1, "2026-02-03", "form", "unsubscribed",
             "2026-03-04T05:06:07Z")]
    conn.executemany("INSERT INTO subscribers (email, address_hash, consent, consent_date, consent_source, "
                     "status, unsubscribed_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     [r + (stamp, stamp) for r in rows])
    conn.commit()
    conn.close()
    with Store(db) as store:
        history = {a: [(e.given, e.at.isoformat(), e.source) for e in store.consent_history(f"{a}@x.example")]
                   for a in "abc"}
    assert history == {
        "a": [(True, "2026-01-02T00:00:00+00:00", "import")],
        "b": [(False, "2026-10-01T10:00:00+00:00", "import")],
        "c": [(True, "2026-02-03T00:00:00+00:00", "import"), (False, "2026-03-04T05:06:07+00:00", "office")]}
