"""Board report benchmark: 100,000 subscribers and 5,000 courses, report in HTML and PDF.

    .venv/bin/python bench/bench_report.py [--readers 100000] [--courses 5000] [--keep]
        [--reuse] [--cold] [--in-process]

Sets up (not timed) a synthetic alliance (bench/synth.py: 5,000 courses, 1,000 SLEs, 500
schools), imports 100,000 synthetic subscribers, sends two editions to everyone through the
ledger (most sent, some failed), records 5,000 provider suppressions and 50,000 evaluations of
2,000 courses. Then times what `python -m mailer report` does:
- loading and checking the records (from the parse cache the set-up's load left, as an
  earlier report or check would; --cold removes it first, as on a fresh clone),
- computing the figures (demand against supply, reach, newsletters, evaluations),
- meanwhile, in the writer (mailer/report_writer.py), importing matplotlib and WeasyPrint;
  then drawing the six SVG charts, writing the HTML and CSV, writing the PDF (WeasyPrint);
  --in-process writes them in this process instead, as before the writer,
and prints each stage's wall and CPU time and process, the load average, the total from start
to PDF written (target < 10 s) and the peak RSS. Everything is written under bench/out/report
(git-ignored), removed unless --keep; --reuse times again on a set-up kept by --keep.
"""
from __future__ import annotations

import argparse
import os
import datetime as dt
import random
import resource
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from synth import make_alliance, make_subscribers_csv  # noqa: E402

import records  # noqa: E402
from mailer.importer import Importer, Vocab  # noqa: E402
from mailer.store import Store  # noqa: E402

END = dt.date(2027, 1, 10)
# keys the address hashes (mailer/hashing.py); a benchmark's own, never a real one
os.environ.setdefault("MAILER_SECRET", "benchmark-secret-not-for-production-0123456789")


def setup(out: Path, readers: int, courses: int) -> tuple[Path, Path]:
    root = out / "alliance"
    make_alliance(root, courses=courses, sles=max(courses // 5, 10), schools=500)
    csv_path = out / "subscribers.csv"
    make_subscribers_csv(csv_path, readers)
    db = out / "mailer.sqlite3"
    recs, _ = records.load(root)
    rng = random.Random(5)
    with Store(db) as store:
        Importer(store, Vocab.from_records(recs), today=END).import_file(csv_path)
        rows = [(r[0], r[1], rng.choice(["teaching-assistants", "teachers", "leaders", "friends"]), "")
                for r in store.conn.execute("SELECT id, address_hash FROM subscribers WHERE consent = 1")]
        for edition in list(recs.editions)[:2]:
            store.plan(edition, rows)
            with store.transaction() as conn:
                conn.execute("UPDATE ledger SET state = CASE WHEN id % 50 = 0 THEN 'failed' ELSE 'sent' END, "
                             "updated_at = ? WHERE edition = ?",
                             (f"{recs.editions[edition].date.isoformat()}T09:00:00Z", edition))
        hashes = [r[1] for r in rows]
        store.apply_suppressions([(h, rng.choice(["bounce", "complaint", "unsubscribed"]))
                                  for h in rng.sample(hashes, 5000)], "provider")
        evaluated = rng.sample(sorted(recs.courses), min(2000, len(recs.courses)))
        with store.transaction() as conn:
            conn.executemany(
                "INSERT INTO evaluations (course, response_key, submitted_at, rating, change, quote_consent, "
                "source, imported_at) VALUES (?, ?, ?, ?, ?, ?, 'bench', 'now')",
                [(c := rng.choice(evaluated), f"k{i}", (END - dt.timedelta(days=rng.randint(0, 360))).isoformat(),
                  rng.randint(1, 5), f"I will try this in my class ({i})", int(rng.random() < 0.2))
                 for i in range(50_000)])
    return root, db


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readers", type=int, default=100_000)
    parser.add_argument("--courses", type=int, default=5000)
    parser.add_argument("--keep", action="store_true", help="keep bench/out/report afterwards")
    parser.add_argument("--reuse", action="store_true",
                        help="time again on the set-up kept by an earlier --keep (no new set-up)")
    parser.add_argument("--cold", action="store_true",
                        help="remove the records' parse cache first (as on a fresh clone)")
    parser.add_argument("--in-process", action="store_true",
                        help="write charts, HTML and PDF in this process, without the worker")
    args = parser.parse_args(argv)
    out = HERE / "out" / "report"
    if args.reuse and (out / "mailer.sqlite3").exists():
        root, db = out / "alliance", out / "mailer.sqlite3"
        shutil.rmtree(out / "board", ignore_errors=True)
    else:
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        started = time.perf_counter()
        root, db = setup(out, args.readers, args.courses)
        print(f"set-up (not timed): {args.readers:,} subscribers, {args.courses:,} courses, two "
              f"editions sent, 50,000 evaluations, in {time.perf_counter() - started:.1f} s")
    if args.cold:
        shutil.rmtree(root / ".cache", ignore_errors=True)
    from records.cache import RecordCache
    folder = RecordCache(root, "documents").folder        # this code version's cache
    cache = "warm parse cache" if list(folder.glob("documents-*.pickle")) else "no parse cache"
    files, timings, total = timed_report(root, db, out / "board", worker=not args.in_process)
    print(f"  {'stage':<34} {'wall':>8} {'CPU':>8}  process")
    for what, seconds, cpu, where in timings:
        print(f"  {what:<34} {seconds:6.2f} s {cpu:6.2f} s  {where}")
    load = os.getloadavg()
    print(f"  load average now: {load[0]:.1f} (1 min), {load[1]:.1f} (5 min) on {os.cpu_count()} cores")
    main_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # the largest process this one waited for: the writer (its own children are smaller)
    child_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 \
        if any(where == "writer" for *_, where in timings) else 0
    print(f"report total: {total:.2f} s wall from start to PDF written (target < 10 s; records "
          f"with {cache}); CPU {sum(t[2] for t in timings):.2f} s in all; HTML "
          f"{files['html'].stat().st_size / 1e6:.2f} MB, PDF {files['pdf'].stat().st_size / 1e6:.2f} MB; "
          f"peak RSS {main_rss:.0f} MB" + (f", writer {child_rss:.0f} MB" if child_rss else ""))
    if not args.keep:
        shutil.rmtree(out, ignore_errors=True)
    return 0 if total < 10 else 1


def timed_report(root: Path, db: Path, board: Path, *, worker: bool):
    """What `python -m mailer report` does, stage by stage: (files, [(stage, wall, CPU,
    process)], total wall). With the worker, its stages overlap the main process' ones."""
    from mailer.report import build_report
    from mailer.report_writer import ReportWriter
    timings = []
    began = clock = (time.perf_counter(), time.process_time())

    def lap(what: str) -> None:
        nonlocal clock
        now = (time.perf_counter(), time.process_time())
        timings.append((what, now[0] - clock[0], now[1] - clock[1], "main"))
        clock = now

    with ReportWriter(worker=worker) as writer:
        forked = writer.forked
        recs, problems = records.load(root)
        lap("load and check the records")
        with Store(db) as store:
            report = build_report(recs, store, start=END.replace(year=END.year - 1), end=END)
        lap("compute the figures")
        files = writer.write(report, board)
        if forked:
            lap("(handing over, waiting)")
    total = time.perf_counter() - began[0]
    for what, seconds, cpu in writer.laps:
        timings.append((f"{what} (meanwhile)" if what == "imports" else what, seconds, cpu,
                        "writer" if forked else "main"))
    return files, timings, total

if __name__ == "__main__":
    sys.exit(main())
