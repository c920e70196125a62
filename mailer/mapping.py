"""Import mappings: ``imports/<name>.yml`` says which question of a form export is which field,
and which answer is which vocabulary word. Committed to git: it holds questions and answer
options, never anybody's answers.

    kind: subscribers              # or: evaluations
    source: staff-questionnaire-2025   # optional: where consent was given [default: the file name]
    dates: day-first               # optional: how 03/04/2025 reads (day-first | month-first)
    course: phonics-for-tas        # evaluations: the course every answer is about (or a column)
    columns:                       # the question's text (one line) -> a field, or `ignore`
      Email: email
      "What is your role?": roles
      "Completion time": date
    answers:                       # per field: the answer as written -> what it means
      roles:
        "Teaching Assistant / HLTA": teaching-assistant
        "Prefer not to say": ignore
      consent:
        "Yes, I agree to receive the alliance's newsletter": yes   # the wording is its version

An answer that is already a vocabulary word or its label ("Primary", "teaching assistant")
needs no line. ``?`` marks what ``mapping suggest`` could not place: the import refuses until an
editor writes a field (or ``ignore``) there.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from records.files import read_yaml
from records.problems import Problems, did_you_mean
from records.tree import line_of

SUBSCRIBER_FIELDS = ("email", "name", "first_name", "last_name", "school", "roles", "phases",
                     "interests", "consent", "date", "source", "ignore")
EVALUATION_FIELDS = ("course", "date", "rating", "change", "quote_consent", "ignore")
FIELDS = {"subscribers": SUBSCRIBER_FIELDS, "evaluations": EVALUATION_FIELDS}
REQUIRED = {"subscribers": ("email", "consent"), "evaluations": ("rating",)}
# fields whose answers are translated through `answers:`
WORD_FIELDS = ("roles", "phases", "interests")
ANSWER_FIELDS = ("roles", "phases", "interests", "school", "consent", "course", "rating",
                 "quote_consent")
UNPLACED = "?"
NAME_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_YES = {"yes", "y", "true", "1", "agree", "i agree"}
_NO = {"no", "n", "false", "0"}


class MappingError(Exception):
    """The mapping cannot be used; ``problems`` says where and why, one line each."""

    def __init__(self, problems: Problems):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def answer_key(text: Any) -> str:
    """How answers are compared: case, spacing, curly quotes and a trailing ; do not matter."""
    value = str(text).replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"') \
        .replace("\u201d", '"').strip().rstrip(";").strip()
    return " ".join(value.split()).casefold()


def word_of(text: str) -> str:
    """'Teaching assistant' -> 'teaching-assistant': how a label becomes a vocabulary word."""
    return "-".join(answer_key(text).replace("_", " ").replace("/", " ").split())


@dataclass(frozen=True)
class Vocab:
    """What answers may mean: the alliance's words and record ids."""

    roles: tuple[str, ...]
    phases: tuple[str, ...]
    interests: tuple[str, ...]          # strand ids and specialisms
    schools: tuple[str, ...] = ()
    courses: tuple[str, ...] = ()

    @classmethod
    def from_records(cls, records) -> "Vocab":
        from records.schema import STRANDS
        vocab = records.vocabulary
        return cls(tuple(vocab.roles), tuple(vocab.phases),
                   tuple(dict.fromkeys([*STRANDS, *vocab.specialisms])),
                   tuple(records.schools), tuple(records.courses))

    def words(self, field_name: str) -> tuple[str, ...]:
        return {"roles": self.roles, "phases": self.phases, "interests": self.interests,
                "school": self.schools, "course": self.courses}.get(field_name, ())


@dataclass
class Mapping:
    name: str
    path: str                                   # imports/<name>.yml, for messages
    kind: str
    columns: dict[str, str]                     # answer_key(question) -> field
    questions: dict[str, str]                   # answer_key(question) -> the question as written
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)   # field -> key -> meaning
    written: dict[str, dict[str, str]] = field(default_factory=dict)   # field -> key -> as written
    wording: dict[str, str] = field(default_factory=dict)   # consent key -> wording as written
    source: str = ""
    day_first: bool = True
    course: str | None = None

    def field_of(self, question: str) -> str | None:
        return self.columns.get(answer_key(question))


def mapping_path(root: Path, name: str) -> Path:
    return Path(root) / "imports" / f"{name}.yml"


def load_mapping(root: Path, name: str, vocab: Vocab) -> Mapping:
    """Read and check ``imports/<name>.yml``; MappingError lists every problem with its line."""
    problems = Problems()
    rel = f"imports/{name}.yml"
    if not NAME_RE.match(name):
        problems.error(rel, 0, "", f"{name!r} is not a mapping name: use lower-case letters, digits "
                       "and hyphens (the file name in imports/ without .yml)")
        raise MappingError(problems)
    file = mapping_path(root, name)
    if not file.is_file():
        known = sorted(p.stem for p in (Path(root) / "imports").glob("*.yml"))
        problems.error(rel, 0, "", f"no such mapping{did_you_mean(name, known)}; write one with "
                       f"`python -m mailer subscribers mapping suggest FILE --name {name}`")
        raise MappingError(problems)
    doc = read_yaml(file, rel, problems)
    data = doc.data
    if problems.errors:
        raise MappingError(problems)
    if not isinstance(data, dict):
        problems.error(rel, 1, "", "should be a group of fields: kind, columns, answers")
        raise MappingError(problems)
    mapping = _build(name, rel, data, vocab, problems)
    if problems.errors:
        raise MappingError(problems)
    return mapping


def _build(name: str, rel: str, data: dict, vocab: Vocab, problems: Problems) -> Mapping:
    def error(loc: tuple, message: str) -> None:
        problems.error(rel, line_of(data, loc, 1), ".".join(str(k) for k in loc), message)

    kind = data.get("kind", "subscribers")
    if kind not in FIELDS:
        error(("kind",), f"{kind!r} is not one of subscribers, evaluations{did_you_mean(kind, FIELDS)}")
        return Mapping(name, rel, "subscribers", {}, {})
    for key in data:
        if key not in ("kind", "source", "dates", "course", "columns", "answers"):
            error((key,), f"unknown field{did_you_mean(key, ['kind', 'source', 'dates', 'course', 'columns', 'answers'])}")
    dates = data.get("dates", "day-first")
    if dates not in ("day-first", "month-first"):
        error(("dates",), f"{dates!r} should be day-first (14/09/2025) or month-first (09/14/2025)")
    mapping = Mapping(name, rel, kind, {}, {}, source=str(data.get("source") or ""),
                      day_first=dates != "month-first")
    if "course" in data:
        course = str(data["course"])
        if kind != "evaluations":
            error(("course",), "only an evaluations mapping names a course")
        elif course not in vocab.courses:
            error(("course",), f"unknown course {course!r}{did_you_mean(course, vocab.courses)}")
        mapping.course = course
    _columns(mapping, data, vocab, error)
    _answers(mapping, data, vocab, error)
    return mapping


def _columns(mapping: Mapping, data: dict, vocab: Vocab, error) -> None:
    columns = data.get("columns")
    allowed = FIELDS[mapping.kind]
    if not isinstance(columns, dict) or not columns:
        error(("columns",), "is required: each question as written, then `: ` and its field "
              f"({', '.join(allowed)})")
        return
    for question, target in columns.items():
        target = str(target).strip() if target is not None else ""
        if target == UNPLACED:
            error(("columns", question), "is marked ? (not placed yet): write the field it "
                  f"holds ({', '.join(allowed)}) or `ignore`")
            continue
        if target not in allowed:
            error(("columns", question), f"{target!r} is not a field of {mapping.kind}; "
                  f"use one of {', '.join(allowed)}{did_you_mean(target, allowed)}")
            continue
        key = answer_key(question)
        if target != "ignore" and target in mapping.columns.values():
            error(("columns", question), f"two questions are mapped to {target}; keep one "
                  "and set the other to `ignore`")
            continue
        mapping.columns[key] = target
        mapping.questions[key] = str(question)
    placed = set(mapping.columns.values())
    for required in REQUIRED[mapping.kind]:
        if required not in placed and columns and not any(
                str(v).strip() == UNPLACED for v in columns.values()):
            error(("columns",), f"no question is mapped to {required}; the import needs one")


def _answers(mapping: Mapping, data: dict, vocab: Vocab, error) -> None:
    answers = data.get("answers") or {}
    if not isinstance(answers, dict):
        error(("answers",), "should be a group: a field, then its answers indented below it")
        return
    for field_name, table in answers.items():
        if field_name not in ANSWER_FIELDS:
            error(("answers", field_name), f"answers are translated for {', '.join(ANSWER_FIELDS)}"
                  f"{did_you_mean(field_name, ANSWER_FIELDS)}")
            continue
        if not isinstance(table, dict):
            error(("answers", field_name), "should list answers, one per line: \"the answer\": meaning")
            continue
        out = mapping.answers.setdefault(field_name, {})
        written = mapping.written.setdefault(field_name, {})
        for answer, meaning in table.items():
            loc = ("answers", field_name, answer)
            try:
                out[answer_key(answer)] = meaning_of(field_name, meaning, vocab)
                written[answer_key(answer)] = " ".join(str(answer).split())
            except ValueError as err:
                error(loc, str(err))
                continue
            if field_name == "consent":
                mapping.wording[answer_key(answer)] = " ".join(str(answer).split())


def meaning_of(field_name: str, meaning: Any, vocab: Vocab) -> Any:
    """What one line of `answers:` means, checked; ValueError in words an editor can act on."""
    if isinstance(meaning, str) and meaning.strip() == UNPLACED:
        raise ValueError("is marked ? (not placed yet): write what this answer means, or `ignore`")
    if meaning == "ignore":
        return None
    if field_name in ("consent", "quote_consent"):
        if meaning is True or answer_key(meaning) in _YES:
            return True
        if meaning is False or answer_key(meaning) in _NO:
            return False
        raise ValueError(f"{meaning!r} should be yes or no")
    if field_name == "rating":
        if isinstance(meaning, bool) or not isinstance(meaning, int) or not 1 <= meaning <= 5:
            raise ValueError(f"{meaning!r} should be a whole number from 1 to 5")
        return meaning
    words = meaning if isinstance(meaning, list) else [meaning]
    known = vocab.words(field_name)
    out = []
    for word in words:
        word = str(word).strip()
        if field_name == "school" and word not in known:
            raise ValueError(f"unknown school {word!r}{did_you_mean(word, known)}; "
                             "use a school id (a file name in content/schools/) or `ignore`")
        if word not in known:
            raise ValueError(f"{word!r} is not one of the {field_name} words"
                             f"{did_you_mean(word, known)} (known: {', '.join(known[:12])}"
                             f"{', ...' if len(known) > 12 else ''})")
        out.append(word)
    return out if field_name in WORD_FIELDS else out[0]
