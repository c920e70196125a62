"""Subscriber CSV import: formats, bad rows, consent, suppressions, idempotence."""
from __future__ import annotations

import pytest

from mailer.importer import ImportError_, Importer, Vocab
from mailer.store import SCHEMA_VERSION, Store, StoreError, address_hash
from tests.mailer_support import TODAY, import_text, write_csv

HEADER = "email,first_name,last_name,school,roles,phases,interests,consent,source\n"


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "data" / "mailer.sqlite3") as s:
        yield s


def rows(store):
    return {r["email"]: dict(r) for r in store.subscribers()}


def test_schema_is_versioned_and_wal(store, tmp_path):
    assert store.version == SCHEMA_VERSION
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer than this mailer"):
        Store(store.path)


def test_a_plain_import(store, tmp_path):
    result = import_text(store, tmp_path, HEADER +
                         "Ana@School.Example , Ana ,Ramos,minster-primary,teacher,primary,cpd;itt,yes,questionnaire\n")
    assert (result.added, result.updated, result.skipped, result.no_consent) == (1, 0, 0, 0)
    row = rows(store)["ana@school.example"]                   # trimmed and lower-cased
    assert row["first_name"] == "Ana" and row["roles"] == "teacher" and row["interests"] == "cpd itt"
    assert row["consent"] == 1 and row["consent_date"] == TODAY.isoformat()
    assert row["consent_source"] == "questionnaire"
    assert row["address_hash"] == store.key(address_hash("ana@school.example")) != address_hash("ana@school.example")


def test_bom_and_header_case_and_aliases(store, tmp_path):
    result = import_text(store, tmp_path, "EMAIL,First Name,SURNAME,Roles,Phase,Consent\n"
                         "bo@x.example,Bo,Li,Teacher,Primary; Secondary,YES\n", bom=True)
    assert result.added == 1 and not result.messages
    row = rows(store)["bo@x.example"]
    assert (row["first_name"], row["last_name"], row["roles"], row["phases"]) == ("Bo", "Li", "teacher",
                                                                                "primary secondary")


def test_unknown_columns_are_reported_once(store, tmp_path):
    result = import_text(store, tmp_path, "email,consent,shoe size\nbo@x.example,yes,9\n")
    assert result.added == 1
    assert result.messages == ["row 1: ignored column: shoe size; the columns are: email, first_name, "
                               "last_name, school, roles, phases, interests, consent, source"]


def test_quoted_commas_and_multi_values(store, tmp_path):
    result = import_text(store, tmp_path, HEADER +
                         'a@x.example,"Mary, Jane",Doe,"Vale School, Minster","teacher, ect",'
                         '"primary;junior",,yes,\n')
    assert result.added == 1
    row = rows(store)["a@x.example"]
    assert row["first_name"] == "Mary, Jane" and row["school"] == "Vale School, Minster"
    assert row["roles"] == "teacher ect" and row["phases"] == "primary junior"


def test_an_unquoted_comma_is_a_bad_row(store, tmp_path):
    result = import_text(store, tmp_path, HEADER + "a@x.example,Ana,Ramos,Vale School, Minster,teacher,,,yes,\n")
    assert result.skipped == 1 and result.added == 0
    assert result.messages == ["row 2: row: has 10 fields but the header has 9; put text holding a comma "
                               "in double quotes"]


def test_non_ascii_names(store, tmp_path):
    result = import_text(store, tmp_path, HEADER + "zoe@x.example,Zoë,Ångström,,teacher,,,yes,\n"
                                                   "lw@x.example,Łukasz,Wiśniewski,,teacher,,,yes,\n")
    assert result.added == 2
    assert rows(store)["zoe@x.example"]["first_name"] == "Zoë"
    assert rows(store)["lw@x.example"]["last_name"] == "Wiśniewski"


def test_not_utf8_spoils_only_its_row(store, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER + "ok@x.example,Ok,,,teacher,,,yes,\n").encode() +
                     "zoe@x.example,Zoë,,,teacher,,,yes,\n".encode("latin-1"))
    result = Importer(store, today=TODAY).import_file(path)
    assert result.added == 1 and result.skipped == 1
    assert result.messages == ['row 3: row: is not UTF-8 text; save the file as "CSV UTF-8" and import it again']


@pytest.mark.parametrize("line, message", [
    (",Ana,,,teacher,,,yes,", "row 2: email: is missing"),
    ("ana(at)x.example,Ana,,,teacher,,,yes,", "row 2: email: 'ana(at)x.example' is not an email address"),
    ("ana@x,Ana,,,teacher,,,yes,", "row 2: email: 'ana@x' is not an email address"),
    ("a b@x.example,Ana,,,teacher,,,yes,", "row 2: email: 'a b@x.example' is not an email address"),
    ("ana@x.example,Ana,,,techer,,,yes,", "row 2: roles: unknown role 'techer'; did you mean 'teacher'?"),
    ("ana@x.example,Ana,,,teacher,primry,,yes,", "row 2: phases: unknown phase 'primry'; did you mean 'primary'?"),
    ("ana@x.example,Ana,,,teacher,,cdp,yes,",
     "row 2: interests: unknown interest (a strand or specialism) 'cdp'; did you mean 'cpd'?"),
    ("ana@x.example,Ana,,,teacher,,,maybe,", "row 2: consent: 'maybe' is not yes, no or a date (YYYY-MM-DD)"),
    ("ana@x.example,Ana,,,teacher,,,2099-01-01,", "row 2: consent: 2099-01-01 is in the future"),
])
def test_bad_rows_are_reported_with_their_row_number_and_skipped(store, tmp_path, line, message):
    result = import_text(store, tmp_path, HEADER + line + "\ngood@x.example,G,,,teacher,,,yes,\n")
    assert result.messages == [message]
    assert result.skipped == 1 and result.added == 1            # the good row still goes in
    assert list(rows(store)) == ["good@x.example"]


def test_row_numbers_count_the_header_and_multi_line_fields(store, tmp_path):
    result = import_text(store, tmp_path, HEADER + 'a@x.example,"Two\nlines",,,teacher,,,yes,\n'
                                                   "\n"
                                                   "bad,,,,,,,yes,\n")
    assert result.messages == ["row 4: email: 'bad' is not an email address"]
    assert rows(store)["a@x.example"]["first_name"] == "Two lines"     # no line breaks kept in names


@pytest.mark.parametrize("consent", ["", "no", "No", "false", "0"])
def test_a_row_without_consent_never_adds_anyone(store, tmp_path, consent):
    result = import_text(store, tmp_path, HEADER + f"a@x.example,Ana,,,teacher,,,{consent},\n")
    assert (result.added, result.no_consent) == (0, 1)
    assert rows(store) == {}


@pytest.mark.parametrize("consent, date", [("yes", TODAY.isoformat()), ("TRUE", TODAY.isoformat()),
                                           ("1", TODAY.isoformat()), ("2026-09-01", "2026-09-01")])
def test_consent_words_and_dates(store, tmp_path, consent, date):
    import_text(store, tmp_path, HEADER + f"a@x.example,Ana,,,teacher,,,{consent},form\n")
    row = rows(store)["a@x.example"]
    assert row["consent"] == 1 and row["consent_date"] == date and row["consent_source"] == "form"


def test_source_defaults_to_the_file_name(store, tmp_path):
    import_text(store, tmp_path, "email,consent\na@x.example,yes\n", name="open-evening.csv")
    assert rows(store)["a@x.example"]["consent_source"] == "open-evening.csv"


def test_an_explicit_no_withdraws_consent_a_blank_changes_nothing(store, tmp_path):
    import_text(store, tmp_path, HEADER + "a@x.example,Ana,,,teacher,,,2026-09-01,form\n"
                                          "b@x.example,Bo,,,teacher,,,yes,form\n")
    result = import_text(store, tmp_path, HEADER + "a@x.example,Ana,,,teacher,,,no,later\n"
                                                   "b@x.example,Bo,,,teacher,,,,later\n")
    assert (result.no_consent, result.withdrawn, result.updated) == (2, 1, 0)
    assert rows(store)["a@x.example"]["consent"] == 0
    assert rows(store)["b@x.example"]["consent"] == 1
    assert store.counts()["sendable"] == 1


def test_duplicate_rows_the_later_wins(store, tmp_path):
    result = import_text(store, tmp_path, HEADER + "a@x.example,Ana,,,teacher,,,yes,\n"
                                                   "A@X.example,Anna,,,teacher,,,yes,\n"
                                                   "a@x.example,Anna,,,teacher,,,yes,\n")
    assert (result.added, result.updated, result.unchanged) == (1, 1, 1)
    assert result.messages == ["row 3: same address as row 2; the later row is kept",
                               "row 4: same address as row 3; the later row is kept"]
    assert rows(store)["a@x.example"]["first_name"] == "Anna"


def test_reimport_is_idempotent_and_updates_changes(store, tmp_path):
    text = HEADER + "a@x.example,Ana,,,teacher,,,yes,\nb@x.example,Bo,,,teacher,,,2026-01-02,\n"
    first = import_text(store, tmp_path, text)
    again = import_text(store, tmp_path, text)
    assert (first.added, again.added, again.updated, again.unchanged) == (2, 0, 0, 2)
    changed = import_text(store, tmp_path, text.replace("Bo,", "Bob,"))
    assert (changed.updated, changed.unchanged) == (1, 1)
    assert rows(store)["a@x.example"]["consent_date"] == TODAY.isoformat()   # a bare yes keeps the first date


def test_reimport_after_unsubscribe_never_resubscribes(store, tmp_path):
    text = HEADER + "a@x.example,Ana,,,teacher,,,yes,\n"
    import_text(store, tmp_path, text)
    assert store.unsubscribe("A@x.example") == "unsubscribed"
    result = import_text(store, tmp_path, text.replace(",yes,", ",2027-01-01,"))
    assert (result.added, result.updated, result.suppressed) == (0, 0, 1)
    row = rows(store)["a@x.example"]
    assert row["status"] == "unsubscribed" and store.counts()["sendable"] == 0


def test_forget_erases_and_keeps_the_suppression(store, tmp_path):
    text = HEADER + "a@x.example,Ana,Ramos,,teacher,,,yes,\n"
    import_text(store, tmp_path, text)
    assert store.forget("a@x.example") == "forgotten"
    assert rows(store) == {}
    kept = [tuple(r) for r in store.conn.execute("SELECT * FROM suppressions")]
    assert "a@x.example" not in repr(kept) and "Ramos" not in repr(kept)
    assert store.suppression(address_hash("a@x.example"))["reason"] == "forgotten"
    result = import_text(store, tmp_path, text)
    assert (result.added, result.suppressed) == (0, 1)
    assert rows(store) == {}
    assert store.forget("a@x.example") == "already"


def test_the_database_file_holds_no_trace_after_forget(tmp_path):
    db = tmp_path / "m.sqlite3"
    with Store(db) as store:
        import_text(store, tmp_path, HEADER + "ana.secret@x.example,Anastasia,Secretname,,teacher,,,yes,\n")
        store.forget("ana.secret@x.example")
    data = b"".join(p.read_bytes() for p in tmp_path.glob("m.sqlite3*"))
    assert b"ana.secret" not in data and b"Secretname" not in data


def test_unsubscribe_or_forget_an_unknown_address_suppresses_it(store, tmp_path):
    assert store.unsubscribe("new@x.example") == "suppressed"
    assert store.unsubscribe("new@x.example") == "already"
    result = import_text(store, tmp_path, HEADER + "new@x.example,N,,,teacher,,,yes,\n")
    assert (result.added, result.suppressed) == (0, 1)


def test_no_email_column_or_empty_file(store, tmp_path):
    with pytest.raises(ImportError_, match=r"no email column in the header row \(found: name, consent\)"):
        import_text(store, tmp_path, "name,consent\nAna,yes\n")
    with pytest.raises(ImportError_, match="the file is empty"):
        import_text(store, tmp_path, "")


def test_the_alliance_vocabulary_is_used(store, tmp_path):
    vocab = Vocab(roles=("teacher", "librarian"), phases=("primary",))
    result = import_text(store, tmp_path, HEADER + "a@x.example,A,,,librarian,,,yes,\n", vocab=vocab)
    assert result.added == 1


def test_large_import_in_chunks(store, tmp_path):
    lines = [f"p{i}@x.example,P{i},,,teacher,primary,,yes," for i in range(5000)]
    result = import_text(store, tmp_path, HEADER + "\n".join(lines) + "\n")
    assert result.added == 5000
    assert store.counts()["sendable"] == 5000
    write_csv(tmp_path / "again.csv", HEADER + "\n".join(lines) + "\n")
    again = Importer(store, today=TODAY).import_file(tmp_path / "again.csv")
    assert again.unchanged == 5000 and again.added == 0
