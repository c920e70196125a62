"""The mistakes a new editor makes, each with the exact messages `build.py check` must print.

One mistake, one message, at the real place (issue 10). Used by tests/test_editor_mistakes.py
and, for the schemas that editors' editors use, by tests/test_schemas.py.
Each case: (name, files changed on the small valid tree of test_records, expected lines).
"""
from __future__ import annotations

from tests.test_records import (ALLIANCE, BOARD, COURSE, EDITION, NEWS, SCHOOL, SLE, VENUES,
                                course_with, make_tree)

__all__ = ["CASES", "make_tree"]

C = "courses/maths-science.md"
PHASES = "nursery, infant, junior, primary, secondary, all-through, special, post-16"

README_EXAMPLE = """\
---
title: Phonics: for TAs
strand: cdp
summary: Three twilights.
audience: [teacher]
sessions:
  - date: 2027-02-03
    venue: centr
cost: 0
placs: 20
booking: https://forms.example/phonics
---
About it.
"""

CASES: list[tuple[str, dict, list[str]]] = [
    # --- a broken shared file is reported once, not in every record that names it ---------
    ("empty venues.yml", {"content/venues.yml": ""}, [
        "content/venues.yml:1: the file is empty; list the venues here, e.g. `centre:` then its "
        "`name:` and `address:` indented below it (see docs/content-format.md)"]),
    ("unparsable venues.yml", {"content/venues.yml": VENUES.replace("name: Testwick Centre",
                                                                   'name: "Testwick Centre')}, [
        "content/venues.yml:2: name: a quote is opened but never closed; add the closing \" at "
        "the end of the value"]),
    ("venues.yml pasted twice", {"content/venues.yml": VENUES + VENUES}, [
        "content/venues.yml:4: field 'centre' is given twice; keep one and delete the other"]),
    ("a school that fails its own check", {
        "content/schools/testwick-primary.yml": SCHOOL.replace("role: teaching-school", "role: partner")}, [
        "content/schools/testwick-primary.yml:3: role: 'partner' is not one of teaching-school, "
        "strategic-partner, member"]),
    ("empty school file", {"content/schools/testwick-high.yml": ""}, [
        "content/schools/testwick-high.yml:1: the file is empty; write the school's fields, "
        "e.g. `name:`, `phase:`, `role:` and `town:` (see docs/content-format.md)"]),
    ("empty board.yml", {"content/board.yml": "\n"}, [
        "content/board.yml:1: the file is empty; list the board members, each starting "
        "`- name:`, or delete the file"]),
    ("empty alliance.yml", {"content/alliance.yml": "# nothing yet\n"}, [
        "content/alliance.yml:1: the file is empty; it needs the alliance's `name:`, `aim:`, "
        "`lead_school:`, `site_url:` and `contact:` (see docs/content-format.md)"]),
    # --- every problem of one file in one run ---------------------------------------------
    ("the README's four mistakes", {C: README_EXAMPLE}, [
        f"{C}:2: title: the value holds ': ' (colon and space), which YAML reads as a new field; "
        "put the whole value in double quotes: title: \"Phonics: for TAs\"",
        f"{C}:3: strand: 'cdp' is not one of itt, cpd, leadership, school-support, sle, research; "
        "did you mean 'cpd'?",
        f"{C}:8: sessions[1].venue: unknown venue 'centr'; did you mean 'centre'?",
        f"{C}:10: placs: warning: unknown field; did you mean 'places'?"]),
    ("three sessions, three mistakes", {C: COURSE.replace(
        '    venue: centre\n',
        '    venue: centre\n  - date: 2027-02-30\n    venue: online\n'
        '  - date: 2027-03-04\n    start: "15:45"\n    end: "15:00"\n    venue: online\n'
        '  - date: 2027-03-05\n    venue: Testwick Centre\n')}, [
        f"{C}:11: sessions[2].date: '2027-02-30' is not in the calendar: February 2027 has 28 days",
        f"{C}:13: sessions[3]: end 15:00 is not after start 15:45",
        f"{C}:18: sessions[4].venue: 'Testwick Centre' is a name; write the venue's id: centre"]),
    ("a photo named without its folder", {
        "content/sles/zoe-angstrom.md": SLE.replace("phase: [primary]\n", "phase: [primary]\nphoto: zoe.jpg\n"),
        "content/sles/zoe.jpg": "uploaded beside the record"}, [
        "content/sles/zoe-angstrom.md:6: photo: no file content/zoe.jpg; did you mean "
        "sles/zoe.jpg? (the path starts from content/)"]),
    # --- YAML syntax in plain words, on the right line ------------------------------------
    ("a tab", {C: COURSE.replace('    start: "13:30"', '\tstart: "13:30"')}, [
        f"{C}:8: a tab is used to indent this line; indent with spaces only"]),
    ("an unclosed quote", {C: COURSE.replace("summary: A short course.", 'summary: "A short course.')}, [
        f"{C}:4: summary: a quote is opened but never closed; add the closing \" at the end of "
        "the value"]),
    ("quotes inside quotes", {C: course_with(title='"The "big" day"')}, [
        f"{C}:2: title: a quoted value holds the same quote mark inside it; put the value in single "
        "quotes instead: title: 'The \"big\" day'"]),
    ("a value starting with *", {C: course_with(title="*New* phonics")}, [
        f"{C}:2: title: a value cannot start with * unquoted; put the whole value in double "
        "quotes: title: \"*New* phonics\""]),
    ("a value starting with &", {C: course_with(title="& more")}, [
        f"{C}:2: title: a value cannot start with & unquoted; put the whole value in double "
        "quotes: title: \"& more\""]),
    ("a value starting with !", {C: course_with(summary="!Important: book now")}, [
        f"{C}:4: summary: a value cannot start with ! unquoted; put the whole value in double "
        "quotes: summary: \"!Important: book now\""]),
    ("a session's field indented wrongly", {C: COURSE.replace('    end: "16:00"', '     end: "16:00"')}, [
        f"{C}:9: this line is indented differently from the line above; line up `end:` with "
        "`start:` (the same number of spaces)"]),
    # --- silent losses ---------------------------------------------------------------------
    ("' #' inside an unquoted title", {C: course_with(title="Writing #1 and #2")}, [
        f"{C}:2: title: warning: the text from ' #' on is dropped (YAML reads it as a comment); "
        "put the whole value in double quotes: title: \"Writing #1 and #2\""]),
    ("a course saved in content/courses/", {"content/courses/phonics.md": COURSE}, [
        "content/courses/phonics.md: courses live in the top-level courses/ folder; move this "
        "file to courses/phonics.md"]),
    (".markdown extension", {"courses/phonics.markdown": COURSE}, [
        "courses/phonics.markdown: is not read: records here end in .md; rename it to "
        "courses/phonics.md"]),
    (".yaml extension", {"content/schools/testwick-high.yaml": SCHOOL.replace("role: teaching-school", "role: member")}, [
        "content/schools/testwick-high.yaml: is not read: records here end in .yml; rename it "
        "to content/schools/testwick-high.yml"]),
    ("venues.yaml for venues.yml", {"content/venues.yaml": VENUES, "content/venues.yml": None}, [
        "content/venues.yaml: is not read; rename it to content/venues.yml"]),
    ("the same news story under two dates", {"content/news/2026-11-03-news.md": NEWS.replace(
        "2026-11-02", "2026-11-03")}, [
        "content/news/2026-11-03-news.md:2: title: warning: the same story as "
        "content/news/2026-11-02-news.md; delete one of the two files"]),
    ("a copied course left unchanged", {"courses/maths-science-copy.md": COURSE}, [
        "courses/maths-science-copy.md:2: title: warning: the same title and dates as "
        "courses/maths-science.md: a copy not yet changed? Change it, or delete the file"]),
    # --- near misses get the fix ----------------------------------------------------------
    ("phase KS2", {C: course_with(phase="[KS2]")}, [
        f"{C}:14: phase: 'KS2' is not a phase; Key Stage 2 is junior or primary; the phases "
        f"are: {PHASES}"]),
    ("phase Year 6", {C: course_with(phase="[Year 6]")}, [
        f"{C}:14: phase: 'Year 6' is not a phase; Year 6 is junior or primary; the phases are: "
        f"{PHASES}"]),
    ("places: 0", {C: course_with(places="0")}, [
        f"{C}:14: places: 0 is not a number of places; if the course is full, write "
        "`status: full` instead (and keep places for how many it takes)"]),
    ('cost: "20"', {C: course_with(cost='"20"')}, [
        f"{C}:12: cost: \"20\" is in quotes, so it is text; remove the quotes: cost: 20"]),
    ("an SLE's name for their id", {C: COURSE.replace("[zoe-angstrom]", "[Zoë Ångström]")}, [
        f"{C}:11: facilitators[1]: 'Zoë Ångström' is a name; write the SLE's id: zoe-angstrom"]),
    ("file names differing only in case", {"courses/Maths-Science.md": COURSE}, [
        "courses/Maths-Science.md: differs only in case from courses/maths-science.md; file "
        "names are ids in lower case: delete or rename one of them"]),
]
