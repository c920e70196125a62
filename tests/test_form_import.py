"""Form exports in: Microsoft Forms (.xlsx) and Google Forms (CSV) through imports/<name>.yml,
mapping suggestions, course evaluations; every unmappable row reported by row and column."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import yaml
from click.testing import CliRunner

from mailer.__main__ import cli
from mailer.form_import import import_evaluations, import_subscribers
from mailer.forms import FormError, open_export, parse_when
from mailer.mapping import MappingError, Vocab, load_mapping
from mailer.store import Store
from mailer.suggest import suggest
from mailer.translate import split_choices
from tests import forms_support as fs
from tests.treebuilder import course, load_ok, session, write_tree

TODAY = dt.date(2026, 11, 1)


@pytest.fixture
def root(tmp_path):
    root = write_tree(tmp_path / "alliance", courses={
        "phonics-for-tas": course(title="Phonics for TAs", strand="cpd", audience=["teaching-assistant"],
                                  sessions=[session("2026-09-30", "15:45", "17:15")]),
    })
    (root / "imports").mkdir()
    (root / "imports" / "staff-2025.yml").write_text(
        fs.MS_STAFF_MAPPING.replace('    "Testwick Primary School": testwick-primary\n',
                                    '    "Testwick Primary School": testwick-primary\n'
                                    '    "Testwick High School": testwick-high\n'), encoding="utf-8")
    (root / "imports" / "google-join.yml").write_text(fs.GOOGLE_MAPPING, encoding="utf-8")
    (root / "imports" / "course-evaluation.yml").write_text(fs.EVAL_MAPPING, encoding="utf-8")
    return root


@pytest.fixture
def vocab(root):
    return Vocab.from_records(load_ok(root))


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "data" / "mailer.sqlite3") as s:
        yield s


def people(store):
    return {r["email"]: dict(r) for r in store.subscribers()}


def staff_export(tmp_path):
    return fs.ms_forms_xlsx(tmp_path / "Staff questionnaire(1-8).xlsx", fs.MS_STAFF_QUESTIONS,
                            fs.ms_staff_rows())


# --- reading the exports ---------------------------------------------------------------------------

def test_an_ms_forms_workbook_reads_as_excel_shows_it(tmp_path):
    export = open_export(staff_export(tmp_path))
    assert export.kind == "ms-forms"
    assert export.header[6:8] == ["What is your role?",
                                  "Which phase(s) do you work in? (tick all that apply)"]   # two lines -> one
    rows = list(export.rows)
    assert [n for n, _ in rows] == list(range(2, 10))              # spreadsheet row numbers
    assert rows[0][1][2] == dt.datetime(2025, 9, 14, 10, 3, 22)    # an Excel date cell
    assert parse_when(rows[3][1][2]) == dt.datetime(2025, 9, 16, 12, 0)   # a bare serial number
    assert rows[0][1][11] == "I'd like more on\nSEND, please"      # multi-line answer kept


def test_a_google_csv_with_bom_and_locale_timestamps(tmp_path):
    export = open_export(fs.google_csv(tmp_path / "Join us (Responses).csv", fs.GOOGLE_QUESTIONS,
                                       fs.google_rows()))
    assert export.kind == "google-forms" and export.header[0] == "Timestamp"   # BOM gone
    first = next(export.rows)[1]
    assert parse_when(first[0]) == dt.datetime(2025, 9, 14, 10, 3, 22)
    assert parse_when("03/10/2025 16:45:00") == dt.datetime(2025, 10, 3, 16, 45)
    assert parse_when("10/03/2025 16:45:00", day_first=False) == dt.datetime(2025, 10, 3, 16, 45)
    assert parse_when("2025/09/14 1:03:22 PM GMT+1") == dt.datetime(2025, 9, 14, 13, 3, 22)
    with pytest.raises(ValueError, match="not a date"):
        parse_when("next Tuesday")


def test_files_that_cannot_be_read_say_why(tmp_path):
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(FormError, match=r"old Excel file \(.xls\); open it and save it as .xlsx"):
        open_export(tmp_path / "old.xls")
    (tmp_path / "broken.xlsx").write_bytes(b"not a zip")
    with pytest.raises(FormError, match="not a readable .xlsx workbook"):
        open_export(tmp_path / "broken.xlsx")
    (tmp_path / "latin1.csv").write_bytes("Timestamp,Name\n1/1/2025,Ren\xe9e\n".encode("latin-1"))
    with pytest.raises(FormError, match=r"the file is not UTF-8 text; in the spreadsheet, save it "
                       r"as \"CSV UTF-8\" and import that \(nothing was imported\)"):
        list(open_export(tmp_path / "latin1.csv").rows)     # the reader decodes ahead: at once


def test_multiple_choices_split_on_semicolons_and_commas_but_not_inside_an_answer():
    table = {"yes, i agree to receive the newsletter": True, "send support": ["send"]}
    assert split_choices("KS1;KS2;", {}) == ["KS1", "KS2"]
    assert split_choices("Secondary, Post-16", {}) == ["Secondary", "Post-16"]
    assert split_choices("Yes, I agree to receive the newsletter", table) == ["Yes, I agree to receive the newsletter"]
    assert split_choices("Maths, Yes, I agree to receive the newsletter, SEND support", table) == \
        ["Maths", "Yes, I agree to receive the newsletter", "SEND support"]


# --- subscribers through a mapping -------------------------------------------------------------------

def test_ms_forms_staff_questionnaire_imports_and_reports_every_bad_row(tmp_path, root, vocab, store):
    mapping = load_mapping(root, "staff-2025", vocab)
    result = import_subscribers(store, open_export(staff_export(tmp_path)), mapping, vocab, today=TODAY)
    assert (result.rows, result.added, result.updated, result.skipped, result.no_consent,
            result.duplicates) == (8, 4, 1, 2, 1, 1)
    assert result.messages == [
        "row 6, column G ('What is your role?'): unknown answer 'Lunchtime supervisor'; add it "
        "under answers: roles: in imports/staff-2025.yml",
        "row 8: same address as row 2; the later row is kept",
        "row 9, column H ('Which phase(s) do you work in? (tick all that apply)'): unknown answer "
        "'KS9'; did you mean 'KS4'?; add it under answers: phases: in imports/staff-2025.yml",
        "row 9, column D ('Email'): 'not-an-address' is not an email address",
    ]
    held = people(store)
    assert set(held) == {"siobhan.ni@testwick-primary.example", "lukasz.w@testwick-high.example",
                         "amira.h@elsewhere.example", "kwame.a@testwick-primary.example"}
    siobhan = held["siobhan.ni@testwick-primary.example"]            # the later row won
    assert (siobhan["first_name"], siobhan["last_name"]) == ("Siobhán", "Ní Bhriain")
    assert (siobhan["roles"], siobhan["phases"], siobhan["interests"]) == \
        ("teaching-assistant", "infant", "send early-reading research")
    assert siobhan["school"] == "testwick-primary" and siobhan["consent_date"] == "2025-09-17"
    assert siobhan["consent_source"] == "staff-questionnaire-2025"
    lukasz = held["lukasz.w@testwick-high.example"]
    assert (lukasz["roles"], lukasz["phases"], lukasz["school"]) == ("teacher", "secondary", "testwick-high")
    amira = held["amira.h@elsewhere.example"]
    assert amira["consent_date"] == "2025-09-16"                     # from the serial number
    assert amira["school"] == "Little Acorns Nursery & Pre-school"   # not a member: kept as written
    assert held["kwame.a@testwick-primary.example"]["interests"] == "leadership research"
    # consent recorded in the history with the form's wording as its version
    history = store.consent_history("siobhan.ni@testwick-primary.example")
    assert [(e.given, e.at.date().isoformat(), e.source, e.detail, e.wording) for e in history] == [
        (True, "2025-09-14", "import", "Staff questionnaire(1-8).xlsx row 2: staff-questionnaire-2025", fs.CONSENT_YES),
        (True, "2025-09-17", "import", "Staff questionnaire(1-8).xlsx row 8: staff-questionnaire-2025", fs.CONSENT_YES)]
    no = store.consent_history("zoe.o@testwick-high.example")      # a no is kept, by hash only
    assert [(e.given, e.wording) for e in no] == [(False, fs.CONSENT_NO)]
    # nobody who said no, nobody unmappable
    assert "zoe.o@testwick-high.example" not in held and "dinner.lady@testwick-primary.example" not in held
    def snapshot():
        return {e: {k: v for k, v in r.items() if k != "updated_at"} for e, r in people(store).items()}
    before = snapshot()
    again = import_subscribers(store, open_export(staff_export(tmp_path)), mapping, vocab, today=TODAY)
    assert again.added == 0 and snapshot() == before          # idempotent (row 2 then row 8 again)


def test_google_forms_join_list(tmp_path, root, vocab, store):
    export = open_export(fs.google_csv(tmp_path / "Join (Responses).csv", fs.GOOGLE_QUESTIONS, fs.google_rows()))
    result = import_subscribers(store, export, load_mapping(root, "google-join", vocab), vocab, today=TODAY)
    assert (result.added, result.skipped, result.no_consent) == (2, 1, 1)
    assert result.messages == ["row 4, column E ('Your role'): unknown answer 'Teecher'; did you mean "
                               "'teacher'?; add it under answers: roles: in imports/google-join.yml"]
    held = people(store)
    assert held["chloe.b@testwick-high.example"]["phases"] == "secondary post-16"
    assert held["chloe.b@testwick-high.example"]["interests"] == "research maths"
    assert held["chloe.b@testwick-high.example"]["consent_date"] == "2025-09-14"
    assert held["oluwaseun.m@testwick-primary.example"]["consent_date"] == "2025-10-03"   # day first
    assert held["oluwaseun.m@testwick-primary.example"]["roles"] == "ect"


def test_an_export_missing_a_mapped_question_is_refused_whole(tmp_path, root, vocab, store):
    questions = list(fs.MS_STAFF_QUESTIONS)
    questions[0] = "What is your job?"                              # the form was edited
    path = fs.ms_forms_xlsx(tmp_path / "edited.xlsx", questions, fs.ms_staff_rows())
    with pytest.raises(FormError, match=r"the file has no question 'What is your role\?'; did you "
                       r"mean 'What is your job\?'\? \(named in imports/staff-2025.yml\)"):
        import_subscribers(store, open_export(path), load_mapping(root, "staff-2025", vocab), vocab)
    assert people(store) == {}


# --- mappings: checked with their lines -------------------------------------------------------------

def test_mapping_mistakes_are_reported_with_file_line_and_field(root, vocab):
    (root / "imports" / "broken.yml").write_text(
        "kind: subscribers\n"
        "columns:\n"
        "  Email: email\n"
        "  What is your role?: role\n"
        "  Consent: consent\n"
        "answers:\n"
        "  roles:\n"
        "    Class teacher: techer\n"
        "  consent:\n"
        "    \"Yes please\": maybe\n", encoding="utf-8")
    with pytest.raises(MappingError) as err:
        load_mapping(root, "broken", vocab)
    assert [str(p) for p in err.value.problems] == [
        "imports/broken.yml:4: columns.What is your role?: 'role' is not a field of subscribers; use one "
        "of email, name, first_name, last_name, school, roles, phases, interests, consent, date, source, "
        "ignore; did you mean 'roles'?",
        "imports/broken.yml:8: answers.roles.Class teacher: 'techer' is not one of the roles words; did "
        "you mean 'teacher'? (known: teaching-assistant, teacher, ect, trainee, middle-leader, "
        "senior-leader, headteacher, governor, senco, support-staff)",
        "imports/broken.yml:10: answers.consent.Yes please: 'maybe' should be yes or no",
    ]
    with pytest.raises(MappingError, match=r"imports/staf-2025.yml: no such mapping; did you mean 'staff-2025'\?"):
        load_mapping(root, "staf-2025", vocab)
    with pytest.raises(MappingError, match="is not a mapping name"):
        load_mapping(root, "../../etc/passwd", vocab)


def test_suggest_places_questions_and_answers_and_marks_the_rest(tmp_path, root, vocab):
    recs = load_ok(root)
    text, unplaced = suggest(open_export(staff_export(tmp_path)), vocab, name="staff-2025",
                             school_names={s.name.casefold(): i for i, s in recs.schools.items()})
    data = yaml.safe_load(text)
    assert data["columns"]["Completion time"] == "date" and data["columns"]["ID"] == "ignore"
    assert data["columns"]["Email"] == "email" and data["columns"]["Name"] == "name"
    assert data["columns"]["What is your role?"] == "roles"
    assert data["columns"]["Which phase(s) do you work in? (tick all that apply)"] == "phases"
    assert data["columns"]["May we keep your details and send you our newsletter?"] == "consent"
    assert data["columns"]["Anything else you would like to tell us?"] == "?"
    assert data["answers"]["roles"] == {"Teaching Assistant / HLTA": "teaching-assistant",
                                        "Class teacher": "teacher", "Head of department": "middle-leader",
                                        "Deputy head": "senior-leader", "Lunchtime supervisor": "?"}
    assert data["answers"]["phases"] == {"KS1": "infant", "KS2": "junior", "KS3": "secondary",
                                         "KS4": "secondary", "Sixth form": "post-16", "EYFS": "nursery",
                                         "KS9": "?"}
    assert data["answers"]["interests"] == {"SEND support": "send", "Phonics": "early-reading",
                                            "Leadership development": "leadership"}
    assert data["answers"]["consent"] == {fs.CONSENT_YES: True, fs.CONSENT_NO: False}
    assert data["answers"]["school"] == {"Testwick Primary School": "testwick-primary",
                                         "Testwick High School": "testwick-high"}
    assert unplaced == 3
    assert "siobhan" not in text.lower() and "amira" not in text.lower()      # no personal data
    # a mapping holding ? is refused, each ? at its line
    (root / "imports" / "suggested.yml").write_text(text, encoding="utf-8")
    with pytest.raises(MappingError) as err:
        load_mapping(root, "suggested", vocab)
    messages = [str(p) for p in err.value.problems]
    assert len(messages) == 3 and all("is marked ? (not placed yet)" in m for m in messages)
    assert all(re.match(r"imports/suggested.yml:\d+: ", m) for m in messages)


def test_suggest_from_the_command_line_writes_imports_name(tmp_path, root):
    path = fs.google_csv(tmp_path / "join.csv", fs.GOOGLE_QUESTIONS, fs.google_rows())
    runner = CliRunner()
    result = runner.invoke(cli, ["--root", str(root), "subscribers", "mapping", "suggest", str(path),
                                 "--name", "join-2025"])
    assert result.exit_code == 0, result.output
    assert result.output == ("wrote imports/join-2025.yml: 1 thing marked ? needs a person; then "
                             "commit it and import with --mapping join-2025\n")
    data = yaml.safe_load((root / "imports" / "join-2025.yml").read_text(encoding="utf-8"))
    assert data["columns"]["Timestamp"] == "date" and data["dates"] == "day-first"
    assert data["answers"]["roles"] == {"Teecher": "?"}
    again = runner.invoke(cli, ["--root", str(root), "subscribers", "mapping", "suggest", str(path),
                                "--name", "join-2025"])
    assert again.exit_code == 1 and "exists; choose another --name or add --force" in again.output


def test_import_from_the_command_line(tmp_path, root):
    db = tmp_path / "cli.sqlite3"
    result = CliRunner().invoke(cli, ["--root", str(root), "--db", str(db), "subscribers", "import",
                                      str(staff_export(tmp_path)), "--mapping", "staff-2025"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "not in imports/staff-2025.yml" not in result.output       # every question is mapped
    assert "Staff questionnaire(1-8).xlsx: row 6, column G ('What is your role?')" in result.output
    assert re.search(r"4 added, 1 updated, 0 unchanged, 2 skipped, 1 without consent", lines[-1])
    bad = CliRunner().invoke(cli, ["--root", str(root), "--db", str(db), "subscribers", "import",
                                   str(staff_export(tmp_path)), "--mapping", "nope"])
    assert bad.exit_code == 1
    assert "imports/nope.yml: no such mapping" in bad.output


# --- evaluations --------------------------------------------------------------------------------------

def test_evaluations_are_imported_per_course_without_names(tmp_path, root, vocab, store):
    rows = fs.eval_rows(7)
    rows[4][4] = "Brilliant"                         # not a rating: row 6 skipped
    path = fs.ms_forms_xlsx(tmp_path / "Phonics evaluation.xlsx", fs.EVAL_QUESTIONS, rows)
    mapping = load_mapping(root, "course-evaluation", vocab)
    result = import_evaluations(store, open_export(path), mapping, vocab, course="phonics-for-tas")
    assert (result.added, result.skipped) == (6, 1)
    assert result.messages == ["row 6, column G ('How would you rate the course overall?'): 'Brilliant' "
                               "is not a rating from 1 to 5; add it under answers: rating: in "
                               "imports/course-evaluation.yml"]
    held = [dict(r) for r in store.conn.execute("SELECT * FROM evaluations ORDER BY id")]
    assert [r["rating"] for r in held] == [1 + (i * 7) % 5 for i in (0, 1, 2, 3, 5, 6)]
    assert held[0]["change"] == "I will plan\nphonics groups differently (1)"
    assert [r["quote_consent"] for r in held] == [1, 0, 0, 1, 0, 1]
    assert held[0]["submitted_at"] == "2026-10-01" and {r["course"] for r in held} == {"phonics-for-tas"}
    assert "anonymous" not in str(held)
    again = import_evaluations(store, open_export(path), mapping, vocab, course="phonics-for-tas")
    assert (again.added, again.unchanged) == (0, 6)
    with pytest.raises(FormError, match="unknown course 'phonics-for-ta'; did you mean 'phonics-for-tas'"):
        import_evaluations(store, open_export(path), mapping, vocab, course="phonics-for-ta")


def test_evaluations_from_the_command_line_and_a_suggested_evaluation_mapping(tmp_path, root, vocab):
    path = fs.ms_forms_xlsx(tmp_path / "Phonics evaluation.xlsx", fs.EVAL_QUESTIONS, fs.eval_rows(5))
    text, unplaced = suggest(open_export(path), vocab, kind="evaluations")
    data = yaml.safe_load(text)
    assert data["kind"] == "evaluations"
    assert {q: data["columns"][q] for q in fs.EVAL_QUESTIONS} == {
        "How would you rate the course overall?": "rating",
        "What will you change in your practice?": "change",
        "May we quote your answer (without your name)?": "quote_consent"}
    assert data["columns"]["Email"] == "ignore" and data["columns"]["Name"] == "ignore"
    assert data["answers"]["quote_consent"] == {"Yes, quote me": True, "No": False}
    assert "phonics groups" not in text and unplaced == 0           # free text never copied
    db = tmp_path / "cli.sqlite3"
    runner = CliRunner()
    missing = runner.invoke(cli, ["--root", str(root), "--db", str(db), "evaluations", "import", str(path),
                                  "--mapping", "course-evaluation"])
    assert missing.exit_code == 1 and "which course are these evaluations about? Give --course ID" in missing.output
    result = runner.invoke(cli, ["--root", str(root), "--db", str(db), "evaluations", "import", str(path),
                                 "--mapping", "course-evaluation", "--course", "phonics-for-tas"])
    assert result.exit_code == 0, result.output
    assert result.output == ("Phonics evaluation.xlsx: 5 evaluations added, 0 already held, 0 skipped "
                             "(phonics-for-tas: 5) (5 rows)\n")
