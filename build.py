#!/usr/bin/env python3
"""The website's command line (thin: options in, problems and a summary line out).

    python build.py                       validate, generate and build the site into site/
    python build.py build [--today YYYY-MM-DD] [--out DIR] [--strict] [--root DIR]
                          [--format text|github]
    python build.py check [--strict] [--root DIR] [--format text|github]
    python build.py serve [--today YYYY-MM-DD] [--root DIR] [--port 8000]
    python build.py new course|sle|school|news|page|edition "Title" [--root DIR]
    python build.py schemas [--root DIR] [--check]
    build and serve take --engine mkdocs|zensical (default mkdocs)

Every problem is printed as ``path:line: field: message``, then one summary line. The exit
status is 1 if there is any error; a build with errors publishes nothing.
"""
from __future__ import annotations

import datetime as dt
import os
import sys
import time
from pathlib import Path

import click

os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")   # hide Material's end-of-life banner
# No pydantic plugins validate our records: without this, the first validator made scans every
# installed package's entry points for them (30 ms of a re-check).
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
sys.path.insert(0, str(Path(__file__).resolve().parent))


def _date(ctx, param, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date; write it as YYYY-MM-DD") from None


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _report(problems, fmt: str) -> tuple[int, int]:
    lines = [problem.github() if fmt == "github" else str(problem) for problem in problems]
    if lines:                       # one write: thousands of warnings print in a moment
        click.echo("\n".join(lines))
    return len(problems.errors), len(problems.warnings)


def _shown(path: Path) -> str:
    """The output folder as the user knows it: relative to here if inside, with a slash."""
    try:
        text = os.path.relpath(path)
        if text.startswith(".."):
            text = str(path)
    except ValueError:
        text = str(path)
    return text.rstrip("/") + "/"


root_option = click.option("--root", type=click.Path(file_okay=False, path_type=Path),
                           default=".", show_default=True,
                           help="The alliance's folder: holds content/ and courses/.")
strict_option = click.option("--strict", is_flag=True, help="Treat warnings as errors.")
format_option = click.option("--format", "fmt", type=click.Choice(["text", "github"]),
                             default="text", show_default=True,
                             help="How problems are printed (github: annotations in CI).")
engine_option = click.option("--engine", type=click.Choice(["mkdocs", "zensical"]),
                             default="mkdocs", show_default=True,
                             help="What turns the generated Markdown into HTML.")
today_option = click.option("--today", callback=_date, metavar="YYYY-MM-DD",
                            help="The date that divides upcoming from past courses "
                                 "(default: today in the alliance's time zone).")


@click.group(invoke_without_command=True)
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Build the alliance's website from its records."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(build)


@cli.command()
@today_option
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Where to put the site (default: site/ in the alliance's folder).")
@strict_option
@root_option
@format_option
@click.option("--work", type=click.Path(file_okay=False, path_type=Path), hidden=True,
              help="Keep the generated MkDocs project in this folder.")
@engine_option
def build(today=None, out=None, strict=False, root=Path("."), fmt="text", work=None,
          engine="mkdocs") -> None:
    """Validate every record, generate the pages and build the site."""
    from website.pipeline import build as build_site

    out = out if out is not None else root / "site"
    result = build_site(root, out, today=today, strict=strict, work=work, engine=engine)
    errors, warnings = _report(result.problems, fmt)
    tally = f"{_count(errors, 'error')}, {_count(warnings, 'warning')}"
    if result.published:
        seconds = result.timings.get("total", 0.0)
        click.echo(f"Built {result.pages} pages into {_shown(out)} in {seconds:.1f} s ({tally})")
    else:
        click.echo(f"{tally}: nothing was published")
        sys.exit(1)


@cli.command()
@strict_option
@root_option
@format_option
def check(strict=False, root=Path("."), fmt="text") -> None:
    """Validate every record; build nothing."""
    import records

    started = time.perf_counter()
    count, problems = records.check(root, strict=strict)
    seconds = time.perf_counter() - started
    errors, warnings = _report(problems, fmt)
    click.echo(f"Checked {_count(count, 'record')} in {seconds:.1f} s "
               f"({_count(errors, 'error')}, {_count(warnings, 'warning')})")
    if errors:
        sys.exit(1)


@cli.command()
@today_option
@root_option
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@engine_option
def serve(today=None, root=Path("."), port=8000, host="127.0.0.1", engine="mkdocs") -> None:
    """Preview the site, rebuilding as records and templates change."""
    from website.serve import serve as serve_site

    serve_site(root, today=today, host=host, port=port, engine=engine)


@cli.command()
@click.argument("kind", type=click.Choice(["course", "sle", "school", "news", "page", "edition"]))
@click.argument("title")
@root_option
@today_option
def new(kind: str, title: str, root=Path("."), today=None) -> None:
    """Write a new record named after TITLE, ready to edit; prints its path."""
    from records.scaffold import NewRecordError, new_record

    try:
        path = new_record(root, kind, title, today=today)
    except NewRecordError as err:
        click.echo(f"new: {err}", err=True)
        sys.exit(1)
    click.echo(os.path.relpath(path) if not os.path.relpath(path).startswith("..") else path)


@cli.command()
@root_option
@click.option("--check", "only_check", is_flag=True,
              help="Only say whether schemas/ is up to date (exit 1 if not).")
def schemas(root=Path("."), only_check=False) -> None:
    """Write the editors' JSON Schemas (schemas/) from the record models and the vocabulary."""
    from records import editor_schemas
    from records.problems import Problems
    from records.tree import load_core

    vocabulary = load_core(root, Problems()).vocabulary
    folder = root / editor_schemas.SCHEMA_DIR
    if only_check:
        stale = [name for name, text in editor_schemas.render_all(vocabulary).items()
                 if not (folder / name).is_file() or (folder / name).read_text(encoding="utf-8") != text]
        for name in stale:
            click.echo(f"{editor_schemas.SCHEMA_DIR}/{name}: out of date; run `build.py schemas`")
        sys.exit(1 if stale else 0)
    written = editor_schemas.write_all(folder, vocabulary)
    click.echo(f"Wrote {_count(len(written), 'schema')} into {_shown(folder)}")


if __name__ == "__main__":
    cli()
