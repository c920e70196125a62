"""Send benchmark: 100,000 synthetic readers through `python -m mailer send` and the Mailgun path,
end to end (suppression sync, plan, compose, batch, HTTP, ledger), to a local Mailgun server
that answers at once; then the rate through SMTP to aiosmtpd.

    .venv/bin/python bench/bench_send.py [--readers 100000] [--smtp-readers 2000] [--validate] [--keep]

* The demo alliance (repo root) and its edition going to the most audiences; subscribers from
  bench/synth.py ``make_subscribers_csv`` imported into a fresh database under bench/out/send/.
* The sender is the real CLI in its own process; its wall time and peak RSS (``wait4``) are
  what the targets are about (< 30 s, < 200 MB). The server (tests/provider_server.py) runs
  in another process, so its memory is not counted; its own figures are printed too.
* ``--validate``: also run the Mailgun send with the server validating every request against
  Mailgun's OpenAPI specification (slower: that is the server's cost, reported separately).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

KEY = "key-bench-0123456789abcdef"
SECRET = "benchmark-secret-not-for-production"
# the same hash key here (the database made in this process) and in the sender's process
os.environ.pop("MAILER_HASH_KEY", None)
os.environ["MAILER_SECRET"] = SECRET
DOMAIN = "mg.example.org"


# --- the server's process -----------------------------------------------------------------

def serve(validate: bool) -> int:
    """Run a ProviderServer until stdin closes; answer ``stats`` with a JSON line."""
    from tests.provider_server import ProviderServer

    with ProviderServer("mailgun", api_key=KEY, domain=DOMAIN, validate=validate) as server:
        print(server.url, flush=True)
        for line in sys.stdin:
            if line.strip() == "stats":
                recipients = server.accepted_recipients()
                print(json.dumps({
                    "requests": server.stats["requests"], "accepted_requests": server.accepted_requests,
                    "recipients": len(recipients), "unique": len(set(recipients)),
                    "invalid": len(server.invalid), "validation_s": server.stats["validation_seconds"],
                    "handling_s": server.stats["handling_seconds"],
                    "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}), flush=True)
            elif line.strip() == "quit":
                break
    return 0


class Server:
    def __init__(self, validate: bool):
        self.proc = subprocess.Popen([sys.executable, __file__, "--serve"] + (["--validate"] if validate else []),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO)
        self.url = self.proc.stdout.readline().strip()

    def stats(self) -> dict:
        self.proc.stdin.write("stats\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        self.proc.stdin.write("quit\n")
        self.proc.stdin.close()
        self.proc.wait(30)


# --- the sender's process -------------------------------------------------------------------

def run_cli(args: list[str], env: dict) -> tuple[float, float, str, str, float]:
    """Run `python -m mailer ARGS`; (wall seconds, peak RSS MB of that process, stdout, stderr,
    CPU seconds of that process)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MAILER_")}
    environment.update(env, MAILER_SECRET=SECRET, PYTHONPATH=str(REPO))
    out, err = HERE / "out" / "send" / "stdout.txt", HERE / "out" / "send" / "stderr.txt"
    with open(out, "w") as o, open(err, "w") as e:
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "mailer", *args], cwd=REPO, env=environment,
                                stdout=o, stderr=e)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    stdout, stderr = out.read_text(), err.read_text()
    if proc.returncode != 0:
        raise SystemExit(f"mailer exited {proc.returncode}:\n{stdout}\n{stderr}")
    return wall, usage.ru_maxrss / 1024, stdout, stderr, usage.ru_utime + usage.ru_stime


def make_db(db: Path, csv_path: Path, n: int, recs, seed: int) -> None:
    from synth import make_subscribers_csv

    from mailer.importer import Importer, Vocab
    from mailer.store import Store

    make_subscribers_csv(csv_path, n, seed=seed)
    with Store(db) as store:
        started = time.perf_counter()
        result = Importer(store, Vocab.from_records(recs)).import_file(csv_path)
        print(f"  {n:,} synthetic subscribers imported in {time.perf_counter() - started:.1f} s: {result.summary()}")


def ledger_counts(db: Path, edition: str) -> dict:
    from mailer.store import Store

    with Store(db) as store:
        return {k: v for k, v in store.status(edition).items() if v}


def mailgun_run(root: Path, db: Path, edition: str, validate: bool) -> None:
    server = Server(validate)
    try:
        env = {"MAILER_PROVIDER": "mailgun", "MAILER_API_KEY": KEY, "MAILER_DOMAIN": DOMAIN,
               "MAILER_API_URL": server.url, "MAILER_FROM": "Fenbridge TSA <news@fenbridge-tsa.example>",
               "MAILER_DB": str(db)}
        wall, rss, stdout, _, cpu = run_cli(["--root", str(root), "send", edition, "--quiet"], env)
        stats = server.stats()
    finally:
        server.close()
    counts = ledger_counts(db, edition)
    summary = [line for line in stdout.splitlines() if line.startswith(f"{edition}: ") and " sent " in line]
    sent = counts.get("sent", 0)
    print(f"mailgun ({'validating every request' if validate else 'validate=False'}): "
          f"{sent:,} readers in {wall:.1f} s wall = {sent / wall:,.0f} messages/s (target < 30 s); "
          f"peak RSS of the sender {rss:.0f} MB (target < 200 MB); sender CPU {cpu:.1f} s")
    print(f"  sender's own summary: {summary[0] if summary else stdout.strip()}")
    print(f"  server: {stats['accepted_requests']} requests accepted, {stats['recipients']:,} recipients "
          f"({stats['unique']:,} distinct), {stats['invalid']} invalid; handling {stats['handling_s']:.1f} s, "
          f"of which validation {stats['validation_s']:.1f} s; server peak RSS {stats['rss_mb']:.0f} MB")
    print(f"  ledger: {counts}")
    if stats["invalid"] or stats["recipients"] != sent or stats["unique"] != sent:
        raise SystemExit("the server's count does not match the ledger")


def smtp_run(root: Path, db: Path, edition: str) -> None:
    from aiosmtpd.controller import Controller

    class Counter:
        def __init__(self):
            self.messages = 0
            self.bytes = 0
            self.lock = threading.Lock()

        async def handle_DATA(self, server, session, envelope):
            with self.lock:
                self.messages += 1
                self.bytes += len(envelope.content)
            return "250 2.0.0 OK"

    from tests.provider_fixtures import free_port

    handler, port = Counter(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=5.0)
    controller.start()
    own = resource.getrusage(resource.RUSAGE_SELF)
    try:
        env = {"MAILER_PROVIDER": "smtp", "MAILER_SMTP_URL": f"smtp://127.0.0.1:{port}",
               "MAILER_FROM": "Fenbridge TSA <news@fenbridge-tsa.example>", "MAILER_DB": str(db)}
        wall, rss, stdout, _, cpu = run_cli(["--root", str(root), "send", edition, "--quiet"], env)
    finally:
        controller.stop()
    after = resource.getrusage(resource.RUSAGE_SELF)
    server_cpu = (after.ru_utime + after.ru_stime) - (own.ru_utime + own.ru_stime)
    sent = ledger_counts(db, edition).get("sent", 0)
    summary = [line for line in stdout.splitlines() if line.startswith(f"{edition}: ") and " sent " in line]
    print(f"smtp to aiosmtpd: {sent:,} readers in {wall:.1f} s wall = {sent / wall:,.0f} messages/s; "
          f"peak RSS {rss:.0f} MB; aiosmtpd got {handler.messages:,} messages, "
          f"{handler.bytes / max(1, handler.messages) / 1024:.1f} KiB each; CPU: sender {cpu:.1f} s, "
          f"aiosmtpd {server_cpu:.1f} s")
    print(f"  sender's own summary: {summary[0] if summary else stdout.strip()}")
    if handler.messages != sent:
        raise SystemExit("aiosmtpd's count does not match the ledger")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readers", type=int, default=100_000)
    parser.add_argument("--smtp-readers", type=int, default=2_000)
    parser.add_argument("--root", type=Path, default=REPO)
    parser.add_argument("--edition", default=None)
    parser.add_argument("--validate", action="store_true", help="also run with the server validating requests")
    parser.add_argument("--only", choices=["mailgun", "smtp"], default=None, help="run one of the two only")
    parser.add_argument("--keep", action="store_true", help="keep bench/out/send afterwards")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        return serve(args.validate)

    from common import prepare

    out = HERE / "out" / "send"
    recs, edition = prepare(args.root, out, args.edition)
    print(f"alliance {args.root.resolve().name}, edition {edition}; python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPUs")

    if args.only != "smtp":
        db = out / "mailer.sqlite3"
        make_db(db, out / "subscribers.csv", args.readers, recs, seed=1)
        mailgun_run(args.root, db, edition, validate=False)
        if args.validate:
            from mailer.store import Store
            with Store(db) as store:                 # the same readers again, through a validating server
                store.conn.execute("DELETE FROM ledger")
                store.conn.execute("DELETE FROM batches")
            mailgun_run(args.root, db, edition, validate=True)
    if args.only != "mailgun":
        smtp_db = out / "smtp.sqlite3"
        make_db(smtp_db, out / "smtp.csv", args.smtp_readers, recs, seed=2)
        smtp_run(args.root, smtp_db, edition)
    if not args.keep:
        shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
