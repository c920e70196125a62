"""The audience and course rules (records.newsletter) and how readers are grouped into variants."""
from __future__ import annotations

import pytest
import yaml

from mailer.audiences import Planner
from records.newsletter import (VariantKey, audience_for, courses_for, edition_audiences,
                                news_for)
from tests.treebuilder import course, load_ok, session, write_tree

AUDIENCES = {
    "teaching-assistants": {"label": "Teaching assistants", "roles": ["teaching-assistant"]},
    "teachers": {"label": "Teachers", "roles": ["teacher", "ect", "trainee"]},
    "leaders": {"label": "Leaders", "roles": ["headteacher", "senco", "teacher"]},
    "friends": {"label": "Friends", "default": True},
}


def tree(tmp_path, courses=None, news=None, newsletters=None):
    editions = newsletters or {
        "2027-01-04-spring": {"subject": "Spring", "date": "2027-01-04", "course_weeks": 4,
                              "body": "Hello."},
    }
    root = write_tree(tmp_path, courses=courses or {}, news=news, newsletters=editions)
    # written by hand: the order of audiences matters, and the tree builder keeps its defaults first
    (root / "content" / "audiences.yml").write_text(yaml.safe_dump(AUDIENCES, sort_keys=False))
    return load_ok(root)


# --- audiences --------------------------------------------------------------------------------

@pytest.mark.parametrize("roles, expected", [
    (["teacher"], "teachers"),                      # the first audience in file order wins...
    (["headteacher", "teacher"], "teachers"),       # ...even when a later one also matches
    (["senco"], "leaders"),
    (["teaching-assistant", "senco"], "teaching-assistants"),
    (["governor"], "friends"),                      # no audience shares a role: the default
    ([], "friends"),
])
def test_a_reader_belongs_to_the_first_audience_sharing_a_role(tmp_path, roles, expected):
    records = tree(tmp_path)
    assert audience_for(roles, records.audiences) == expected


def test_an_edition_goes_to_its_audiences_in_file_order_or_to_all(tmp_path):
    records = tree(tmp_path, newsletters={
        "2027-01-04-spring": {"subject": "S", "date": "2027-01-04", "audiences": ["friends", "teachers"],
                              "body": "x"},
        "2027-02-04-all": {"subject": "A", "date": "2027-02-04", "body": "x"},
    })
    assert edition_audiences(records.editions["2027-01-04-spring"], records.audiences) == ["teachers", "friends"]
    assert edition_audiences(records.editions["2027-02-04-all"], records.audiences) == list(AUDIENCES)


# --- courses ------------------------------------------------------------------------------------

COURSES = {
    "in-window": course(title="In window", sessions=[session("2027-01-20")]),
    "on-edition-day": course(title="On the day", sessions=[session("2027-01-04")]),
    "on-last-day": course(title="Last day", sessions=[session("2027-02-01")]),        # 4 weeks later
    "after-window": course(title="After", sessions=[session("2027-02-02")]),
    "before-edition": course(title="Before", sessions=[session("2027-01-03")]),
    "spans-window": course(title="Spans", sessions=[session("2026-12-01"), session("2027-01-10"),
                                                    session("2027-03-01")]),
    "cancelled": course(title="Cancelled", status="cancelled", booking=None, sessions=[session("2027-01-12")]),
    "full": course(title="Full", status="full", sessions=[session("2027-01-13")]),
    "for-tas": course(title="For TAs", audience=["teaching-assistant"], sessions=[session("2027-01-14")]),
    "primary": course(title="Primary only", phase=["primary"], sessions=[session("2027-01-15")]),
    "secondary": course(title="Secondary only", phase=["secondary", "post-16"], sessions=[session("2027-01-16")]),
}


def titles(courses):
    return [c.title for c in courses]


def test_courses_in_the_window_not_cancelled_for_the_audience(tmp_path):
    records = tree(tmp_path, courses=COURSES)
    edition = records.editions["2027-01-04-spring"]
    got = titles(courses_for(records, edition, records.audiences["teachers"]))
    assert got == ["On the day", "Spans", "Full", "Primary only", "Secondary only", "In window", "Last day"]
    assert "Cancelled" not in got and "After" not in got and "Before" not in got and "For TAs" not in got


def test_phases_meet_or_either_side_has_none(tmp_path):
    records = tree(tmp_path, courses=COURSES)
    edition, teachers = records.editions["2027-01-04-spring"], records.audiences["teachers"]
    primary = titles(courses_for(records, edition, teachers, ["primary"]))
    assert "Primary only" in primary and "Secondary only" not in primary and "In window" in primary
    post16 = titles(courses_for(records, edition, teachers, ["post-16"]))
    assert "Secondary only" in post16 and "Primary only" not in post16
    assert len(courses_for(records, edition, teachers, [])) == 7        # no phases: every phase


def test_an_audience_without_roles_hears_of_every_course(tmp_path):
    records = tree(tmp_path, courses=COURSES)
    got = titles(courses_for(records, records.editions["2027-01-04-spring"], records.audiences["friends"]))
    assert "For TAs" in got and "Primary only" in got and "Cancelled" not in got


def test_news_since_the_previous_edition(tmp_path):
    records = tree(tmp_path, news={
        "2026-12-01-old": {}, "2026-12-20-between": {}, "2027-01-04-same-day": {}, "2027-01-05-later": {},
    }, newsletters={
        "2026-12-10-winter": {"subject": "W", "date": "2026-12-10", "body": "x"},
        "2027-01-04-spring": {"subject": "S", "date": "2027-01-04", "body": "x"},
    })
    got = [n.id for n in news_for(records, records.editions["2027-01-04-spring"])]
    assert got == ["2027-01-04-same-day", "2026-12-20-between"]
    first = [n.id for n in news_for(records, records.editions["2026-12-10-winter"])]
    assert first == ["2026-12-01-old"]                 # a first edition: the latest stories


# --- variants -----------------------------------------------------------------------------------

@pytest.mark.parametrize("roles, phases, slug", [
    ("teacher", "", "teachers--all-phases"),
    ("teacher", "primary", "teachers--primary"),
    ("teacher", "primary special", "teachers--primary"),            # special names no course: dropped
    ("teacher", "primary secondary post-16", "teachers--all-phases"),  # covers every phase that matters
    ("teacher", "nursery", "teachers--nursery"),                    # meets none: phase-free courses only
    ("teacher ect", "post-16", "teachers--post-16"),
    ("governor", "primary", "friends--primary"),
    ("teaching-assistant", "primary", "teaching-assistants--all-phases"),  # no TA course names a phase
])
def test_variant_keys(tmp_path, roles, phases, slug):
    records = tree(tmp_path, courses=COURSES)
    planner = Planner(records, records.editions["2027-01-04-spring"])
    assert planner.variant(roles, phases).slug == slug


def test_every_variant_renders_exactly_the_readers_courses(tmp_path):
    records = tree(tmp_path, courses=COURSES)
    edition = records.editions["2027-01-04-spring"]
    planner = Planner(records, edition)
    phase_sets = ["", "primary", "secondary", "post-16", "nursery", "primary special",
                  "nursery infant", "primary secondary", "special post-16"]
    for roles in ("teacher", "teaching-assistant", "governor", "headteacher"):
        audience = audience_for(roles.split(), records.audiences)
        for phases in phase_sets:
            key = planner.variant(roles, phases)
            reader = courses_for(records, edition, records.audiences[audience], phases.split())
            assert planner.courses(key) == reader, (roles, phases, key)


def test_readers_outside_the_editions_audiences_get_nothing(tmp_path):
    records = tree(tmp_path, newsletters={
        "2027-01-04-spring": {"subject": "S", "date": "2027-01-04", "audiences": ["teachers"], "body": "x"},
    })
    planner = Planner(records, records.editions["2027-01-04-spring"])
    assert planner.variant("governor", "") is None
    assert planner.variant("teacher", "") == VariantKey("teachers", ())
    assert VariantKey("teachers", ("primary", "junior")).slug == "teachers--primary--junior"
