"""Load from a second process (bench/bench_service.py, loopback only, bounded in count and
time): 200 concurrent sign-ups, confirmations, preference changes and unsubscribes against
SQLite, then the database checked: no 5xx, no lost update, no address sendable without a
confirmation. The figures it prints are the benchmark's; here only its verdict counts."""
from __future__ import annotations

import subprocess
import sys

from tests.service_support import REPO


def test_200_concurrent_readers_no_5xx_no_lost_update_nobody_unconfirmed(tmp_path):
    result = subprocess.run([sys.executable, str(REPO / "bench" / "bench_service.py"), "--readers", "200",
                             "--decoys", "50", "--timeout", "240"],
                            capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    lines = result.stdout.splitlines()
    statuses = next(line for line in lines if line.strip().startswith("statuses:"))
    assert not any(f"{code}:" in statuses for code in range(500, 600)), statuses
    assert lines[-1].startswith("checks: no 5xx; every reader confirmed with consent; no lost update")
