"""Questionnaire exports as a header and rows: Microsoft Forms (.xlsx), Google Forms (CSV) and
our own CSV, whatever the spreadsheet did to them.

Rows are numbered as the spreadsheet shows them (the header is row 1), so a message can send
an editor to the right row even when an answer spans several lines. Cells come back as text,
except dates and times, which come back as ``datetime`` (an .xlsx date cell) or as text that
:func:`parse_when` reads. The .xlsx reader is openpyxl in read-only mode: rows are streamed, a
workbook of 100,000 answers is never held in memory.

What the exports look like (the fixtures in tests/ imitate them):
- Microsoft Forms: one sheet; columns ``ID``, ``Start time``, ``Completion time``, ``Email``,
  ``Name`` (and in newer exports ``Last modified time``), then one column per question; a
  multiple-choice answer is its choices joined by ``;`` (with a trailing ``;``); dates are Excel
  date cells (or, when the cell lost its format, a serial number such as ``45914.43``).
- Google Forms: CSV in UTF-8 (often with a byte-order mark), ``Timestamp`` then one column per
  question (the question's text, sometimes several lines); several choices joined by ``, ``;
  the timestamp in the form owner's locale, e.g. ``14/09/2025 10:03:22``.
"""
from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

MS_FORMS_COLUMNS = ("ID", "Start time", "Completion time", "Email", "Name")


class FormError(Exception):
    """The file as a whole cannot be read: one line, said plainly."""


@dataclass
class Export:
    """A file's header and its rows (streamed: iterate ``rows`` once)."""

    path: Path
    kind: str                                  # "ms-forms" | "google-forms" | "csv"
    header: list[str]
    rows: Iterator[tuple[int, list[Any]]]      # (spreadsheet row number, cells)

    def column_letter(self, index: int) -> str:
        """0 -> A, 27 -> AB: how the spreadsheet names a column."""
        letters = ""
        index += 1
        while index:
            index, rest = divmod(index - 1, 26)
            letters = chr(65 + rest) + letters
        return letters


def clean_header(name: Any) -> str:
    """A question's text as one line: a header may hold line breaks, a BOM, doubled spaces."""
    text = "" if name is None else str(name)
    return " ".join(text.replace("\ufeff", "").split())


def open_export(path: Path) -> Export:
    """Read the header of an export and get ready to stream its rows."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _open_xlsx(path)
    if suffix in (".csv", ".txt"):
        return _open_csv(path)
    if suffix == ".xls":
        raise FormError("this is an old Excel file (.xls); open it and save it as .xlsx "
                        "(Excel Workbook) or as CSV UTF-8, then import that")
    raise FormError(f"cannot read {suffix or 'a file without an extension'}: import an .xlsx "
                    "export (Microsoft Forms) or a CSV file (Google Forms, or our columns)")


def _kind(header: list[str], default: str) -> str:
    if all(name in header for name in MS_FORMS_COLUMNS[:3]):
        return "ms-forms"
    if header and header[0].lower() in ("timestamp", "horodateur", "zeitstempel"):
        return "google-forms"
    return default


def _open_csv(path: Path) -> Export:
    handle = open(path, encoding="utf-8-sig", errors="strict", newline="")
    try:
        reader = csv.reader(handle)
        first = next(reader, None)
    except UnicodeDecodeError:
        handle.close()
        raise FormError("the file is not UTF-8 text; in the spreadsheet, save it as "
                        "\"CSV UTF-8\" and import that (nothing was imported)") from None
    except csv.Error as err:
        handle.close()
        raise FormError(f"row 1: the file is not valid CSV ({err}); nothing was imported") from None
    if first is None or not any(c.strip() for c in first):
        handle.close()
        raise FormError("the file is empty: it needs a header row of questions")
    header = [clean_header(c) for c in first]

    def rows() -> Iterator[tuple[int, list[Any]]]:
        number = 1
        try:
            for values in reader:
                number += 1
                if any(v.strip() for v in values):
                    yield number, values
        except UnicodeDecodeError:
            raise FormError(f"row {number + 1}: the file is not UTF-8 text; save it as "
                            "\"CSV UTF-8\" and import it again (nothing was imported)") from None
        except csv.Error as err:
            raise FormError(f"row {number + 1}: the file is not valid CSV ({err}); "
                            "nothing was imported") from None
        finally:
            handle.close()

    return Export(path, _kind(header, "csv"), header, rows())


def _open_xlsx(path: Path) -> Export:
    import zipfile

    from openpyxl import load_workbook
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as err:
        raise FormError(f"this is not a readable .xlsx workbook ({err}); open it in Excel and "
                        "save it again as .xlsx") from None
    sheet = book.worksheets[0]
    stream = sheet.iter_rows(values_only=True)
    first = next(stream, None)
    if first is None or not any(c not in (None, "") for c in first):
        book.close()
        raise FormError("the first sheet is empty: it needs a header row of questions")
    header = [clean_header(c) for c in first]
    while header and not header[-1]:
        header.pop()

    def rows() -> Iterator[tuple[int, list[Any]]]:
        try:
            for number, values in enumerate(stream, start=2):
                cells = list(values[:len(header)])
                if any(c not in (None, "") and str(c).strip() for c in cells):
                    yield number, cells
        finally:
            book.close()

    return Export(path, _kind(header, "xlsx"), header, rows())


# --- cells ---------------------------------------------------------------------------------

def cell_text(value: Any) -> str:
    """A cell as text, as the person typed it (line breaks kept, outer spaces dropped)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    return str(value).replace("\r\n", "\n").strip()


_EXCEL_EPOCH = dt.datetime(1899, 12, 30)
_FORMATS_DAY_FIRST = ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y", "%d-%m-%Y %H:%M:%S",
                      "%d.%m.%Y %H:%M:%S", "%d.%m.%Y")
_FORMATS_MONTH_FIRST = ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y", "%m/%d/%Y %I:%M:%S %p",
                        "%m/%d/%Y %I:%M %p")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}")
_GOOGLE_ISO = re.compile(r"^(\d{4})/(\d{2})/(\d{2}) (\d{1,2}):(\d{2}):(\d{2}) ?(AM|PM)?")


def parse_when(value: Any, *, day_first: bool = True) -> dt.datetime:
    """A date or time from a form export: an Excel date cell or serial number, ISO text, a
    Google timestamp in the owner's locale (``14/09/2025 10:03:22``; ``day_first`` says how to
    read ``03/04/2025``), or ``2025/09/14 10:03:22 AM GMT+1``. ValueError says what was wrong."""
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not 1 <= value < 2958466:                 # Excel's own range: 1900 to 9999
            raise ValueError(f"{value!r} is not a date")
        return _EXCEL_EPOCH + dt.timedelta(days=float(value))
    text = " ".join(str(value).split())
    if not text:
        raise ValueError("is empty")
    if re.fullmatch(r"\d{5}(\.\d+)?", text):          # a serial number that became text
        return parse_when(float(text))
    if _ISO.match(text):
        try:
            return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)
        except ValueError:
            pass
    match = _GOOGLE_ISO.match(text)
    if match:
        year, month, day, hour, minute, second, half = match.groups()
        hour = int(hour) % 12 + (12 if half == "PM" else 0) if half else int(hour)
        return dt.datetime(int(year), int(month), int(day), hour, int(minute), int(second))
    formats = (_FORMATS_DAY_FIRST + _FORMATS_MONTH_FIRST) if day_first else \
        (_FORMATS_MONTH_FIRST + _FORMATS_DAY_FIRST)
    for fmt in formats:
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a date and time I can read; e.g. 14/09/2025 10:03:22")


def looks_month_first(values: list[str]) -> bool:
    """True when some a/b/yyyy date has b > 12, so the export puts the month first (US)."""
    for text in values:
        match = re.match(r"^(\d{1,2})/(\d{1,2})/\d{4}", text.strip())
        if match and int(match.group(2)) > 12:
            return True
    return False
