"""Helpers for the mailer tests: a copy of the mailer-mini alliance, a store, parsed emails."""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import shutil
from email.message import EmailMessage
from pathlib import Path

import records
from mailer.compose import Composer, make_tokens
from mailer.importer import Importer, Vocab
from mailer.store import Store

FIXTURE = Path(__file__).parent / "fixtures" / "mailer-mini"
SECRET = b"test-secret-0123456789abcdef"
TODAY = dt.date(2027, 1, 25)      # importer's "today": after every consent date in the fixtures
SPRING = "2027-02-01-spring"
WINTER = "2026-12-01-winter"


def copy_alliance(tmp_path: Path) -> Path:
    root = tmp_path / "alliance"
    shutil.copytree(FIXTURE, root)
    return root


def load(root: Path):
    loaded, problems = records.load(root)
    assert not problems.errors, [str(p) for p in problems.errors]
    return loaded


def write_csv(path: Path, text: str, *, bom: bool = False, encoding: str = "utf-8") -> Path:
    data = text.encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def import_text(store: Store, tmp_path: Path, text: str, *, bom: bool = False, name: str = "s.csv",
                vocab: Vocab = Vocab()):
    path = write_csv(tmp_path / name, text, bom=bom)
    return Importer(store, vocab, today=TODAY).import_file(path)


def composer(root: Path, edition: str = SPRING, secret: bytes = SECRET) -> Composer:
    recs = load(root)
    return Composer(recs, recs.editions[edition], tokens=make_tokens(recs, secret))


def parse(path: Path) -> EmailMessage:
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def parts(message: EmailMessage) -> tuple[str, str]:
    """(text, html) decoded."""
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    html = message.get_body(("html",)).get_content().replace("\r\n", "\n")
    return text, html
