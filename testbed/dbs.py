"""Isolated test databases: a fresh SQLite file or a fresh PostgreSQL schema per test."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

from storage import open_database

PG_SERVER = os.environ.get("TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = ("sqlite", "postgresql")
_sqlite_template: Path | None = None


def _sqlite_url(directory: Path) -> str:
    global _sqlite_template
    if _sqlite_template is None:
        template_dir = Path(os.environ.get("TMPDIR", "/tmp")) / f"et-template-{uuid.uuid4().hex}"
        template_dir.mkdir(parents=True)
        _sqlite_template = template_dir / "template.db"
        open_database(f"sqlite:///{_sqlite_template}").dispose()
    target = directory / "encryptotel.db"
    shutil.copy(_sqlite_template, target)
    return f"sqlite:///{target}"


@contextmanager
def isolated_database(backend: str, directory: Path) -> Iterator[str]:
    """Yield the URL of an empty, migrated database that exists only for one test."""
    if backend == "sqlite":
        yield _sqlite_url(directory)
        return
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG_SERVER}?options=-csearch_path%3D{schema}"
    try:
        open_database(url).dispose()
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
