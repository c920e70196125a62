"""Shared pytest set-up. Keep it generic: fixtures used by one test file belong in that file."""
from __future__ import annotations

import os
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
