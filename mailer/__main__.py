"""python -m mailer: subscribers, previews and sends of newsletter editions (a thin CLI).

    python -m mailer [--root DIR] [--db PATH] subscribers import FILE.csv
    python -m mailer subscribers list | export [ADDRESS] | forget ADDRESS | unsubscribe ADDRESS
    python -m mailer preview EDITION [--out DIR]
    python -m mailer send EDITION [--dry-run] [--resend-unknown] [--outbox DIR]
    python -m mailer status EDITION [--json] [--list STATE]
    python -m mailer serve [--host H] [--port P]

Exit status: 0 done, 1 refused or stopped (the message says why), 2 wrong usage.
"""
from __future__ import annotations

import csv
import json
import os
import sys
import time
from pathlib import Path

import click

import records as records_pkg
from records.newsletter import audience_for
from records.problems import did_you_mean

from .store import STATES, Store, StoreError, address_hash, normalise

DEFAULT_DB = Path("data") / "mailer.sqlite3"


class Context:
    def __init__(self, root: Path, db: Path | None):
        self.root = root
        self.db = db if db is not None else root / DEFAULT_DB
        self._records = None

    def store(self, *, create: bool = True) -> Store:
        try:
            return Store(self.db, create=create)
        except (StoreError, OSError) as err:
            fail(str(err))

    def records(self, *, strict: bool = True):
        """The alliance's records; with errors, print them and exit 1 before anything is written."""
        if self._records is None:
            self._records = records_pkg.load(self.root)
        recs, problems = self._records
        if strict and problems.errors:
            for problem in problems:
                if problem.is_error:
                    click.echo(str(problem), err=True)
            fail(f"the records have {len(problems.errors)} error{'s' if len(problems.errors) > 1 else ''}; "
                 "fix them first (nothing was written)")
        return recs

    def edition(self, edition_id: str):
        recs = self.records()
        if edition_id not in recs.editions:
            known = list(recs.editions)
            fail(f"no edition {edition_id!r} in content/newsletters/{did_you_mean(edition_id, known)}"
                 + (f" (editions: {', '.join(known)})" if known else ""))
        return recs, recs.editions[edition_id]


def fail(message: str, code: int = 1):
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _address(value: str) -> str:
    from .importer import valid_address
    address = normalise(value)
    if not valid_address(address):
        fail(f"{value!r} is not an email address")
    return address


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=".",
              show_default=True, help="The alliance's folder (content/, courses/).")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), envvar="MAILER_DB",
              default=None, help="The subscriber database [env MAILER_DB; default ROOT/data/mailer.sqlite3].")
@click.pass_context
def cli(ctx: click.Context, root: Path, db: Path | None) -> None:
    """Newsletters for the alliance: subscribers, previews, sends."""
    ctx.obj = Context(root, db)


# --- subscribers --------------------------------------------------------------------------------

@cli.group()
def subscribers() -> None:
    """Import, list, export, unsubscribe or forget subscribers."""


@subscribers.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", default=None, help="Where consent was given, when the CSV has no source "
              "column [default: the file's name].")
@click.pass_obj
def import_(obj: Context, file: Path, source: str | None) -> None:
    """Add or update subscribers from a CSV file (see CONTENT-FORMAT.md)."""
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
    with obj.store() as store:
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
            name = f"{row['first_name']} {row['last_name']}".strip() or "-"
            click.echo("\t".join([row["email"], name, audience, row["phases"].replace(" ", ",") or "-", state]))
        counts = store.counts()
    click.echo(f"{n} subscribers: {counts['sendable']} sendable, {counts['unsubscribed']} unsubscribed, "
               f"{counts['no_consent']} without consent")


EXPORT_COLUMNS = ("email", "first_name", "last_name", "school", "roles", "phases", "interests",
                  "consent", "source", "status", "unsubscribed_at", "created_at", "updated_at", "editions")


@subscribers.command("export")
@click.argument("address", required=False)
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of standard output.")
@click.pass_obj
def export(obj: Context, address: str | None, out: Path | None) -> None:
    """Everything held about one address, or everyone, as CSV (for a subject-access request).

    The columns can be imported again; `editions` lists each edition and its state."""
    if address is not None:
        address = _address(address)
    if not obj.db.exists():
        fail("no database yet: import a CSV first")
    handle = open(out, "w", encoding="utf-8", newline="") if out else sys.stdout
    try:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(EXPORT_COLUMNS)
        found = 0
        with obj.store() as store:
            for row in store.subscribers(address):
                found += 1
                sends = ";".join(f"{s['edition']}:{s['state']}" for s in store.sends_of(row["address_hash"]))
                writer.writerow([row["email"], row["first_name"], row["last_name"], row["school"],
                                 row["roles"].replace(" ", ";"), row["phases"].replace(" ", ";"),
                                 row["interests"].replace(" ", ";"),
                                 (row["consent_date"] or "yes") if row["consent"] else "no",
                                 row["consent_source"], row["status"], row["unsubscribed_at"] or "",
                                 row["created_at"], row["updated_at"], sends])
            suppressed = store.suppression(address_hash(address)) if address and not found else None
    finally:
        if out:
            handle.close()
    if address is not None and not found:
        if suppressed is not None:
            click.echo(f"{address} is not held: only a hash remains ({suppressed['reason']} on "
                       f"{suppressed['created_at'][:10]}), so it is never imported again", err=True)
        else:
            click.echo(f"no subscriber {address}", err=True)
            sys.exit(1)
    elif out:
        click.echo(f"exported {found} subscriber{'s' if found != 1 else ''} to {out}")


@subscribers.command("unsubscribe")
@click.argument("address")
@click.pass_obj
def unsubscribe(obj: Context, address: str) -> None:
    """Stop all emails to ADDRESS; no import subscribes it again."""
    address = _address(address)
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
    address = _address(address)
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

def _composer(obj: Context, edition_id: str, *, secret: bytes | None, from_addr: str = ""):
    from .compose import Composer, default_sender, make_tokens
    recs, edition = obj.edition(edition_id)
    tokens = make_tokens(recs, secret, os.environ.get("MAILER_UNSUBSCRIBE_URL", "").strip()) if secret else None
    return Composer(recs, edition, tokens=tokens, sender=default_sender(recs, from_addr))


def _secret() -> bytes:
    from .tokens import SecretError, secret_from_env
    try:
        return secret_from_env()
    except SecretError as err:
        fail(str(err))


@cli.command()
@click.argument("edition")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the preview [default: ROOT/preview/EDITION].")
@click.pass_obj
def preview(obj: Context, edition: str, out: Path | None) -> None:
    """Write each variant of EDITION as .html and .txt, with a summary of recipients per variant."""
    from .preview import summary_text, write_preview
    composer = _composer(obj, edition, secret=None)
    out = out or obj.root / "preview" / edition
    store = Store(obj.db) if obj.db.exists() else None
    try:
        summary = write_preview(composer, store, out)
    finally:
        if store:
            store.close()
    click.echo(summary_text(summary), nl=False)
    click.echo(f"preview written to {out}")


@cli.command()
@click.argument("edition")
@click.option("--outbox", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the outbox provider writes [default: ROOT/outbox].")
@click.option("--dry-run", is_flag=True, help="Show who would get which variant; send nothing, write nothing.")
@click.option("--resend-unknown", is_flag=True,
              help="Also send readers whose earlier batch had an unknown outcome (they may get it twice).")
@click.option("--batch-size", type=click.IntRange(1, 1000), default=None,
              help="Readers per request [default: the provider's].")
@click.pass_obj
def send(obj: Context, edition: str, outbox: Path | None, dry_run: bool, resend_unknown: bool,
         batch_size: int | None) -> None:
    """Send EDITION to every subscriber who should get it, once (outbox by default)."""
    from .providers import make_provider
    from .send import SendLocked, SendOptions, SendRun, dry_run as plan_only
    from .settings import Settings, SettingsError
    recs, _ = obj.edition(edition)
    try:
        settings = Settings.from_env(default_from="", outbox_dir=outbox or obj.root / "outbox")
    except SettingsError as err:
        fail(str(err))
    if dry_run:
        composer = _composer(obj, edition, secret=None, from_addr=settings.from_addr)
        if not obj.db.exists():
            fail("no database yet: import a CSV first")
        with obj.store() as store:
            counts = plan_only(store, composer)
        for slug, n in sorted(counts.items()):
            click.echo(f"{slug}\t{n}")
        click.echo(f"dry run: {sum(counts.values())} readers would get {edition} in {len(counts)} "
                   f"variants; nothing was sent")
        return
    secret = _secret()
    composer = _composer(obj, edition, secret=secret, from_addr=settings.from_addr)
    if not obj.db.exists():
        fail("no database yet: import a CSV first")
    options = SendOptions(batch_size=batch_size, rate=settings.rate, resend_unknown=resend_unknown)
    with obj.store() as store:
        provider = make_provider(settings)
        try:
            with provider:
                report = SendRun(store, composer, provider, options).run()
        except SendLocked as err:
            fail(str(err))
        counts = store.status(edition)
    if report.recovered:
        were = "readers were" if report.recovered != 1 else "reader was"
        click.echo(f"{report.recovered} {were} being sent when an earlier run stopped: now "
                   "unknown, not sent again (see status; --resend-unknown sends them)")
    where = f" to {settings.outbox_dir / edition}" if settings.provider == "outbox" else f" through {settings.provider}"
    click.echo(f"{edition}: {report.sent} sent{where}, {report.failed} failed, {report.unknown} unknown, "
               f"{report.skipped} skipped in {report.elapsed:.1f} s")
    click.echo(_status_line(edition, counts))
    if report.stopped:
        fail(f"stopped: {report.stopped}")


def _status_line(edition: str, counts: dict[str, int]) -> str:
    total = sum(counts.values())
    return f"{edition}: {total} readers: " + ", ".join(f"{counts[s]} {s}" for s in STATES)


@cli.command()
@click.argument("edition")
@click.option("--json", "as_json", is_flag=True, help="Counts as JSON, for scripts.")
@click.option("--list", "list_state", type=click.Choice(["pending", "sending", "failed", "unknown", "skipped"]),
              default=None, help="Also list the readers in this state (addresses: for the operator).")
@click.pass_obj
def status(obj: Context, edition: str, as_json: bool, list_state: str | None) -> None:
    """How many readers of EDITION are pending, sending, sent, failed, unknown or skipped."""
    recs, _problems = records_pkg.load(obj.root)
    store = Store(obj.db) if obj.db.exists() else None
    try:
        known = set(recs.editions) | set(store.editions() if store else [])
        if edition not in known:
            fail(f"no edition {edition!r}{did_you_mean(edition, known)}")
        counts = store.status(edition) if store else dict.fromkeys(STATES, 0)
        if as_json:
            click.echo(json.dumps({"edition": edition, "total": sum(counts.values()), **counts}))
        else:
            click.echo(_status_line(edition, counts))
            if counts["unknown"]:
                click.echo(f"{counts['unknown']} unknown: they may or may not have received it; "
                           "`send --resend-unknown` sends them again")
        if list_state and store:
            for row in store.rows_in_state(edition, list_state):
                click.echo("\t".join([row["email"] or "(forgotten)", f"batch {row['batch_id'] or '-'}",
                                      row["reason"] or ""]))
    finally:
        if store:
            store.close()


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8025, show_default=True, type=int)
@click.pass_obj
def serve(obj: Context, host: str, port: int) -> None:  # pragma: no cover - runs forever
    """Answer unsubscribe links (one-click POST and the confirmation page)."""
    from .subscription import make_app, serve as run
    recs = obj.records(strict=False)
    secret = _secret()
    name = recs.alliance.display_name if recs.alliance else "the newsletter"
    site = recs.alliance.site_url if recs.alliance else ""
    click.echo(f"answering unsubscribe links on http://{host}:{port}/ (Ctrl-C stops)")
    run(make_app(obj.db, secret, name=name, site_url=site), host, port)


def main() -> None:
    cli(prog_name="python -m mailer")


if __name__ == "__main__":
    main()
