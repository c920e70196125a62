"""`build.py new KIND "Title"`: a record named from its title, never overwriting, that passes
`check` exactly as written, pointing editors' editors at its JSON Schema."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import records
from records import editor_schemas
from records.scaffold import NEW_KINDS
from tests.site_support import copy_demo, load_cli

TODAY = "2027-01-10"
CHECKED = "Checked {n} records in {s} s (0 errors, 0 warnings)"
PLACEHOLDER = "warning: still the placeholder that `build.py new` wrote; write your own words here before it is published"


@pytest.fixture(scope="module")
def cli():
    return load_cli()


@pytest.fixture
def demo(tmp_path) -> Path:
    return copy_demo(tmp_path)


def run(cli, *args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def title_of(recs, kind: str, rel: str):
    record_id = Path(rel).stem
    table = {"course": recs.courses, "sle": recs.sles, "school": recs.schools,
             "edition": recs.editions, "news": {n.id: n for n in recs.news}, "page": recs.pages}
    record = table[kind][record_id] if kind in table else None
    return record and getattr(record, {"sle": "name", "school": "name", "edition": "subject"}.get(kind, "title"))


AVAILABLE = [k for k in NEW_KINDS if k in editor_schemas.files()]
TITLE = "Zoë's Phonics: Part #2 & more"
FILES = {"course": "courses/zoes-phonics-part-2-more.md",
         "sle": "content/sles/zoes-phonics-part-2-more.md",
         "school": "content/schools/zoes-phonics-part-2-more.yml",
         "news": "content/news/2027-01-10-zoes-phonics-part-2-more.md",
         "edition": "content/newsletters/2027-01-10-zoes-phonics-part-2-more.md",
         "page": "content/pages/zoes-phonics-part-2-more.md"}


@pytest.mark.parametrize("kind", AVAILABLE)
def test_new_record_passes_check_as_written(cli, demo, kind, monkeypatch):
    monkeypatch.chdir(demo)
    result = run(cli, "new", kind, TITLE, "--today", TODAY)
    assert result.exit_code == 0, result.output
    assert result.output == FILES[kind] + "\n"
    text = (demo / FILES[kind]).read_text(encoding="utf-8")
    # the schema line points at a schema that exists, relative to the file
    first = text.splitlines()[1 if text.startswith("---") else 0]
    assert first.startswith("# yaml-language-server: $schema=")
    schema = (demo / FILES[kind]).parent / first.split("=", 1)[1]
    assert schema.resolve() == (demo / "schemas" / f"{kind}.json").resolve() and schema.is_file()
    # every active field line has a comment saying what to write
    fields = [line for line in text.split("---")[1 if text.startswith("---") else 0].splitlines()
              if line and not line.startswith(("#", " ", "---"))]
    assert fields and all("  # " in line for line in fields), fields
    checked = run(cli, "check", "--root", demo)
    assert checked.exit_code == 0, checked.output
    # it passes; each placeholder that would reach the site unchanged is a warning at its line
    warnings = checked.output.splitlines()[:-1]
    assert warnings and all(w.startswith(FILES[kind] + ":") and w.endswith(PLACEHOLDER) for w in warnings)
    assert checked.output.endswith(f"(0 errors, {len(warnings)} warning{'s' * (len(warnings) > 1)})\n")
    recs, problems = records.load(demo)
    assert title_of(recs, kind, FILES[kind]) == TITLE
    # once the editor has written their own words, nothing is left to say
    text = (demo / FILES[kind]).read_text(encoding="utf-8")
    for warning in warnings:
        line = int(warning.split(":")[1])
        lines = text.splitlines()
        field = warning.split(": ")[1]
        lines[line - 1] = (f"{field}: Their own words" if field != "body" else "Their own words.")
        text = "\n".join(lines) + "\n"
    (demo / FILES[kind]).write_text(text, encoding="utf-8")
    assert run(cli, "check", "--root", demo).output.endswith("(0 errors, 0 warnings)\n")


@pytest.mark.parametrize("kind", AVAILABLE)
def test_every_field_of_a_new_record_says_what_to_write(cli, demo, kind, monkeypatch):
    monkeypatch.chdir(demo)
    assert run(cli, "new", kind, "Spring update", "--today", TODAY).exit_code == 0
    path = next(p for p in demo.rglob("*spring-update*"))
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# ") and not line.startswith("# yaml-language-server"):
            field, _, note = line[2:].partition("  # ")
            assert note.startswith("optional: ") and len(note) > len("optional: ") + 5, line


def test_the_menu_sections_a_page_can_name_are_the_ones_the_site_has():
    from records.field_help import help_for
    from records.site_records import NAV_SECTIONS
    words = help_for("page", "nav").split(": ", 1)[1].split(";")[0].replace(" or ", ", ").split(", ")
    assert words == list(NAV_SECTIONS)


def test_never_overwrites(cli, demo, monkeypatch):
    monkeypatch.chdir(demo)
    assert run(cli, "new", "course", "Phonics refresher").exit_code == 1     # the demo has it
    before = (demo / "courses/phonics-refresher.md").read_bytes()
    result = run(cli, "new", "course", "Phonics Refresher!")
    assert result.exit_code == 1
    assert result.output == ("new: courses/phonics-refresher.md already exists; edit it, or "
                             "choose another title\n")
    assert (demo / "courses/phonics-refresher.md").read_bytes() == before


@pytest.mark.parametrize("title, record_id", [
    ("Ångström Science Day", "angstrom-science-day"),
    ("Straße — Year 6: Writing", "strasse-year-6-writing"),
    ("Łukasz’s “Big” Day", "lukaszs-big-day"),
    ("北京 visit", "beijing-visit"),
    ("  SEND   & <Inclusion>  ", "send-inclusion"),
])
def test_ids_are_safe_and_transliterated(cli, demo, monkeypatch, title, record_id):
    monkeypatch.chdir(demo)
    result = run(cli, "new", "course", title)
    assert result.exit_code == 0, result.output
    assert result.output == f"courses/{record_id}.md\n"
    recs, problems = records.load(demo)
    assert not problems.errors, [str(p) for p in problems]
    assert recs.courses[record_id].title == " ".join(title.split())


def test_a_title_without_letters_is_refused(cli, demo, monkeypatch):
    monkeypatch.chdir(demo)
    result = run(cli, "new", "course", "???")
    assert result.exit_code == 1
    assert result.output == ("new: '???' has no letters or digits to name the file after; give "
                             "a title with some words in it\n")


def test_a_title_the_record_cannot_hold_writes_nothing(cli, demo, monkeypatch):
    monkeypatch.chdir(demo)
    result = run(cli, "new", "edition", "Spring <b>news</b>", "--today", TODAY)
    assert result.exit_code == 1
    assert result.output == ("new: the title cannot be used as written: subject: should be plain "
                             "text, without HTML tags\n")
    assert not list((demo / "content/newsletters").glob("2027-01-10-*"))


def test_a_tree_without_schemas_gets_them_with_its_first_new_record(cli, demo, monkeypatch):
    shutil.rmtree(demo / "schemas")
    monkeypatch.chdir(demo)
    assert run(cli, "new", "course", "Phonics refresher two").exit_code == 0
    line = (demo / "courses/phonics-refresher-two.md").read_text(encoding="utf-8").splitlines()[1]
    target = (demo / "courses" / line.split("=", 1)[1]).resolve()
    assert target == (demo / "schemas/course.json").resolve()
    assert json.loads(target.read_text(encoding="utf-8"))["properties"]["strand"]
