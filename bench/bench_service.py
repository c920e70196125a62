"""Load on the subscription service, from a second process, over loopback only.

Starts ``python -m mailer serve`` (uvicorn, --workers N) on a copy of the mailer-mini alliance
with an empty SQLite database and confirmation emails to the outbox, then drives it with
``--readers`` concurrent clients (threads, one HTTP session each), phase by phase:

1. sign-ups: every reader, plus ``--decoys`` who will never confirm, all at once;
2. confirmations: each reader opens the link from their email (GET), then presses the button;
3. preference changes: every reader saves roles, phases and interests of their own, twice
   over, the second time different (the second write must be the one that stays);
4. leaving: half the readers unsubscribe by RFC 8058 one-click while the other half change
   their preferences again.

Then it checks the database: no 5xx answer anywhere, every reader confirmed with consent
"sign-up form", every preference equal to the reader's last write (no lost update), every
leaver unsubscribed, and no decoy (unconfirmed) address sendable. Prints requests per second
and p50/p99 latency per phase and overall. Bounded: ``--readers`` at most 500, the whole run
at most ``--timeout`` seconds. Exit status 1 if a check fails.

    .venv/bin/python bench/bench_service.py [--readers 200] [--workers 2]
"""
from __future__ import annotations

import argparse
import email
import email.policy
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from mailer.providers.outbox import eml_name  # noqa: E402
from mailer.store import SENDABLE, Store, address_hash  # noqa: E402
from mailer.tokens import PREFERENCES, UNSUBSCRIBE, make_token  # noqa: E402

SECRET = "benchmark-secret-0123456789-not-for-production"
FIXTURE = REPO / "tests" / "fixtures" / "mailer-mini"
ROLES = ["teaching-assistant", "teacher", "ect", "trainee", "middle-leader", "senior-leader", "headteacher"]
PHASES = ["nursery", "infant", "junior", "primary", "secondary", "special"]
STRANDS = ["itt", "cpd", "leadership", "school-support", "sle", "research"]


class Run:
    def __init__(self, url: str, outbox: Path, origin: str):
        self.url, self.outbox, self.origin = url, outbox, origin
        self.timings: dict[str, list[float]] = {}
        self.statuses: dict[int, int] = {}
        self.failures: list[str] = []

    def call(self, phase: str, session: requests.Session, method: str, path: str, **kwargs) -> requests.Response:
        started = time.perf_counter()
        answer = session.request(method, self.url + path, timeout=60, **kwargs)
        self.timings.setdefault(phase, []).append(time.perf_counter() - started)
        self.statuses[answer.status_code] = self.statuses.get(answer.status_code, 0) + 1
        if answer.status_code >= 500:
            self.failures.append(f"{phase}: {method} {path.split('?')[0]} -> {answer.status_code}")
        return answer

    # --- one reader's steps -----------------------------------------------------------------
    def join(self, address: str) -> None:
        session = requests.Session()
        answer = self.call("sign-up", session, "POST", "join", headers={"Origin": self.origin}, data={
            "email": address, "first_name": "Reader", "consent": "yes", "consent_version": self.version,
            "roles": "teacher", "phases": "primary"})
        if answer.status_code != 200:
            self.failures.append(f"sign-up {address}: {answer.status_code}")

    def confirm(self, address: str) -> None:
        path = self.outbox / eml_name(address)
        deadline = time.monotonic() + 60
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        link = re.search(r"(confirm\?t=\S+)", message.get_body(("plain",)).get_content()).group(1)
        session = requests.Session()
        page = self.call("confirm", session, "GET", link)
        fields = dict(re.findall(r'name="(t|csrf)" value="([^"]*)"', page.text))
        done = self.call("confirm", session, "POST", "confirm", data=fields)
        if done.status_code != 200 or "You are subscribed" not in done.text:
            self.failures.append(f"confirm {address}: {done.status_code}")

    def prefs(self, address: str, choice: tuple[list[str], list[str], list[str]]) -> None:
        session = requests.Session()
        token = make_token(SECRET.encode(), address_hash(address), PREFERENCES)
        page = self.call("preferences", session, "GET", f"preferences?t={token}")
        csrf = re.search(r'name="csrf" value="([^"]*)"', page.text).group(1)
        roles, phases, interests = choice
        answer = self.call("preferences", session, "POST", "preferences", data={
            "t": token, "csrf": csrf, "action": "save", "roles": roles, "phases": phases, "interests": interests})
        if answer.status_code != 200:
            self.failures.append(f"preferences {address}: {answer.status_code}")

    def leave(self, address: str) -> None:
        token = make_token(SECRET.encode(), address_hash(address), UNSUBSCRIBE)
        answer = self.call("leave", requests.Session(), "POST", f"unsubscribe?t={token}",
                           data={"List-Unsubscribe": "One-Click"})
        if answer.status_code != 200:
            self.failures.append(f"leave {address}: {answer.status_code}")


def choice_for(i: int, round_: int) -> tuple[list[str], list[str], list[str]]:
    k = i * 7 + round_ * 3
    return ([ROLES[k % len(ROLES)]], [PHASES[k % len(PHASES)], PHASES[(k + 1) % len(PHASES)]],
            [STRANDS[(k + round_) % len(STRANDS)]])


def start_service(tmp: Path, workers: int) -> tuple[subprocess.Popen, str, Path, Path, str]:
    root = tmp / "alliance"
    shutil.copytree(FIXTURE, root)
    with socket_port() as port:
        pass
    site = "https://www.bench.example/"
    path = root / "content" / "alliance.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.update(site_url=site, subscriptions_url=f"http://127.0.0.1:{port}/")
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    db = tmp / "mailer.sqlite3"
    Store(db).close()
    env = dict(os.environ, MAILER_SECRET=SECRET, MAILER_PROVIDER="outbox", MAILER_JOIN_LIMIT="100000/60",
               PYTHONPATH=str(REPO))
    log = (tmp / "service.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "mailer", "--root", str(root), "--db", str(db), "serve",
                                "--port", str(port), "--workers", str(workers)], cwd=root, env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url + "healthz", timeout=2)
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"the service did not start: {(tmp / 'service.log').read_text()}")
            time.sleep(0.1)
    return process, url, db, root / "outbox" / "sign-ups", "https://www.bench.example"


class socket_port:
    def __enter__(self):
        import socket
        self.s = socket.socket()
        self.s.bind(("127.0.0.1", 0))
        return self.s.getsockname()[1]

    def __exit__(self, *exc):
        self.s.close()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] * 1000


def check(db: Path, readers: list[str], decoys: list[str], leavers: set[str], last: dict) -> list[str]:
    problems = []
    conn = sqlite3.connect(str(db))
    conn.row_factory = sqlite3.Row
    rows = {r["email"]: r for r in conn.execute("SELECT * FROM subscribers")}
    sendable = {r[0] for r in conn.execute(f"SELECT s.email FROM subscribers s WHERE {SENDABLE}")}
    for address in readers:
        row = rows.get(address)
        if row is None or row["consent"] != 1 or row["consent_source"] != "sign-up form":
            problems.append(f"{address}: not confirmed with consent")
            continue
        roles, phases, interests = last[address]
        stored = (set(row["roles"].split()), set(row["phases"].split()), set(row["interests"].split()))
        if stored != (set(roles), set(phases), set(interests)):
            problems.append(f"{address}: lost update: {row['roles']!r} {row['phases']!r} {row['interests']!r}")
        if address in leavers and row["status"] != "unsubscribed":
            problems.append(f"{address}: left but still {row['status']}")
        if address not in leavers and address not in sendable:
            problems.append(f"{address}: should be sendable")
    for address in decoys:
        if address in rows or address in sendable:
            problems.append(f"{address}: never confirmed, yet a subscriber")
    conn.close()
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readers", type=int, default=200)
    parser.add_argument("--decoys", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    if not 1 <= args.readers <= 500:
        sys.exit("--readers: between 1 and 500")
    tmp = Path(tempfile.mkdtemp(prefix="bench-service-"))
    process, url, db, outbox, origin = start_service(tmp, args.workers)
    run = Run(url, outbox, origin)
    page = requests.get(url + "join", timeout=10).text
    run.version = re.search(r'name="consent_version" value="([^"]+)"', page).group(1)
    readers = [f"reader{i:04d}+news@school{i % 17}.example" for i in range(args.readers)]
    decoys = [f"decoy{i:04d}@elsewhere.example" for i in range(args.decoys)]
    leavers = set(readers[::2])
    last: dict[str, tuple] = {}
    started = time.perf_counter()
    phases: list[tuple[str, float]] = []
    try:
        with ThreadPoolExecutor(max_workers=args.readers + args.decoys) as pool:
            def phase(name, jobs):
                t0 = time.perf_counter()
                futures = [pool.submit(*job) for job in jobs]
                for job, f in zip(jobs, futures):
                    try:
                        f.result(timeout=max(1.0, args.timeout - (time.perf_counter() - started)))
                    except Exception as err:        # noqa: BLE001 - counted as a failure of the run
                        run.failures.append(f"{name} {job[1]}: {type(err).__name__}: {err}")
                phases.append((name, time.perf_counter() - t0))
            phase("sign-up", [(run.join, a) for a in readers + decoys])
            phase("confirm", [(run.confirm, a) for a in readers])
            for round_ in (0, 1):
                for i, a in enumerate(readers):
                    last[a] = choice_for(i, round_)
                phase("preferences", [(run.prefs, a, choice_for(i, round_)) for i, a in enumerate(readers)])
            for i, a in enumerate(readers):
                if a not in leavers:
                    last[a] = choice_for(i, 2)
            phase("leave + preferences", [(run.leave, a) if a in leavers else (run.prefs, a, choice_for(i, 2))
                                          for i, a in enumerate(readers)])
    finally:
        process.terminate()
        process.wait(15)
    elapsed = time.perf_counter() - started
    problems = run.failures + check(db, readers, decoys, leavers, last)
    every = [t for ts in run.timings.values() for t in ts]
    print(f"subscription service, {args.workers} uvicorn workers, SQLite, loopback; {args.readers} concurrent "
          f"readers + {args.decoys} unconfirmed sign-ups (noisy shared 2-core machine)")
    for name, ts in run.timings.items():
        print(f"  {name:<12} {len(ts):5d} requests  p50 {pct(ts, .5):7.1f} ms  p99 {pct(ts, .99):7.1f} ms")
    for name, seconds in phases:
        print(f"  phase {name:<22} {seconds:6.2f} s")
    print(f"  all          {len(every):5d} requests in {elapsed:.1f} s: {len(every) / elapsed:,.0f} requests/s, "
          f"p50 {pct(every, .5):.1f} ms, p99 {pct(every, .99):.1f} ms, mean {statistics.mean(every) * 1000:.1f} ms")
    print(f"  statuses: {dict(sorted(run.statuses.items()))}")
    if problems:
        print(f"FAILED: {len(problems)} problems", *problems[:20], sep="\n  ")
        return 1
    print("checks: no 5xx; every reader confirmed with consent; no lost update; every leaver unsubscribed; "
          "no unconfirmed address sendable")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
