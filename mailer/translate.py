"""One row of a form export, through a mapping, into fields: the part of an import that knows
what answers mean. A cell that cannot be understood becomes a :class:`CellError` naming its
row and column; the importer skips that row and reports every such cell.

Multiple-choice cells: Microsoft Forms joins choices with ``;`` and Google Forms with ``, ``,
but an answer may itself hold a comma ("Yes, I agree to ..."), so a cell is first matched as a
whole, then split on ``;``, and only then on ``, ``, joining neighbouring pieces back together
wherever they make a known answer (longest first).
"""
from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass
from typing import Any

from .forms import Export, cell_text, parse_when
from .mapping import WORD_FIELDS, Mapping, Vocab, answer_key, word_of

_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
MAX_TEXT = 200
MAX_CHANGE = 2000        # "what will you change": a paragraph, not a book


@dataclass(frozen=True)
class CellError(Exception):
    row: int
    column: str           # "C" (a letter, as the spreadsheet shows it)
    question: str
    message: str

    def __str__(self) -> str:
        question = self.question if len(self.question) <= 60 else self.question[:57] + "..."
        return f"row {self.row}, column {self.column} ({question!r}): {self.message}"


class Translator:
    """Rows of one export through one mapping."""

    def __init__(self, export: Export, mapping: Mapping, vocab: Vocab):
        self.export = export
        self.mapping = mapping
        self.vocab = vocab
        # column index -> field, for the questions the mapping places (others are ignored)
        self.fields: dict[int, str] = {}
        for i, question in enumerate(export.header):
            target = mapping.field_of(question)
            if target and target != "ignore":
                self.fields[i] = target
        self._memo: dict[tuple[str, str], Any] = {}

    def missing_questions(self) -> list[str]:
        """Questions the mapping names that the file does not have (a wrong export, or the
        form was edited): the import refuses, since rows would lose a field silently."""
        present = {answer_key(h) for h in self.export.header}
        return [q for k, q in self.mapping.questions.items() if k not in present]

    def ignored_questions(self) -> list[str]:
        return [h for h in self.export.header if h and self.mapping.field_of(h) is None]

    # --- a row -----------------------------------------------------------------------------
    def row(self, number: int, cells: list[Any]) -> tuple[dict[str, Any], list[CellError]]:
        out: dict[str, Any] = {}
        errors: list[CellError] = []
        for i, target in self.fields.items():
            value = cells[i] if i < len(cells) else None
            try:
                meaning = self.cell(target, value)
            except ValueError as err:
                errors.append(CellError(number, self.export.column_letter(i),
                                        self.export.header[i], str(err)))
                continue
            if meaning is not None:
                out[target] = meaning
        return out, errors

    def cell(self, target: str, value: Any) -> Any:
        if target == "date":
            return None if cell_text(value) == "" else parse_when(value, day_first=self.mapping.day_first)
        text = cell_text(value)
        if not text:
            return None
        if target in ("email", "name", "first_name", "last_name", "source"):
            return _line(text)
        if target == "change":
            return _paragraph(text)
        key = (target, text)
        if key not in self._memo:                   # the same few answers recur on every row
            try:
                self._memo[key] = self._choice(target, text)
            except ValueError as err:
                self._memo[key] = err
        found = self._memo[key]
        if isinstance(found, ValueError):
            raise found
        return found

    def _choice(self, target: str, text: str) -> Any:
        table = self.mapping.answers.get(target, {})
        if target in WORD_FIELDS:
            words: list[str] = []
            for piece in split_choices(text, table):
                meaning = self._one(target, piece, table)
                for word in meaning or ():
                    if word not in words:
                        words.append(word)
            return " ".join(words)
        if target == "consent":
            given = self._one(target, text, table)
            wording = self.mapping.wording.get(answer_key(text), " ".join(text.split()))
            return None if given is None else (given, wording)
        if target == "school":
            key = answer_key(text)
            if key in table:
                return table[key]
            word = word_of(text)
            return word if word in self.vocab.schools else _line(text)   # free text is allowed
        return self._one(target, text, table)

    def _one(self, target: str, text: str, table: dict[str, Any]) -> Any:
        key = answer_key(text)
        if key in table:
            return table[key]
        if target in WORD_FIELDS or target == "course":
            word = word_of(text)
            if word in self.vocab.words(target):
                return [word] if target in WORD_FIELDS else word
        if target in ("consent", "quote_consent"):
            if key in ("yes", "y", "true", "1"):
                return True
            if key in ("no", "n", "false", "0"):
                return False
        if target == "rating":
            try:
                number = float(text)
            except ValueError:
                number = 0.0
            if number.is_integer() and 1 <= number <= 5:
                return int(number)
            raise ValueError(f"{text!r} is not a rating from 1 to 5; add it under answers: rating: "
                             f"in {self.mapping.path}")
        written = self.mapping.written.get(target, {})
        options = {**{k: written.get(k, k) for k in table}, **{w: w for w in self.vocab.words(target)}}
        found = difflib.get_close_matches(key, list(options), n=1, cutoff=0.6)
        close = f"; did you mean {options[found[0]]!r}?" if found else ""   # as the mapping writes it
        raise ValueError(f"unknown answer {text!r}{close}; add it under "
                         f"answers: {target}: in {self.mapping.path}")


def split_choices(text: str, table: dict[str, Any]) -> list[str]:
    """The choices of one multiple-choice cell (see the module's note)."""
    if answer_key(text) in table:
        return [text]
    out: list[str] = []
    for part in text.replace("\n", ";").split(";"):
        part = part.strip()
        if not part:
            continue
        if answer_key(part) in table:
            out.append(part)
            continue
        pieces = [p.strip() for p in part.split(",")]
        start = 0
        while start < len(pieces):
            for end in range(len(pieces), start, -1):       # the longest known run first
                candidate = ", ".join(pieces[start:end])
                if answer_key(candidate) in table or end == start + 1:
                    if candidate:
                        out.append(candidate)
                    start = end
                    break
    return out


def _line(text: str) -> str:
    line = " ".join(_CONTROL_RE.sub(" ", text).split())
    if len(line) > MAX_TEXT:
        raise ValueError(f"is {len(line)} characters; at most {MAX_TEXT}")
    return line


def _paragraph(text: str) -> str:
    clean = _CONTROL_RE.sub(" ", text).strip()
    return clean[:MAX_CHANGE]


def split_name(full: str) -> tuple[str, str]:
    """'Siobhán Ó Súilleabháin' -> ('Siobhán', 'Ó Súilleabháin'): first word, then the rest."""
    parts = full.split(None, 1)
    return (parts[0], parts[1]) if len(parts) == 2 else (full, "")


def when_date(value: dt.datetime | None) -> str | None:
    return value.date().isoformat() if value is not None else None
