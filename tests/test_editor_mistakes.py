"""Issue 10: each mistake a new editor makes gives one message, at the real mistake, with the
fix in plain words; the exact texts are in tests/mistake_cases.py. No traceback, ever."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from tests.mistake_cases import CASES, make_tree
from tests.site_support import load_cli


@pytest.fixture(scope="module")
def cli():
    return load_cli()


@pytest.mark.parametrize("changes, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_one_mistake_one_message_at_its_place(cli, tmp_path, changes, expected):
    root = make_tree(tmp_path, changes)      # a file given as None is left out
    result = CliRunner().invoke(cli, ["check", "--root", str(root)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    lines = result.output.splitlines()
    assert lines[:-1] == expected
    errors = sum(": warning: " not in line for line in expected)
    assert result.exit_code == (1 if errors else 0)


@pytest.mark.parametrize("changes", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_a_build_never_prints_a_traceback(cli, tmp_path, changes):
    root = make_tree(tmp_path / "tree", changes)
    result = CliRunner().invoke(cli, ["build", "--root", str(root), "--out", str(tmp_path / "site"),
                                      "--today", "2027-01-10"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("changes, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_same_messages_when_checked_in_parts(tmp_path, monkeypatch, changes, expected):
    """`check` of a big tree splits the records between processes: the news and the copies
    found across parts, and the incomplete records, must come out the same."""
    import records
    from records import parallel_check

    monkeypatch.setattr(parallel_check, "PARALLEL_FROM", 1)
    _, problems = records.check(make_tree(tmp_path, changes))
    assert [str(p) for p in problems] == expected
