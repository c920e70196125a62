"""The iCalendar feeds, parsed back with the icalendar package as a calendar client would."""
from __future__ import annotations

import datetime as dt

import icalendar
import pytest

from tests.treebuilder import course, load_ok, session, write_tree
from website import calendar as cal

TODAY = dt.date(2026, 9, 1)
UTC = dt.timezone.utc

COURSES = {
    # the UK clocks go back on Sunday 25 October 2026 and forward on Sunday 28 March 2027
    "clock-changes": course(
        title="Maths & Science <KS2>", strand="cpd",
        summary="Four twilights; commas, semicolons; and a backslash \\ survive.",
        sessions=[session("2027-03-29", "16:00", "17:30", title="After spring forward"),
                  session("2026-10-24", "09:00", "12:00", title="Before autumn"),
                  session("2026-10-26", "16:00", "17:30", venue="hall", title="After autumn"),
                  session("2027-03-27", "09:00", "12:00", venue="online", title="Before spring")]),
    "whole-day": course(title="Conference day", strand="research",
                        sessions=[session("2027-02-10")]),
    "cancelled-twilight": course(title="Calm classrooms", strand="cpd", status="cancelled",
                                 booking=None, sessions=[session("2027-01-19", "15:30", "17:00")]),
    "full-programme": course(title="Leaders' programme", strand="leadership", status="full",
                             sessions=[session("2026-11-05", "13:00", "16:00"),
                                       session("2027-01-07", "13:00", "16:00")]),
    "long-gone": course(title="Last year's course", sessions=[session("2025-06-01", "16:00", "17:00")]),
}


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return load_ok(write_tree(tmp_path_factory.mktemp("alliance"), courses=COURSES))


@pytest.fixture(scope="module")
def feeds(tree):
    return cal.calendars(tree, TODAY)


def parse(content: bytes) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(content)


def events_by_uid(content: bytes) -> dict[str, icalendar.Event]:
    return {str(e["UID"]): e for e in parse(content).walk("VEVENT")}


def test_the_files_and_where_they_land(feeds, tree, tmp_path):
    assert set(feeds) == ({cal.ALL_FEED} | {cal.strand_feed_path(s) for s in
                                            ("itt", "cpd", "leadership", "school-support", "sle", "research")}
                          | {cal.course_feed_path(c) for c in COURSES})
    assert cal.ALL_FEED == "calendar/all.ics"
    assert cal.course_feed_path("whole-day") == "calendar/courses/whole-day.ics"
    written = cal.write_calendars(tree, TODAY, tmp_path / "docs")
    assert sorted(p.relative_to(tmp_path / "docs").as_posix() for p in written) == sorted(feeds)
    assert (tmp_path / "docs" / "calendar" / "all.ics").read_bytes() == feeds[cal.ALL_FEED]
    assert cal.feed_url(tree, cal.ALL_FEED, webcal=True) == "webcal://www.testwick.example/calendar/all.ics"


def test_one_event_per_session_of_each_upcoming_course(feeds):
    events = parse(feeds[cal.ALL_FEED]).walk("VEVENT")
    assert len(events) == 4 + 1 + 1 + 2           # the past course is not in the feed
    assert all("long-gone" not in str(e["UID"]) for e in events)
    assert len(parse(feeds[cal.strand_feed_path("cpd")]).walk("VEVENT")) == 5
    assert len(parse(feeds[cal.strand_feed_path("sle")]).walk("VEVENT")) == 0
    # a course's own file exists even when it is past, so its page's link keeps working
    assert len(parse(feeds[cal.course_feed_path("long-gone")]).walk("VEVENT")) == 1


def test_every_feed_is_a_complete_calendar(feeds):
    for path, content in feeds.items():
        parse(content).validate()            # raises if a required property or component is missing


def test_calendar_properties(feeds):
    calendar = parse(feeds[cal.strand_feed_path("cpd")])
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["X-WR-CALNAME"]) == "Testwick TSA: Professional development"
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert str(parse(feeds[cal.course_feed_path("clock-changes")])["X-WR-CALNAME"]) == "Maths & Science <KS2>"
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/London"]


def test_uids_are_unique_and_stable_across_builds_and_edits(tree, tmp_path):
    first = events_by_uid(cal.calendars(tree, TODAY)[cal.ALL_FEED])
    assert len(first) == 8                               # unique
    assert "clock-changes-20261024T0900@www.testwick.example" in first
    assert "whole-day-20270210@www.testwick.example" in first
    # a later build, after an editor reordered the sessions and added one
    edited = dict(COURSES)
    sessions = list(reversed(COURSES["clock-changes"]["sessions"]))
    edited["clock-changes"] = dict(COURSES["clock-changes"],
                                   sessions=sessions + [session("2027-05-01", "09:00", "10:00")])
    later = load_ok(write_tree(tmp_path, courses=edited))
    second = events_by_uid(cal.calendars(later, TODAY + dt.timedelta(days=7))[cal.ALL_FEED])
    assert set(first) <= set(second) and len(second) == len(first) + 1
    for uid, event in first.items():
        assert second[uid].start == event.start


def test_the_same_build_gives_the_same_bytes(tree):
    assert cal.calendars(tree, TODAY) == cal.calendars(tree, TODAY)
    stamps = {e["DTSTAMP"].dt for e in parse(cal.calendars(tree, TODAY)[cal.ALL_FEED]).walk("VEVENT")}
    assert stamps == {dt.datetime(2026, 9, 1, tzinfo=UTC)}      # from --today, not the clock


@pytest.mark.parametrize("title, utc_start, offset", [
    ("Before autumn", dt.datetime(2026, 10, 24, 8, 0, tzinfo=UTC), dt.timedelta(hours=1)),
    ("After autumn", dt.datetime(2026, 10, 26, 16, 0, tzinfo=UTC), dt.timedelta(0)),
    ("Before spring", dt.datetime(2027, 3, 27, 9, 0, tzinfo=UTC), dt.timedelta(0)),
    ("After spring forward", dt.datetime(2027, 3, 29, 15, 0, tzinfo=UTC), dt.timedelta(hours=1)),
])
def test_times_stay_right_across_the_clock_changes(feeds, title, utc_start, offset):
    event = next(e for e in parse(feeds[cal.ALL_FEED]).walk("VEVENT") if str(e["SUMMARY"]).endswith(title))
    start, end = event.start, event.end
    assert event["DTSTART"].params["TZID"] == "Europe/London"
    assert start.utcoffset() == offset
    assert start.astimezone(UTC) == utc_start
    assert end - start == (dt.timedelta(minutes=90) if "After" in title else dt.timedelta(hours=3))


def test_the_embedded_vtimezone_has_the_right_transitions(feeds):
    """A client without a tz database uses the VTIMEZONE: its changes must be at 01:00 UTC."""
    vtz = parse(feeds[cal.ALL_FEED]).walk("VTIMEZONE")[0]
    zone = vtz.to_tz(lookup_tzid=False)               # built from the component, not zoneinfo
    for moment, offset in [("2026-10-25T00:59", 1), ("2026-10-25T01:00", 0),
                           ("2027-03-28T00:59", 0), ("2027-03-28T01:00", 1),
                           ("2027-01-14T12:00", 0), ("2027-07-01T12:00", 1)]:
        instant = dt.datetime.fromisoformat(moment).replace(tzinfo=UTC)
        assert instant.astimezone(zone).utcoffset() == dt.timedelta(hours=offset), moment


def test_a_whole_day_session_is_an_all_day_event(feeds):
    event = events_by_uid(feeds[cal.course_feed_path("whole-day")])["whole-day-20270210@www.testwick.example"]
    assert event["DTSTART"].params.get("VALUE") == "DATE"
    assert event.start == dt.date(2027, 2, 10) and not isinstance(event.start, dt.datetime)
    assert event.end == dt.date(2027, 2, 11)                       # DTEND is exclusive


def test_cancelled_courses_stay_in_the_feed_marked_cancelled(feeds):
    events = [e for e in parse(feeds[cal.ALL_FEED]).walk("VEVENT") if "cancelled-twilight" in str(e["UID"])]
    assert len(events) == 1
    assert str(events[0]["STATUS"]) == "CANCELLED"
    assert str(events[0]["SUMMARY"]) == "Cancelled: Calm classrooms"
    assert "This course has been cancelled." in str(events[0]["DESCRIPTION"])
    others = [e for e in parse(feeds[cal.ALL_FEED]).walk("VEVENT") if "cancelled" not in str(e["UID"])]
    assert {str(e["STATUS"]) for e in others} == {"CONFIRMED"}


def test_location_summary_description_and_url(feeds):
    events = {str(e["SUMMARY"]): e for e in parse(feeds[cal.course_feed_path("clock-changes")]).walk("VEVENT")}
    assert set(events) == {"Maths & Science <KS2> – Before autumn", "Maths & Science <KS2> – After autumn",
                           "Maths & Science <KS2> – Before spring",
                           "Maths & Science <KS2> – After spring forward"}
    assert str(events["Maths & Science <KS2> – Before autumn"]["LOCATION"]) == \
        "Testwick Centre, 1 High Street, Testwick TW1 1AA"
    assert str(events["Maths & Science <KS2> – After autumn"]["LOCATION"]) == \
        "Testwick Primary School, hall, School Lane, Testwick TW1 2BB"
    assert str(events["Maths & Science <KS2> – Before spring"]["LOCATION"]) == "Online"
    event = events["Maths & Science <KS2> – Before autumn"]
    assert str(event["URL"]) == "https://www.testwick.example/courses/clock-changes.html"
    description = str(event["DESCRIPTION"])
    assert description.startswith("Four twilights; commas, semicolons; and a backslash \\ survive.\n\n")
    assert "Session 1 of 4: Before autumn" in description
    assert "Book: https://forms.example/clock-changes" in description
    assert "Details: https://www.testwick.example/courses/clock-changes.html" in description
    assert "Venue: Step-free access; parking on site." in description
    assert "Cost: Free" in description
    full = parse(feeds[cal.course_feed_path("full-programme")]).walk("VEVENT")[0]
    assert str(full["SUMMARY"]) == "Leaders' programme (session 1 of 2)"
    assert "This course is full." in str(full["DESCRIPTION"])


def test_the_build_can_give_its_own_page_urls(tree):
    feeds = cal.calendars(tree, TODAY, course_url=lambda cid: f"https://elsewhere.example/c/{cid}/")
    event = parse(feeds[cal.course_feed_path("whole-day")]).walk("VEVENT")[0]
    assert str(event["URL"]) == "https://elsewhere.example/c/whole-day/"


def test_two_sessions_at_the_same_moment_get_distinct_uids(tmp_path):
    tree = load_ok(write_tree(tmp_path, courses={"twin": course(sessions=[
        session("2027-01-14", "13:30", "16:00", venue="centre"),
        session("2027-01-14", "13:30", "16:00", venue="hall")])}))
    uids = list(events_by_uid(cal.calendars(tree, TODAY)[cal.course_feed_path("twin")]))
    assert sorted(uids) == ["twin-20270114T1330-2@www.testwick.example",
                            "twin-20270114T1330@www.testwick.example"]


def test_lines_are_folded_at_75_octets_with_crlf(feeds):
    text = feeds[cal.course_feed_path("clock-changes")]
    assert text.endswith(b"END:VCALENDAR\r\n")
    lines = text.split(b"\r\n")
    assert all(len(line) <= 75 for line in lines)
    assert any(line.startswith(b" ") for line in lines)             # some were folded
    assert b"\n" not in text.replace(b"\r\n", b"")


def test_fold_never_splits_a_character():
    line = "SUMMARY:" + "Zoë Ångström – " * 12
    folded = cal.fold(line)
    parts = folded.removesuffix("\r\n").split("\r\n")
    assert all(len(p.encode("utf-8")) <= 75 for p in parts)
    assert parts[0] + "".join(p[1:] for p in parts[1:]) == line


def test_another_time_zone_is_used_throughout(tmp_path):
    tree = load_ok(write_tree(tmp_path, alliance={"timezone": "America/New_York"},
                              courses={"one": course(sessions=[session("2027-03-15", "09:00", "10:00")])}))
    event = parse(cal.calendars(tree, TODAY)[cal.ALL_FEED]).walk("VEVENT")[0]
    assert event["DTSTART"].params["TZID"] == "America/New_York"
    assert event.start.astimezone(UTC) == dt.datetime(2027, 3, 15, 13, 0, tzinfo=UTC)   # EDT


def test_five_thousand_courses_are_fast(tmp_path):
    """Not a benchmark, a guard: 5,000 courses' feeds in well under the build's budget."""
    import time
    tree = load_ok(write_tree(tmp_path, courses={"seed": course()}))
    template = tree.courses["seed"]
    tree.courses = {}
    for i in range(5000):
        c = template.model_copy(update={"title": f"Course {i} & more"})
        c._id = f"course-{i}"
        tree.courses[c._id] = c
    start = time.perf_counter()
    files = cal.calendars(tree, TODAY)
    elapsed = time.perf_counter() - start
    assert len(files) == 5000 + 7
    assert len(events_by_uid(files[cal.ALL_FEED])) == 5000          # UIDs unique at scale too
    assert elapsed < 5, f"{elapsed:.2f} s"
