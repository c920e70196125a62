"""What to write in each field, in a few words: the comments `build.py new` puts beside each
field and the descriptions editors see in their editor's completion (editor_schemas.py).

Keys are field names; "kind.field" overrides one kind's field. A field without help here gets
none, so a new optional field of a new record kind never breaks `new` or the schemas.
"""
from __future__ import annotations

HELP = {
    "title": "the title as it appears on the site; in double quotes if it holds ': ' or ' #'",
    "summary": "one or two sentences, at most 200 characters",
    "strand": "one of: itt, cpd, leadership, school-support, sle, research",
    "audience": "who it is for, from the alliance's roles, e.g. [teacher, ect]",
    "phase": "school phases, e.g. [primary]; leave out for every phase",
    "sessions": "one entry per date, each starting with '- date:'",
    "date": "the date, YYYY-MM-DD",
    "start": "start time, 24-hour, in quotes, e.g. \"13:30\"; leave out for a whole day",
    "end": "end time, 24-hour, in quotes, e.g. \"16:00\"",
    "venue": "a venue id from content/venues.yml, or online",
    "facilitators": "SLE ids (file names in content/sles/), e.g. [jane-okafor]",
    "cost": "pounds, a number without quotes; 0 shows as Free",
    "places": "how many places there are in all (a whole number)",
    "booking": "where to book: an https:// link or mailto:someone@school.example",
    "status": "open, full or cancelled",
    "places_left": "places still free (0 or more, at most places); 0 shows the course as full",
    "late_joining": "true or false: once it has started, can people still join?",
    "name": "the full name",
    "school": "a school id (file name in content/schools/)",
    "specialisms": "from the alliance's specialisms, e.g. [maths, send]",
    "designated": "year or year and month of designation, e.g. 2019-09",
    "availability": "available, limited or unavailable",
    "photo": "a picture beside the record, e.g. sles/jane-okafor.jpg (path under content/)",
    "role": "teaching-school, strategic-partner or member",
    "town": "the town or village",
    "urn": "the school's six-digit URN",
    "website": "the school's web address, starting https://",
    "joined": "year or year and month of joining, e.g. 2021-09",
    "subject": "the email's subject line; in double quotes if it holds ': '",
    "audiences": "audience ids from content/audiences.yml; leave out for everyone",
    "course_weeks": "how many weeks ahead to list courses",
    "news.date": "the story's date, YYYY-MM-DD (also the start of its file name)",
    "edition.date": "the date the edition goes out, YYYY-MM-DD",
    "school.name": "the school's full name",
    "school.phase": "school phases, e.g. [primary]",
    "sle.phase": "phases the SLE works in, e.g. [primary]",
    "sle.name": "the SLE's full name",
    "page.title": "the page's title, as it appears in the menu and at the top of the page",
    "page.nav": "the menu section it sits in: courses, support, train, about or news; "
                "leave out and the page is reached only by links",
    "page.order": "its place within the section, smaller first (a whole number)",
}


def help_for(kind: str, field: str) -> str:
    return HELP.get(f"{kind}.{field}") or HELP.get(field, "")
