"""The board report on disk: ``report.html`` (for a browser), ``report.pdf`` (WeasyPrint, A4,
tagged) and ``charts/<id>.svg``, from one autoescaped jinja2 template.

The HTML and the PDF are the same document: each chart is an ``<img>`` of its SVG with the
summary as its text alternative, a caption, and the table behind it; the CSS has a print part.
WeasyPrint may load only files in the output folder and the template folder: no network.
"""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlparse

import jinja2

from .charts import render_svg
from .figures import Report, show

TEMPLATES = Path(__file__).resolve().parent.parent / "site_templates" / "report"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             autoescape=True, trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["show"] = show
    return env


def render_html(report: Report, css: str) -> str:
    return _environment().get_template("report.html.j2").render(report=report, css=css)


def write_report(report: Report, out: Path, *, pdf: bool = True) -> dict[str, Path]:
    """Write the charts, the HTML and (unless ``pdf`` is False) the PDF into ``out``."""
    out = Path(out)
    charts = out / "charts"
    charts.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for section in report.sections:
        for chart in section.charts:
            path = charts / f"{chart.id}.svg"
            path.write_text(render_svg(chart), encoding="utf-8")
            written[chart.id] = path
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    page = out / "report.html"
    page.write_text(render_html(report, css), encoding="utf-8")
    written["html"] = page
    if pdf:
        written["pdf"] = write_pdf(page, out / "report.pdf")
    for path in written.values():
        os.chmod(path, 0o644)
    return written


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
