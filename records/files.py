"""Read YAML files and Markdown front matter with the line of every key.

One reader for every record: PyYAML's libyaml parser (CSafeLoader) composes the nodes and a
direct walk turns them into LineDict/LineList, so every file is read with the same YAML 1.1
rules, plus the documented lenient readings (``13:30`` and ``012345`` stay text).

Never swallows an error: a YAML syntax error becomes a Problem with its line and a hint in
plain words (one call site: :func:`_after_error`, with records.yaml_errors), and loading goes on with the other files.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import frontmatter
import yaml

from . import yaml_errors
from .problems import Problems

_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml is ~10x faster


class LineDict(dict):
    """A mapping that remembers the line of each key (and its own first line)."""

    __slots__ = ("lines", "line")


class LineList(list):
    """A sequence that remembers the line of each item."""

    __slots__ = ("lines", "line")


class _LineLoader(_Base):
    """SafeLoader that keeps line numbers and reads a few YAML 1.1 traps as editors mean them."""

    yaml_implicit_resolvers = {k: list(v) for k, v in _Base.yaml_implicit_resolvers.items()}
    _tags: dict[str, str] = {}       # plain scalar -> its tag: the same words recur in every file

    def resolve(self, kind, value, implicit):
        # libyaml calls this for every scalar; the regular expressions behind it are the
        # costliest part of reading a record, so each distinct plain value is resolved once.
        if kind is yaml.ScalarNode:
            if not implicit[0]:
                return "tag:yaml.org,2002:str"          # quoted: always text
            tag = self._tags.get(value)
            if tag is None:
                if len(self._tags) > 200_000:
                    self._tags.clear()
                tag = self._tags[value] = super().resolve(kind, value, implicit)
            return tag
        return super().resolve(kind, value, implicit)


# `start: 13:30` would be the number 810 (YAML 1.1 base 60) and `urn: 012345` an octal number:
# read both as text, which is what an editor means by them.
for _first in "0123456789":
    _LineLoader.yaml_implicit_resolvers.setdefault(_first, []).insert(
        0, ("tag:yaml.org,2002:str", re.compile(r"^(?:\d{1,2}:\d{2}(?::\d{2})?|0\d+)$")))


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode):
    data = LineDict()
    data.lines = {}
    data.line = node.start_mark.line + 1
    yield data
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool, dt.date)) or key is None:
            raise yaml.constructor.ConstructorError(
                None, None, "a field name must be plain text", key_node.start_mark)
        key = str(key) if not isinstance(key, str) else key
        if key in data:
            raise yaml.constructor.ConstructorError(
                None, None, f"field {key!r} is given twice", key_node.start_mark)
        data[key] = loader.construct_object(value_node, deep=True)
        data.lines[key] = key_node.start_mark.line + 1


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode):
    data = LineList()
    data.line = node.start_mark.line + 1
    data.lines = [child.start_mark.line + 1 for child in node.value]
    yield data
    data.extend(loader.construct_object(child, deep=True) for child in node.value)


def _construct_timestamp(loader: _LineLoader, node: yaml.ScalarNode):
    # An impossible date such as 2027-02-30 stays text, so the field's validator can report it
    # with its line instead of the YAML library failing with a bare ValueError.
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError:
        return node.value


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)
_LineLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


_STR, _MAP, _SEQ = "tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
_SCALARS = {
    "tag:yaml.org,2002:int": _LineLoader.construct_yaml_int,
    "tag:yaml.org,2002:float": _LineLoader.construct_yaml_float,
    "tag:yaml.org,2002:bool": _LineLoader.construct_yaml_bool,
    "tag:yaml.org,2002:null": _LineLoader.construct_yaml_null,
}


class _Fallback(Exception):
    """Something the fast builder does not handle (merge keys, explicit tags): use PyYAML's."""


def _build(loader: _LineLoader, node: yaml.Node) -> Any:
    """Turn a composed node into LineDict/LineList/scalars.

    PyYAML's generic constructor costs ~0.15 ms a record file; records are plain maps, lists
    and scalars, so this direct walk does the same work in a fraction of the time.
    """
    tag = node.tag
    if tag == _STR:
        return node.value
    if tag == _MAP:
        data = LineDict()
        data.line = node.start_mark.line + 1
        data.lines = {}
        for key_node, value_node in node.value:
            if key_node.tag != _STR:
                raise _Fallback
            key = key_node.value
            if key in data:
                raise yaml.constructor.ConstructorError(
                    None, None, f"field {key!r} is given twice", key_node.start_mark)
            data[key] = _build(loader, value_node)
            data.lines[key] = key_node.start_mark.line + 1
        return data
    if tag == _SEQ:
        data = LineList(_build(loader, child) for child in node.value)
        data.line = node.start_mark.line + 1
        data.lines = [child.start_mark.line + 1 for child in node.value]
        return data
    if tag == "tag:yaml.org,2002:timestamp":
        return _construct_timestamp(loader, node)
    scalar = _SCALARS.get(tag)
    if scalar is None:
        raise _Fallback
    return scalar(loader, node)


# --- aliases: `*name` repeats what `&name` marked; nested, a few lines expand to gigabytes ----

MAX_EXPANDED_NODES = 100_000     # values a record file may hold once aliases are expanded


def may_hold_aliases(text: str) -> bool:
    """Cheap test: a YAML alias needs both an anchor (&) and an alias (*)."""
    return "&" in text and "*" in text


def alias_bomb(node: yaml.Node, limit: int = MAX_EXPANDED_NODES) -> tuple[int, str] | None:
    """(line, message) if the composed document ``node`` would expand, through its aliases,
    to more than ``limit`` values ("a billion laughs"); None otherwise. The composed graph
    shares each aliased node, so this counts in time linear in the file, without expanding."""
    sizes: dict[int, int] = {}
    anchors: list[int] = []                # lines of the values repeated by an alias

    def size(item: yaml.Node) -> int:
        known = sizes.get(id(item))
        if known is not None:
            anchors.append(item.start_mark.line + 1)
            return known
        total = 1
        if isinstance(item, yaml.MappingNode):
            for key, value in item.value:
                total += size(key) + size(value)
        elif isinstance(item, yaml.SequenceNode):
            for child in item.value:
                total += size(child)
        sizes[id(item)] = min(total, limit + 1)
        return sizes[id(item)]

    try:
        total = size(node)
    except RecursionError:
        total = limit + 1
    if total <= limit:
        return None
    return (anchors[0] if anchors else node.start_mark.line + 1,
            f"the YAML aliases (*name) in this file expand to more than {limit:,} values; "
            "write the values out instead of repeating them with & and *")


def parse_yaml(text: str, path: str, problems: Problems, *, offset: int = 0) -> Any:
    """Parse YAML text; on a syntax error add a Problem and return None. offset shifts lines."""
    loader = _LineLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        bomb = alias_bomb(node) if may_hold_aliases(text) else None
        if bomb is not None:
            problems.error(path, bomb[0] + offset, "", bomb[1])
            return None
        try:
            return _build(loader, node)
        except (_Fallback, RecursionError):
            return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as err:
        return _after_error(text, err, path, problems, offset)
    finally:
        loader.dispose()


def _after_error(text: str, err: yaml.YAMLError, path: str, problems: Problems, offset: int) -> Any:
    """Report the syntax error in plain words (yaml_errors), then read the text with that line
    fixed, so the file's other problems show in the same run; None if it cannot be read."""
    for attempt in range(8):
        found = yaml_errors.explain(text, err)
        if attempt == 0 or found.repaired is not None:   # a later guess that fixes nothing is
            problems.error(path, found.line + offset, found.field, found.message)  # no news
        if found.repaired is None:
            return None
        text = found.repaired
        try:
            return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
        except yaml.YAMLError as again:
            err = again
    return None


@dataclass
class Document:
    """One record file: its fields (with lines), and for Markdown its body."""

    path: str                      # relative, with forward slashes, for messages
    data: Any                      # LineDict normally; None after a syntax error
    body: str | None = None        # Markdown after the front matter
    body_line: int = 0
    text: str | None = None        # the whole file, as read (to place lines in the body)

    @property
    def source(self) -> Any:
        return self.data


def _read_text(file: str | Path, rel: str, problems: Problems) -> str | None:
    try:
        with open(file, encoding="utf-8-sig") as handle:
            return handle.read()
    except UnicodeDecodeError as err:
        problems.error(rel, 0, "", f"not UTF-8 text (byte {err.start}); save the file as UTF-8")
    except OSError as err:
        problems.error(rel, 0, "", f"cannot read the file: {err.strerror}")
    return None


def _lint(text: str, rel: str, problems: Problems) -> None:
    for found in yaml_errors.lint(text):
        problems.warning(rel, found.line, found.field, found.message)


def read_yaml(file: str | Path, rel: str, problems: Problems) -> Document:
    text = _read_text(file, rel, problems)
    if text is not None:
        _lint(text, rel, problems)
    data = parse_yaml(text, rel, problems) if text is not None else None
    return Document(rel, data)


_HANDLER = frontmatter.YAMLHandler()


def read_markdown(file: str | Path, rel: str, problems: Problems) -> Document:
    """A Markdown record: YAML front matter between '---' lines, then the body."""
    text = _read_text(file, rel, problems)
    if text is None:
        return Document(rel, None)
    if not _HANDLER.detect(text):
        problems.error(rel, 1, "", "the file must start with a line '---', then its fields, "
                                   "then another '---' line, then the text")
        return Document(rel, None)
    try:
        fm, body = _HANDLER.split(text)
    except ValueError:
        problems.error(rel, 1, "", "the fields are not closed: add a line '---' after the last field")
        return Document(rel, None)
    # fm keeps the newline after the opening '---', so its line numbers are the file's own;
    # the body starts on the line after the closing '---'.
    body_line = fm.count("\n") + 2
    _lint(fm, rel, problems)
    data = parse_yaml(fm, rel, problems)
    return Document(rel, data, body.strip("\n"), body_line, text)
