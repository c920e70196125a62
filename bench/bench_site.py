#!/usr/bin/env python3
"""Benchmark of the website build on a synthetic alliance (not a timed test).

    .venv/bin/python bench/bench_site.py [--courses 5000] [--sles 1000] [--schools 500]
                                         [--today 2026-11-22] [--runs 3] [--keep DIR]

Generates the alliance with bench/synth.py, then reports separately, in one process as
`build.py build` runs them:

    load+validate     records.load(root)
    generate          our Markdown: pages, templates, files written (website.pipeline.generate)
    mkdocs            the MkDocs build of the generated project (website.engine.build)
    check             `python build.py check --root DIR` as a subprocess, start to exit
                      (median of --runs), interpreter start and imports included
    peak RSS          this process after each stage (getrusage), the largest child process
                      (the check runs and, for big sites, the forked page renderers)

and compares them with the targets: check < 1.5 s; load+validate+generate < 10% of mkdocs;
peak RSS < 400 MB.

cpu s is this process's own CPU time: for a big site the pages are rendered in forked worker
processes (website.pipeline; TSA_RENDER_WORKERS=1 renders in-process), whose CPU is not in it.
"""
from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")

CHECK_TARGET = 1.5          # seconds
OURS_TARGET = 0.10          # share of the MkDocs build
RSS_TARGET = 400            # MB


def peak_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024          # KB on Linux


def timed(function, *args, **kwargs):
    started, cpu = time.perf_counter(), time.process_time()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - started, time.process_time() - cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--courses", type=int, default=5000)
    parser.add_argument("--sles", type=int, default=1000)
    parser.add_argument("--schools", type=int, default=500)
    parser.add_argument("--today", type=dt.date.fromisoformat, default=dt.date(2026, 11, 22))
    parser.add_argument("--runs", type=int, default=3, help="runs of `build.py check` (median)")
    parser.add_argument("--keep", type=Path, help="keep the alliance, project and site here")
    args = parser.parse_args(argv)

    from synth import make_alliance

    base = Path(tempfile.mkdtemp(prefix="bench-site-")) if args.keep is None else args.keep
    base.mkdir(parents=True, exist_ok=True)
    root, out = base / "alliance", base / "site"
    shutil.rmtree(root, ignore_errors=True)
    try:
        started = time.perf_counter()
        make_alliance(root, courses=args.courses, sles=args.sles, schools=args.schools)
        print(f"alliance: {args.courses} courses, {args.sles} SLEs, {args.schools} schools "
              f"in {root} ({time.perf_counter() - started:.1f} s to generate)")

        # `build.py check`, as editors and CI run it, before this process warms any cache
        checks = []
        for _ in range(args.runs):
            started = time.perf_counter()
            done = subprocess.run([sys.executable, str(REPO / "build.py"), "check", "--root",
                                   str(root)], capture_output=True, text=True)
            checks.append(time.perf_counter() - started)
            if done.returncode != 0:
                print(done.stdout[-2000:], done.stderr[-2000:])
                return 1
        check_rss = peak_mb(resource.RUSAGE_CHILDREN)

        import records
        from website import engine, pipeline

        (recs, problems), load_s, load_cpu = timed(records.load, root)
        if problems.errors:
            print("\n".join(map(str, problems.errors[:20])))
            return 1
        load_rss = peak_mb()
        project = base / "project" if args.keep else pipeline.scratch_folder("bench-project-")
        shutil.rmtree(project, ignore_errors=True)
        (site, config_file), generate_s, generate_cpu = timed(pipeline.generate, recs, args.today,
                                                              project)
        pages = len(site.pages)
        del site, recs
        gc.collect()
        generate_rss = peak_mb()
        workers_rss = peak_mb(resource.RUSAGE_CHILDREN)       # forked renderers (and check)
        shutil.rmtree(out, ignore_errors=True)
        warnings, mkdocs_s, mkdocs_cpu = timed(engine.build, config_file, out)
        mkdocs_rss = peak_mb()
        if not args.keep:
            shutil.rmtree(project, ignore_errors=True)
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)

    ours = load_s + generate_s
    check_s = statistics.median(checks)
    print(f"pages: {pages} generated, {len(warnings)} MkDocs warnings")
    print(f"{'stage':<16}{'wall s':>9}{'cpu s':>9}{'peak RSS MB':>14}")
    print(f"{'load+validate':<16}{load_s:>9.2f}{load_cpu:>9.2f}{load_rss:>14.0f}")
    print(f"{'generate':<16}{generate_s:>9.2f}{generate_cpu:>9.2f}{generate_rss:>14.0f}"
          f"   (largest child process: {workers_rss:.0f} MB)")
    print(f"{'mkdocs':<16}{mkdocs_s:>9.2f}{mkdocs_cpu:>9.2f}{mkdocs_rss:>14.0f}")
    print(f"{'build.py check':<16}{check_s:>9.2f}{'':>9}{check_rss:>14.0f}"
          f"   (runs: {', '.join(f'{c:.2f}' for c in checks)})")
    results = [
        (f"build.py check {check_s:.2f} s < {CHECK_TARGET} s", check_s < CHECK_TARGET),
        (f"load+validate+generate {ours:.2f} s = {ours / mkdocs_s:.1%} of mkdocs "
         f"{mkdocs_s:.1f} s < {OURS_TARGET:.0%}", ours < OURS_TARGET * mkdocs_s),
        (f"peak RSS {mkdocs_rss:.0f} MB < {RSS_TARGET} MB", mkdocs_rss < RSS_TARGET),
    ]
    for text, ok in results:
        print(f"{'ok  ' if ok else 'MISS'} {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
