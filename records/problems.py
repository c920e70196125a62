"""Problem(path, line, field, message): how every mistake in the records is reported.

Editors read these, so each says where (file and line), what (the field) and how to fix it.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Iterable, Iterator

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True, order=True)
class Problem:
    path: str          # relative to the alliance's root, with forward slashes
    line: int          # 1-based; 0 when the problem is about the whole file
    field: str         # e.g. "sessions[2].venue"; "" when about the whole file
    message: str
    severity: str = ERROR

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        what = f"{self.field}: " if self.field else ""
        tag = "warning: " if self.severity == WARNING else ""
        return f"{where}: {what}{tag}{self.message}"

    def github(self) -> str:
        """A GitHub Actions workflow command, so problems show on the changed line of a PR.

        Escaped as GitHub's runner reads workflow commands (its toolkit's escapeData and
        escapeProperty): in the message ``%``, CR and LF; in a property also ``:`` and ``,``,
        which would otherwise end the property (a file named ``a,line=1::x.md`` must not
        inject a command of its own). ``title`` is the field, or the file's name when the
        problem is about the whole file.
        """
        kind = "error" if self.is_error else "warning"
        props = [("file", self.path)]
        if self.line:
            props.append(("line", str(self.line)))
        props.append(("title", self.field or self.path.rsplit("/", 1)[-1] or self.path))
        shown = ",".join(f"{name}={_escape_property(value)}" for name, value in props)
        message = f"{self.field}: {self.message}" if self.field else self.message
        return f"::{kind} {shown}::{_escape_data(message)}"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


@dataclass
class Problems:
    """Collects every problem of a run; nothing stops at the first one."""

    items: list[Problem] = field(default_factory=list)

    def error(self, path: str, line: int, field: str, message: str) -> None:
        self.items.append(Problem(path, line, field, message, ERROR))

    def warning(self, path: str, line: int, field: str, message: str) -> None:
        self.items.append(Problem(path, line, field, message, WARNING))

    def extend(self, problems: Iterable[Problem]) -> None:
        self.items.extend(problems)

    def strict(self) -> "Problems":
        """Under --strict every warning is an error."""
        return Problems([Problem(p.path, p.line, p.field, p.message, ERROR) for p in self.items])

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.items if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.items if not p.is_error]

    def __iter__(self) -> Iterator[Problem]:
        return iter(sorted(self.items, key=lambda p: (p.path, p.line, p.field, p.message)))

    def __len__(self) -> int:
        return len(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)


def did_you_mean(word: object, known: Iterable[str]) -> str:
    """' Did you mean 'x'?' for a near miss, else ''. Appended to messages about unknown words."""
    if not isinstance(word, str):
        return ""
    matches = difflib.get_close_matches(word.lower(), list(known), n=1, cutoff=0.6)
    return f"; did you mean {matches[0]!r}?" if matches else ""
