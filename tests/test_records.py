"""Every validation rule of CONTENT-FORMAT.md, with the exact message an editor sees."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import records
from records.problems import Problem

ALLIANCE = """\
name: Testwick Teaching School Alliance
short_name: Testwick TSA
aim: To work together for every child in Testwick.
lead_school: testwick-primary
site_url: https://www.testwick.example/
timezone: Europe/London
contact:
  email: office@testwick.example
  address: 1 High Street, Testwick TW1 1AA
"""
VENUES = """\
centre:
  name: Testwick Centre
  address: 1 High Street, Testwick TW1 1AA
"""
SCHOOL = """\
name: Testwick Primary School
phase: [primary]
role: teaching-school
town: Testwick
urn: 123456
"""
BOARD = """\
- name: Sam Patel
  position: Chair
  school: testwick-primary
- name: Prof Ada Byron
  position: University partner
  organisation: University of Testwick
"""
SLE = """\
---
name: Zoë Ångström
school: testwick-primary
specialisms: [maths]
phase: [primary]
---
Zoë leads maths.
"""
COURSE = """\
---
title: Maths & Science <KS2>
strand: cpd
summary: A short course.
audience: [teacher]
sessions:
  - date: 2027-01-14
    start: "13:30"
    end: "16:00"
    venue: centre
facilitators: [zoe-angstrom]
cost: 0
booking: https://forms.example/abc
---
What we do.
"""
NEWS = """\
---
title: News
date: 2026-11-02
summary: Something happened.
---
Body.
"""
AUDIENCES = """\
teachers:
  label: Teachers
  roles: [teacher]
friends:
  label: Friends
  default: true
"""
EDITION = """\
---
subject: "Spring: news"
date: 2027-01-05
---
Hello.
"""
BASE = {
    "content/alliance.yml": ALLIANCE,
    "content/venues.yml": VENUES,
    "content/schools/testwick-primary.yml": SCHOOL,
    "content/board.yml": BOARD,
    "content/sles/zoe-angstrom.md": SLE,
    "courses/maths-science.md": COURSE,
    "content/news/2026-11-02-news.md": NEWS,
    "content/audiences.yml": AUDIENCES,
    "content/newsletters/spring.md": EDITION,
}


def make_tree(root: Path, changes: dict[str, str | None] | None = None) -> Path:
    files = {**BASE, **(changes or {})}
    for rel, text in files.items():
        if text is None:
            continue
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def problems_of(root: Path, strict: bool = False) -> list[str]:
    _, problems = records.load(root, strict=strict)
    return [str(p) for p in problems]


def test_valid_tree_has_no_problems(tmp_path):
    tree, problems = records.load(make_tree(tmp_path))
    assert [str(p) for p in problems] == []
    course = tree.courses["maths-science"]
    assert course.title == "Maths & Science <KS2>"
    assert course.sessions[0].start.strftime("%H:%M") == "13:30"
    assert tree.sles["zoe-angstrom"].name == "Zoë Ångström"
    assert tree.alliance.display_name == "Testwick TSA"
    assert list(tree.audiences) == ["teachers", "friends"]


def course_with(**fields: str) -> str:
    """COURSE with some front-matter lines replaced (value None removes the field)."""
    lines = COURSE.splitlines()
    out, todo = [], dict(fields)
    for i, line in enumerate(lines):
        key = line.split(":", 1)[0]
        if i > 0 and line == "---":     # new fields go last, just before the closing '---'
            out += [f"{k}: {v}" for k, v in todo.items() if v is not None]
            todo = {}
        if key in fields:
            if todo.pop(key, None) is not None:
                out.append(f"{key}: {fields[key]}")
            continue
        out.append(line)
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("changes, expected", [
    # required fields and types
    ({"courses/maths-science.md": course_with(title=None)},
     "courses/maths-science.md:2: title: is required"),
    ({"courses/maths-science.md": course_with(strand="cdp")},
     "courses/maths-science.md:3: strand: 'cdp' is not one of itt, cpd, leadership, school-support, sle, research; did you mean 'cpd'?"),
    ({"courses/maths-science.md": course_with(summary="x" * 201)},
     "courses/maths-science.md:4: summary: is 201 characters; keep it to 200 or fewer"),
    ({"courses/maths-science.md": course_with(cost='"£10"')},
     "courses/maths-science.md:12: cost: '£10': write the number without the £ sign: cost: 10"),
    ({"courses/maths-science.md": course_with(places="0")},
     "courses/maths-science.md:14: places: 0 is not a number of places; if the course is full, write `status: full` instead (and keep places for how many it takes)"),
    ({"courses/maths-science.md": course_with(booking="http://forms.example/x")},
     "courses/maths-science.md:13: booking: 'http://forms.example/x' should be an https:// link or mailto:someone@example.org"),
    ({"courses/maths-science.md": course_with(booking=None)},
     "courses/maths-science.md:2: booking: is required unless the course is cancelled: an https:// link or mailto: address"),
    ({"courses/maths-science.md": course_with(status="ful")},
     "courses/maths-science.md:14: status: 'ful' is not one of open, full, cancelled; did you mean 'full'?"),
    ({"courses/maths-science.md": COURSE.replace('end: "16:00"', 'end: "13:00"')},
     "courses/maths-science.md:7: sessions[1]: end 13:00 is not after start 13:30"),
    ({"courses/maths-science.md": COURSE.replace('    end: "16:00"\n', '')},
     "courses/maths-science.md:7: sessions[1]: give both `start` and `end`, or neither for a whole day"),
    ({"courses/maths-science.md": COURSE.replace("2027-01-14", "2027-02-30")},
     "courses/maths-science.md:7: sessions[1].date: '2027-02-30' is not in the calendar: February 2027 has 28 days"),
    ({"courses/maths-science.md": COURSE.replace('"13:30"', '"1.30pm"')},
     "courses/maths-science.md:8: sessions[1].start: '1.30pm' is not a time; write it 24-hour in quotes, e.g. \"13:30\""),
    ({"courses/maths-science.md": COURSE.replace("sessions:\n  - date: 2027-01-14\n    start: \"13:30\"\n    end: \"16:00\"\n    venue: centre\n", "sessions: []\n")},
     "courses/maths-science.md:6: sessions: needs at least one session, each with a date and a venue"),
    ({"courses/maths-science.md": COURSE.replace("What we do.\n", "")},
     "courses/maths-science.md:15: body: the text after the '---' line is empty; write a description"),
    # references and vocabulary, with did-you-mean
    ({"courses/maths-science.md": COURSE.replace("venue: centre", "venue: centr")},
     "courses/maths-science.md:10: sessions[1].venue: unknown venue 'centr'; did you mean 'centre'?"),
    ({"courses/maths-science.md": COURSE.replace("[zoe-angstrom]", "[zoe-angstom]")},
     "courses/maths-science.md:11: facilitators[1]: unknown SLE 'zoe-angstom'; did you mean 'zoe-angstrom'?"),
    ({"courses/maths-science.md": COURSE.replace("audience: [teacher]", "audience: [teachers]")},
     "courses/maths-science.md:5: audience: unknown role 'teachers'; did you mean 'teacher'? the roles are: teaching-assistant, teacher, ect, trainee, middle-leader, senior-leader, headteacher, governor, senco, support-staff".replace("? the", "?; the")),
    ({"content/sles/zoe-angstrom.md": SLE.replace("school: testwick-primary", "school: testwick-primry")},
     "content/sles/zoe-angstrom.md:3: school: unknown school 'testwick-primry'; did you mean 'testwick-primary'?"),
    ({"content/sles/zoe-angstrom.md": SLE.replace("[maths]", "[math]")},
     "content/sles/zoe-angstrom.md:4: specialisms: unknown specialism 'math'; did you mean 'maths'?; the specialisms are: early-reading, english, maths, science, send, eyfs, behaviour, assessment, leadership, itt-mentoring"),
    ({"content/alliance.yml": ALLIANCE.replace("lead_school: testwick-primary", "lead_school: testwick")},
     "content/alliance.yml:4: lead_school: unknown school 'testwick'; did you mean 'testwick-primary'?"),
    ({"content/newsletters/spring.md": EDITION.replace("date: 2027-01-05", "date: 2027-01-05\naudiences: [teacher]")},
     "content/newsletters/spring.md:4: audiences[1]: unknown audience 'teacher'; did you mean 'teachers'?"),
    # schools, board, alliance
    ({"content/schools/testwick-primary.yml": SCHOOL.replace("urn: 123456", "urn: 12345")},
     "content/schools/testwick-primary.yml:5: urn: 12345 is not a URN: a URN is exactly six digits, e.g. 123456"),
    ({"content/schools/testwick-primary.yml": SCHOOL.replace("role: teaching-school", "role: partner")},
     "content/schools/testwick-primary.yml:3: role: 'partner' is not one of teaching-school, strategic-partner, member"),
    ({"content/schools/testwick-primary.yml": SCHOOL + "joined: 2013-13\n"},
     "content/schools/testwick-primary.yml:6: joined: '2013-13' should be a year or a year and month, e.g. 2014 or 2014-09"),
    ({"content/board.yml": BOARD.replace("  organisation: University of Testwick\n", "")},
     "content/board.yml:4: [2]: give either `school:` (a school id) or `organisation:`, not both or neither"),
    ({"content/alliance.yml": ALLIANCE.replace("https://www.testwick.example/", "www.testwick.example")},
     "content/alliance.yml:5: site_url: 'www.testwick.example' is not a web address; write it in full, starting https://"),
    ({"content/alliance.yml": ALLIANCE.replace("Europe/London", "Europe/Londn")},
     "content/alliance.yml:6: timezone: 'Europe/Londn' is not a time zone; e.g. Europe/London"),
    ({"content/alliance.yml": ALLIANCE.replace("office@testwick.example", "office-at-testwick")},
     "content/alliance.yml:8: contact.email: 'office-at-testwick' is not an email address"),
    ({"content/alliance.yml": None},
     "content/alliance.yml: this file is missing; every alliance needs one"),
    # audiences
    ({"content/audiences.yml": AUDIENCES.replace("  default: true\n", "")},
     "content/audiences.yml:2: default: exactly one audience must have `default: true`; 0 do"),
    # file names and YAML syntax, with plain-words hints
    ({"courses/Maths Course.md": COURSE},
     "courses/Maths Course.md: file name 'Maths Course' is not a valid id: use lower-case letters, digits and hyphens, e.g. maths-course.md"),
    ({"courses/maths-science.md": COURSE.replace("title: Maths & Science <KS2>", "title: Maths: the basics")},
     "courses/maths-science.md:2: title: the value holds ': ' (colon and space), which YAML reads as a new field; put the whole value in double quotes: title: \"Maths: the basics\""),
    ({"courses/maths-science.md": "title: no front matter\n"},
     "courses/maths-science.md:1: the file must start with a line '---', then its fields, then another '---' line, then the text"),
    ({"content/venues.yml": VENUES + "centre:\n  name: Again\n  address: x\n"},
     "content/venues.yml:4: field 'centre' is given twice; keep one and delete the other"),
])
def test_each_rule_reports_path_line_field_and_reason(tmp_path, changes, expected):
    assert expected in problems_of(make_tree(tmp_path, changes))


def test_unknown_field_is_a_warning_with_suggestion_and_an_error_under_strict(tmp_path):
    root = make_tree(tmp_path, {"courses/maths-science.md": course_with(summary="ok\nsumary: typo")})
    _, problems = records.load(root)
    assert [str(p) for p in problems] == [
        "courses/maths-science.md:5: sumary: warning: unknown field; did you mean 'summary'?"]
    assert not problems.errors
    _, strict = records.load(root, strict=True)
    assert [str(p) for p in strict.errors] == [
        "courses/maths-science.md:5: sumary: unknown field; did you mean 'summary'?"]


def test_every_problem_in_the_tree_is_reported_in_one_run(tmp_path):
    root = make_tree(tmp_path, {
        "courses/maths-science.md": course_with(strand="nope", cost="free"),
        "content/schools/testwick-primary.yml": SCHOOL.replace("urn: 123456", "urn: abc"),
        "content/venues.yml": "centre:\n  name: [unclosed\n",
    })
    found = problems_of(root)
    assert any(p.startswith("courses/maths-science.md:3: strand:") for p in found)
    assert any(p.startswith("courses/maths-science.md:12: cost:") for p in found)
    assert any(p.startswith("content/schools/testwick-primary.yml:5: urn:") for p in found)
    assert any(p.startswith("content/venues.yml:") for p in found)


def test_unquoted_times_and_leading_zero_urns_read_as_editors_mean(tmp_path):
    root = make_tree(tmp_path, {
        "courses/maths-science.md": COURSE.replace('"13:30"', "13:30").replace('"16:00"', "16:00"),
        "content/schools/testwick-primary.yml": SCHOOL.replace("urn: 123456", "urn: 012345"),
    })
    tree, problems = records.load(root)
    assert [str(p) for p in problems] == []
    assert tree.courses["maths-science"].sessions[0].end.strftime("%H:%M") == "16:00"
    assert tree.schools["testwick-primary"].urn == "012345"


DOUBLE = """\
---
title: Another course
strand: leadership
summary: Clashes.
audience: [headteacher]
sessions:
  - date: 2027-01-14
    start: "15:00"
    end: "17:00"
    venue: centre
facilitators: [zoe-angstrom]
cost: 10
booking: mailto:office@testwick.example
---
Text.
"""


def test_double_bookings_warn_naming_both_courses_and_fail_under_strict(tmp_path):
    root = make_tree(tmp_path, {"courses/another.md": DOUBLE})
    _, problems = records.load(root)
    found = sorted(str(p) for p in problems)
    assert found == [
        "courses/another.md:10: sessions[1]: warning: double booking: centre on 2027-01-14 15:00-17:00 "
        "clashes with courses/maths-science.md session 1 (13:30-16:00)",
        "courses/another.md:11: facilitators: warning: double booking: SLE zoe-angstrom facilitates "
        "session 1 on 2027-01-14 15:00-17:00 and courses/maths-science.md session 1 (13:30-16:00)",
    ]
    assert len(records.load(root, strict=True)[1].errors) == 2


@pytest.mark.parametrize("first, second, clash", [
    ('start: "15:00"\n    end: "17:00"', 'start: "13:30"\n    end: "15:30"', True),
    ('start: "16:00"\n    end: "17:00"', 'start: "13:30"\n    end: "16:00"', False),   # back to back
    ("", 'start: "13:30"\n    end: "16:00"', True),                                    # whole day
])
def test_overlap_rules(tmp_path, first, second, clash):
    other = DOUBLE.replace('start: "15:00"\n    end: "17:00"', first).replace("    \n", "")
    other = "\n".join(line for line in other.splitlines() if line.strip()) + "\n"
    course = COURSE.replace('start: "13:30"\n    end: "16:00"', second)
    root = make_tree(tmp_path, {"courses/another.md": other, "courses/maths-science.md": course})
    _, problems = records.load(root)
    assert any("double booking: centre" in p.message for p in problems) is clash


def test_cancelled_and_online_sessions_never_clash(tmp_path):
    root = make_tree(tmp_path, {"courses/another.md": DOUBLE.replace("cost: 10", "cost: 10\nstatus: cancelled")})
    assert problems_of(root) == []
    root2 = make_tree(tmp_path / "b", {
        "courses/another.md": DOUBLE.replace("venue: centre", "venue: online").replace("[zoe-angstrom]", "[]"),
        "courses/maths-science.md": COURSE.replace("venue: centre", "venue: online")})
    assert problems_of(root2) == []


def test_problem_formats():
    problem = Problem("courses/a.md", 3, "strand", "bad 100%")
    assert str(problem) == "courses/a.md:3: strand: bad 100%"
    assert problem.github() == "::error file=courses/a.md,line=3,title=strand::strand: bad 100%25"


@pytest.mark.parametrize("parallel_from", [10_000, 1])
def test_check_finds_exactly_what_load_finds(tmp_path, monkeypatch, parallel_from):
    """records.check (in parts, on all cores, for big trees) agrees with records.load."""
    from records import parallel_check
    monkeypatch.setattr(parallel_check, "PARALLEL_FROM", parallel_from)
    changes = {
        "courses/another.md": DOUBLE,
        "courses/bad.md": course_with(strand="cdp", cost="free"),
        "courses/typo.md": COURSE.replace("[zoe-angstrom]", "[zoe-angstom]"),
        "content/sles/broken.md": SLE.replace("[maths]", "[math]"),
        "content/newsletters/spring.md": EDITION.replace("date: 2027-01-05", "date: 2027-01-05\naudiences: [teacher]"),
    }
    root = make_tree(tmp_path, changes)
    records_, loaded = records.load(root)
    count, checked = records.check(root)
    assert sorted(map(str, checked)) == sorted(map(str, loaded))
    assert len(loaded.errors) == 5 and len(loaded.warnings) >= 2
    valid = (1 + len(records_.venues) + len(records_.schools) + len(records_.board) + len(records_.sles)
             + len(records_.courses) + len(records_.news) + len(records_.audiences) + len(records_.editions))
    assert count == valid


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def test_every_record_is_read_with_the_same_yaml_rules(tmp_path):
    """One reader for every record: front matter and YAML files follow YAML 1.1 as libyaml
    reads it, with the documented lenient readings (times and leading-zero numbers as text)."""
    from records import files
    read = lambda text: _plain(files.parse_yaml(text, "x.yml", Problems_()))
    assert read("places: 0o20\nurn: 012345\nstart: 13:30\ncost: 010\nflag: yes\nn: 12\n") == {
        "places": "0o20", "urn": "012345", "start": "13:30", "cost": "010", "flag": True, "n": 12}
    md = tmp_path / "c.md"
    md.write_text("---\nplaces: 0o20\nflag: yes\n---\nText\n", encoding="utf-8")
    doc = files.read_markdown(md, "c.md", Problems_())
    assert _plain(doc.data) == {"places": "0o20", "flag": True} and doc.data.lines["flag"] == 3


@pytest.mark.parametrize("changes, expected", [
    ({"courses/maths-science.md": COURSE.replace("venue: centre", "venue: centr")},
     "courses/maths-science.md:10: sessions[1].venue: unknown venue 'centr'; did you mean 'centre'?"),
    ({"courses/maths-science.md": course_with(strand="cdp")},
     "courses/maths-science.md:3: strand: 'cdp' is not one of itt, cpd, leadership, school-support, sle, research; did you mean 'cpd'?"),
])
def test_pyyaml_reads_every_record_with_its_lines(tmp_path, changes, expected):
    assert expected in problems_of(make_tree(tmp_path, changes))


def test_places_in_yaml_12_octal_is_not_a_number(tmp_path):
    """YAML 1.2's 0o20 is text in YAML 1.1: the same answer whichever file holds it."""
    changes = {"courses/maths-science.md": COURSE.replace("cost: 0\n", "cost: 0\nplaces: 0o20\n")}
    assert problems_of(make_tree(tmp_path, changes)) == [
        "courses/maths-science.md:13: places: '0o20' should be a whole number of at least 1"]


def Problems_():
    from records.problems import Problems
    return Problems()


REPO = Path(__file__).resolve().parents[1]


