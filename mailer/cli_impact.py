"""Commands for demand and impact (issue 13), a thin layer over form_import, suggest, report:

    python -m mailer subscribers import EXPORT --mapping NAME
    python -m mailer subscribers mapping suggest EXPORT [--kind evaluations] [--name NAME] [--force]
    python -m mailer evaluations import EXPORT --mapping NAME [--course ID]
    python -m mailer report [--from DATE] [--to DATE] [--ahead WEEKS] --out DIR [--no-pdf] [--publish]
"""
from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import click

from .cli_common import Context, fail


def _vocab(obj: Context):
    from .mapping import Vocab
    return Vocab.from_records(obj.records(strict=False))


def _mapping(obj: Context, name: str, vocab):
    from .mapping import MappingError, load_mapping
    try:
        return load_mapping(obj.root, name, vocab)
    except MappingError as err:
        for problem in err.problems:
            click.echo(str(problem), err=True)
        fail(f"imports/{name}.yml has {len(err.problems.errors)} problem"
             f"{'s' if len(err.problems.errors) != 1 else ''}; fix it first (nothing was imported)")


def _export(file: Path):
    from .forms import FormError, open_export
    try:
        return open_export(file)
    except FormError as err:
        fail(f"{file.name}: {err}")


def import_with_mapping(obj: Context, file: Path, name: str) -> None:
    """`subscribers import FILE --mapping NAME` (called from mailer/__main__.py)."""
    from .form_import import import_subscribers
    from .forms import FormError
    vocab = _vocab(obj)
    mapping = _mapping(obj, name, vocab)
    export = _export(file)
    started = time.perf_counter()
    with obj.store() as store:
        try:
            result = import_subscribers(store, export, mapping, vocab)
        except FormError as err:
            fail(f"{file.name}: {err}")
    for message in result.messages:
        click.echo(f"{file.name}: {message}")
    click.echo(f"{file.name}: {result.summary()} ({result.rows} rows in "
               f"{time.perf_counter() - started:.1f} s)")


@click.group("mapping")
def mapping_group() -> None:
    """Write a first mapping for a form export (imports/NAME.yml)."""


@mapping_group.command("suggest")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--kind", type=click.Choice(["subscribers", "evaluations"]), default="subscribers",
              show_default=True)
@click.option("--name", default=None, help="Write imports/NAME.yml [default: print it].")
@click.option("--force", is_flag=True, help="Overwrite an existing imports/NAME.yml.")
@click.pass_obj
def suggest_command(obj: Context, file: Path, kind: str, name: str | None, force: bool) -> None:
    """Suggest a mapping from FILE's questions and answers; ? marks what needs a person."""
    from .forms import FormError
    from .mapping import NAME_RE, mapping_path
    from .suggest import suggest
    if name is not None and not NAME_RE.match(name):
        fail(f"{name!r} is not a mapping name: use lower-case letters, digits and hyphens")
    recs = obj.records(strict=False)
    export = _export(file)
    try:
        text, unplaced = suggest(
            export, _vocab(obj), kind=kind, name=name or "",
            school_names={" ".join(s.name.split()).casefold(): i for i, s in recs.schools.items()},
            course_titles={" ".join(c.title.split()).casefold(): i for i, c in recs.courses.items()})
    except FormError as err:
        fail(f"{file.name}: {err}")
    todo = (f"{unplaced} thing{'s' if unplaced != 1 else ''} marked ? need{'s' if unplaced == 1 else ''} a person"
            if unplaced else "everything placed; check it all the same")
    if name is None:
        click.echo(text, nl=False)
        click.echo(f"# {todo}", err=True)
        return
    target = mapping_path(obj.root, name)
    if target.exists() and not force:
        fail(f"{target} exists; choose another --name or add --force to overwrite it")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    click.echo(f"wrote imports/{name}.yml: {todo}; then commit it and import with "
               f"--mapping {name}")


@click.group()
def evaluations() -> None:
    """Import course evaluations (form exports through a mapping)."""


@evaluations.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--mapping", "name", required=True, metavar="NAME", help="imports/NAME.yml (kind: evaluations).")
@click.option("--course", default=None, help="The course every answer is about (a course id).")
@click.pass_obj
def evaluations_import(obj: Context, file: Path, name: str, course: str | None) -> None:
    """Add one course's evaluations from FILE."""
    from .form_import import import_evaluations
    from .forms import FormError
    vocab = _vocab(obj)
    mapping = _mapping(obj, name, vocab)
    export = _export(file)
    with obj.store() as store:
        try:
            result = import_evaluations(store, export, mapping, vocab, course=course)
        except FormError as err:
            fail(f"{file.name}: {err}")
    for message in result.messages:
        click.echo(f"{file.name}: {message}")
    click.echo(f"{file.name}: {result.summary()} ({result.rows} rows)")


def _date(ctx, param, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date; write it as YYYY-MM-DD") from None


@click.command()
@click.option("--from", "start", callback=_date, default=None, metavar="DATE",
              help="Start of the period [default: a year before --to].")
@click.option("--to", "end", callback=_date, default=None, metavar="DATE",
              help="End of the period [default: today].")
@click.option("--ahead", default=13, show_default=True, type=click.IntRange(1, 104),
              help="Weeks after --to whose courses count as the upcoming offer.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for report.html, report.pdf and charts/.")
@click.option("--no-pdf", is_flag=True, help="Skip the PDF (quicker).")
@click.option("--publish", is_flag=True, help="Also write the parts content/impact.yml chooses "
              "to content/impact-published.yml for the website (aggregates only).")
@click.pass_obj
def report(obj: Context, start, end, ahead: int, out: Path, no_pdf: bool, publish: bool) -> None:
    """Write the Strategic Board's report: demand and supply, reach, newsletters, evaluations."""
    from .report import build_report
    from .report_writer import ReportWriter
    end = end or dt.date.today()
    if start is None:
        try:
            start = end.replace(year=end.year - 1)
        except ValueError:                       # 29 February
            start = end - dt.timedelta(days=365)
    if start > end:
        fail(f"--from {start} is after --to {end}")
    started = time.perf_counter()
    # the writer's worker imports matplotlib and WeasyPrint while the figures are computed
    with ReportWriter(pdf=not no_pdf) as writer:
        recs = obj.records(strict=True)
        if not obj.db.exists():
            fail(f"no database at {obj.db}; import subscribers first")
        with obj.store(create=False) as store:
            built = build_report(recs, store, start=start, end=end, ahead_weeks=ahead)
        written = writer.write(built, out, pdf=not no_pdf)
    click.echo(f"wrote {written['html']}" + (f" and {written['pdf']}" if "pdf" in written else "")
               + f" in {time.perf_counter() - started:.1f} s")
    if publish:
        from records.impact import PUBLISHED_FILE

        from .publish import PublishError, publish_impact
        try:
            _, parts = publish_impact(obj.root, recs, built)
        except PublishError as err:
            fail(str(err))
        click.echo(f"published {', '.join(parts)} to {PUBLISHED_FILE}; "
                   "commit it and build the site")
