"""Small alliance trees for tests: state only what the test is about, defaults do the rest.

    from tests.treebuilder import write_tree, course, session, load_ok

    root = write_tree(tmp_path, courses={
        "clock-change": course(sessions=[session("2026-10-24", "18:00", "20:00")]),
        "cancelled-one": course(status="cancelled", booking=None),
    })
    records = load_ok(root)            # fails the test, listing every problem, if any error

Every keyword of ``write_tree`` merges onto the defaults below: a record given by id replaces
the default record of that id (its fields merged onto the kind's defaults), and ``None`` as a
record or a field value removes it. A record given as a ``str`` is written verbatim, for tests
about broken files. The defaults alone make a valid alliance with no courses.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml

ALLIANCE: dict[str, Any] = {
    "name": "Testwick Teaching School Alliance",
    "short_name": "Testwick TSA",
    "aim": "To work together for every child in Testwick.",
    "lead_school": "testwick-primary",
    "site_url": "https://www.testwick.example/",
    "signup_url": "https://forms.example/testwick-join",
    "timezone": "Europe/London",
    "contact": {"email": "office@testwick.example", "phone": "01632 960000",
                "address": "Testwick Centre, 1 High Street, Testwick TW1 1AA"},
}
VENUES: dict[str, dict] = {
    "centre": {"name": "Testwick Centre", "address": "1 High Street, Testwick TW1 1AA",
               "notes": "Step-free access; parking on site."},
    "hall": {"name": "Testwick Primary School, hall", "address": "School Lane, Testwick TW1 2BB"},
}
SCHOOLS: dict[str, dict] = {
    "testwick-primary": {"name": "Testwick Primary School", "phase": ["primary"],
                         "role": "teaching-school", "town": "Testwick", "urn": "123456"},
    "testwick-high": {"name": "Testwick High School", "phase": ["secondary"], "role": "member",
                      "town": "Testwick"},
}
SLE: dict[str, Any] = {"school": "testwick-primary", "specialisms": ["maths"], "phase": ["primary"],
                       "body": "Leads maths across the school."}
SLES: dict[str, dict] = {
    "ada-lovelace": {"name": "Ada Lovelace"},
    "zoe-angstrom": {"name": "Zoë Ångström", "school": "testwick-high",
                     "specialisms": ["science", "send"], "phase": ["secondary"],
                     "availability": "limited"},
}
BOARD: list[dict] = [
    {"name": "Sam Patel", "position": "Chair", "school": "testwick-primary"},
    {"name": "Prof Ada Byron", "position": "University partner", "organisation": "University of Testwick"},
]
AUDIENCES: dict[str, dict] = {
    "teachers": {"label": "Teachers", "roles": ["teacher", "ect", "trainee"]},
    "friends": {"label": "Friends of the alliance", "default": True},
}


def session(date: str | dt.date, start: str | None = None, end: str | None = None,
            venue: str = "centre", title: str | None = None) -> dict:
    """One session; without start/end it takes the whole day."""
    out: dict[str, Any] = {"date": str(date)}
    if start is not None:
        out["start"], out["end"] = start, end
    out["venue"] = venue
    if title is not None:
        out["title"] = title
    return out


def course(**fields: Any) -> dict:
    """A course's fields; unspecified ones get defaults (title and booking from the id)."""
    return dict(fields)


def _course_defaults(course_id: str) -> dict:
    return {
        "title": f"Course {course_id}",
        "strand": "cpd",
        "summary": f"A short course: {course_id}.",
        "audience": ["teacher"],
        "sessions": [session("2027-01-14", "13:30", "16:00")],
        "cost": 0,
        "booking": f"https://forms.example/{course_id}",
        "body": f"All about {course_id}.",
    }


def _plain(value: Any) -> Any:
    """Values YAML writes as an editor would: dates ISO, times HH:MM."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dt.time):
        return f"{value:%H:%M}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _dump(data: Any) -> str:
    return yaml.safe_dump(_plain(data), sort_keys=False, allow_unicode=True, width=1000)


def _merge(defaults: dict, given: dict | None, base: dict | None = None,
           base_for: Any = None) -> dict:
    """Records by id: given ones replace defaults; None removes; fields merge onto base."""
    out = dict(defaults)
    for key, value in (given or {}).items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    if base is None and base_for is None:
        return out
    merged = {}
    for key, value in out.items():
        if isinstance(value, str):
            merged[key] = value
            continue
        fields = dict(base_for(key) if base_for else base)
        fields.update(value)
        merged[key] = {k: v for k, v in fields.items() if v is not None}
    return merged


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _markdown(fields: dict | str) -> str:
    if isinstance(fields, str):
        return fields
    fields = dict(fields)
    body = fields.pop("body", "Text.")
    return f"---\n{_dump(fields)}---\n{body}\n"


def write_tree(root: Path | str, *, alliance: dict | None = None, venues: dict | None = None,
               schools: dict | None = None, sles: dict | None = None, courses: dict | None = None,
               board: list | None = None, news: dict | None = None,
               audiences: dict | None = None, newsletters: dict | None = None,
               pages: dict | None = None, impact: dict | str | None = None) -> Path:
    """Write a valid alliance under root (content/ and courses/), return root.

    ``alliance``: fields merged onto ALLIANCE. ``venues``, ``schools``, ``sles``, ``courses``,
    ``news`` (id ``YYYY-MM-DD-slug``), ``audiences``, ``newsletters``, ``pages`` (free pages):
    records by id merged onto the defaults. ``board``: the whole list (default BOARD).
    ``impact``: content/impact.yml's fields (none by default).
    """
    root = Path(root)
    content = root / "content"
    content.mkdir(parents=True, exist_ok=True)
    (root / "courses").mkdir(parents=True, exist_ok=True)

    data = dict(ALLIANCE)
    data.update(alliance or {})
    _write(content / "alliance.yml", _dump(data))
    _write(content / "venues.yml", _dump(_merge(VENUES, venues)))
    for school_id, fields in _merge(SCHOOLS, schools).items():
        _write(content / "schools" / f"{school_id}.yml",
               fields if isinstance(fields, str) else _dump(fields))
    for sle_id, fields in _merge(SLES, sles, base=SLE).items():
        _write(content / "sles" / f"{sle_id}.md", _markdown(fields))
    _write(content / "board.yml", _dump(BOARD if board is None else board))
    _write(content / "audiences.yml", _dump(_merge(AUDIENCES, audiences)))
    for course_id, fields in _merge({}, courses, base_for=_course_defaults).items():
        _write(root / "courses" / f"{course_id}.md", _markdown(fields))
    for news_id, fields in (news or {}).items():
        if not isinstance(fields, str):
            fields = {"title": news_id, "date": news_id[:10], "summary": "News.", **fields}
        _write(content / "news" / f"{news_id}.md", _markdown(fields))
    for edition_id, fields in (newsletters or {}).items():
        _write(content / "newsletters" / f"{edition_id}.md", _markdown(fields))
    for page_id, fields in (pages or {}).items():
        _write(content / "pages" / f"{page_id}.md", _markdown(fields))
    if impact is not None:
        _write(content / "impact.yml", impact if isinstance(impact, str) else _dump(impact))
    return root


def load_ok(root: Path | str, *, strict: bool = False):
    """records.load(root), failing the calling test with every error if there is any."""
    import records
    loaded, problems = records.load(root, strict=strict)
    errors = [str(p) for p in problems if p.is_error]
    assert not errors, "the test tree has errors:\n" + "\n".join(errors)
    return loaded
