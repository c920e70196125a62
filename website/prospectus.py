"""The printable prospectus: the alliance's current offer as an A4 PDF, made with WeasyPrint.

    build_prospectus(records, today, path)          # writes the PDF, returns path

Same records as the website, one Jinja2 template (autoescaped) and one stylesheet in
``site_templates/prospectus/``. Sections: a cover (name, aim, contact), contents and the six
strands, one section per strand starting on a new page with its upcoming courses, and the
directory of Specialist Leaders of Education.

A printed prospectus is the *current* offer, so it lists courses that are upcoming, not
cancelled, and start within ``months`` (default 12) of today, at most ``max_courses`` of them,
soonest first; anything left out is counted and the reader is sent to the website. This keeps a
huge alliance's PDF readable and its build time bounded (see the caps' defaults below).
No network: fonts are the machine's (DejaVu Sans, else Liberation Sans), and the only URLs
WeasyPrint may load are the template's own files.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import unquote, urlparse

import jinja2

from records import STRANDS, Course, Records, Session
from records.offer import Offer

TEMPLATES = Path(__file__).resolve().parent.parent / "site_templates" / "prospectus"
MONTHS = 12          # courses starting within this many months of today
MAX_COURSES = 100    # ... and at most this many (50-60 A4 pages at most)
MAX_SLES = 150       # SLE directory rows (about 14 pages)

_DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"]
_WORDS = {"ect": "ECT", "senco": "SENCO", "send": "SEND", "eyfs": "EYFS", "post-16": "Post-16",
          "itt-mentoring": "ITT mentoring", "all-through": "All-through"}
_PLURAL = {"ect": "ECTs", "senco": "SENCOs", "support-staff": "Support staff"}
AVAILABILITY = {"available": "Available", "limited": "Limited availability",
                "unavailable": "Not available this year"}


# --- small formatters -------------------------------------------------------------------------

def word_label(word: str) -> str:
    """A vocabulary word as people write it: 'teaching-assistant' -> 'Teaching assistant'."""
    return _WORDS.get(word) or word.replace("-", " ").capitalize()


def words_label(words: list[str], empty: str = "") -> str:
    if not words:
        return empty
    labels = [word_label(w) for w in words]
    return ", ".join([labels[0]] + [label if label.isupper() or label[:2].isupper() else label.lower()
                                    for label in labels[1:]])


def audience_label(roles: list[str]) -> str:
    """Roles as the people they are: [teacher, ect] -> 'Teachers, ECTs'."""
    labels = [_PLURAL.get(r) or word_label(r) + "s" for r in roles]
    if not labels:
        return ""
    return ", ".join([labels[0]] + [x if x[:2].isupper() else x.lower() for x in labels[1:]])


def date_label(day: dt.date, *, weekday: bool = True) -> str:
    text = f"{day.day} {_MONTHS[day.month - 1]} {day.year}"
    return f"{_DAYS[day.weekday()]} {text}" if weekday else text


def money_label(cost: float) -> str:
    if cost == 0:
        return "Free"
    return f"£{cost:,.0f}" if float(cost).is_integer() else f"£{cost:,.2f}"


def booking_label(booking: str | None) -> str:
    """What a reader types: the address of a mailto: link, the URL without https://."""
    if not booking:
        return ""
    parts = urlparse(booking)
    if parts.scheme == "mailto":
        return unquote(parts.path)
    return booking.split("://", 1)[1].rstrip("/")


def school_year(today: dt.date) -> str:
    start = today.year if today.month >= 8 else today.year - 1
    return f"{start}–{(start + 1) % 100:02d}"


# --- what the template gets --------------------------------------------------------------------

def _venue(records: Records, venue_id: str) -> tuple[str, str]:
    """(short name, name and address) of a session's venue."""
    if venue_id == "online":
        return "Online", "Online"
    venue = records.venues.get(venue_id)
    return (venue.name, f"{venue.name}, {venue.address}") if venue else (venue_id, venue_id)


def _session(records: Records, session: Session) -> dict:
    when = (f"{session.start:%H:%M}–{session.end:%H:%M}" if session.start else "All day")
    return {"date": date_label(session.date), "time": when, "where": _venue(records, session.venue)[0],
            "title": session.title}


def _course(records: Records, course: Course) -> dict:
    sles = [records.sles[f].name for f in course.facilitators if f in records.sles]
    sessions = course.dated_sessions
    venues = list(dict.fromkeys(_venue(records, s.venue)[1] for s in sessions))
    return {
        "id": course.id,
        "title": course.title,
        "summary": course.summary,
        "status": course.status,
        "dates": (date_label(course.first_date) if course.first_date == course.last_date else
                  f"{date_label(course.first_date)} to {date_label(course.last_date)}"),
        "sessions": [_session(records, s) for s in sessions],
        "venues": venues,                                   # name and address, each once
        "show_where": len(venues) > 1,                      # a venue column in the sessions
        "show_title": any(s.title for s in sessions),
        "audience": audience_label(course.audience),
        "phase": words_label(course.phase, "All phases"),
        "cost": money_label(course.cost),
        "places": course.places,
        "booking": course.booking,
        "booking_label": booking_label(course.booking),
        "facilitators": sles,
    }


def _site(records: Records) -> str:
    url = records.alliance.site_url
    return url if url.endswith("/") else url + "/"


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def prospectus_context(records: Records, today: dt.date, *, months: int = MONTHS,
                       max_courses: int = MAX_COURSES, max_sles: int = MAX_SLES) -> dict:
    """Everything the template shows, already chosen, ordered and formatted."""
    alliance = records.alliance
    horizon = _add_months(today, months)
    offer = [c for c in records.upcoming(today) if c.status != "cancelled"]
    count = Offer.of(records.courses.values(), today).count()     # the site's one count
    within = [c for c in offer if c.first_date <= horizon]
    shown = within[:max_courses]
    left_out = len(offer) - len(shown)
    strands = []
    for strand, label in STRANDS.items():
        courses = [_course(records, c) for c in shown if c.strand == strand]
        strands.append({"id": strand, "label": label, "courses": courses,
                        "more": sum(1 for c in offer if c.strand == strand) - len(courses)})
    schools = records.schools
    sles = sorted(records.sles.values(), key=lambda s: (s.name.split()[-1].lower(), s.name.lower()))
    return {
        "alliance": alliance,
        "contact": alliance.contact,
        "lead_school": schools[alliance.lead_school].name if alliance.lead_school in schools else "",
        "site": _site(records),
        "site_label": booking_label(_site(records)),
        "today": date_label(today, weekday=False),
        "horizon": date_label(horizon, weekday=False),
        "year": school_year(today),
        "strands": strands,
        "course_count": len(shown),
        "offer_count": count,
        "left_out": left_out,
        "school_count": len(schools),
        "sles": [{"name": s.name,
                  "school": schools[s.school].name if s.school in schools else s.school,
                  "specialisms": words_label(s.specialisms),
                  "phase": words_label(s.phase),
                  "availability": AVAILABILITY.get(s.availability, s.availability)}
                 for s in sles[:max_sles]],
        "sle_count": len(sles),
    }


def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True,
                              lstrip_blocks=True)


def render_prospectus_html(records: Records, today: dt.date, **caps) -> str:
    """The prospectus as HTML (what WeasyPrint lays out); for tests and for a browser preview."""
    return _environment().get_template("prospectus.html.j2").render(
        **prospectus_context(records, today, **caps))


def local_fetcher():
    """WeasyPrint's URL fetcher limited to the template folder: no network, no other files."""
    from weasyprint.urls import URLFetcher

    class LocalOnly(URLFetcher):
        def fetch(self, url, headers=None):
            parts = urlparse(url)
            if parts.scheme != "file" or not Path(unquote(parts.path)).resolve().is_relative_to(TEMPLATES):
                raise ValueError(f"the prospectus may not load {url}")
            return super().fetch(url, headers)

    return LocalOnly(allowed_protocols={"file"})


def prospectus_pdf(records: Records, today: dt.date, **caps) -> bytes:
    """The prospectus as PDF bytes."""
    from weasyprint import CSS, HTML   # heavy import: only when a PDF is made
    fetcher = local_fetcher()
    html = HTML(string=render_prospectus_html(records, today, **caps), base_url=str(TEMPLATES) + "/",
                url_fetcher=fetcher)
    css = CSS(filename=str(TEMPLATES / "prospectus.css"), url_fetcher=fetcher)
    return html.write_pdf(stylesheets=[css], pdf_tags=True, pdf_identifier=b"prospectus")


def build_prospectus(records: Records, today: dt.date, path: Path | str, **caps) -> Path:
    """Write the prospectus PDF to ``path`` (its folder is created); return the path.

    ``caps``: ``months``, ``max_courses``, ``max_sles`` (see the module's docstring).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(prospectus_pdf(records, today, **caps))
    return path


def placeholder_pdf(lines: list[str]) -> bytes:
    """A one-page A4 PDF of a few lines of plain ASCII text, written by hand (no WeasyPrint):
    what the preview server puts where the prospectus goes, so its link works at once."""
    def literal(text: str) -> str:
        text = text.encode("ascii", "replace").decode("ascii")
        return "(" + text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"

    shown = "".join(f"{literal(line)} Tj T* " for line in lines)
    stream = f"BT /F1 14 Tf 18 TL 56 780 Td {shown}ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)
