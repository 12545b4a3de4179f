"""Files (issue 14): every file and folder the service writes under its data directory is
its own user's alone, whatever umask it was started with."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from privacy.files import PRIVATE_UMASK, private_sqlite, private_umask, tighten

ROOT = Path(__file__).resolve().parent.parent


def _loose(folder: Path) -> list[str]:
    """Everything under `folder` (itself included) with a bit for the group or others."""
    paths = [folder, *folder.rglob("*")]
    return [
        f"{oct(stat.S_IMODE(p.lstat().st_mode))} {p.relative_to(folder.parent)}"
        for p in paths
        if not p.is_symlink() and p.lstat().st_mode & 0o077
    ]


def _main(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING", "PBX_ENABLED": "false"}
    for name in ("DATABASE_URL", "TELEGRAM_BOT_TOKEN", "XMPP_JID", "SIP_SERVER", "WAVES_NODE_URL"):
        env.pop(name, None)  # the defaults: SQLite under ./data/
    run = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
        preexec_fn=lambda: os.umask(0o022),  # the usual umask: files 0644 unless we see to it
    )
    assert run.returncode == 0, run.stderr
    return run


def test_the_service_writes_nothing_others_can_read(tmp_path):
    # An exchange configuration left by an earlier version, readable by all.
    run_dir = tmp_path / "data" / "exchange"
    run_dir.mkdir(parents=True)
    old = run_dir / "tls.cfg"
    old.write_text("[server:default]\n")
    os.chmod(tmp_path / "data", 0o755)
    os.chmod(old, 0o644)

    # The exchange's configuration, certificate and key, and its control token.
    _main(tmp_path, "admin", "engines")
    # The database (and its -wal and -shm files while it runs) and a conversation.
    _main(
        tmp_path,
        "console",
        stdin="my number is +44 20 7946 0000\nremind me tomorrow at 9 to pay the rent\nhistory\n",
    )

    data = tmp_path / "data"
    assert (data / "encryptotel.db").exists() and (run_dir / "exchange-key.pem").exists()
    assert _loose(data) == []


def test_private_umask_applies_to_every_file_made_after(tmp_path):
    previous = private_umask()
    try:
        (tmp_path / "made").write_text("x")
        (tmp_path / "folder").mkdir()
        os.mkfifo(tmp_path / "pipe")
    finally:
        assert os.umask(previous) == PRIVATE_UMASK
    for name in ("made", "folder", "pipe"):
        assert not (tmp_path / name).stat().st_mode & 0o077


def test_tighten_takes_the_bits_off_a_tree_and_leaves_links_alone(tmp_path):
    tree = tmp_path / "data"
    (tree / "exchange").mkdir(parents=True)
    (tree / "exchange" / "tls.cfg").write_text("x")
    (tree / "notes").write_text("x")
    outside = tmp_path / "outside"
    outside.write_text("x")
    for path in (tree, tree / "exchange", tree / "exchange" / "tls.cfg", tree / "notes", outside):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    (tree / "link").symlink_to(outside)

    assert tighten([tree, tmp_path / "missing"]) == 4
    assert _loose(tree) == []
    assert stat.S_IMODE(outside.stat().st_mode) == 0o644  # a link is not followed
    assert stat.S_IMODE((tree / "notes").stat().st_mode) == 0o600
    assert tighten([tree]) == 0


def test_private_sqlite_makes_the_database_and_its_folder_private(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    folder.mkdir()
    for name in ("encryptotel.db", "encryptotel.db-wal", "other.txt"):
        (folder / name).write_text("x")
        os.chmod(folder / name, 0o644)
    os.chmod(folder, 0o755)
    monkeypatch.chdir(tmp_path)

    assert private_sqlite("sqlite:///data/encryptotel.db") == 3
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "encryptotel.db").stat().st_mode) == 0o600
    assert stat.S_IMODE((folder / "encryptotel.db-wal").stat().st_mode) == 0o600
    assert stat.S_IMODE((folder / "other.txt").stat().st_mode) == 0o644  # not ours to judge


def test_private_sqlite_leaves_shared_folders_and_other_databases(tmp_path, monkeypatch):
    os.chmod(tmp_path, 0o755)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "here.db").write_text("x")
    os.chmod(tmp_path / "here.db", 0o644)  # whatever umask an earlier test left
    assert private_sqlite("sqlite:///here.db") == 1  # the file, not the working directory
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o755
    assert private_sqlite("sqlite:///:memory:") == 0
    assert private_sqlite("postgresql+psycopg://user@127.0.0.1:5432/test") == 0
