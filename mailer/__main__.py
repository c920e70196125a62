"""python -m mailer: subscribers, previews and sends of newsletter editions (a thin CLI).

    python -m mailer [--root DIR] [--db PATH] subscribers import FILE.csv
    python -m mailer subscribers import EXPORT.xlsx|.csv --mapping NAME
    python -m mailer subscribers mapping suggest EXPORT [--kind evaluations] [--name NAME]
    python -m mailer subscribers list | export [ADDRESS] [--json] | status ADDRESS | forget ADDRESS
    python -m mailer subscribers unsubscribe ADDRESS
    python -m mailer evaluations import EXPORT --mapping NAME [--course ID]
    python -m mailer report [--from DATE] [--to DATE] --out DIR [--publish]
    python -m mailer preview EDITION [--out DIR]
    python -m mailer send EDITION [--dry-run [--list]] [--test-to ADDRESS] [--resend-unknown]
                                  [--batch-size N] [--outbox DIR] [--quiet]
    python -m mailer sync
    python -m mailer status EDITION [--json] [--list STATE]
    python -m mailer reconcile EDITION [--wait]
    python -m mailer serve [--host H] [--port P] [--workers N]
    python -m mailer inbox MBOX-OR-MAILDIR [--dry-run]

The provider and its settings come from the environment (mailer/settings.py): MAILER_PROVIDER
(outbox, smtp, mailgun, sendgrid), MAILER_API_KEY, MAILER_DOMAIN, MAILER_API_URL,
MAILER_SMTP_URL, MAILER_FROM, MAILER_RATE, MAILER_RECONCILE_AFTER; unsubscribe links need
MAILER_SECRET.

Exit status: 0 done, 1 refused or stopped (the message says why), 2 wrong usage.
"""
from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

import click

from records.newsletter import audience_for

from .cli_common import Context, fail, log_to_stderr, make_composer, parse_address, secrets_or_fail
from .cli_impact import evaluations, mapping_group, report
from .cli_send import reconcile, send, status, sync
from .private import open_private
from .spreadsheet import neutralise, tsv_line
from .store import Store


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=".",
              show_default=True, help="The alliance's folder (content/, courses/).")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), envvar="MAILER_DB",
              default=None, help="The subscriber database [env MAILER_DB; default ROOT/data/mailer.sqlite3].")
@click.option("--verbose", "-v", count=True, help="Log more to standard error (-v: each request, -vv: debug).")
@click.pass_context
def cli(ctx: click.Context, root: Path, db: Path | None, verbose: int) -> None:
    """Newsletters for the alliance: subscribers, previews, sends."""
    log_to_stderr(logging.WARNING if not verbose else logging.INFO if verbose == 1 else logging.DEBUG)
    ctx.obj = Context(root, db)


# --- subscribers --------------------------------------------------------------------------------

@cli.group()
def subscribers() -> None:
    """Import, list, export, unsubscribe or forget subscribers."""


@subscribers.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", default=None, help="Where consent was given, when the CSV has no source "
              "column [default: the file's name].")
@click.option("--mapping", default=None, metavar="NAME",
              help="Read a form export (Microsoft Forms .xlsx, Google Forms CSV) through "
                   "imports/NAME.yml.")
@click.pass_obj
def import_(obj: Context, file: Path, source: str | None, mapping: str | None) -> None:
    """Add or update subscribers from a CSV file (see CONTENT-FORMAT.md), or from a form
    export through a mapping (--mapping NAME)."""
    if mapping is not None:
        from .cli_impact import import_with_mapping
        return import_with_mapping(obj, file, mapping)
    from .importer import Importer, ImportError_, Vocab
    vocab = Vocab.from_records(obj.records(strict=False))
    started = time.perf_counter()
    with obj.store() as store:
        try:
            result = Importer(store, vocab).import_file(file, source=source)
        except ImportError_ as err:
            fail(f"{file.name}: {err}")
    for message in result.messages:
        click.echo(f"{file.name}: {message}")
    elapsed = time.perf_counter() - started
    click.echo(f"{file.name}: {result.summary()} ({result.rows} rows in {elapsed:.1f} s)")


@subscribers.command("list")
@click.pass_obj
def list_(obj: Context) -> None:
    """Every subscriber: address, name, audience, phases, status."""
    recs = obj.records(strict=False)
    if not obj.db.exists():
        click.echo("0 subscribers (no database yet: import a CSV first)")
        return
    with obj.store(need_key=False) as store:
        n = 0
        for row in store.subscribers():
            n += 1
            audience = audience_for(row["roles"].split(), recs.audiences) or "-"
            if row["status"] == "unsubscribed":
                state = "unsubscribed"
            elif not row["consent"]:
                state = "no consent"
            elif store.suppression(row["address_hash"]) is not None:
                state = "suppressed"
            else:
                state = "subscribed"
            name = neutralise(f"{row['first_name']} {row['last_name']}".strip()) or "-"
            click.echo(tsv_line([row["email"]]) + "\t" + "\t".join(
                [name, audience, row["phases"].replace(" ", ",") or "-", state]))
        counts = store.counts()
    click.echo(f"{n} subscribers: {counts['sendable']} sendable, {counts['unsubscribed']} unsubscribed, "
               f"{counts['no_consent']} without consent")


@subscribers.command("export")
@click.argument("address", required=False)
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file (created readable by you alone) instead of standard output.")
@click.option("--json", "as_json", is_flag=True, help="Everything, nested, as JSON (for a subject-access request).")
@click.pass_obj
def export(obj: Context, address: str | None, out: Path | None, as_json: bool) -> None:
    """Everything held about one address, or everyone: the details, the consent history, each
    send (edition, date, outcome, the provider's message id) and any suppression.

    CSV (the default) can be imported again; cells a spreadsheet would run as formulas are
    neutralised with a leading ' (removed again on import)."""
    from . import access
    if address is not None:
        address = parse_address(address)
    if not obj.db.exists():
        fail("no database yet: import a CSV first")
    with obj.store() as store:
        people = [access.held_about(store, address)] if address else access.everyone(store)
        if address and not people[0].anything:
            click.echo(f"no subscriber {address}", err=True)
            sys.exit(1)
        handle = open_private(out, "w", encoding="utf-8", newline="") if out else sys.stdout
        try:
            found = (access.write_json if as_json else access.write_csv)(handle, people)
        finally:
            if out:
                handle.close()
    held = people[0] if address else None
    if held is not None and held.subscriber is None:
        x = held.suppression
        what = f"only a hash remains ({x['reason']} on {x['created_at'][:10]})" if x else \
            f"only a hash and {len(held.consent)} consent event(s) remain"
        click.echo(f"{address} is not held: {what}, so it is never imported again", err=True)
    elif out:
        click.echo(f"exported {found} subscriber{'s' if found != 1 else ''} to {out}")


@subscribers.command("status")
@click.argument("address")
@click.pass_obj
def subscriber_status(obj: Context, address: str) -> None:
    """Whether ADDRESS is sent newsletters, and why: its consent history, suppression and sends."""
    from . import access
    address = parse_address(address)
    if not obj.db.exists():
        fail("no database yet: import a CSV first")
    with obj.store() as store:
        held = access.held_about(store, address)
        if not held.anything:
            fail(f"nothing is held about {address}")
        row = held.subscriber
        sendable = bool(row and row["consent"] and row["status"] == "subscribed" and not held.suppression)
        for line in access.status_lines(held, sendable):
            click.echo(line)


@subscribers.command("unsubscribe")
@click.argument("address")
@click.pass_obj
def unsubscribe(obj: Context, address: str) -> None:
    """Stop all emails to ADDRESS; no import subscribes it again."""
    address = parse_address(address)
    with obj.store() as store:
        outcome = store.unsubscribe(address)
    click.echo({
        "unsubscribed": f"unsubscribed {address}",
        "already": f"{address} was already unsubscribed",
        "suppressed": f"{address} is not a subscriber; suppressed so no import adds it",
    }[outcome])


@subscribers.command("forget")
@click.argument("address")
@click.pass_obj
def forget(obj: Context, address: str) -> None:
    """Erase ADDRESS's personal data (right to erasure); only a hash stays, so it stays suppressed."""
    from .providers.outbox import OutboxProvider
    address = parse_address(address)
    with obj.store() as store:
        outcome = store.forget(address)
    removed = OutboxProvider(obj.root / "outbox").erase(address)
    copies = f"; {removed} outbox cop{'ies' if removed != 1 else 'y'} deleted" if removed else ""
    click.echo({
        "forgotten": f"forgot {address}: personal data erased{copies}; only a hash is kept so no import adds it again",
        "already": f"{address} was already forgotten{copies}",
        "suppressed": f"{address} is not a subscriber; its hash is kept so no import adds it{copies}",
    }[outcome])


# --- editions -----------------------------------------------------------------------------------------


@cli.command()
@click.argument("edition")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the preview [default: ROOT/preview/EDITION].")
@click.pass_obj
def preview(obj: Context, edition: str, out: Path | None) -> None:
    """Write each variant of EDITION as .html and .txt, with a summary of recipients per variant."""
    from .compose import ComposeError
    from .preview import summary_text, write_preview
    composer = make_composer(obj, edition, secret=None)
    out = out or obj.root / "preview" / edition
    store = Store(obj.db) if obj.db.exists() else None
    try:
        summary = write_preview(composer, store, out)
    except ComposeError as err:
        fail(str(err).replace("Nothing was sent", "No preview was written"))
    finally:
        if store:
            store.close()
    click.echo(summary_text(summary), nl=False)
    click.echo(f"preview written to {out}")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Listen here (behind a reverse proxy).")
@click.option("--port", default=8025, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes (about one per core).")
@click.option("--trusted-proxies", default="127.0.0.1", show_default=True, envvar="MAILER_TRUSTED_PROXIES",
              help="Addresses whose X-Forwarded-For/-Proto headers are believed.")
@click.pass_obj
def serve(obj: Context, host: str, port: int, workers: int, trusted_proxies: str) -> None:
    """Run the subscription service: join (double opt-in), confirm, preferences, unsubscribe
    (RFC 8058 one-click) and the providers' webhooks. Refuses to start without the database."""
    from .web.config import ConfigError, from_env
    from .web.server import run
    env = dict(os.environ, MAILER_DB=str(obj.db), MAILER_ROOT=str(obj.root))
    try:
        config = from_env(env)
    except ConfigError as err:
        fail(str(err))
    click.echo(f"subscription service for {config.name} on http://{host}:{port}/ "
               f"({workers} worker{'s' if workers != 1 else ''}; public address {config.service_url}; Ctrl-C stops)")
    run(obj.db, obj.root, host, port, workers, proxies=trusted_proxies)


@cli.command()
@click.argument("mailbox", type=click.Path(exists=True, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Report what would be done; change nothing.")
@click.pass_obj
def inbox(obj: Context, mailbox: Path, dry_run: bool) -> None:
    """Apply the unsubscribe requests in an office mailbox export (mbox file or Maildir folder).

    A message counts when it carries our unsubscribe token (the mailto: link in every email)
    or says "unsubscribe" in its subject or first lines; its sender, or the token, names the
    reader. Messages that could not be matched are listed for a person to deal with."""
    from .inbox import InboxError, process
    with obj.store(create=False) as store:
        try:
            report = process(store, mailbox, secrets=secrets_or_fail(), dry_run=dry_run)
        except InboxError as err:
            fail(str(err))
    for line in report.lines():
        click.echo(line)


for command in (send, sync, status, reconcile):        # mailer/cli_send.py
    cli.add_command(command)
subscribers.add_command(mapping_group)       # mailer/cli_impact.py
for command in (evaluations, report):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="python -m mailer")


if __name__ == "__main__":
    main()
