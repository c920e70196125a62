"""Mailer benchmark: 100,000 synthetic subscribers through import, compose and the outbox.

    .venv/bin/python bench/bench_mailer.py [--readers 100000] [--root .] [--edition ID] [--keep]

Prints, for the demo alliance (or --root) and its edition going to the most audiences:
- import rate (rows/s; target >= 20,000),
- personalising rate once variants are rendered: Composer.recipient (token, unsubscribe URL,
  mailto, Message-ID) + MimeTemplate.render per reader, readers streamed from SQLite
  (messages/s; target >= 5,000),
- the full outbox send (plan, claim, compose, write one .eml each, ledger) in messages/s,
- peak RSS of the whole process (target < 200 MB).
Everything is written under bench/out/ (git-ignored) and removed unless --keep.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from common import prepare  # noqa: E402
from synth import make_subscribers_csv  # noqa: E402

from mailer.audiences import key_from_ledger  # noqa: E402
from mailer.compose import Composer, make_tokens  # noqa: E402
from mailer.importer import Importer, Vocab  # noqa: E402
from mailer.mime import MimeTemplate  # noqa: E402
from mailer.providers.outbox import OutboxProvider  # noqa: E402
from mailer.send import SendRun  # noqa: E402
from mailer.store import Reader, Store  # noqa: E402

SECRET = b"benchmark-secret-not-for-production"
os.environ.setdefault("MAILER_SECRET", SECRET.decode())      # also keys the address hashes


class RenderOnly(OutboxProvider):
    """Every message rendered to bytes, none written: the send loop's own cost."""

    name = "render-only"

    def send(self, batch):
        template = self._template(batch)
        return {r.address: (template.render(r), r.vars["message_id"])[1] for r in batch.recipients}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # KiB on Linux


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readers", type=int, default=100_000)
    parser.add_argument("--root", type=Path, default=HERE.parent)
    parser.add_argument("--edition", default=None)
    parser.add_argument("--keep", action="store_true", help="keep bench/out/mailer afterwards")
    args = parser.parse_args(argv)

    out = HERE / "out" / "mailer"
    recs, edition_id = prepare(args.root, out, args.edition)
    edition = recs.editions[edition_id]
    print(f"alliance {args.root.resolve().name}: {len(recs.courses)} courses; edition {edition_id}")

    # 1. the CSV (not timed)
    csv_path = out / "subscribers.csv"
    t = time.perf_counter()
    make_subscribers_csv(csv_path, args.readers, seed=1)
    print(f"synthetic CSV: {args.readers:,} rows, {csv_path.stat().st_size / 1e6:.1f} MB "
          f"in {time.perf_counter() - t:.1f} s")

    # 2. import
    db = out / "mailer.sqlite3"
    with Store(db) as store:
        t = time.perf_counter()
        result = Importer(store, Vocab.from_records(recs)).import_file(csv_path)
        elapsed = time.perf_counter() - t
        print(f"import: {result.rows:,} rows in {elapsed:.2f} s = {result.rows / elapsed:,.0f} rows/s "
              f"(target >= 20,000): {result.summary()}")
        t = time.perf_counter()
        again = Importer(store, Vocab.from_records(recs)).import_file(csv_path)
        elapsed = time.perf_counter() - t
        print(f"re-import (all unchanged): {again.rows / elapsed:,.0f} rows/s, {again.unchanged:,} unchanged")

        # 3. plan + render the variants once
        composer = Composer(recs, edition, tokens=make_tokens(recs, SECRET))
        planning = SendRun(store, composer, OutboxProvider(out / "outbox"))
        t = time.perf_counter()
        planned = planning.plan()
        print(f"plan: {planned:,} readers in the ledger in {time.perf_counter() - t:.2f} s")
        t = time.perf_counter()
        variants = store.pending_variants(edition_id)
        templates = {}
        for audience, phases, _ in variants:
            key = key_from_ledger(audience, phases)
            templates[(audience, phases)] = MimeTemplate(composer.variant(key), composer.sender)
        render = time.perf_counter() - t
        print(f"render: {len(templates)} variants in {render * 1000:.0f} ms "
              f"({render / max(1, len(templates)) * 1000:.1f} ms each, HTML inlined)")

        # 4. personalising, readers streamed from SQLite, nothing written
        rows = store.conn.execute(
            "SELECT l.id, s.email, s.address_hash, s.first_name, s.last_name, l.audience, l.phases "
            "FROM ledger l JOIN subscribers s ON s.id = l.subscriber_id "
            "WHERE l.edition = ? AND l.state = 'pending'", (edition_id,))
        n = size = 0
        t = time.perf_counter()
        for row in rows:
            reader = Reader(row[0], row[1], row[2], row[3], row[4])
            size += len(templates[(row[5], row[6])].render(composer.recipient(reader)))
            n += 1
        elapsed = time.perf_counter() - t
        print(f"personalise: {n:,} messages in {elapsed:.2f} s = {n / elapsed:,.0f} messages/s "
              f"(target >= 5,000), {size / n / 1024:.1f} KiB each")

        # 5. the full send through the outbox provider
        t = time.perf_counter()
        report = SendRun(store, composer, OutboxProvider(out / "outbox")).run()
        elapsed = time.perf_counter() - t
        files = sum(1 for _ in (out / "outbox" / edition_id).iterdir())
        print(f"send (outbox): {report.sent:,} sent in {elapsed:.2f} s = {report.sent / elapsed:,.0f} "
              f"messages/s, {report.batches} batches, {files:,} .eml files")
        # 6. the same loop with a provider that renders every message but writes nothing: the
        #    cost of the send loop itself (ledger, claims, personalising), without the disk
        others = [e for e in recs.editions if e != edition_id]
        if others:
            other = recs.editions[others[-1]]
            t = time.perf_counter()
            nodisk = SendRun(store, Composer(recs, other, tokens=make_tokens(recs, SECRET)),
                             RenderOnly(batch_size=1000)).run()
            elapsed = time.perf_counter() - t
            print(f"send ({other.id}, MIME rendered, nothing written): {nodisk.sent:,} in {elapsed:.2f} s "
                  f"= {nodisk.sent / elapsed:,.0f} messages/s, {nodisk.batches} batches")
        counts = store.status(edition_id)
        print("ledger: " + ", ".join(f"{v:,} {k}" for k, v in counts.items()))
        t = time.perf_counter()
        again = SendRun(store, composer, OutboxProvider(out / "outbox")).run()
        print(f"send again: {again.sent} sent in {time.perf_counter() - t:.2f} s")

    rss = peak_rss_mb()
    print(f"peak RSS: {rss:.0f} MB (target < 200 MB)")
    if not args.keep:
        shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
