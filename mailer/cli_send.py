"""The sending commands: ``send`` (with ``--dry-run``, ``--test-to``, ``--resend-unknown``),
``sync``, ``status`` and ``reconcile``. Thin: the work is in mailer.send, mailer.suppressions, mailer.proofs."""
from __future__ import annotations

import json
import time
from pathlib import Path

import click

import records as records_pkg
from records.problems import did_you_mean

from .cli_common import Context, fail, make_composer, parse_address, secret_or_fail
from .store import STATES, Store


def _settings(outbox_dir: Path):
    from .settings import Settings, SettingsError
    try:
        return Settings.from_env(default_from="", outbox_dir=outbox_dir)
    except SettingsError as err:
        fail(str(err))


def _provider(settings):
    """The configured provider, or a one-line error (a malformed URL, say) before anything is sent."""
    from .providers import make_provider
    from .settings import SettingsError
    try:
        return make_provider(settings)
    except (SettingsError, ValueError) as err:
        fail(str(err))


def _where(settings, edition: str) -> str:
    return f"to {settings.outbox_dir / edition}" if settings.provider == "outbox" else f"through {settings.provider}"


@click.command()
@click.argument("edition")
@click.option("--outbox", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the outbox provider writes [default: ROOT/outbox].")
@click.option("--dry-run", is_flag=True,
              help="Show who would get which variant; send nothing, write nothing to the ledger.")
@click.option("--list", "list_readers", is_flag=True, help="With --dry-run: also list each reader and variant.")
@click.option("--test-to", metavar="ADDRESS", default=None,
              help="Send a proof of each variant to ADDRESS only, through the configured provider; "
                   "the edition's ledger is not touched.")
@click.option("--resend-unknown", is_flag=True,
              help="Also send readers whose earlier batch had an unknown outcome (they may get it twice).")
@click.option("--batch-size", type=click.IntRange(1, 1000), default=None,
              help="Readers per request [default: the provider's, at most].")
@click.option("--no-wait", is_flag=True,
              help="Do not wait for lost answers to settle at the end; `reconcile` settles them later.")
@click.option("--quiet", "-q", is_flag=True, help="No progress display, only the summary.")
@click.pass_obj
def send(obj: Context, edition: str, outbox: Path | None, dry_run: bool, list_readers: bool,
         test_to: str | None, resend_unknown: bool, batch_size: int | None, no_wait: bool, quiet: bool) -> None:
    """Send EDITION to every subscriber who should get it, once.

    The provider is MAILER_PROVIDER (outbox, smtp, mailgun or sendgrid; default outbox), set
    up from the MAILER_* variables. Its suppressions are fetched first. A batch whose answer
    was lost is checked in the provider's events once they settle (MAILER_RECONCILE_AFTER
    seconds, default 1800): the send waits for that at the end, and sends whoever the
    provider had not taken. Exit 1 if the send stopped (the message says why) or a setting
    is missing."""
    if dry_run and test_to:
        fail("--dry-run and --test-to do not go together", 2)
    if list_readers and not dry_run:
        fail("--list goes with --dry-run", 2)
    obj.edition(edition)
    settings = _settings(outbox or obj.root / "outbox")
    if test_to is not None:
        test_to = parse_address(test_to)
    composer = make_composer(obj, edition, secret=None if dry_run else secret_or_fail(), from_addr=settings.from_addr)
    if not obj.db.exists() and test_to is None:
        fail("no database yet: import a CSV first")
    provider = _provider(settings)
    with provider:
        if dry_run:
            _dry_run(obj, composer, provider, settings, list_readers)
        elif test_to is not None:
            _proofs(obj, composer, provider, settings, test_to)
        else:
            _send(obj, composer, provider, settings, resend_unknown, batch_size, quiet, not no_wait)


def _dry_run(obj: Context, composer, provider, settings, list_readers: bool) -> None:
    from .providers.base import ProviderError
    from .send import dry_run
    from .suppressions import fetch_hashes
    try:
        suppressed = fetch_hashes(provider)
    except ProviderError as err:
        fail(f"could not fetch the suppressions from {provider.name}: {err}; a send would stop here too")
    with obj.store(need_key=suppressed is not None) as store:
        result = dry_run(store, composer, suppressed=suppressed, listing=list_readers)
    for slug, address in result.readers or ():
        click.echo(f"{address}\t{slug}")
    for slug, n in sorted(result.counts.items()):
        click.echo(f"{slug}\t{n}")
    edition = composer.edition.id
    total, variants = sum(result.counts.values()), len(result.counts)
    also = f" ({result.suppressed} more suppressed at {provider.name})" if result.suppressed else ""
    via = "" if settings.provider == "outbox" else f" through {settings.provider}"
    click.echo(f"dry run: {total} readers would get {edition} in {variants} variants{via}{also}; nothing was sent")


def _proofs(obj: Context, composer, provider, settings, address: str) -> None:
    from .compose import ComposeError
    from .proofs import ProviderError, proof_keys, send_proofs
    store = Store(obj.db) if obj.db.exists() else None
    try:
        keys = proof_keys(store, composer)
        try:
            for key in keys:              # every variant checked before the first proof goes
                composer.variant(key)
            proofs = send_proofs(composer, provider, address, keys, store=store)
        except ProviderError as err:
            fail(f"proof not sent: {err}")
        except ComposeError as err:
            fail(str(err))
    finally:
        if store:
            store.close()
    from .proofs import TAG
    where = _where(settings, TAG.format(edition=composer.edition.id))
    for proof in proofs:
        click.echo(f"proof sent to {address} {where}: {proof.subject}")
    click.echo(f"{len(proofs)} proof{'s' if len(proofs) != 1 else ''} of {composer.edition.id} sent to {address}; "
               "nothing was recorded for the edition")


def _settle() -> float:
    from .reconcile import SettingError, settle_from_env
    try:
        return settle_from_env()
    except SettingError as err:
        fail(str(err))


def _send(obj: Context, composer, provider, settings, resend_unknown: bool, batch_size: int | None,
          quiet: bool, wait: bool) -> None:
    from . import progress as progress_mod
    from .send import SendLocked, SendOptions, SendRun
    edition = composer.edition.id
    options = SendOptions(batch_size=batch_size, rate=settings.rate, resend_unknown=resend_unknown,
                          settle=_settle(), wait_for_settle=wait)
    display = progress_mod.for_stream(quiet=quiet)
    with obj.store() as store:
        try:
            report = SendRun(store, composer, provider, options, progress=display).run()
        except SendLocked as err:
            fail(str(err))
        except KeyboardInterrupt:
            display.close()
            click.echo(_status_line(edition, store.status(edition)))
            fail("interrupted: a batch in flight, if any, is now unknown; the rest stay pending: "
                 "run send again to go on")
        finally:
            display.close()
        counts = store.status(edition)
    if report.recovered:
        were = "readers were" if report.recovered != 1 else "reader was"
        then = ("checked in the provider's events" if provider.can_reconcile
                else "not sent again (see status; --resend-unknown sends them)")
        click.echo(f"{report.recovered} {were} being sent when an earlier run stopped: now unknown, {then}")
    if report.suppressions is not None:
        click.echo(report.suppressions.line())
    click.echo(report.summary(_where(settings, edition)))
    click.echo(_status_line(edition, counts))
    if counts["unknown"]:
        click.echo(f"{counts['unknown']} unknown: see `status {edition}` for why; `reconcile {edition}` checks "
                   "the provider's events once they settle; `send --resend-unknown` sends them "
                   "(anyone the provider did get gets it twice)")
    if report.stopped:
        fail(f"stopped: {report.stopped}")


def _status_line(edition: str, counts: dict[str, int]) -> str:
    total = sum(counts.values())
    return f"{edition}: {total} readers: " + ", ".join(f"{counts[s]} {s}" for s in STATES)


@click.command()
@click.pass_obj
def sync(obj: Context) -> None:
    """Fetch the provider's suppressions (unsubscribes, bounces, complaints) into the database.

    `send` does this first every time; run it alone to see the counts per reason."""
    from .providers.base import ProviderError
    from .suppressions import sync as sync_suppressions
    settings = _settings(obj.root / "outbox")
    provider = _provider(settings)
    with provider, obj.store() as store:
        try:
            report = sync_suppressions(store, provider)
        except ProviderError as err:
            fail(f"could not fetch the suppressions from {provider.name}: {err}")
    if report is None:
        click.echo(f"the {settings.provider} provider keeps no suppression list: nothing to sync")
        return
    click.echo(report.line() + f" ({report.elapsed:.1f} s)")


@click.command()
@click.argument("edition")
@click.option("--json", "as_json", is_flag=True, help="Counts (and unknown batches) as JSON, for scripts.")
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
        from .reconcile import explain
        counts = store.status(edition) if store else dict.fromkeys(STATES, 0)
        batches = store.unknown_batches(edition) if store else []
        settle = _settle()
        for b in batches:
            b["why_unknown"] = explain(b, settle)
        if as_json:
            click.echo(json.dumps({"edition": edition, "total": sum(counts.values()), **counts,
                                   "unknown_batches": batches}))
        else:
            click.echo(_status_line(edition, counts))
            if counts["unknown"]:
                click.echo(f"{counts['unknown']} unknown: they may or may not have received it; "
                           f"`reconcile {edition}` asks the provider, `send --resend-unknown` sends them again")
                for b in batches:
                    click.echo(f"  batch {b['batch'] or '-'}: {b['readers']} reader{'s' if b['readers'] != 1 else ''}"
                               f", {b['variant'] or '?'}, {b['provider'] or '?'}, {(b['claimed_at'] or '?')}: "
                               f"{b['reason']}")
                    click.echo(f"    still unknown because: {b['why_unknown']}")
        if list_state and store:
            for row in store.rows_in_state(edition, list_state):
                click.echo("\t".join([row["email"] or "(forgotten)", f"batch {row['batch_id'] or '-'}",
                                      row["reason"] or ""]))
    finally:
        if store:
            store.close()


@click.command()
@click.argument("edition")
@click.option("--wait", is_flag=True, help="Wait for batches whose events have not settled yet, then check them.")
@click.pass_obj
def reconcile(obj: Context, edition: str, wait: bool) -> None:
    """Settle EDITION's unknown batches by asking the provider what it accepted.

    Readers the provider took become sent; the others pending (the next `send` sends them).
    Only batches whose events have settled (MAILER_RECONCILE_AFTER seconds after the
    request, default 1800) are checked; `status` says when the others can be."""
    from .reconcile import Reconciler, explain
    from .send import SendLocked, send_lock
    settings = _settings(obj.root / "outbox")
    settle = _settle()
    if not obj.db.exists():
        fail("no database yet: import a CSV first")
    provider = _provider(settings)
    with provider, obj.store() as store:
        try:
            with send_lock(store.path):
                recovered = store.recover(edition)     # no send is running: what one left in flight
                reconciler = Reconciler(store, provider, edition, settle=settle)
                report = reconciler.run()
                while wait and report.waiting:
                    left = max(0.0, (report.next_due or 0) - time.time())
                    click.echo(f"waiting {left:.0f} s for {provider.name}'s events to settle", err=True)
                    time.sleep(left)
                    more = reconciler.run()
                    more.checked += report.checked
                    more.sent += report.sent
                    more.requeued += report.requeued
                    more.skipped += report.skipped
                    report = more
        except SendLocked:
            fail("a send is running on this database; it reconciles its own lost answers: wait for it")
        counts = store.status(edition)
        batches = store.unknown_batches(edition)
    if recovered:
        click.echo(f"{recovered} reader{'s were' if recovered != 1 else ' was'} being sent when a run stopped: "
                   "now unknown, checked like any other")
    click.echo(report.line(edition))
    click.echo(_status_line(edition, counts))
    for b in batches:
        click.echo(f"  batch {b['batch'] or '-'}: {b['readers']} reader{'s' if b['readers'] != 1 else ''} "
                   f"still unknown: {explain(b, settle)}")
    if counts["pending"]:
        click.echo(f"{counts['pending']} pending: `send {edition}` sends them")
