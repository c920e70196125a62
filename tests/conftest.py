"""Shared pytest set-up. Keep it generic: fixtures used by one test file belong in that file."""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="Rewrite the committed golden copies (tests/fixtures/*-golden/) "
                          "from the current output instead of comparing with them.")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    """True when golden copies should be rewritten: --update-golden or UPDATE_GOLDEN=1."""
    return bool(request.config.getoption("--update-golden") or os.environ.get("UPDATE_GOLDEN"))


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


ENGINES = ["mkdocs", "zensical"]
ENGINE_OF: dict[Path, str] = {}          # a built demo site -> the engine that built it


def _build_demo(tmp_path_factory, engine: str) -> Path:
    from click.testing import CliRunner

    from tests.site_support import DEMO_TODAY, load_cli

    out = tmp_path_factory.mktemp(f"demo-{engine}") / "site"
    result = CliRunner().invoke(load_cli(), ["build", "--root", str(REPO), "--out", str(out),
                                             "--today", DEMO_TODAY.isoformat(),
                                             "--engine", engine])
    assert result.exit_code == 0, result.output
    assert re.search(r"^Built \d+ pages into .+/ in \d+\.\d s \(0 errors, \d+ warnings?\)$",
                     result.output.splitlines()[-1]), result.output
    ENGINE_OF[out] = engine
    return out


# The mailer keeps addresses as hashes keyed with MAILER_HASH_KEY or MAILER_SECRET (mailer/hashing.py).
# Tests open stores directly and run the CLI with their own MAILER_SECRET: one hash key for the
# whole session keeps those views of a database in step (subprocesses inherit it). Tests of
# the key itself unset it with monkeypatch.
TEST_HASH_KEY = "tests-hash-key-Vx9qL2mR7tKp4wZs"
os.environ["MAILER_HASH_KEY"] = TEST_HASH_KEY


@pytest.fixture(scope="session")
def demo_site(tmp_path_factory) -> Path:
    """The demo alliance (the repository's own content/ and courses/) built once per session
    with ``build.py build --today 2026-11-22`` into a temporary folder; tests only read it."""
    return _build_demo(tmp_path_factory, "mkdocs")


@pytest.fixture(scope="session", params=ENGINES)
def engine_site(request, tmp_path_factory, demo_site) -> Path:
    """The demo built by each engine (``--engine mkdocs``, ``--engine zensical``): the
    end-to-end tests that take this run once per engine."""
    if request.param == "mkdocs":
        return demo_site
    return _build_demo(tmp_path_factory, request.param)
