"""`subscribers mapping suggest FILE`: a first mapping written from an export's questions and
the distinct answers given, for an editor to check and commit as ``imports/<name>.yml``.

Questions are placed by the words they use ("email", "role", "phase", "key stage", "consent");
answers by the alliance's vocabulary, its labels, common school words (KS1, HLTA, NQT, SENCo,
Sixth form) and near misses. What it cannot place is written as ``?`` with a comment saying
why (and "did you mean" when something is close): the import refuses a mapping holding ``?``,
so nothing unchecked slips through. Only questions and answer options are written: the
distinct answers of a free-text question (names, addresses, comments) never are.
"""
from __future__ import annotations

import difflib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .forms import Export, cell_text, looks_month_first
from .mapping import UNPLACED, WORD_FIELDS, Vocab, answer_key, word_of
from .translate import split_choices

MAX_OPTIONS = 60      # a question with more distinct answers is free text, not a choice

# (field, words in the question), first match wins; checked on the question in lower case
QUESTION_RULES: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "subscribers": [
        ("ignore", ("start time", "last modified", "^id$")),
        ("date", ("completion time", "timestamp", "submitted")),
        ("consent", ("consent", "agree", "permission", "gdpr", "happy to receive", "newsletter")),
        ("email", ("email", "e-mail")),
        ("first_name", ("first name", "forename", "given name")),
        ("last_name", ("surname", "last name", "family name")),
        ("name", ("name",)),
        ("school", ("school", "setting", "workplace", "academy")),
        ("phases", ("phase", "key stage", "year group", "age range")),
        ("roles", ("role", "job", "position", "post")),
        ("interests", ("interest", "want", "would you like", "areas", "topics", "develop", "cpd")),
    ],
    "evaluations": [
        ("ignore", ("start time", "last modified", "^id$", "^e-?mail", "^name$", "your name\\?$")),
        ("date", ("completion time", "timestamp", "submitted")),
        ("quote_consent", ("quote", "may we use", "publish", "share your")),
        ("course", ("which course", "course attended", "course name", "programme")),
        ("rating", ("rate", "rating", "score", "overall", "1-5", "1 to 5", "scale")),
        ("change", ("change", "practice", "differently", "impact", "take away")),
    ],
}
SYNONYMS = {
    "roles": {"ta": "teaching-assistant", "hlta": "teaching-assistant", "lsa": "teaching-assistant",
              "learning support assistant": "teaching-assistant", "class teacher": "teacher",
              "nqt": "ect", "early career teacher": "ect", "trainee teacher": "trainee",
              "student teacher": "trainee", "subject leader": "middle-leader",
              "head of department": "middle-leader", "head of year": "middle-leader",
              "middle leader": "middle-leader", "deputy head": "senior-leader",
              "deputy headteacher": "senior-leader", "assistant head": "senior-leader",
              "head teacher": "headteacher", "head": "headteacher", "principal": "headteacher",
              "sendco": "senco", "senco": "senco", "inclusion lead": "senco",
              "office": "support-staff", "admin": "support-staff", "business manager": "support-staff"},
    "phases": {"eyfs": "nursery", "early years": "nursery", "reception": "infant", "ks1": "infant",
               "key stage 1": "infant", "ks2": "junior", "key stage 2": "junior",
               "ks3": "secondary", "key stage 3": "secondary", "ks4": "secondary",
               "key stage 4": "secondary", "ks5": "post-16", "key stage 5": "post-16",
               "sixth form": "post-16", "6th form": "post-16", "fe": "post-16",
               "send": "special", "sen": "special", "all through": "all-through"},
    "interests": {"send": "send", "sen": "send", "special educational needs": "send",
                  "phonics": "early-reading", "reading": "early-reading", "mathematics": "maths",
                  "leadership": "leadership", "mentoring": "itt-mentoring",
                  "initial teacher training": "itt", "school direct": "itt", "scitt": "itt",
                  "cpd": "cpd", "courses": "cpd", "research": "research",
                  "school to school support": "school-support", "sle": "sle"},
}
RATING_WORDS = {"excellent": 5, "very good": 5, "good": 4, "satisfactory": 3, "ok": 3,
                "average": 3, "fair": 3, "poor": 2, "very poor": 1}


@dataclass
class Column:
    question: str
    field: str
    why: str = ""
    answers: Counter = field(default_factory=Counter)
    many: bool = False            # more distinct answers than a choice question has


def place_question(question: str, kind: str) -> tuple[str, str]:
    """(field, why) for one question; field ? when nothing fits."""
    text = question.lower()
    for target, words in QUESTION_RULES[kind]:
        for word in words:
            if (word.startswith("^") and re.search(word, text)) or (not word.startswith("^") and word in text):
                return target, ""
    return UNPLACED, "could not place this question"


def read_answers(export: Export, kind: str) -> list[Column]:
    columns = [Column(q, *place_question(q, kind)) for q in export.header]
    taken: set[str] = set()
    for column in columns:                      # one question per field: the first keeps it
        if column.field not in (UNPLACED, "ignore"):
            if column.field in taken:
                column.field, column.why = UNPLACED, "another question already holds this field"
            taken.add(column.field)
    wanted = [c for c in columns if c.field in (*WORD_FIELDS, "school", "consent", "course",
                                                "rating", "quote_consent", "date")]
    for _, cells in export.rows:
        for column in wanted:
            if column.many:
                continue
            value = cells[export.header.index(column.question)] if export.header.index(column.question) < len(cells) else None
            text = cell_text(value)
            if not text:
                continue
            if column.field == "date":
                if len(column.answers) < 200:
                    column.answers[text] += 1
                continue
            pieces = split_choices(text, {}) if column.field in WORD_FIELDS else [text]
            for piece in pieces:
                column.answers[" ".join(piece.split())] += 1
            if len(column.answers) > MAX_OPTIONS and column.field not in ("school",):
                column.many = True
    return columns


def meaning(target: str, answer: str, vocab: Vocab, school_names: dict[str, str],
            course_titles: dict[str, str]) -> tuple[Any, str]:
    """(what the answer means, a comment) for one answer; ? when it could not be placed."""
    key = answer_key(answer)
    if target in WORD_FIELDS:
        known = vocab.words(target)
        word = word_of(answer)
        if word in known:
            return None, ""                          # a vocabulary word: needs no line
        found = [w for w in known if re.search(rf"\b{re.escape(w.replace('-', ' '))}\b", key)]
        if not found:                                # the longest school word that fits
            for synonym, w in sorted(SYNONYMS.get(target, {}).items(), key=lambda kv: -len(kv[0])):
                if re.search(rf"\b{re.escape(synonym)}\b", key) and w in known:
                    found = [w]
                    break
        if found:
            return (found[0] if len(found) == 1 else found), ""
        close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
        return UNPLACED, f"did you mean {close[0]}?" if close else f"one of: {', '.join(known)}, or ignore"
    if target in ("consent", "quote_consent"):
        if re.match(r"^(yes|i agree|i consent|i am happy|i'm happy|agree|happy)\b", key):
            return True, ""
        if re.match(r"^(no|i do not|i don't|not)\b", key):
            return False, ""
        return UNPLACED, "yes or no?"
    if target == "rating":
        if re.fullmatch(r"[1-5](\.0)?", key):
            return None, ""
        if key in RATING_WORDS:
            return RATING_WORDS[key], ""
        return UNPLACED, "a whole number from 1 to 5"
    if target == "school":
        if word_of(answer) in vocab.schools:
            return None, ""
        if key in school_names:
            return school_names[key], ""
        close = difflib.get_close_matches(key, list(school_names), n=1, cutoff=0.75)
        if close:
            return UNPLACED, f"did you mean {school_names[close[0]]} ({close[0]})?"
        return "", "not a member school: kept as written"
    if target == "course":
        if word_of(answer) in vocab.courses:
            return None, ""
        if key in course_titles:
            return course_titles[key], ""
        close = difflib.get_close_matches(key, list(course_titles), n=1, cutoff=0.7)
        return UNPLACED, f"did you mean {course_titles[close[0]]}?" if close else "which course?"
    return None, ""


def _q(value: Any) -> str:
    """A YAML scalar: JSON's double-quoted strings are valid YAML."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(value) + "]"
    return json.dumps(value, ensure_ascii=False)


def suggest(export: Export, vocab: Vocab, *, kind: str = "subscribers", name: str = "",
            school_names: dict[str, str] | None = None, course_titles: dict[str, str] | None = None
            ) -> tuple[str, int]:
    """The mapping's text and how many things it could not place."""
    columns = read_answers(export, kind)
    dates = [a for c in columns if c.field == "date" for a in c.answers]
    lines = [f"# A first mapping for {export.path.name} ({export.kind}), written by "
             "`python -m mailer subscribers mapping suggest`.",
             "# Check every line; replace each ? with a field or meaning (or ignore). "
             "It holds no answers that identify anyone.",
             f"kind: {kind}"]
    if name:
        lines.append(f"source: {_q(name)}")
    lines.append(f"dates: {'month-first' if looks_month_first(dates) else 'day-first'}")
    unplaced = 0
    lines.append("columns:")
    for column in columns:
        if not column.question:
            continue
        comment = f"   # ? {column.why}" if column.field == UNPLACED else ""
        unplaced += column.field == UNPLACED
        lines.append(f"  {_q(column.question)}: {_q(column.field) if column.field == UNPLACED else column.field}{comment}")
    answer_lines: list[str] = []
    for column in columns:
        if column.field in ("date", UNPLACED, "ignore") or not column.answers:
            continue
        if column.many and column.field != "school":
            answer_lines.append(f"  # {column.field}: more than {MAX_OPTIONS} different answers: "
                                "a free-text question? Write its answers by hand.")
            continue
        block = []
        for answer, _count in sorted(column.answers.items(), key=lambda kv: (-kv[1], kv[0])):
            value, comment = meaning(column.field, answer, vocab, school_names or {}, course_titles or {})
            if value is None or value == "":
                continue
            unplaced += value == UNPLACED
            block.append(f"    {_q(answer)}: {_q(value)}" + (f"   # ? {comment}" if comment else ""))
        if block:
            answer_lines.append(f"  {column.field}:")
            answer_lines.extend(block)
    if answer_lines:
        lines.append("answers:")
        lines.extend(answer_lines)
    return "\n".join(lines) + "\n", unplaced
