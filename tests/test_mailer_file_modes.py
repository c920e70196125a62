"""Files holding personal data are readable by their owner alone (issue 8, item 6): the
database and its -wal/-shm, .eml copies in the outbox, exports and previews are 0600, the
folders the mailer creates 0700, whatever the umask."""
from __future__ import annotations

import os
import stat

import pytest

from mailer.store import Store
from tests.mailer_support import SPRING, copy_alliance
from tests.test_mailer_cli import mailer


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def loose_umask():
    old = os.umask(0o022)            # the usual default: files 0644, folders 0755
    yield
    os.umask(old)


def test_every_file_of_personal_data_is_0600(tmp_path, loose_umask):
    root = copy_alliance(tmp_path)
    assert mailer(root, "subscribers", "import", str(root / "subscribers.csv")).exit_code == 0
    assert mailer(root, "send", SPRING, "--quiet").exit_code == 0
    assert mailer(root, "preview", SPRING).exit_code == 0
    export = tmp_path / "exports" / "everyone.csv"
    export.parent.mkdir()
    assert mailer(root, "subscribers", "export", "--out", str(export)).exit_code == 0
    with Store(root / "data" / "mailer.sqlite3") as store:      # an open store: -wal and -shm exist
        store.conn.execute("SELECT COUNT(*) FROM subscribers").fetchone()
        database = sorted(root.glob("data/mailer.sqlite3*"))
        assert {p.name for p in database} >= {"mailer.sqlite3", "mailer.sqlite3-wal", "mailer.sqlite3-shm"}
        files = [*database, *(root / "outbox").rglob("*.eml"), *(root / "preview").rglob("*.*"), export]
        assert len(list((root / "outbox").rglob("*.eml"))) == 4
        assert {str(p.relative_to(tmp_path)): oct(mode(p)) for p in files if mode(p) != 0o600} == {}
    folders = [root / "data", root / "outbox", root / "outbox" / SPRING, root / "preview", root / "preview" / SPRING]
    assert {str(p.relative_to(tmp_path)): oct(mode(p)) for p in folders if mode(p) != 0o700} == {}


def test_an_older_world_readable_database_is_tightened(tmp_path, loose_umask):
    db = tmp_path / "m.sqlite3"
    with Store(db):
        pass
    os.chmod(db, 0o644)
    with Store(db) as store:
        store.conn.execute("SELECT 1").fetchone()
        assert mode(db) == 0o600 and mode(f"{db}-wal") == 0o600


def test_an_existing_folder_is_left_alone(tmp_path, loose_umask):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    with Store(shared / "m.sqlite3"):
        pass
    assert mode(shared) == 0o755 and mode(shared / "m.sqlite3") == 0o600
