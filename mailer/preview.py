"""``preview EDITION``: every variant as .html and .txt, and who would get which (counts only).

The variants are those the current subscribers would get, plus the all-phases variant of each
audience the edition goes to (so an empty database still previews something). Placeholders are
filled with sample values (a reader called Sam; the unsubscribe link is personal, so it points
nowhere). ``summary.json`` and ``summary.txt`` hold counts, never an address or a name.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from records.newsletter import VariantKey

from .audiences import Planner
from .compose import Composer, preview_substitute
from .private import private_dir, write_private
from .store import Store


def audience_counts(store: Store | None, planner: Planner) -> tuple[Counter, Counter]:
    """(readers per variant key, readers not sent to per reason), streamed from the store."""
    per_key: Counter = Counter()
    others: Counter = Counter()
    if store is None:
        return per_key, others
    for row in store.sendable():
        key = planner.variant(row["roles"], row["phases"])
        if key is None:
            others["audience not in this edition"] += 1
        else:
            per_key[key] += 1
    counts = store.counts()
    others["unsubscribed"] = counts["unsubscribed"]
    others["without consent"] = counts["no_consent"]
    return per_key, others


def write_preview(composer: Composer, store: Store | None, out: Path) -> dict:
    private_dir(out)
    per_key, others = audience_counts(store, composer.planner)
    keys: list[VariantKey] = list(composer.planner.default_keys())
    keys += sorted((k for k in per_key if k not in keys), key=lambda k: (k.audience, k.phases))
    audience_order = list(composer.records.audiences)
    keys.sort(key=lambda k: (audience_order.index(k.audience), len(k.phases) > 0, k.phases))
    variants = []
    for key in keys:
        variant = composer.variant(key)
        write_private(out / f"{key.slug}.html", preview_substitute(variant.html))
        write_private(out / f"{key.slug}.txt", f"Subject: {variant.subject}\n\n" + preview_substitute(variant.text))
        variants.append({
            "variant": key.slug, "audience": key.audience,
            "audience_label": composer.records.audiences[key.audience].label,
            "phases": list(key.phases) or "all", "courses": len(composer.planner.courses(key)),
            "recipients": per_key.get(key, 0), "files": [f"{key.slug}.html", f"{key.slug}.txt"],
        })
    summary = {
        "edition": composer.edition.id, "subject": composer.subject,
        "date": composer.edition.date.isoformat(),
        "recipients": sum(per_key.values()), "variants": variants,
        "not_sent": {k: v for k, v in sorted(others.items())},
    }
    write_private(out / "summary.json", json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    write_private(out / "summary.txt", summary_text(summary))
    return summary


def summary_text(summary: dict) -> str:
    lines = [f"{summary['edition']}: {summary['subject']}",
             f"{summary['recipients']} recipients in {len(summary['variants'])} variants", ""]
    width = max((len(v["variant"]) for v in summary["variants"]), default=10)
    for v in summary["variants"]:
        lines.append(f"{v['variant']:<{width}}  {v['recipients']:>7} recipients  {v['courses']:>3} courses")
    not_sent = [f"{n} {why}" for why, n in summary["not_sent"].items() if n]
    if not_sent:
        lines += ["", "Not sent: " + ", ".join(not_sent)]
    return "\n".join(lines) + "\n"
