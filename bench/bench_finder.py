#!/usr/bin/env python3
"""Benchmark of the course finder at scale, in Chromium (not a timed test).

    .venv/bin/python bench/bench_finder.py [--courses 5000] [--today 2026-11-22] [--runs 5]
                                           [--keep DIR]

Makes a synthetic alliance with bench/synth.py, builds it with build.py, serves the site on
127.0.0.1 as a static host does (gzip for text: HTML, CSS, JavaScript, JSON, SVG) and opens
courses/index.html in Debian's Chromium:

    first render     bytes over the wire (encoded body + headers) of every request the page
                     made before its load event; the search index, which Material fetches
                     afterwards in a worker, is reported on its own; first contentful paint
    filter change    time from a change of a filter to the next frame painted (role, phase,
                     term, the checkbox, clearing), --runs rounds; median and worst

Targets (issue 9): first render under 300 KB over the wire; a filter change repainted in
under 100 ms.
"""
from __future__ import annotations

import argparse
import gzip
import http.server
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")

FIRST_RENDER_TARGET = 300 * 1024     # bytes
REPAINT_TARGET = 100                 # ms
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
TEXT = (".html", ".css", ".js", ".json", ".svg", ".xml", ".ics")


class GzipHandler(http.server.SimpleHTTPRequestHandler):
    """Static files, gzipped (level 6) when the browser accepts it and the file is text."""

    def log_message(self, format, *args):       # noqa: A002
        pass

    def do_GET(self):                            # noqa: N802 (the base class's name)
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        if not path.is_file() or path.suffix not in TEXT \
                or "gzip" not in self.headers.get("Accept-Encoding", ""):
            return super().do_GET()
        body = gzip.compress(path.read_bytes(), 6)
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


REPAINT = """async ([id, value]) => {
  const field = document.getElementById(id);
  const started = performance.now();
  if (field.type === 'checkbox') field.checked = value === '1'; else field.value = value;
  field.dispatchEvent(new Event('change', {bubbles: true}));
  await new Promise(done => requestAnimationFrame(() => setTimeout(done, 0)));
  return performance.now() - started;
}"""


def query_figures(browser_args: list[str], url: str) -> dict:
    """Opened with a filter in the address: every card is needed before the answer shows."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=browser_args)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        finished = []
        page.on("requestfinished", lambda r: finished.append(r))
        started = time.perf_counter()
        page.goto(url, wait_until="load")
        page.wait_for_function("document.getElementById('finder').dataset.ready === '1'",
                               timeout=120_000)
        seconds = time.perf_counter() - started
        wire = sum(r.sizes()["responseBodySize"] + r.sizes()["responseHeadersSize"]
                   for r in finished if "search_index" not in r.url)
        browser.close()
    return {"wire": wire, "seconds": seconds}


def measure(url: str, runs: int) -> dict:
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        finished = []
        loaded = {"done": False}
        page.on("requestfinished", lambda r: finished.append((r, loaded["done"])))
        page.goto(url, wait_until="load")
        loaded["done"] = True
        started = time.perf_counter()
        page.wait_for_function("document.getElementById('finder').dataset.ready === '1'",
                               timeout=120_000)
        all_loaded = time.perf_counter() - started
        page.wait_for_load_state("networkidle")
        before = [r for r, after in finished if not after]
        after = [r for r, late in finished if late]

        def wire(requests):
            return sum(r.sizes()["responseBodySize"] + r.sizes()["responseHeadersSize"] for r in requests)
        html = next(r for r in before if r.url.split("?")[0] == url.split("?")[0])
        fcp = page.evaluate("performance.getEntriesByName('first-contentful-paint')[0]?.startTime")
        cards = page.evaluate("parseInt(document.getElementById('finder-count').textContent, 10)")
        in_page = page.evaluate("document.querySelectorAll('#finder-results > li').length")
        role = page.evaluate("document.querySelector('#f-role option:nth-child(2)').value")
        phase = page.evaluate("document.querySelector('#f-phase option:nth-child(2)').value")
        term = page.evaluate("document.querySelector('#f-term option:nth-child(3)').value")
        steps = [("f-role", role), ("f-phase", phase), ("f-term", term), ("f-bookable", "1"),
                 ("f-role", ""), ("f-phase", ""), ("f-term", ""), ("f-bookable", "")]
        times = []
        for _ in range(runs):
            for field, value in steps:
                times.append(page.evaluate(REPAINT, [field, value]))
        figures = {"requests": len(before), "wire": wire(before), "html_wire": wire([html]),
                   "late": [(r.url.rsplit("/", 1)[-1], wire([r])) for r in after]}
        browser.close()
    return {**figures,
            "fcp": fcp, "cards": cards, "in_page": in_page, "times": times, "all_loaded": all_loaded,
            "query": query_figures(browser_args=CHROMIUM_ARGS, url=url + "?role=" + role)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--courses", type=int, default=5000)
    parser.add_argument("--today", default="2026-11-22")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="build the alliance here and keep it")
    args = parser.parse_args(argv)
    from synth import make_alliance

    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-finder-"))
    try:
        site = root / "site"
        if not (site / "courses/index.html").exists():
            make_alliance(root, courses=args.courses, sles=100, schools=50, news=20)
            started = time.perf_counter()
            subprocess.run([sys.executable, str(REPO / "build.py"), "build", "--root", str(root),
                            "--out", str(site), "--today", args.today], check=True,
                           stdout=subprocess.DEVNULL)
            print(f"built the synthetic alliance ({args.courses} courses) in "
                  f"{time.perf_counter() - started:.0f} s")
        handler = lambda *a, **k: GzipHandler(*a, directory=str(site), **k)   # noqa: E731
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{httpd.server_address[1]}/courses/index.html"
        figures = measure(url, args.runs)
        httpd.shutdown()
        raw = (site / "courses/index.html").stat().st_size
        times = figures["times"]
        print(f"finder: {figures['cards']} courses, {figures['in_page']} cards in the page at once; HTML {raw / 1024:.0f} KB raw, "
              f"{figures['html_wire'] / 1024:.0f} KB gzipped")
        print(f"first render: {figures['requests']} requests, {figures['wire'] / 1024:.0f} KB over "
              f"the wire (target < {FIRST_RENDER_TARGET // 1024} KB); first contentful paint "
              f"{figures['fcp']:.0f} ms")
        for name, size in figures["late"]:
            print(f"  after load: {name} {size / 1024:.0f} KB")
        print(f"every card in the finder {figures['all_loaded']:.1f} s after the load event")
        q = figures["query"]
        print(f"opened with ?role=...: {q['wire'] / 1024:.0f} KB over the wire (search index aside), "
              f"answer shown after {q['seconds']:.1f} s")
        ninetieth = statistics.quantiles(times, n=10)[-1]
        print(f"filter change to next paint: median {statistics.median(times):.1f} ms, 90th "
              f"percentile {ninetieth:.1f} ms, worst {max(times):.1f} ms over {len(times)} changes "
              f"(target < {REPAINT_TARGET} ms); load average {os.getloadavg()[0]:.1f} on "
              f"{os.cpu_count()} cores")
        ok = figures["wire"] < FIRST_RENDER_TARGET and max(times) < REPAINT_TARGET
        print("targets met" if ok else "TARGET MISSED")
        return 0 if ok else 1
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
