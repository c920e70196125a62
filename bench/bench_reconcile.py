"""Send benchmark under faults: 100,000 synthetic readers through `python -m mailer send` and
the Mailgun path, to a local Mailgun stand-in that faults 20 % of the requests (429, 500, 503,
the connection dropped before it took the batch, dropped after it took it), with the lost
answers reconciled from the stand-in's events, end to end.

    .venv/bin/python bench/bench_reconcile.py [--readers 100000] [--faults 0.2] [--seed 7] [--keep]

Targets (issue 12): under 60 s and under 200 MB peak RSS for the sender; every reader exactly
once. MAILER_RECONCILE_AFTER=0: the stand-in's events show at once (Mailgun's own settle time,
half an hour, would only add waiting). The sender is the real CLI in its own process (wall
time and peak RSS from ``wait4``); the stand-in runs in another process and also faults 20 %
of the events queries (500s, retried). Requests made are counted by the stand-in, per kind.
"""
from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

from bench_send import DOMAIN, KEY, ledger_counts, make_db, run_cli  # noqa: E402

FAULTS = ("429", "500", "503", "drop-before", "drop-after")


def serve(rate: float, seed: int) -> int:
    """A faulty Mailgun stand-in until stdin closes; ``stats`` answers a JSON line."""
    from tests.provider_server import Fault, ProviderServer

    rng = random.Random(seed)
    drawn = {name: 0 for name in FAULTS + ("events-500",)}

    class Faulty(ProviderServer):
        def _take_fault(self, kind):
            if kind == "send" and rng.random() < rate:
                name = rng.choice(FAULTS)
                drawn[name] += 1
                if name.startswith("drop-"):
                    return Fault("reset", after_processing=name == "drop-after")
                return Fault("status", status=int(name), retry_after="0" if name != "500" else None)
            if kind == "events" and rng.random() < rate:
                drawn["events-500"] += 1
                return Fault("status", status=500)
            return None

    with Faulty("mailgun", api_key=KEY, domain=DOMAIN, validate=False) as server:
        print(server.url, flush=True)
        for line in sys.stdin:
            if line.strip() == "stats":
                recipients = server.accepted_recipients()
                kinds: dict[str, int] = {}
                for seen in server.seen:
                    kind = "send" if seen.method == "POST" else "events" if "/events" in seen.path else "suppressions"
                    kinds[kind] = kinds.get(kind, 0) + 1
                print(json.dumps({"requests": server.stats["requests"], "by_kind": kinds, "faults": drawn,
                                  "recipients": len(recipients), "unique": len(set(recipients)),
                                  "handling_s": server.stats["handling_seconds"],
                                  "cpu_s": sum(resource.getrusage(resource.RUSAGE_SELF)[:2]),
                                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}), flush=True)
            elif line.strip() == "quit":
                break
    return 0


class Server:
    def __init__(self, rate: float, seed: int):
        self.proc = subprocess.Popen([sys.executable, __file__, "--serve", "--faults", str(rate), "--seed", str(seed)],
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readers", type=int, default=100_000)
    parser.add_argument("--faults", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--root", type=Path, default=REPO)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        return serve(args.faults, args.seed)

    from common import prepare

    out = HERE / "out" / "send"
    recs, edition = prepare(args.root, out, None)
    print(f"alliance {args.root.resolve().name}, edition {edition}; python {sys.version.split()[0]}; "
          f"{args.faults:.0%} of requests faulted (seed {args.seed})")
    db = out / "mailer.sqlite3"
    make_db(db, out / "subscribers.csv", args.readers, recs, seed=1)
    server = Server(args.faults, args.seed)
    try:
        env = {"MAILER_PROVIDER": "mailgun", "MAILER_API_KEY": KEY, "MAILER_DOMAIN": DOMAIN,
               "MAILER_API_URL": server.url, "MAILER_FROM": "Fenbridge TSA <news@fenbridge-tsa.example>",
               "MAILER_DB": str(db), "MAILER_RECONCILE_AFTER": "0"}
        wall, rss, stdout, _, cpu = run_cli(["--root", str(args.root), "send", edition, "--quiet"], env)
        stats = server.stats()
    finally:
        server.close()
    counts = ledger_counts(db, edition)
    sent = counts.get("sent", 0)
    summary = [line for line in stdout.splitlines() if line.startswith(f"{edition}: ") and " sent " in line]
    print(f"mailgun with {args.faults:.0%} faults: {sent:,} readers sent in {wall:.1f} s wall (target < 60 s); "
          f"peak RSS of the sender {rss:.0f} MB (target < 200 MB); sender CPU {cpu:.1f} s")
    print(f"  requests made: {stats['requests']} in all: {stats['by_kind']}")
    print(f"  faults drawn: {stats['faults']}")
    print(f"  sender's own summary: {summary[0] if summary else stdout.strip()}")
    print(f"  stand-in: {stats['recipients']:,} recipients taken ({stats['unique']:,} distinct); "
          f"CPU {stats['cpu_s']:.1f} s, handling {stats['handling_s']:.1f} s; peak RSS {stats['rss_mb']:.0f} MB; "
          f"ledger: {counts}")
    if stats["recipients"] != stats["unique"] or stats["unique"] != sent or counts != {"sent": sent}:
        raise SystemExit("not every reader exactly once: the stand-in's count does not match the ledger")
    if not args.keep:
        shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
