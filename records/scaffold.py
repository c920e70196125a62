"""`build.py new KIND "Title"`: a new record file that passes `check` as written.

The fields come from the record model (so a new kind of record, or a new required field, needs
nothing here): each required field gets a valid placeholder and a comment saying what to write;
each optional one is listed commented out, for the editor to take up. Placeholders come from the
alliance itself where a real value exists (its first venue, its lead school, its contact address
for booking), so nothing made up reaches the site if an editor forgets one.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from . import placeholders
from .editor_schemas import files as schema_files
from .editor_schemas import SCHEMA_DIR, modeline, schema_for, write_all
from .field_help import help_for
from .files import parse_yaml
from .layout import slug
from .problems import Problems
from .schema import MODELS, Vocabulary
from .tree import load_core

NEW_KINDS = ("course", "sle", "school", "news", "page", "edition")
DATED = {"news", "edition"}          # file names start with the date: 2027-01-05-spring.md
TITLE_FIELDS = ("title", "name", "subject")
COMMENT_AT = 40                      # comments line up here (two spaces at least: see yaml_errors.lint)


class NewRecordError(Exception):
    """Why no file was written, in a sentence for the editor."""


@dataclass
class Context:
    today: dt.date
    vocabulary: Vocabulary
    venue: str
    school: str
    booking: str


def _context(root: Path, today: dt.date | None) -> Context:
    core = load_core(root, Problems())
    alliance = core.alliance
    zone = ZoneInfo(alliance.timezone if alliance else "Europe/London")
    school = (alliance.lead_school if alliance else "") or next(iter(sorted(core.schools)), "")
    email = alliance.contact.email if alliance else "office@example.org"
    return Context(today or dt.datetime.now(zone).date(), core.vocabulary, "online", school,
                   f"mailto:{email}")


def _yaml_text(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)      # a JSON string is a valid YAML "..." string


def _value(kind: str, name: str, prop: dict, title: str, ctx: Context) -> Any:
    """A valid placeholder for one required field, as YAML text."""
    if name in TITLE_FIELDS:
        return _yaml_text(title)
    words = _enum(prop)
    special = {"date": ctx.today.isoformat(), "venue": ctx.venue, "school": ctx.school,
               "lead_school": ctx.school, "booking": ctx.booking, "cost": "0", "town": placeholders.TOWN,
               "summary": _yaml_text(placeholders.SUMMARY.format(kind=kind)),
               "role": "member", "strand": "cpd"}
    if name in special and (not words or special[name] in words):
        return special[name]
    if words:
        return f"[{words[0]}]" if _is_list(prop) else words[0]
    kinds = _types(prop)
    if "integer" in kinds or "number" in kinds:
        return str(prop.get("minimum", 1))
    if "array" in kinds:
        return "[]"
    return _yaml_text(placeholders.TEXT.format(name=name.replace('_', ' ')))


def _enum(prop: dict) -> list:
    if "enum" in prop:
        return prop["enum"]
    for option in prop.get("anyOf", []):
        found = _enum(option.get("items", option))
        if found:
            return found
    return []


def _types(prop: dict) -> set[str]:
    kinds = prop.get("type", [])
    found = set([kinds] if isinstance(kinds, str) else kinds)
    for option in prop.get("anyOf", []):
        found |= _types(option)
    return found


def _is_list(prop: dict) -> bool:
    return "array" in _types(prop)


def _line(text: str, note: str) -> str:
    if not note:
        return text
    return f"{text.ljust(COMMENT_AT - 2)}  # {note}"


def _optional(note: str) -> str:
    return f"optional: {note}" if note else "optional"


def _fields(kind: str, title: str, ctx: Context) -> list[str]:
    schema = schema_for(kind, ctx.vocabulary)
    required = set(schema.get("required", []))
    model = MODELS[kind]
    lines = []
    for name, prop in schema["properties"].items():
        note = help_for(kind, name)
        if name == "sessions":
            lines += [_line("sessions:", note), f"  - date: {(ctx.today + dt.timedelta(days=28)).isoformat()}",
                      _line('    start: "09:30"', help_for(kind, "start")),
                      _line('    end: "15:30"', help_for(kind, "end")),
                      _line(f"    venue: {ctx.venue}", help_for(kind, "venue"))]
        elif name in required or (name == "booking" and kind == "course"):
            lines.append(_line(f"{name}: {_value(kind, name, prop, title, ctx)}", note))
        elif isinstance(model.model_fields[name].default, (str, int, float)):
            lines.append(_line(f"# {name}: {model.model_fields[name].default}", _optional(note)))
        else:
            lines.append(_line(f"# {name}:", _optional(note)))
    return lines


def _body(kind: str) -> str | None:
    field = MODELS[kind].model_fields.get("body")
    if field is None:
        return None
    what = {"course": "what the course is about and who it is for",
            "sle": "the SLE's experience and what they offer schools",
            "news": "the story", "edition": "the newsletter's introduction",
            "page": "the page's text"}
    return placeholders.BODY.format(what=what.get(kind, "the text"))


def _must_pass(kind: str, rel: str, text: str) -> None:
    """The file as it would be written must pass its own model (a title with HTML in it would
    not make a valid newsletter subject, for one): else say why, and write nothing."""
    from .tree import _validate     # the same validation and messages as `check`

    problems = Problems()
    front, _, body = text.partition("\n---\n") if text.startswith("---\n") else (text, "", "")
    data = parse_yaml(front.removeprefix("---\n"), rel, problems)
    if data is not None:
        _validate(MODELS[kind], data, path=rel, line=1, loc_prefix=(), source=data,
                  problems=problems, extra={"body": body.strip()} if body else None)
    if problems.errors:
        first = problems.errors[0]
        raise NewRecordError(f"the title cannot be used as written: {first.field}: {first.message}")


def record_path(root: Path, kind: str, title: str, today: dt.date) -> str:
    model, pattern, _shape = schema_files()[kind]
    record_id = slug(title)
    if not record_id:
        raise NewRecordError(f"{title!r} has no letters or digits to name the file after; "
                             "give a title with some words in it")
    if kind in DATED:
        record_id = f"{today.isoformat()}-{record_id}"
    return pattern.replace("*", record_id)


def new_record(root: Path | str, kind: str, title: str, *, today: dt.date | None = None) -> Path:
    """Write the new record; returns its path. Never overwrites: raises NewRecordError."""
    root = Path(root)
    if kind not in MODELS or kind not in schema_files():
        raise NewRecordError(f"this version has no {kind} records; the kinds are: "
                             + ", ".join(k for k in NEW_KINDS if k in schema_files()))
    if not title.strip():
        raise NewRecordError("the title is empty; write it in quotes after the kind")
    ctx = _context(root, today)
    rel = record_path(root, kind, title.strip(), ctx.today)
    path = root / rel
    lines = [modeline(kind, rel), *_fields(kind, " ".join(title.split()), ctx)]
    body = _body(kind)
    text = "\n".join(lines) + "\n"
    if body is not None:
        text = f"---\n{text}---\n{body}\n"
    _must_pass(kind, rel, text)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(path, "x", encoding="utf-8") as out:      # "x": never overwrite
            out.write(text)
    except FileExistsError:
        raise NewRecordError(f"{rel} already exists; edit it, or choose another title") from None
    schemas = root / SCHEMA_DIR
    if not (schemas / f"{kind}.json").is_file():       # a new alliance's tree: the line points here
        write_all(schemas, ctx.vocabulary)
    return path
