"""What the mailer benchmarks share: a clean output folder and the alliance's busiest edition."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import records


def prepare(root: Path, out: Path, edition: str | None = None):
    """Empty ``out``, load the alliance (exit on errors) and pick the edition going to the most
    audiences, latest first, unless one is named. Returns (records, edition id)."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    recs, problems = records.load(root)
    if problems.errors:
        sys.exit("\n".join(str(p) for p in problems.errors))
    edition_id = edition or max(recs.editions, key=lambda e: (
        len(recs.editions[e].audiences or recs.audiences), recs.editions[e].date))
    return recs, edition_id
