"""records/yaml_errors.py on its own: each YAML mistake explained on its line, the file read on
with that line corrected (so its other problems show), and no guess where there is none."""
from __future__ import annotations

import pytest

from records.files import parse_yaml
from records.problems import Problems


def read(text: str):
    problems = Problems()
    data = parse_yaml(text, "f.yml", problems)
    return [str(p) for p in problems], data


@pytest.mark.parametrize("text, messages, data", [
    ("sessions:\n  - date: 2027-01-01\n      venue: x\n",
     ["f.yml:3: this line is indented differently from the line above; line up `venue:` with "
      "`date:` (the same number of spaces)"], None),
    ("phase: [primary, secondary\ncost: 0\n",
     ["f.yml:1: phase: a list opened with [ is not closed; end it with ] on the same line"],
     {"phase": ["primary", "secondary"], "cost": 0}),
    ("x: 'bad 'quote' here'\n",
     ["f.yml:1: x: a quoted value holds the same quote mark inside it; put the value in double "
      "quotes instead: x: \"bad 'quote' here\""], {"x": "bad 'quote' here"}),
    ('x: "say "it\'s" now"\n',
     ["f.yml:1: x: a quoted value holds both kinds of quote mark; put it in double quotes and "
      "write \\\" for each double quote inside: x: \"say \\\"it's\\\" now\""], {"x": "say \"it's\" now"}),
    ("title: A: b\nsummary: C: d\n",           # two mistakes: both reported, in one run
     ["f.yml:1: title: the value holds ': ' (colon and space), which YAML reads as a new field; "
      "put the whole value in double quotes: title: \"A: b\"",
      "f.yml:2: summary: the value holds ': ' (colon and space), which YAML reads as a new field; "
      "put the whole value in double quotes: summary: \"C: d\""], {"title": "A: b", "summary": "C: d"}),
    ("notes: |\n  Time: 9am\n  Place: hall\nname: x\n", [], {"notes": "Time: 9am\nPlace: hall\n", "name": "x"}),
    ("start: 13:30  # a comment: with a colon\n", [], {"start": "13:30"}),
])
def test_explained_on_the_line_and_read_on(text, messages, data):
    found, read_data = read(text)
    assert found == messages
    if data is not None:
        assert read_data == data


@pytest.mark.parametrize("venue_line", ["  venue: x", "   venue: x", "       venue: x"])
def test_a_session_field_out_of_line_is_lined_up_with_date(venue_line):
    found, data = read(f"sessions:\n    - date: 2027-01-01\n{venue_line}\n")
    assert found == ["f.yml:3: this line is indented differently from the line above; line up "
                     "`venue:` with `date:` (the same number of spaces)"]
    assert data == {"sessions": [{"date": __import__("datetime").date(2027, 1, 1), "venue": "x"}]}


def test_no_guess_where_the_text_shows_no_known_mistake():
    found, data = read("a: [b, c]]\n")
    assert data is None and len(found) == 1 and found[0].startswith("f.yml:1: YAML syntax error: ")
