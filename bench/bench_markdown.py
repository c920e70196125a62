#!/usr/bin/env python3
"""Where the MkDocs stage's time goes, page kind by page kind (not a timed test).

    .venv/bin/python bench/bench_markdown.py [--courses 500] [--profile 25] [--kind course]
        [--keep DIR]

Generates a synthetic alliance and its MkDocs project (as bench_site.py does), then, with
MkDocs' own objects (config, files, nav, Page.render: the exact Markdown extensions of the
generated mkdocs.yml plus MkDocs' own preprocessors and treeprocessors), times for each page:

  render   Page.render: Python-Markdown converting the page (a new Markdown object per page,
           as MkDocs makes one);
  search   Material's search plugin indexing the rendered HTML (skipped for pages whose front
           matter says search: exclude).

Figures are this process's CPU time (steadier than the clock on a shared machine), grouped by
page kind (course, SLE, listing, ...) beside a plain Material site's short pages measured in
the same run, so the extra our Markdown costs is one column. The theme's templates are not
in it: bench_site.py times the whole MkDocs stage.
--profile N profiles the rendering of the pages of --kind (default: every page) and prints
the N costliest functions (cumulative and own time).
"""
from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")


def kind_of(path: str) -> str:
    """A docs path's page kind, for grouping: course, sle, listing, ..."""
    parts = path.split("/")
    if parts[0] == "items":
        return "plain"
    if parts[0] == "courses" and parts[-1] != "index.md":
        return "course"
    if parts[0] == "sles" and len(parts) == 2 and parts[1] != "index.md":
        return "sle"
    if parts[0] in ("strands", "archive", "sles") or path in ("courses/index.md", "schools.md"):
        return "listing"
    if parts[0] in ("news", "newsletters"):
        return "news"
    return "other"


def mkdocs_pages(config_file: Path):
    """MkDocs' config, files and pages for a generated project, as `mkdocs build` sets them up."""
    from mkdocs.config import load_config
    from mkdocs.structure.files import get_files
    from mkdocs.structure.nav import get_navigation
    logging.getLogger("mkdocs").setLevel(logging.ERROR)
    config = load_config(str(config_file))
    config.plugins.on_startup(command="build", dirty=False)
    config = config.plugins.on_config(config)
    files = get_files(config)
    get_navigation(files, config)
    pages = [f.page for f in files.documentation_pages() if f.page is not None]
    for page in pages:
        page.read_source(config)
    return config, files, pages


def measure(config_file: Path, only: str | None = None, profile: int = 0) -> dict[str, list]:
    """Seconds per page kind: {kind: [pages, render s, search s, Markdown characters]}."""
    from material.plugins.search.plugin import SearchIndex
    config, files, pages = mkdocs_pages(config_file)
    totals: dict[str, list] = defaultdict(lambda: [0, 0.0, 0.0, 0])
    chosen = [p for p in pages if only is None or kind_of(p.file.src_uri) == only]
    profiler = None
    if profile:
        import cProfile
        profiler = cProfile.Profile()
    index = SearchIndex()
    clock = time.process_time
    for page in chosen:
        row = totals[kind_of(page.file.src_uri)]
        started = clock()
        if profiler:
            profiler.runcall(page.render, config, files)
        else:
            page.render(config, files)
        rendered = clock()
        index.add_entry_from_context(page)
        row[0] += 1
        row[1] += rendered - started
        row[2] += clock() - rendered
        row[3] += len(page.markdown)
    if profiler:
        import pstats
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(profile)
        stats.sort_stats("tottime").print_stats(profile)
    return totals


def report(totals: dict[str, list]) -> None:
    plain = totals.get("plain")
    plain_ms = 1000 * (plain[1] + plain[2]) / plain[0] if plain else 0.0
    print(f"{'kind':10} {'pages':>6} {'render ms':>10} {'search ms':>10} {'chars':>7} "
          f"{'× plain':>8} {'total s':>8}")
    for kind, (n, render, search, chars) in sorted(totals.items(), key=lambda kv: -kv[1][1]):
        each = 1000 * (render + search) / n
        print(f"{kind:10} {n:6d} {1000 * render / n:10.2f} {1000 * search / n:10.2f} "
              f"{chars // n:7d} {each / plain_ms if plain_ms else 0:8.2f} {render + search:8.2f}")
    ours = [v for k, v in totals.items() if k != "plain"]
    n = sum(v[0] for v in ours)
    seconds = sum(v[1] + v[2] for v in ours)
    print(f"all our pages: {n}, {seconds:.2f} s, {1000 * seconds / n:.2f} ms a page "
          f"({1000 * seconds / n / plain_ms if plain_ms else 0:.2f}× a plain page)"
          f" [load {os.getloadavg()[0]:.1f}]")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--courses", type=int, default=500)
    parser.add_argument("--today", type=dt.date.fromisoformat, default=dt.date(2026, 11, 22))
    parser.add_argument("--kind", help="course, sle, listing, news, other: only these pages")
    parser.add_argument("--profile", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="keep the alliance and projects here")
    args = parser.parse_args(argv)

    import records
    from bench_site import make_root, plain_project, work_folder
    from website import pipeline

    with work_folder(args.keep, "bench-md-") as base:
        root = make_root(base, args.courses)
        recs, problems = records.load(root, cache=False)
        if problems.errors:
            raise SystemExit("\n".join(map(str, problems.errors[:20])))
        site, config_file = pipeline.generate(recs, args.today, base / "project")
        pages = len(site.pages)
        del site, recs
        plain = plain_project(base / "plain", pages)
        totals = measure(config_file, args.kind, args.profile)
        if not args.profile:
            totals.update({k: v for k, v in measure(plain).items() if k == "plain"})
            report(totals)
    return 0


if __name__ == "__main__":
    sys.exit(main())
