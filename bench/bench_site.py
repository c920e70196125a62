#!/usr/bin/env python3
"""Benchmark of check, build and preview on a synthetic alliance (not a timed test).

    .venv/bin/python bench/bench_site.py [--courses 5000] [--sles N] [--schools N]
        [--runs 3] [--engines mkdocs,zensical] [--skip check,build,preview,served] [--profile N]
        [--keep DIR] [--demo]

Every figure is printed beside its target and the baseline it is measured against, measured
in the same run, side by side, so a busy machine slows both (read the ratios):

  check      `build.py check` with no cache (.cache/ deleted), start to exit, against a bare
             parse of the same files with PyYAML's CSafeLoader in a fresh interpreter
             (runs alternate; medians): target ≤ 1.5×. Then a re-check after one course is
             edited: in a new process as `check` times it (after the imports) < 0.2 s, with
             its imports and the command from start to exit beside it; and through the
             Python API in this process (records.check, as a tool that stays running).
  build      the MkDocs stage of `build.py build` against a plain Material site with the same
             number of short pages (same theme settings and search; sections-only nav):
             target ≤ 1.5×; peak RSS < 400 MB. Both also in CPU seconds of this process
             (steadier than the clock when other work shares the machine). Our own stages
             (load+validate, generate) beside it. With zensical in --engines: Zensical on the same project, cold (fresh
             project folder) and warm (built again, unchanged).
  preview    one saved course to the rebuilt site: the preview's incremental generation plus
             its in-memory MkDocs build of the touched pages (serve.Preview.rebuild, as
             `build.py serve` runs it): target < 1 s (the demo, --demo: < 0.5 s).
  served     the same, end to end: `build.py serve` in its own process, a course saved, its
             page polled over HTTP until it shows the edit (watcher, rebuild, server).

Every verdict line ends with the load average (1, 5, 15 minutes) when it was measured.

--profile N prints the N costliest functions of the MkDocs stage (cProfile, by cumulative and
by own time).
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
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

CHECK_RATIO = 1.5           # × a bare CSafeLoader parse
RECHECK_TARGET = 0.2        # seconds, after one edited file
BUILD_RATIO = 1.5           # × a plain short-page Material build
RSS_TARGET = 400            # MB
PREVIEW_TARGET = 1.0        # seconds at scale
DEMO_PREVIEW_TARGET = 0.5   # seconds on the demo

BARE_PARSE = """
import os, sys, time, yaml
root = sys.argv[1]
for folder, suffix in (("courses", ".md"), ("content/sles", ".md"), ("content/news", ".md"),
                       ("content/newsletters", ".md"), ("content/schools", ".yml")):
    base = os.path.join(root, folder)
    for name in sorted(os.listdir(base)) if os.path.isdir(base) else []:
        if name.endswith(suffix):
            with open(os.path.join(base, name), encoding="utf-8-sig") as handle:
                text = handle.read()
            if suffix == ".md":
                text = text[3:].split("\\n---", 1)[0]
            yaml.load(text, Loader=yaml.CSafeLoader)
"""


# a re-check as `build.py check` runs it (the same environment and API), timed to the ms
RECHECK = """
import os, sys, time
started = time.perf_counter()
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
sys.path.insert(0, sys.argv[1])
import records
imported = time.perf_counter()
records.check(sys.argv[2])
print(f"{time.perf_counter() - imported:.4f} {imported - started:.4f}")
"""


def peak_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024          # KB on Linux


# commands run as an editor's would: Python writes its bytecode caches (a first run pays for
# compiling, later runs do not), whatever this process was started with
COMMAND_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run(args: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, env=COMMAND_ENV)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return seconds, done.stdout


@contextlib.contextmanager
def work_folder(keep: Path | None, prefix: str):
    """Where a benchmark writes: ``keep`` (kept), else a temporary folder removed at the end."""
    base = Path(tempfile.mkdtemp(prefix=prefix)) if keep is None else keep
    base.mkdir(parents=True, exist_ok=True)
    try:
        yield base
    finally:
        if keep is None:
            shutil.rmtree(base, ignore_errors=True)


def make_root(base: Path, courses: int, *, sles: int | None = None, schools: int | None = None,
              demo: bool = False) -> Path:
    """``base/alliance``: a copy of the demo, or a synthetic alliance (bench/synth.py) of
    ``courses`` courses, a fifth as many SLEs and a tenth as many schools unless given."""
    root = base / "alliance"
    shutil.rmtree(root, ignore_errors=True)
    if demo:
        shutil.copytree(REPO / "content", root / "content")
        shutil.copytree(REPO / "courses", root / "courses")
        print(f"alliance: the demo, copied to {root}; load average {os.getloadavg()[0]:.1f}")
        return root
    from synth import make_alliance
    sles = sles if sles is not None else courses // 5
    schools = schools if schools is not None else courses // 10
    make_alliance(root, courses=courses, sles=sles, schools=schools)
    print(f"alliance: {courses} courses, {sles} SLEs, {schools} schools; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    return root


def start_serve(root: Path, log: Path) -> tuple[subprocess.Popen, int, float]:
    """`build.py serve` on ``root`` in its own process, its output in ``log``: (the process,
    its port, seconds until it said it was serving)."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with open(log, "w", encoding="utf-8") as out:
        server = subprocess.Popen([sys.executable, str(REPO / "build.py"), "serve", "--root",
                                   str(root), "--port", str(port), "--today", "2026-11-22"],
                                  stdout=out, stderr=subprocess.STDOUT,
                                  env=dict(COMMAND_ENV, PYTHONUNBUFFERED="1"))
    started = time.perf_counter()
    while "Preview: http" not in log.read_text(encoding="utf-8", errors="replace"):
        if server.poll() is not None or time.perf_counter() - started > 1800:
            server.kill()
            raise SystemExit(log.read_text(encoding="utf-8", errors="replace")[-3000:])
        time.sleep(0.2)
    return server, port, time.perf_counter() - started


def verdict(ok: bool, text: str) -> None:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{'ok  ' if ok else 'MISS'} {text} [load {load}]", flush=True)


def edit_one_course(root: Path) -> Path:
    """Add a sentence to one course's description, as an editor would."""
    courses = sorted((root / "courses").glob("*.md"))
    course = courses[len(courses) // 2]
    with open(course, "a", encoding="utf-8") as handle:
        handle.write("\nOne more sentence from the editor.\n")
    return course


# --- check ------------------------------------------------------------------------------------

def bench_check(root: Path, runs: int) -> None:
    check = [sys.executable, str(REPO / "build.py"), "check", "--root", str(root)]
    bare = [sys.executable, "-c", BARE_PARSE, str(root)]
    ours, base = [], []
    run(check)                                 # bytecode caches written, as after any first run
    for _ in range(runs):                      # alternate, so both see the same machine
        shutil.rmtree(root / ".cache", ignore_errors=True)
        ours.append(run(check)[0])
        base.append(run(bare)[0])
    o, b = statistics.median(ours), statistics.median(base)
    print(f"check, no cache: {o:.2f} s (runs {', '.join(f'{x:.2f}' for x in ours)}); bare "
          f"CSafeLoader parse of the same files: {b:.2f} s (runs {', '.join(f'{x:.2f}' for x in base)})")
    verdict(o <= CHECK_RATIO * b, f"check {o:.2f} s = {o / b:.2f}× the bare parse (target ≤ {CHECK_RATIO}×)")
    time.sleep(2.1)                            # let the cache's files settle (cache.SETTLE_SECONDS)
    run(check)                                 # warm
    fresh, imports, wall = [], [], []
    for _ in range(runs):
        edit_one_course(root)
        seconds, out = run([sys.executable, "-c", RECHECK, str(REPO), str(root)])
        took, imported = (float(x) for x in out.split())
        fresh.append(took)
        imports.append(imported)
        time.sleep(2.1)
        edit_one_course(root)
        wall.append(run(check)[0])
        time.sleep(2.1)
    r, i, w = (statistics.median(x) for x in (fresh, imports, wall))
    verdict(r < RECHECK_TARGET, f"re-check after one edited course, in a new process as `check` "
            f"times it (records.check, after the imports): {r:.3f} s (runs "
            f"{', '.join(f'{x:.3f}' for x in fresh)}; target < {RECHECK_TARGET} s)")
    print(f"  and the imports before it {i:.2f} s; `build.py check` from start to exit "
          f"{w:.2f} s (runs {', '.join(f'{x:.2f}' for x in wall)}), printing its warnings")
    bench_recheck_in_process(root, runs)


def bench_recheck_in_process(root: Path, runs: int) -> None:
    """The same re-check through the Python API (records.check), imports already done: what
    an editor's tool that stays running (an editor plug-in, the preview) would see."""
    import records
    records.check(root)
    times = []
    for _ in range(runs):
        edit_one_course(root)
        started = time.perf_counter()
        count, problems = records.check(root)
        times.append(time.perf_counter() - started)
        if problems.errors:
            raise SystemExit("\n".join(map(str, problems.errors[:5])))
        time.sleep(2.1)
    m = statistics.median(times)
    verdict(m < RECHECK_TARGET, f"re-check in-process (records.check, after one edited course): "
            f"{m:.3f} s (runs {', '.join(f'{x:.3f}' for x in times)}; target < {RECHECK_TARGET} s)")


# --- build ------------------------------------------------------------------------------------

def plain_project(folder: Path, pages: int) -> Path:
    """A plain Material site of ``pages`` short pages, themed as ours: the baseline."""
    from website import config as site_config
    base = site_config.base_config()
    docs = folder / "docs"
    (docs / "items").mkdir(parents=True, exist_ok=True)
    (docs / "index.md").write_text("# Home\n\nA plain site.\n", encoding="utf-8")
    for i in range(pages - 1):
        (docs / "items" / f"page-{i}.md").write_text(
            f"# Page {i}\n\nA short page, number {i}, with one [link](../index.md).\n",
            encoding="utf-8")
    config = dict(base, site_name="Plain", docs_dir="docs", site_dir="site",
                  nav=[{"Home": "index.md"}], not_in_nav="/items/*.md")
    theme = dict(config["theme"])
    theme.pop("custom_dir", None)
    config["theme"] = theme
    config.pop("extra_css", None)
    config.pop("extra_javascript", None)
    return site_config.write_config(folder, config)


def timed_build(config_file: Path, out: Path, engine: str = "mkdocs", profile: int = 0
                ) -> tuple[float, list[str]]:
    """Seconds on the clock, and the engine's warnings; ``LAST_CPU`` keeps this process's CPU
    seconds (MkDocs runs in it), which other work on a shared machine inflates far less."""
    global LAST_CPU
    from website import engine as engines
    shutil.rmtree(out, ignore_errors=True)
    cpu = time.process_time()
    started = time.perf_counter()
    if profile:
        import cProfile
        import pstats
        profiler = cProfile.Profile()
        warnings = profiler.runcall(engines.build, config_file, out, engine)
        seconds = time.perf_counter() - started
        print(f"profile of the MkDocs stage ({seconds:.1f} s with the profiler), cumulative:")
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(profile)
        print("... and own time:")
        stats.sort_stats("tottime").print_stats(profile)
        return seconds, warnings
    warnings = engines.build(config_file, out, engine)
    LAST_CPU = time.process_time() - cpu
    return time.perf_counter() - started, warnings


LAST_CPU = 0.0


def bench_build(root: Path, base: Path, today: dt.date, engines: list[str], profile: int) -> None:
    import gc

    import records
    from website import pipeline
    started = time.perf_counter()
    recs, problems = records.load(root, cache=False)
    load_s = time.perf_counter() - started
    if problems.errors:
        raise SystemExit("\n".join(map(str, problems.errors[:20])))
    project = base / "project"
    started = time.perf_counter()
    site, config_file = pipeline.generate(recs, today, project)
    generate_s = time.perf_counter() - started
    pages = len(site.pages)
    del site, recs
    gc.collect()
    plain = plain_project(base / "plain", pages)
    mkdocs_s, warnings = timed_build(config_file, base / "site")
    mkdocs_cpu = LAST_CPU
    rss = peak_mb()
    if profile:                                   # a run of its own: the profiler costs time
        timed_build(config_file, base / "site", profile=profile)
    plain_s, _ = timed_build(plain, base / "plain-site")
    plain_cpu = LAST_CPU
    print(f"pages: {pages}; load+validate {load_s:.2f} s, generate {generate_s:.2f} s "
          f"({(load_s + generate_s) / mkdocs_s:.0%} of the MkDocs stage); {len(warnings)} warnings")
    print(f"MkDocs stage {mkdocs_s:.1f} s ({1000 * mkdocs_s / pages:.1f} ms a page); plain "
          f"short-page Material site, same page count: {plain_s:.1f} s "
          f"({1000 * plain_s / pages:.1f} ms a page)")
    print(f"CPU time (this process): MkDocs stage {mkdocs_cpu:.1f} s, plain site {plain_cpu:.1f} s, "
          f"{mkdocs_cpu / plain_cpu:.2f}×")
    verdict(mkdocs_s <= BUILD_RATIO * plain_s, f"MkDocs stage {mkdocs_s / plain_s:.2f}× the plain "
            f"site (target ≤ {BUILD_RATIO}×)")
    verdict(rss < RSS_TARGET, f"peak RSS {rss:.0f} MB (target < {RSS_TARGET} MB)")
    if "zensical" in engines:
        zproject = base / "zensical-project"
        recs, _ = records.load(root, cache=False)
        _site, zconfig = pipeline.generate(recs, today, zproject, engine="zensical")
        del _site, recs
        cold, _ = timed_build(zconfig, base / "zensical-site", "zensical")
        warm, _ = timed_build(zconfig, base / "zensical-site", "zensical")
        children = peak_mb(resource.RUSAGE_CHILDREN)
        print(f"Zensical on the same project: cold {cold:.1f} s, warm {warm:.1f} s (MkDocs "
              f"{mkdocs_s:.1f} s; largest child process {children:.0f} MB)")


# --- preview ------------------------------------------------------------------------------------

def bench_preview(root: Path, base: Path, today: dt.date, target: float, runs: int) -> None:
    os.environ.setdefault("TSA_RENDER_WORKERS", "1")
    from website.serve import Preview
    preview = Preview(root, base / "preview-project", base / "preview-site", today,
                      "http://127.0.0.1:8000/")
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()) as said:   # the synthetic alliance's
        preview.rebuild()                                      # thousands of warnings
    first = time.perf_counter() - started
    print(f"(the first build printed {len(said.getvalue().splitlines())} lines, not shown)")
    times, shown = [], []
    # what the server does: the saved course's own page is built and its browsers reloaded
    # first (publish), then the rest of the update
    preview.publish = lambda urls: shown.append(time.perf_counter() - started)
    for _ in range(runs):
        time.sleep(0.05)
        edit_one_course(root)
        started = time.perf_counter()
        preview.rebuild()
        times.append(time.perf_counter() - started)
    median, first_shown = statistics.median(times), statistics.median(shown or [float("nan")])
    print(f"preview: first build {first:.1f} s; after one saved course: the course's own page "
          f"built {', '.join(f'{t:.2f}' for t in shown)} s, everything "
          f"{', '.join(f'{t:.2f}' for t in times)} s")
    verdict(first_shown < target, f"preview: the saved course's page built {first_shown:.2f} s "
            f"after the save (target < {target} s with the browser's reload: "
            "bench_preview_browser.py)")
    verdict(median < target, f"preview: the whole rebuild after one saved course {median:.2f} s "
            f"(the lists that show it, the feeds, the search index; target < {target} s)")
    print(f"peak RSS of this process so far (the preview keeps the built site's pages in "
          f"memory): {peak_mb():.0f} MB", flush=True)


def bench_served(root: Path, target: float, runs: int) -> None:
    """Save to served page, end to end: `build.py serve` in its own process, one course saved,
    its page fetched over HTTP until it shows the new text (the watcher's 0.1 s pause, the
    rebuild and the server included; a browser's reload and paint are not)."""
    import urllib.request
    log = root.parent / "served.log"
    server, port, first = start_serve(root, log)
    try:
        courses = sorted((root / "courses").glob("*.md"))
        times = []
        for i in range(runs):
            course = courses[(i + 1) * len(courses) // (runs + 2)]
            url = f"http://127.0.0.1:{port}/courses/{course.stem}.html"
            marker = f"Saved-{i}-{time.time_ns()}"
            text = course.read_text(encoding="utf-8")
            started = time.perf_counter()
            course.write_text(text + f"\n{marker}\n", encoding="utf-8")
            while True:
                try:
                    with urllib.request.urlopen(url, timeout=30) as answer:
                        if marker.encode() in answer.read():
                            break
                except OSError:
                    pass
                if time.perf_counter() - started > 120:
                    raise SystemExit(f"{url} never showed the edit")
                time.sleep(0.02)
            times.append(time.perf_counter() - started)
            time.sleep(1.0)
        median = statistics.median(times)
        rebuilt = [line for line in log.read_text(encoding="utf-8")
                   .splitlines() if line.startswith("Rebuilt in")]
        print(f"served preview: ready {first:.1f} s after start; save to served page "
              f"{', '.join(f'{t:.2f}' for t in times)} s; the server's own lines:")
        print("\n".join(f"    {line}" for line in rebuilt[-runs:]))
        verdict(median < target, f"save to served page (build.py serve, polled over HTTP) "
                f"{median:.2f} s (target < {target} s)")
    finally:
        server.terminate()
        server.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--courses", type=int, default=5000)
    parser.add_argument("--sles", type=int)
    parser.add_argument("--schools", type=int)
    parser.add_argument("--today", type=dt.date.fromisoformat, default=dt.date(2026, 11, 22))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--engines", default="mkdocs")
    parser.add_argument("--skip", default="", help="comma-separated: check, build, preview, served")
    parser.add_argument("--profile", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="keep the alliance, projects and sites here")
    parser.add_argument("--demo", action="store_true", help="the repository's demo alliance")
    args = parser.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    engines = args.engines.split(",")

    with work_folder(args.keep, "bench-site-") as base:
        root = make_root(base, args.courses, sles=args.sles, schools=args.schools, demo=args.demo)
        if "check" not in skip:
            bench_check(root, args.runs)
        if "build" not in skip:
            bench_build(root, base, args.today, engines, args.profile)
        if "preview" not in skip:
            bench_preview(root, base, args.today,
                          DEMO_PREVIEW_TARGET if args.demo else PREVIEW_TARGET, args.runs)
        if "served" not in skip:
            bench_served(root, DEMO_PREVIEW_TARGET if args.demo else PREVIEW_TARGET, args.runs)
        print(f"load average at the end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
