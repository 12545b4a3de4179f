"""The database is the user's alone: the SQLite file (and its -wal, -shm) 0600 and the
folders made for it 0700, whatever the umask; and revision 0005 goes down and up."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from storage import open_database
from storage.accounts import AccountStore
from storage.migrate import downgrade, upgrade

ROOT = Path(__file__).resolve().parent.parent


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_0022() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_sqlite_file_and_its_folders_are_private(tmp_path: Path, umask_0022):
    database = tmp_path / "data" / "deep" / "encryptotel.db"
    engine = open_database(f"sqlite:///{database}")
    try:
        AccountStore(engine).resolve("console", "ann")  # a write: the WAL is in use
        with engine.connect() as connection:  # held open: -wal and -shm exist
            connection.execute(text("SELECT 1"))
            files = [database, Path(f"{database}-wal"), Path(f"{database}-shm")]
            assert all(path.exists() for path in files)
            assert [_mode(path) for path in files] == [0o600] * 3
        assert _mode(tmp_path / "data") == _mode(database.parent) == 0o700
    finally:
        engine.dispose()


def test_an_existing_readable_database_is_made_private(tmp_path: Path, umask_0022):
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o755)
    database = folder / "old.db"
    open_database(f"sqlite:///{database}").dispose()
    os.chmod(database, 0o644)  # as an earlier version left it
    open_database(f"sqlite:///{database}", migrate=False).dispose()
    assert _mode(database) == 0o600
    assert _mode(folder) == 0o755  # a folder it did not make is left alone


def test_the_default_database_of_a_first_start_is_private(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    result = subprocess.run(
        ["sh", "-c", f"umask 022 && exec {sys.executable} {ROOT / 'main.py'} migrate"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert _mode(tmp_path / "data") == 0o700
    assert _mode(tmp_path / "data" / "encryptotel.db") == 0o600


def test_revision_0005_goes_down_and_up(engine):
    downgrade(engine, "0005-1")  # the revision before 0005
    with engine.connect() as connection:
        tables = {
            row[0]
            for row in connection.execute(
                text("SELECT name FROM sqlite_master WHERE type='table'")
                if engine.dialect.name == "sqlite"
                else text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            )
        }
    assert not {"chatupdate", "linkattempt"} & tables
    upgrade(engine)
    accounts = AccountStore(engine)
    owner = accounts.resolve("telegram", "1")
    assert accounts.link(accounts.new_link_code(owner.id), "xmpp", "a@pbx.test").id == owner.id
