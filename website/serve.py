"""Preview for editors: generate the MkDocs project, serve it with live reload, and regenerate
the Markdown whenever content/, courses/, site_templates/ or mkdocs.yml change.

A polling thread (no extra dependency, works on network drives and in containers) checks the
files' sizes and modification times every second. On a change it reloads the records; if they
have errors it prints them and keeps the last good pages, otherwise it rewrites the pages that
changed, and MkDocs (watching the generated docs folder) rebuilds and reloads the browser.

The calendar feeds are regenerated with the pages; the printable prospectus is not (WeasyPrint
takes seconds): prospectus.pdf in the preview is a one-page stand-in that says so.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from pathlib import Path

import click

import records

from . import config as site_config
from .pipeline import generate, today_for
from .render import TEMPLATES

WORK = ".build"                  # the generated MkDocs project, inside the alliance's folder
POLL_SECONDS = 1.0


def _signature(paths: list[Path]) -> tuple:
    """Sizes and modification times of every file under ``paths``: cheap to compare."""
    seen = []
    for base in paths:
        if base.is_file():
            stat = base.stat()
            seen.append((str(base), stat.st_size, stat.st_mtime_ns))
            continue
        for dirpath, _dirs, files in os.walk(base):
            for name in files:
                path = os.path.join(dirpath, name)
                try:
                    stat = os.stat(path)
                except FileNotFoundError:
                    continue
                seen.append((path, stat.st_size, stat.st_mtime_ns))
    return tuple(sorted(seen))


def regenerate(root: Path, folder: Path, today: dt.date | None) -> bool:
    """Reload the records and rewrite the pages; print problems. True if pages were written."""
    started = time.perf_counter()
    recs, problems = records.load(root)
    for problem in problems:
        click.echo(str(problem))
    if problems.errors:
        click.echo(f"{len(problems.errors)} error(s): the preview keeps the last good pages")
        return False
    site, _config = generate(recs, today or today_for(recs.alliance), folder)
    for problem in site.problems:
        click.echo(str(problem))
    click.echo(f"Generated {len(site.pages)} pages in {time.perf_counter() - started:.1f} s")
    return True


def _watch(root: Path, folder: Path, today: dt.date | None, stop: threading.Event) -> None:
    watched = [root / "content", root / "courses", TEMPLATES, site_config.BASE_CONFIG]
    last = _signature(watched)
    while not stop.wait(POLL_SECONDS):
        now = _signature(watched)
        if now != last:
            last = now
            try:
                regenerate(root, folder, today)
            except Exception as err:            # keep serving; say what went wrong
                click.echo(f"could not regenerate the pages: {err}")


def serve(root: Path, *, today: dt.date | None = None, host: str = "127.0.0.1",
          port: int = 8000) -> None:
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    from mkdocs.commands.serve import serve as mkdocs_serve

    root = Path(root)
    folder = root / WORK
    if not regenerate(root, folder, today):
        raise SystemExit(1)
    stop = threading.Event()
    watcher = threading.Thread(target=_watch, args=(root, folder, today, stop), daemon=True)
    watcher.start()
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)-7s -  %(message)s"))
    logger = logging.getLogger("mkdocs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    click.echo(f"Preview: http://{host}:{port}/ (Ctrl+C to stop). Edit content/ or courses/ "
               "and the page reloads.")
    try:
        mkdocs_serve(str(folder / site_config.CONFIG), dev_addr=f"{host}:{port}",
                     livereload=True, watch_theme=True)
    finally:
        stop.set()
