"""iCalendar (RFC 5545) feeds of the alliance's courses, one VEVENT per session.

Files, relative to the generated docs folder (MkDocs copies them through as they are):

    calendar/all.ics                every upcoming course
    calendar/<strand>.ics           the upcoming courses of one strand (all six are written)
    calendar/courses/<id>.ics       one course, past or upcoming: the "Add to calendar" link

Choices that matter to subscribers:

* UID ``<course-id>-<YYYYMMDD>[T<HHMM>]@<site host>``: built from the session's date and start,
  so it survives an editor reordering sessions or adding one. Moving a session to another day
  or time gives it a new UID (the old event leaves the feed, the new one arrives).
* DTSTAMP is midnight UTC of the build's "today", never the wall clock, so a build with a fixed
  ``--today`` is byte for byte reproducible.
* Times carry ``TZID=<alliance timezone>`` and each file embeds a VTIMEZONE covering its
  events' years; a session without times is an all-day event (``VALUE=DATE``).
* A cancelled course stays in the feeds with ``STATUS:CANCELLED`` (and "Cancelled:" before its
  title, for clients that ignore the status), so subscribed calendars update rather than keep a
  stale event.

The text is written here rather than through the ``icalendar`` package's objects: building
15,000 events with it takes seconds, while these feeds must cost a small part of a build. Each
event is rendered once and shared by every feed it appears in. The tests parse the output back
with ``icalendar``.
"""
from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Callable
from urllib.parse import urljoin, urlparse
from zoneinfo import ZoneInfo

from records import STRANDS, Course, Records, Session
from records import urls

FOLDER = "calendar"
ALL_FEED = f"{FOLDER}/all.ics"
CRLF = "\r\n"


def strand_feed_path(strand: str) -> str:
    """Where a strand's feed lands, relative to the docs folder / site root."""
    return f"{FOLDER}/{strand}.ics"


def course_feed_path(course_id: str) -> str:
    """Where a course's own .ics lands, relative to the docs folder / site root."""
    return f"{FOLDER}/courses/{course_id}.ics"


def course_page_url(records: Records, course_id: str) -> str:
    """The default absolute URL of a course's page: the site's ``courses/<id>.md`` built with
    ``use_directory_urls: false``. The build may pass its own (``calendars(course_url=...)``)."""
    return urls.absolute(_site_url(records), urls.course_path(course_id))


def feed_url(records: Records, path: str, *, webcal: bool = False) -> str:
    """Absolute URL of a feed; ``webcal=True`` gives the subscribe-in-your-calendar form."""
    url = urljoin(_site_url(records), path)
    return "webcal://" + url.split("://", 1)[1] if webcal else url


# --- RFC 5545 text -----------------------------------------------------------------------

def escape_text(value: str) -> str:
    """A TEXT value (RFC 5545 3.3.11): backslash, semicolon, comma and newlines escaped."""
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n"))


def fold(line: str) -> str:
    """One content line, folded at 75 octets (3.1) without splitting a UTF-8 character."""
    if len(line) <= 75 and line.isascii():
        return line + CRLF
    data = line.encode("utf-8")
    if len(data) <= 75:
        return line + CRLF
    parts, begin, limit = [], 0, 75
    while len(data) - begin > limit:
        cut = begin + limit
        while data[cut] & 0xC0 == 0x80:          # never cut inside a character
            cut -= 1
        parts.append(data[begin:cut])
        begin, limit = cut, 74                   # continuation lines start with a space
    parts.append(data[begin:])
    return b"\r\n ".join(parts).decode("utf-8") + CRLF


def _prop(name: str, value: str) -> str:
    return fold(f"{name}:{value}")


def _text(name: str, value: str) -> str:
    return fold(f"{name}:{escape_text(value)}")


# --- time zones ----------------------------------------------------------------------------

def _offset(delta: dt.timedelta) -> str:
    minutes = int(delta.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


def _transitions(zone: ZoneInfo, first_year: int, last_year: int):
    """(instant in UTC, offset before, offset after, name after, is dst after) for each change."""
    utc = dt.timezone.utc
    start = dt.datetime(first_year, 1, 1, tzinfo=utc)
    end = dt.datetime(last_year + 1, 1, 1, tzinfo=utc)
    step = dt.timedelta(days=1)
    moment, before = start, start.astimezone(zone).utcoffset()
    found = []
    while moment < end:
        later = moment + step
        after = later.astimezone(zone).utcoffset()
        if after != before:
            low, high = int(moment.timestamp()), int(later.timestamp())  # changes in (low, high]
            while high - low > 1:
                middle = (low + high) // 2
                if dt.datetime.fromtimestamp(middle, zone).utcoffset() == before:
                    low = middle
                else:
                    high = middle
            local = dt.datetime.fromtimestamp(high, zone)
            high = local.astimezone(utc)
            found.append((high, before, after, local.tzname() or _offset(after), bool(local.dst())))
            before = after
        moment = later
    return found


@lru_cache(maxsize=64)
def vtimezone(tzid: str, first_year: int, last_year: int) -> str:
    """A VTIMEZONE for ``tzid`` valid from 1 January of first_year to the end of last_year.

    Each observance's DTSTART is the local time of the change in the offset in force before it
    (TZOFFSETFROM), as RFC 5545 3.6.5 says: 01:00 for the UK's spring change, 02:00 for autumn.
    """
    zone = ZoneInfo(tzid)
    begin = dt.datetime(first_year, 1, 1, tzinfo=dt.timezone.utc).astimezone(zone)
    groups: dict[tuple, list[dt.datetime]] = {}
    initial = (begin.utcoffset(), begin.utcoffset(), begin.tzname() or _offset(begin.utcoffset()),
               bool(begin.dst()))
    groups[initial] = [dt.datetime(first_year, 1, 1)]
    for instant, before, after, name, is_dst in _transitions(zone, first_year, last_year):
        onset = (instant + before).replace(tzinfo=None)   # wall clock in the old offset
        groups.setdefault((before, after, name, is_dst), []).append(onset)
    out = ["BEGIN:VTIMEZONE" + CRLF, _prop("TZID", tzid)]
    for (before, after, name, is_dst), onsets in groups.items():
        kind = "DAYLIGHT" if is_dst else "STANDARD"
        out.append(f"BEGIN:{kind}{CRLF}")
        out.append(_prop("DTSTART", f"{onsets[0]:%Y%m%dT%H%M%S}"))
        for onset in onsets[1:]:
            out.append(_prop("RDATE", f"{onset:%Y%m%dT%H%M%S}"))
        out.append(_prop("TZNAME", escape_text(name)))
        out.append(_prop("TZOFFSETFROM", _offset(before)))
        out.append(_prop("TZOFFSETTO", _offset(after)))
        out.append(f"END:{kind}{CRLF}")
    out.append("END:VTIMEZONE" + CRLF)
    return "".join(out)


# --- events ----------------------------------------------------------------------------------

def _site_url(records: Records) -> str:
    url = records.alliance.site_url
    return url if url.endswith("/") else url + "/"


def _money(cost: float) -> str:
    if cost == 0:
        return "Free"
    return f"£{cost:,.0f}" if float(cost).is_integer() else f"£{cost:,.2f}"


def session_uid(course_id: str, session: Session, host: str) -> str:
    """The stable part of a session's UID (before any de-duplicating suffix)."""
    stamp = f"{session.date:%Y%m%d}" + (f"T{session.start:%H%M}" if session.start else "")
    return f"{course_id}-{stamp}@{host}"


def _location(records: Records, session: Session) -> str:
    if session.online:
        return "Online"
    venue = records.venues.get(session.venue)
    if venue is None:                     # a broken reference is reported by the checker
        return session.venue
    return f"{venue.name}, {venue.address}"


def _description(records: Records, course: Course, session: Session, number: int, count: int,
                 page: str) -> str:
    lines = []
    if count > 1:
        lines.append(f"Session {number} of {count}" + (f": {session.title}" if session.title else ""))
    elif session.title:
        lines.append(session.title)
    venue = None if session.online else records.venues.get(session.venue)
    if venue is not None and venue.notes:
        lines.append(f"Venue: {venue.notes}")
    lines.append(f"Cost: {_money(course.cost)}")
    if course.status == "cancelled":
        lines.append("This course has been cancelled.")
    elif course.status == "full":
        lines.append("This course is full.")
    elif course.booking:
        lines.append(f"Book: {course.booking}")
    lines.append(f"Details: {page}")
    return course.summary + "\n\n" + "\n".join(lines)


def course_events(records: Records, course: Course, stamp: str, host: str, tzid: str,
                  page: str) -> str:
    """The VEVENTs of one course (one per session, in date order) as iCalendar text;
    ``page`` is the absolute URL of the course's page."""
    course_id = course.id
    sessions = course.dated_sessions
    count = len(sessions)
    cancelled = course.status == "cancelled"
    prefix = "Cancelled: " if cancelled else ""
    category = escape_text(STRANDS.get(course.strand, course.strand))
    seen: dict[str, int] = {}
    out = []
    for number, session in enumerate(sessions, 1):
        uid = session_uid(course_id, session, host)
        seen[uid] = seen.get(uid, 0) + 1
        if seen[uid] > 1:                 # two sessions starting at the same moment
            name, _, domain = uid.partition("@")
            uid = f"{name}-{seen[uid]}@{domain}"
        if session.title and count > 1:
            summary = f"{prefix}{course.title} – {session.title}"
        elif count > 1:
            summary = f"{prefix}{course.title} (session {number} of {count})"
        else:
            summary = f"{prefix}{course.title}" + (f" – {session.title}" if session.title else "")
        out.append("BEGIN:VEVENT" + CRLF)
        out.append(_text("UID", uid))
        out.append(_prop("DTSTAMP", stamp))
        if session.start is None:
            out.append(_prop("DTSTART;VALUE=DATE", f"{session.date:%Y%m%d}"))
            out.append(_prop("DTEND;VALUE=DATE", f"{session.date + dt.timedelta(days=1):%Y%m%d}"))
        else:
            out.append(_prop(f"DTSTART;TZID={tzid}", f"{session.date:%Y%m%d}T{session.start:%H%M%S}"))
            out.append(_prop(f"DTEND;TZID={tzid}", f"{session.date:%Y%m%d}T{session.end:%H%M%S}"))
        out.append(_text("SUMMARY", summary))
        out.append(_text("LOCATION", _location(records, session)))
        out.append(_text("DESCRIPTION", _description(records, course, session, number, count, page)))
        out.append(_prop("URL", page))
        out.append(_prop("CATEGORIES", category))
        out.append(_prop("STATUS", "CANCELLED" if cancelled else "CONFIRMED"))
        out.append(_prop("SEQUENCE", "1" if cancelled else "0"))
        out.append("END:VEVENT" + CRLF)
    return "".join(out)


def _calendar(records: Records, name: str, description: str, tzid: str,
              courses: list[tuple[str, Course]], events: dict[str, str],
              years: tuple[int, int]) -> bytes:
    alliance = records.alliance
    head = [
        "BEGIN:VCALENDAR" + CRLF,
        _prop("VERSION", "2.0"),
        _text("PRODID", f"-//{alliance.display_name}//Course calendar//EN"),
        _prop("CALSCALE", "GREGORIAN"),
        _prop("METHOD", "PUBLISH"),
        _text("NAME", name),
        _text("X-WR-CALNAME", name),
        _text("DESCRIPTION", description),
        _text("X-WR-CALDESC", description),
        _prop("X-WR-TIMEZONE", tzid),
        _prop("URL", _site_url(records)),
        _prop("REFRESH-INTERVAL;VALUE=DURATION", "PT12H"),
        _prop("X-PUBLISHED-TTL", "PT12H"),
    ]
    if courses:
        first = min(c.first_date for _, c in courses).year
        last = max(c.last_date for _, c in courses).year
    else:
        first = last = years[0]
    head.append(vtimezone(tzid, first, last))
    body = [events[course_id] for course_id, _ in courses]
    return "".join(head + body + ["END:VCALENDAR" + CRLF]).encode("utf-8")


def _feed(memo: dict, records: Records, name: str, description: str, tzid: str,
          courses: list[tuple[str, Course]], events: dict[str, str], years: tuple[int, int]
          ) -> bytes:
    """:func:`_calendar`, remembered in ``memo`` under its events' texts: the whole offer's
    feed holds every upcoming course (megabytes at 5,000 courses) and a saved course seldom
    changes it. A course's text is the same object while it is unchanged, so comparing the
    texts is mostly a pass over references."""
    texts = tuple(events[course_id] for course_id, _ in courses)
    key = (name, description, tzid, years, texts)
    kept = memo.get(("feed", name))
    if kept is None or kept[0] != key:
        kept = memo[("feed", name)] = (key, _calendar(records, name, description, tzid, courses,
                                                        events, years))
    return kept[1]


def calendars(records: Records, today: dt.date, *,
              course_url: Callable[[str], str] | None = None,
              memo: dict | None = None, token: Callable[[Course], object] | None = None
              ) -> dict[str, bytes]:
    """Every feed of the build: path relative to the docs folder -> file content.

    ``course_url(course_id)`` gives the absolute URL of a course's page (default:
    :func:`course_page_url`). The preview passes ``memo`` (kept between calls) and ``token``
    (a course's version): a course whose token is unchanged keeps its events and feed.
    """
    alliance = records.alliance
    course_url = course_url or (lambda course_id: course_page_url(records, course_id))
    tzid = alliance.timezone
    host = urlparse(alliance.site_url).hostname or "localhost"
    stamp = f"{today:%Y%m%d}T000000Z"
    years = (today.year, today.year)
    who = alliance.display_name
    memo = {} if memo is None else memo
    events, own = {}, {}
    for cid, c in records.courses.items():
        key = (cid, token(c) if token else id(c), stamp, host, tzid)
        kept = memo.get(cid)
        if kept is None or kept[0] != key:
            text = course_events(records, c, stamp, host, tzid, course_url(cid))
            if kept is not None and kept[1] == text:      # an edit the feeds do not show:
                text, feed = kept[1], kept[2]             # the same objects (see _feed)
            else:
                feed = _calendar(records, c.title, f"{c.title}, {who}", tzid, [(cid, c)],
                                 {cid: text}, years)
            kept = memo[cid] = (key, text, feed)
        events[cid], own[cid] = kept[1], kept[2]
    upcoming = [(c.id, c) for c in records.upcoming(today)]
    files = {ALL_FEED: _feed(memo, records, f"{who}: courses and events",
                             f"Every upcoming course and event of {alliance.name}.",
                             tzid, upcoming, events, years)}
    by_strand: dict[str, list] = {strand: [] for strand in STRANDS}
    for cid, c in upcoming:
        by_strand.setdefault(c.strand, []).append((cid, c))
    for strand, label in STRANDS.items():
        chosen = by_strand[strand]
        files[strand_feed_path(strand)] = _feed(
            memo, records, f"{who}: {label}",
            f"Upcoming {label.lower()} courses and events of {alliance.name}.",
            tzid, chosen, events, years)
    for course_id in sorted(records.courses):
        files[course_feed_path(course_id)] = own[course_id]
    return files


def write_calendars(records: Records, today: dt.date, docs_dir: Path | str, *,
                    course_url: Callable[[str], str] | None = None) -> list[Path]:
    """Write every feed under ``docs_dir`` (see the module's docstring); return the paths."""
    docs_dir = Path(docs_dir)
    (docs_dir / FOLDER / "courses").mkdir(parents=True, exist_ok=True)
    written = []
    for rel, content in calendars(records, today, course_url=course_url).items():
        path = docs_dir / rel
        path.write_bytes(content)
        written.append(path)
    return written
