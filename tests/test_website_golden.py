"""The whole generated MkDocs project of a small alliance, compared with a committed copy.

tests/fixtures/mini/ is a tiny alliance with the awkward cases (a title `Maths & Science <KS2>`,
another `*Star* [x] ...`, non-ASCII names, an online session listed out of date order, full,
cancelled and past courses, a photo). Its generated docs folder and mkdocs.yml must equal
tests/fixtures/mini-golden/ byte for byte, absolute paths aside. After a deliberate change to
templates, pages or mkdocs.yml, regenerate the copy and review its diff:

    .venv/bin/pytest tests/test_website_golden.py --update-golden      (or UPDATE_GOLDEN=1)
"""
from __future__ import annotations

import datetime as dt
import difflib
import shutil
from pathlib import Path

import records
from website import config as site_config
from website.pipeline import generate

FIXTURES = Path(__file__).resolve().parent / "fixtures"
MINI = FIXTURES / "mini"
GOLDEN = FIXTURES / "mini-golden"
TODAY = dt.date(2027, 1, 10)
REPO_MARK = "<repo>"


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def generated(tmp_path: Path) -> dict[str, bytes]:
    """The generated project as {relative path: bytes}, absolute paths made neutral."""
    recs, problems = records.load(MINI)
    assert not problems.errors, "\n".join(map(str, problems))
    site, _config = generate(recs, TODAY, tmp_path / "project")
    assert not site.problems.errors
    files = _files(tmp_path / "project")
    repo = str(site_config.REPO).encode()
    files[site_config.CONFIG] = files[site_config.CONFIG].replace(repo, REPO_MARK.encode())
    return files


def _diff(name: str, want: bytes, got: bytes) -> str:
    try:
        lines = difflib.unified_diff(want.decode().splitlines(), got.decode().splitlines(),
                                     f"golden/{name}", f"generated/{name}", lineterm="", n=2)
        return "\n".join(list(lines)[:40])
    except UnicodeDecodeError:
        return f"{name}: binary files differ"


def test_mini_alliance_matches_golden_copy(tmp_path, update_golden):
    got = generated(tmp_path)
    if update_golden:
        shutil.rmtree(GOLDEN, ignore_errors=True)
        for name, data in got.items():
            (GOLDEN / name).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / name).write_bytes(data)
    want = _files(GOLDEN)
    missing, extra = sorted(want.keys() - got.keys()), sorted(got.keys() - want.keys())
    assert not missing and not extra, f"missing: {missing}; unexpected: {extra} " \
                                      "(run with --update-golden if this is intended)"
    changed = [name for name in want if want[name] != got[name]]
    assert not changed, "\n\n".join(_diff(n, want[n], got[n]) for n in changed[:5]) + \
        "\n(run with --update-golden if this is intended)"


def test_golden_copy_has_no_absolute_paths():
    for name, data in _files(GOLDEN).items():
        assert str(site_config.REPO).encode() not in data, name


def test_generation_is_deterministic(tmp_path):
    assert generated(tmp_path / "a") == generated(tmp_path / "b")
