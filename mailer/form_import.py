"""Form exports through a mapping into the database: subscribers, or one course's evaluations.

Every row that cannot be mapped (an unknown answer, a missing or broken address, a date that
is not one) is reported by row and column and skipped; every other row is imported. A file
whose header lacks a question the mapping names is refused as a whole (the export is not the
one the mapping was written for), before anything is written.

Subscribers go through :class:`mailer.importer.Importer`, so the consent rules are the CSV
import's: nobody is added without consent, an unsubscribed or suppressed address is left
alone, a re-import is idempotent. The consent answer's wording is kept as its version.

Evaluations keep no name or address: the course, the date, the rating, what the person will
change and whether they agreed to be quoted. A re-import adds nothing twice (each response is
keyed by a hash of its course and cells).
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any, Iterator

from records.problems import did_you_mean

from .forms import Export, FormError
from .importer import Importer, ImportResult, valid_address
from .mapping import Mapping, Vocab
from .store import Store, now
from .translate import CellError, Translator, split_name, when_date


@dataclass
class EvaluationResult:
    added: int = 0
    unchanged: int = 0
    skipped: int = 0
    rows: int = 0
    by_course: dict[str, int] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)

    def summary(self) -> str:
        courses = ", ".join(f"{c}: {n}" for c, n in sorted(self.by_course.items()))
        return (f"{self.added} evaluations added, {self.unchanged} already held, {self.skipped} "
                f"skipped" + (f" ({courses})" if courses else ""))


def _check_header(translator: Translator, messages: list[str]) -> None:
    missing = translator.missing_questions()
    if missing:
        header = translator.export.header
        lines = [f"{q!r}{did_you_mean(q, header)}" for q in missing]
        raise FormError(f"the file has no question {'; '.join(lines)} (named in "
                        f"{translator.mapping.path}); is this the export the mapping was written "
                        "for? Nothing was imported")
    ignored = translator.ignored_questions()
    if ignored:
        messages.append(f"row 1: not in {translator.mapping.path}, so ignored: "
                        + "; ".join(repr(q) for q in ignored))


# --- subscribers ------------------------------------------------------------------------------

def import_subscribers(store: Store, export: Export, mapping: Mapping, vocab: Vocab, *,
                       today: dt.date | None = None) -> ImportResult:
    """Subscribers from a form export through ``mapping`` (kind: subscribers)."""
    if mapping.kind != "subscribers":
        raise FormError(f"{mapping.path} is a mapping for {mapping.kind}; import it with "
                        f"`python -m mailer {mapping.kind} import`")
    translator = Translator(export, mapping, vocab)
    result = ImportResult()
    _check_header(translator, result.messages)
    today = today or dt.date.today()
    source = mapping.source or export.path.name
    importer = Importer(store, today=today)
    importer.file_label = export.path.name          # consent events say "<file> row N"
    importer.write_rows(_subscriber_rows(translator, result, source, today), result)
    return result


def _subscriber_rows(translator: Translator, result: ImportResult, source: str,
                     today: dt.date) -> Iterator[tuple[int, dict]]:
    seen: dict[str, int] = {}
    for number, cells in translator.export.rows:
        result.rows += 1
        fields, errors = translator.row(number, cells)
        errors += _subscriber_errors(translator, number, fields, today)
        if errors:
            result.skipped += 1
            result.messages.extend(str(e) for e in errors)
            continue
        row = subscriber_row(fields, source)
        first = seen.get(row["email"])
        if first is not None:
            result.duplicates += 1
            result.messages.append(f"row {number}: same address as row {first}; the later row is kept")
        seen[row["email"]] = number
        yield number, row


def _column_of(translator: Translator, target: str) -> tuple[str, str]:
    for i, name in translator.fields.items():
        if name == target:
            return translator.export.column_letter(i), translator.export.header[i]
    return "?", target


def _subscriber_errors(translator: Translator, number: int, fields: dict, today: dt.date) -> list[CellError]:
    errors = []
    email = (fields.get("email") or "").strip().lower()
    if not email or not valid_address(email):
        column, question = _column_of(translator, "email")
        what = "is empty: every subscriber needs an email address" if not email else \
            f"{fields['email']!r} is not an email address"
        errors.append(CellError(number, column, question, what))
    when = fields.get("date")
    if when is not None and when.date() > today:
        column, question = _column_of(translator, "date")
        errors.append(CellError(number, column, question, f"{when:%Y-%m-%d} is in the future"))
    return errors


def subscriber_row(fields: dict[str, Any], source: str) -> dict:
    """The dict Importer writes (see importer.Importer._row), from a translated row."""
    first, last = fields.get("first_name", ""), fields.get("last_name", "")
    if "name" in fields and not (first or last):
        first, last = split_name(fields["name"])
    consent = fields.get("consent")
    given, wording = consent if consent is not None else (None, None)
    return {
        "email": fields["email"].strip().lower(),
        "first_name": first, "last_name": last,
        "school": fields.get("school", ""),
        "roles": fields.get("roles", ""), "phases": fields.get("phases", ""),
        "interests": fields.get("interests", ""),
        "consent": given,
        "consent_date": when_date(fields.get("date")) if given else None,
        "consent_source": fields.get("source") or source,
        "consent_wording": wording,
        "consent_at": fields.get("date"),
    }


# --- evaluations ------------------------------------------------------------------------------

def import_evaluations(store: Store, export: Export, mapping: Mapping, vocab: Vocab, *,
                       course: str | None = None) -> EvaluationResult:
    """One course's evaluations (``course``, the mapping's ``course:`` or a course column)."""
    if mapping.kind != "evaluations":
        raise FormError(f"{mapping.path} is a mapping for {mapping.kind}; import it with "
                        f"`python -m mailer subscribers import FILE --mapping {mapping.name}`")
    if course is not None and course not in vocab.courses:
        raise FormError(f"unknown course {course!r}{did_you_mean(course, vocab.courses)}")
    translator = Translator(export, mapping, vocab)
    result = EvaluationResult()
    _check_header(translator, result.messages)
    fixed = course or mapping.course
    if fixed is None and "course" not in translator.fields.values():
        raise FormError(f"which course are these evaluations about? Give --course ID (or "
                        f"`course:` in {mapping.path}, or map a question to course)")
    stamp = now()
    source = mapping.source or export.path.name
    with store.transaction() as conn:
        for number, cells in export.rows:
            result.rows += 1
            fields, errors = translator.row(number, cells)
            course_id = fields.get("course") or fixed
            if not errors and "rating" not in fields:
                column, question = _column_of(translator, "rating")
                errors.append(CellError(number, column, question, "is empty: every evaluation needs a rating"))
            if not errors and not course_id:
                column, question = _column_of(translator, "course")
                errors.append(CellError(number, column, question, "is empty: which course is this about?"))
            if errors:
                result.skipped += 1
                result.messages.extend(str(e) for e in errors)
                continue
            key = hashlib.sha256("\x1f".join([course_id, *(str(c) for c in cells)]).encode()).hexdigest()
            added = conn.execute(
                "INSERT INTO evaluations (course, response_key, submitted_at, rating, change, "
                "quote_consent, source, imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (response_key) DO NOTHING",
                (course_id, key, when_date(fields.get("date")), fields["rating"],
                 fields.get("change", ""), int(bool(fields.get("quote_consent"))), source,
                 stamp)).rowcount
            if added:
                result.added += 1
                result.by_course[course_id] = result.by_course.get(course_id, 0) + 1
            else:
                result.unchanged += 1
    return result
