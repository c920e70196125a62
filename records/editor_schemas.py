"""JSON Schemas of the record files, generated from the record models, for editors' editors.

VS Code (and the web editor's VS Code mode) with the YAML extension reads the line
``# yaml-language-server: $schema=...`` at the top of a file, or the mapping in
.vscode/settings.json, and then offers completion and underlines mistakes while the editor
types. The schemas are committed in schemas/ (``build.py schemas`` rewrites them, e.g. after
the alliance changes its vocabulary) and a test keeps them up to date.

They describe what an editor writes in YAML, so they are a little stricter than ``check`` in
one way (an unknown field is underlined; ``check`` only warns) and looser in others (they do
not know which venues or SLEs exist).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .field_help import help_for
from .schema import MODELS, Alliance, Audience, BoardMember, Record, School, Venue, Vocabulary
from .tree import MARKDOWN_KINDS

SCHEMA_DIR = "schemas"
DIALECT = "https://json-schema.org/draft/2020-12/schema"
# fields whose words come from the alliance's vocabulary
VOCABULARY_FIELDS = {"phase": "phases", "audience": "roles", "specialisms": "specialisms",
                     "roles": "roles"}


def _kind_of(model: type[Record]) -> str:
    return next(kind for kind, m in MODELS.items() if m is model)


def files() -> dict[str, tuple[type[Record], str, str]]:
    """kind -> (model, which files, shape: one record per file, records by id, or a list)."""
    out = {"alliance": (Alliance, "content/alliance.yml", "one"),
           "venues": (Venue, "content/venues.yml", "by id"),
           "audiences": (Audience, "content/audiences.yml", "by id"),
           "board": (BoardMember, "content/board.yml", "list"),
           "school": (School, "content/schools/*.yml", "one")}
    for folder, model in MARKDOWN_KINDS.items():       # courses, SLEs, news, editions, pages...
        out[_kind_of(model)] = (model, f"{folder}/*.md", "one")
    return out


def _tighten(node: Any, kind: str, vocabulary: Vocabulary) -> None:
    """Unknown fields underlined; vocabulary words offered; each field's help as description."""
    if isinstance(node, list):
        for item in node:
            _tighten(item, kind, vocabulary)
        return
    if not isinstance(node, dict):
        return
    if "properties" in node:
        node["additionalProperties"] = False
        node["properties"].pop("body", None)      # the Markdown text, not a field
        if "required" in node:
            node["required"] = [name for name in node["required"] if name != "body"]
        for name, prop in node["properties"].items():
            prop.pop("title", None)
            if help_for(kind, name):
                prop["description"] = help_for(kind, name)
            if name in VOCABULARY_FIELDS and kind not in ("alliance",):
                _words(prop, getattr(vocabulary, VOCABULARY_FIELDS[name]))
    for value in node.values():
        _tighten(value, kind, vocabulary)


def _words(prop: dict, words: list[str]) -> None:
    """Replace an id pattern by the list of words, wherever it stands in the property."""
    for key, value in list(prop.items()):
        if key == "pattern":
            del prop["pattern"], prop["type"]
            prop["enum"] = list(words)
            return
        if isinstance(value, dict):
            _words(value, words)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    _words(item, words)


def schema_for(kind: str, vocabulary: Vocabulary | None = None) -> dict:
    """The JSON Schema of one kind of record file."""
    model, pattern, shape = files()[kind]
    record = model.model_json_schema(mode="validation")
    _tighten(record, kind, vocabulary or Vocabulary())
    defs = record.pop("$defs", {})
    record.pop("title", None)
    if shape == "by id":
        body = {"type": "object", "propertyNames": {"pattern": r"^[a-z0-9]+(?:-[a-z0-9]+)*$"},
                "additionalProperties": record}
    elif shape == "list":
        body = {"type": "array", "items": record}
    else:
        body = record
    out = {"$schema": DIALECT, "title": f"{kind} ({pattern})",
           "description": "Generated from the record models by `build.py schemas`; do not edit.",
           **body}
    if defs:
        out["$defs"] = defs
    return out


def render_all(vocabulary: Vocabulary | None = None) -> dict[str, str]:
    """File name under schemas/ -> its text."""
    return {f"{kind}.json": json.dumps(schema_for(kind, vocabulary), indent=2, ensure_ascii=False) + "\n"
            for kind in files()}


def write_all(folder: Path, vocabulary: Vocabulary | None = None) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_all(vocabulary).items():
        path = folder / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def modeline(kind: str, record_path: str) -> str:
    """The line that points VS Code's YAML extension at the schema, relative to the record."""
    depth = record_path.count("/")
    return f"# yaml-language-server: $schema={'../' * depth}{SCHEMA_DIR}/{kind}.json"
