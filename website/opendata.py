"""The offer as open data: ``courses.json`` (every upcoming course with its sessions, venues,
audience, cost, status and page address, documented by ``courses.schema.json`` shipped beside
it) and each course page's schema.org ``Course`` JSON-LD. A county or a hub can merge several
alliances' offers from these without scraping. Facts come from records.offer, like the pages.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo

from markupsafe import Markup

from records import STRANDS
from records.offer import Facts, Offer, facts
from records.schema import Course, Session
from records.tree import Records

SCHEMAS = Path(__file__).resolve().parent / "schemas"
COURSES_JSON = "courses.json"
COURSES_SCHEMA = "courses.schema.json"
JSONLD_SCHEMA = SCHEMAS / "course-jsonld.schema.json"   # what our JSON-LD promises (tests)


def _moment(day: dt.date, time: dt.time | None, zone: ZoneInfo) -> str | None:
    if time is None:
        return None
    return dt.datetime.combine(day, time, tzinfo=zone).isoformat()


def _venue(records: Records, session: Session) -> dict[str, Any]:
    if session.online:
        return {"id": "online", "name": "Online", "address": None}
    venue = records.venues.get(session.venue)
    return {"id": session.venue, "name": venue.name if venue else session.venue,
            "address": venue.address if venue else None}


def session_data(records: Records, session: Session, today: dt.date, zone: ZoneInfo) -> dict:
    return {
        "date": session.date.isoformat(),
        "start": _moment(session.date, session.start, zone),
        "end": _moment(session.date, session.end, zone),
        "all_day": session.start is None,
        "title": session.title,
        "past": session.date < today,
        "venue": _venue(records, session),
    }


def course_data(records: Records, course: Course, f: Facts, url: str, today: dt.date,
                zone: ZoneInfo) -> dict[str, Any]:
    return {
        "id": course.id,
        "title": course.title,
        "url": url,
        "strand": course.strand,
        "strand_label": STRANDS[course.strand],
        "summary": course.summary,
        "audience": list(course.audience),
        "phase": list(course.phase),
        "cost": course.cost,
        "currency": "GBP",
        "status": f.status,
        "bookable": f.bookable,
        "booking": course.booking if f.bookable else None,
        "places": course.places,
        "places_left": course.places_left,
        "late_joining": course.late_joining,
        "terms": [t.id for t in f.terms],
        "online": f.online,
        "in_person": f.in_person,
        "next_session": f.next_session.date.isoformat() if f.next_session else None,
        "sessions": [session_data(records, s, today, zone) for s in course.dated_sessions],
    }


def courses_json(records: Records, offer: Offer, course_url: Callable[[str], str]) -> dict:
    """Every upcoming course, soonest first, as ``courses.schema.json`` describes."""
    a = records.alliance
    zone = ZoneInfo(a.timezone)
    return {
        "$schema": a.site_url.rstrip("/") + "/" + COURSES_SCHEMA,
        "alliance": {"name": a.name, "url": a.site_url, "email": a.contact.email},
        "generated": offer.today.isoformat(),
        "timezone": a.timezone,
        "count": offer.count(),
        "courses": [course_data(records, c, offer.facts[c.id], course_url(c.id), offer.today, zone)
                    for c in offer.listed()],
    }


def courses_json_text(records: Records, offer: Offer, course_url: Callable[[str], str],
                      memo: dict, token: Callable[[Course], object]) -> str:
    """``dump(courses_json(...))``, the same text, made of each course's part kept in ``memo``
    while the course's ``token`` (its file's version) is unchanged: the preview's way, so a
    save re-encodes one course, not thousands. ``memo`` must be emptied when the alliance,
    venues or day change."""
    head = courses_json(records, Offer(offer.today, [], {}), course_url)
    head["count"] = offer.count()
    zone = ZoneInfo(records.alliance.timezone)
    parts = []
    for c in offer.courses:
        key = (token(c), course_url(c.id))
        kept = memo.get(c.id)
        if kept is None or kept[0] != key:
            text = json.dumps(course_data(records, c, offer.facts[c.id], course_url(c.id),
                                          offer.today, zone), ensure_ascii=False, separators=(",", ":"))
            kept = memo[c.id] = (key, text)
        parts.append(kept[1])
    for gone in memo.keys() - {c.id for c in offer.courses}:
        del memo[gone]
    text = dump(head)
    marker = '"courses":[]}'
    assert text.endswith(marker + "\n")
    return text[:-len(marker) - 1] + '"courses":[' + ",".join(parts) + "]}\n"


def dump(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"


def schema_text() -> str:
    return (SCHEMAS / COURSES_SCHEMA).read_text(encoding="utf-8")


# --- JSON-LD ------------------------------------------------------------------------------

_AVAILABILITY = {"open": "InStock", "full": "SoldOut", "cancelled": "Discontinued",
                 "started": "SoldOut", "finished": "Discontinued"}


def course_jsonld(records: Records, course: Course, today: dt.date, url: str) -> dict[str, Any]:
    """schema.org Course with one CourseInstance per session (a structured-data reader sees
    when and where each meets) and an Offer with the cost and whether it can be booked."""
    a = records.alliance
    zone = ZoneInfo(a.timezone)
    f = facts(course, today)
    provider = {"@type": "Organization", "name": a.name, "url": a.site_url}
    instances = []
    for s in course.dated_sessions:
        place = _venue(records, s)
        instance = {
            "@type": "CourseInstance",
            "name": s.title or course.title,
            "courseMode": "online" if s.online else "onsite",
            "startDate": _moment(s.date, s.start, zone) or s.date.isoformat(),
            "endDate": _moment(s.date, s.end, zone) or s.date.isoformat(),
            "eventStatus": "https://schema.org/" + ("EventCancelled" if f.cancelled else "EventScheduled"),
            "location": ({"@type": "VirtualLocation", "url": url} if s.online else
                         {"@type": "Place", "name": place["name"],
                          "address": place["address"] or place["name"]}),
        }
        instances.append(instance)
    offer = {"@type": "Offer", "price": f"{course.cost:.2f}", "priceCurrency": "GBP",
             "category": "Free" if course.cost == 0 else "Paid",
             "availability": "https://schema.org/" + _AVAILABILITY[f.status]}
    if f.bookable and course.booking:
        offer["url"] = course.booking
    return {
        "@context": "https://schema.org",
        "@type": "Course",
        "@id": url,
        "name": course.title,
        "description": course.summary,
        "url": url,
        "courseCode": course.id,
        "provider": provider,
        "audience": {"@type": "EducationalAudience",
                     "educationalRole": list(course.audience)},
        "offers": offer,
        "hasCourseInstance": instances,
    }


def script_json(data: Any) -> Markup:
    """JSON for inside <script>: '<', '>' and '&' as \\u escapes, so no text of a record can
    close the script element or start a comment, whatever it holds."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escape)
    return Markup(text)
