"""Every file the service writes is readable by its own user only (issue 14).

- `private_umask()` at the start of every command (main.py): files and folders made
  afterwards, by us or by the engines we start (kamailio and rtpengine inherit the umask,
  and espeak-ng's speech files), get no group or other bits, whatever mode they ask for;
- `tighten(paths)` at start: files written by an earlier version (before the umask, e.g.
  `data/exchange/tls.cfg` and the certificate, 0644) lose the bits they should not have;
- `private_sqlite(url)` at start: the same for the SQLite database's folder (`data/`) and
  files. storage.db makes new ones 0600 in 0700 folders whatever the umask.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

PRIVATE_UMASK = 0o077  # no bit for the group, none for others
OTHERS = 0o077


def private_umask() -> int:
    """Set the process's umask to PRIVATE_UMASK; the previous one."""
    return os.umask(PRIVATE_UMASK)


def tighten(paths: Iterable[str | Path]) -> int:
    """Take the group's and others' bits off each existing path and everything under it
    that belongs to this user (symbolic links are not followed; missing paths are
    skipped); how many modes were changed."""
    changed = 0
    for path in (Path(p) for p in paths):
        if not path.exists():
            continue
        changed += _tighten_one(path)
        if path.is_dir() and not path.is_symlink():
            for folder, folders, files in os.walk(path):
                for name in (*folders, *files):
                    changed += _tighten_one(Path(folder, name))
    return changed


def private_sqlite(url: str) -> int:
    """Take the group's and others' bits off an SQLite database file, its -wal and -shm
    files, and the folder holding them, when they are this user's; how many modes were
    changed. Nothing for another database, an in-memory one or a `file:` URI. The folder is
    left alone when it is a shared one: the working directory, the home directory, the
    root, or a sticky folder such as /tmp (it holds other people's files)."""
    if not url.startswith("sqlite"):
        return 0
    from sqlalchemy.engine import make_url  # here: `main.py parse` imports this module

    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return 0
    path = Path(database).absolute()
    changed = sum(_tighten_one(Path(f"{path}{end}")) for end in ("", "-wal", "-shm"))
    folder = path.parent
    shared = {Path.cwd(), Path.home(), Path(folder.anchor)}
    if folder.exists() and folder not in shared and not folder.stat().st_mode & stat.S_ISVTX:
        changed += _tighten_one(folder)
    return changed


def _tighten_one(path: Path) -> int:
    try:
        info = path.lstat()
    except FileNotFoundError:  # removed meanwhile (a temporary file)
        return 0
    if stat.S_ISLNK(info.st_mode) or info.st_uid != os.geteuid() or not info.st_mode & OTHERS:
        return 0
    os.chmod(path, stat.S_IMODE(info.st_mode) & ~OTHERS)
    return 1
