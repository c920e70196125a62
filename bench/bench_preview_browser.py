#!/usr/bin/env python3
"""Benchmark: a saved course, seen in a real browser (Chromium) on `build.py serve`.

    .venv/bin/python bench/bench_preview_browser.py [--courses 5000 | --demo] [--runs 4]
        [--settle search | 1.5s] [--keep DIR]

`build.py serve` runs in its own process on a synthetic alliance (bench/synth.py) or a copy of
the demo; a course page is open in Chromium at 375 px; a sentence is added to the course's
file and the time is taken until the page in the browser shows it: the watcher's pause, the
rebuild, MkDocs' live reload, the page's load and the browser's work, all of it (the figure an
editor sees). Each save is made once the page is idle: its search ready (Material's worker
indexes the whole site's search index after every load: seconds at 5,000 courses), or with
``--settle 1.5s`` 1.5 s after the page loaded, while it may still be indexing and competing
with the rebuild for the processor. The server's own "Rebuilt in" lines are printed beside.
Targets (issue 14): < 1 s at 5,000 courses, < 0.5 s on the demo. Not a timed test: it
prints figures.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_site import make_root, start_serve, verdict, work_folder  # noqa: E402

CHROMIUM = "/usr/bin/chromium"


# Material's search box says "Initializing search" until its worker has indexed the site's
# search index (10 MB at 5,000 courses: seconds of the browser's time after each reload)
SEARCH_READY = ("(document.querySelector('.md-search-result__meta') || {}).textContent "
                "&& !document.querySelector('.md-search-result__meta').textContent"
                ".includes('Initializing')")


def saves(root: Path, port: int, runs: int, settle: str = "search") -> list[float]:
    from playwright.sync_api import sync_playwright
    courses = sorted((root / "courses").glob("*.md"))
    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 375, "height": 800})
        for i in range(runs):
            course = courses[(i + 1) * len(courses) // (runs + 2)]
            page.goto(f"http://127.0.0.1:{port}/courses/{course.stem}.html")
            page.wait_for_load_state("load")
            if settle == "search":      # the page idle: its search ready, as after reading it
                page.wait_for_function(SEARCH_READY, timeout=120_000)
                time.sleep(0.5)
            else:                       # 1.5 s after the load: the search may still be indexing
                time.sleep(1.5)
            marker = f"Saved-in-the-benchmark-{i}-{time.time_ns()}"
            text = course.read_text(encoding="utf-8")
            started = time.perf_counter()
            # the browser is left alone until the live reload starts its new page (polling the
            # old page on every frame cost the browser a tenth of a core, taken from the
            # rebuild on a 2-core machine); then the new page is checked on every frame
            with page.expect_navigation(wait_until="commit", timeout=120_000):
                course.write_text(f"{text}\n\n{marker}\n", encoding="utf-8")
            reloaded = time.perf_counter() - started
            page.wait_for_function(f"document.body && document.body.innerText.includes({marker!r})",
                                   timeout=120_000, polling="raf")
            times.append(time.perf_counter() - started)
            print(f"  {course.stem}: shown {times[-1]:.2f} s after the save (the reload began "
                  f"after {reloaded:.2f} s)", flush=True)
        browser.close()
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--courses", type=int, default=5000)
    parser.add_argument("--demo", action="store_true", help="the repository's demo alliance")
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--keep", type=Path, help="keep the alliance and the server's log here")
    parser.add_argument("--settle", choices=["search", "1.5s"], default="search",
                        help="save once the page's search is ready (default), or 1.5 s after "
                             "the page loaded, while the search may still be indexing")
    args = parser.parse_args(argv)
    target = 0.5 if args.demo else 1.0
    with work_folder(args.keep, "bench-browser-") as base:
        root = make_root(base, args.courses, demo=args.demo)
        log = base / "serve.log"
        server, port, ready = start_serve(root, log)
        print(f"serve: ready {ready:.1f} s after start", flush=True)
        try:
            times = saves(root, port, args.runs, args.settle)
        finally:
            server.terminate()
            server.wait(timeout=30)
        rebuilt = [line for line in log.read_text(encoding="utf-8").splitlines()
                   if line.startswith("Rebuilt in")][1:]
        print("the server's own lines:\n" + "\n".join(f"    {line}" for line in rebuilt))
        median = statistics.median(times)
        verdict(median < target, f"save to the page shown in Chromium: median {median:.2f} s "
                f"(runs {', '.join(f'{t:.2f}' for t in times)}; target < {target} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
