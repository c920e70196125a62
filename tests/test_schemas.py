"""The editors' JSON Schemas (schemas/, for completion and underlining in VS Code): generated
from the record models, up to date, accepting every demo record and rejecting the mistakes."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from records import editor_schemas
from records.files import parse_yaml
from records.problems import Problems
from records.tree import load_core
from tests.mistake_cases import CASES
from tests.site_support import REPO, load_cli
from tests.test_records import BASE, COURSE, SCHOOL, course_with

SCHEMAS = REPO / "schemas"


def as_editor_yaml(value):
    """Dates as the text they are written as: YAML 1.2 (VS Code's reader) has no date type."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: as_editor_yaml(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_editor_yaml(v) for v in value]
    return value


def fields_of(rel: str, text: str):
    if rel.endswith(".md"):
        text = text.split("---", 2)[1]
    problems = Problems()
    data = parse_yaml(text, rel, problems)
    assert not problems.errors, [str(p) for p in problems]
    return as_editor_yaml(data)


def kind_of(rel: str) -> str:
    for kind, (_model, pattern, _shape) in editor_schemas.files().items():
        if Path(rel).match(pattern) and Path(rel).parent.as_posix() == str(Path(pattern).parent):
            return kind
    raise LookupError(rel)


def validator(kind: str):
    schema = json.loads((SCHEMAS / f"{kind}.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def test_schemas_are_up_to_date():
    vocabulary = load_core(REPO, Problems()).vocabulary
    expected = editor_schemas.render_all(vocabulary)
    assert sorted(p.name for p in SCHEMAS.glob("*.json")) == sorted(expected)
    for name, text in expected.items():
        assert (SCHEMAS / name).read_text(encoding="utf-8") == text, f"run build.py schemas ({name})"
    result = CliRunner().invoke(load_cli(), ["schemas", "--root", str(REPO), "--check"])
    assert (result.exit_code, result.output) == (0, "")


def test_schemas_check_names_a_stale_schema(tmp_path):
    for folder in ("content", "schemas"):
        (tmp_path / folder).mkdir()
    (tmp_path / "content/alliance.yml").write_text((REPO / "content/alliance.yml").read_text())
    for path in SCHEMAS.glob("*.json"):
        (tmp_path / "schemas" / path.name).write_text(path.read_text())
    (tmp_path / "schemas/course.json").write_text("{}\n")
    result = CliRunner().invoke(load_cli(), ["schemas", "--root", str(tmp_path), "--check"])
    assert (result.exit_code, result.output) == (
        1, "schemas/course.json: out of date; run `build.py schemas`\n")


def demo_files():
    for kind, (_model, pattern, _shape) in editor_schemas.files().items():
        for path in sorted(REPO.glob(pattern)):
            yield kind, path.relative_to(REPO).as_posix()


@pytest.mark.parametrize("kind, rel", list(demo_files()))
def test_schemas_accept_every_demo_record(kind, rel):
    data = fields_of(rel, (REPO / rel).read_text(encoding="utf-8"))
    errors = [e.message for e in validator(kind).iter_errors(data)]
    assert errors == []


def test_every_kind_of_demo_record_is_covered():
    assert {kind for kind, _ in demo_files()} == set(editor_schemas.files())


# The mistakes a schema can see (field values; not YAML syntax, files or references).
SCHEMA_MISTAKES = ["a school that fails its own check", "phase KS2", "phase Year 6", "places: 0",
                   'cost: "20"', "an SLE's name for their id", "the README's four mistakes"]
MORE = {
    "strand cdp": {"courses/maths-science.md": course_with(strand="cdp")},
    "unknown field": {"courses/maths-science.md": course_with(placs="20")},
    "time 1.30pm": {"courses/maths-science.md": COURSE.replace('"13:30"', '"1.30pm"')},
    "date 30 February": {"courses/maths-science.md": COURSE.replace("2027-01-14", "2027-02-30")},
    "booking http": {"courses/maths-science.md": course_with(booking="http://forms.example/x")},
    "status ful": {"courses/maths-science.md": course_with(status="ful")},
    "urn of five digits": {"content/schools/testwick-primary.yml": SCHOOL.replace("123456", '"12345"')},
    "title missing": {"courses/maths-science.md": course_with(title=None)},
}


@pytest.mark.parametrize("name", SCHEMA_MISTAKES + list(MORE))
def test_schemas_reject_the_mistakes(name):
    changes = MORE.get(name) or next(c[1] for c in CASES if c[0] == name)
    for rel, text in changes.items():
        if name == "the README's four mistakes":         # the YAML fixed: the rest is seen
            text = text.replace("title: Phonics: for TAs", 'title: "Phonics: for TAs"')
        data = fields_of(rel, text)
        assert list(validator(kind_of(rel)).iter_errors(data)), f"{name}: {rel} accepted"


def test_base_tree_is_accepted():
    for rel, text in BASE.items():
        assert not list(validator(kind_of(rel)).iter_errors(fields_of(rel, text))), rel


def test_vscode_maps_every_yaml_kind_to_its_schema():
    settings = json.loads((REPO / ".vscode/settings.json").read_text(encoding="utf-8"))
    mapped = settings["yaml.schemas"]
    for kind, (_model, pattern, _shape) in editor_schemas.files().items():
        if pattern.endswith(".yml"):
            assert mapped[f"./schemas/{kind}.json"] == pattern
            assert (REPO / "schemas" / f"{kind}.json").is_file()
