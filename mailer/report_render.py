"""The board report on disk: ``report.html`` (for a browser), ``report.pdf`` (WeasyPrint, A4,
tagged), ``charts/<id>.svg`` and ``tables/<caption>.csv``, from one autoescaped jinja2 template.
A table longer than :data:`MAX_ROWS` shows its first rows in the document and links to its
CSV: a 2,000-course table is no reading for a board, and would cost WeasyPrint a minute.

The HTML and the PDF are the same document: each chart is an ``<img>`` of its SVG with the
summary as its text alternative, a caption, and the table behind it; the CSS has a print part.
WeasyPrint may load only files in the output folder and the template folder: no network.
"""
from __future__ import annotations

import csv
import os
import re
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

import jinja2

from .charts import render_svg
from .figures import Report, Table, capital, show

TEMPLATES = Path(__file__).resolve().parent.parent / "site_templates" / "report"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             autoescape=True, trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["show"] = show
    env.filters["capital"] = capital
    return env


MAX_ROWS = 60        # rows of one table in the document; every row is in tables/<name>.csv


def table_file(table: Table) -> str:
    return re.sub(r"[^a-z0-9]+", "-", table.caption.lower()).strip("-") + ".csv"


def render_html(report: Report, css: str) -> str:
    return _environment().get_template("report.html.j2").render(
        report=report, css=css, max_rows=MAX_ROWS, table_file=table_file)


def write_tables(report: Report, folder: Path) -> list[Path]:
    """Every table in full as CSV (the values as the report shows them: small counts hidden)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for section in report.sections:
        for table in [*(c.table for c in section.charts), *section.tables]:
            path = folder / table_file(table)
            with open(path, "w", encoding="utf-8", newline="") as handle:
                out = csv.writer(handle)
                out.writerow(table.columns)
                out.writerows(table.shown())
            written.append(path)
    return written


def write_report(report: Report, out: Path, *, pdf: bool = True,
                 laps: list | None = None) -> dict[str, Path]:
    """Write the charts, the HTML and (unless ``pdf`` is False) the PDF into ``out``;
    ``laps``: a list to add (stage, wall seconds, CPU seconds) to, for the benchmark."""
    clock = (time.perf_counter(), time.process_time())
    out = Path(out)
    charts = out / "charts"
    charts.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for section in report.sections:
        for chart in section.charts:
            path = charts / f"{chart.id}.svg"
            path.write_text(render_svg(chart), encoding="utf-8")
            written[chart.id] = path
    for path in write_tables(report, out / "tables"):
        written[f"table {path.name}"] = path
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    page = out / "report.html"
    page.write_text(render_html(report, css), encoding="utf-8")
    written["html"] = page
    clock = _lap(laps, "six SVG charts, HTML, CSV", clock)
    if pdf:
        written["pdf"] = write_pdf(page, out / "report.pdf")
        _lap(laps, "the PDF (WeasyPrint)", clock)
    for path in written.values():
        os.chmod(path, 0o644)
    return written


def _lap(laps: list | None, what: str, since: tuple[float, float]) -> tuple[float, float]:
    now = (time.perf_counter(), time.process_time())
    if laps is not None:
        laps.append((what, now[0] - since[0], now[1] - since[1]))
    return now


def write_pdf(page: Path, target: Path) -> Path:
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    allowed = (page.parent.resolve(), TEMPLATES)

    class LocalOnly(URLFetcher):
        def fetch(self, url, headers=None):
            parts = urlparse(url)
            where = Path(unquote(parts.path)).resolve()
            if parts.scheme != "file" or not any(where.is_relative_to(a) for a in allowed):
                raise ValueError(f"the report may not load {url}")
            return super().fetch(url, headers)

    fetcher = LocalOnly(allowed_protocols={"file"})
    HTML(filename=str(page), url_fetcher=fetcher).write_pdf(
        str(target), pdf_tags=True, pdf_identifier=b"board-report")
    return target
