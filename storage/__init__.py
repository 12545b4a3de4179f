"""Persistence: models, engines, migrations and the only code that talks SQL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, make_url

from storage.db import make_engine
from storage.migrate import upgrade


def open_database(url: str, *, migrate: bool = True, pool_size: int = 5) -> Engine:
    """Create an engine for `url` and apply pending migrations."""
    engine = make_engine(url, pool_size=pool_size)
    if migrate:
        upgrade(engine)
    return engine


class NoDatabase(LookupError):
    """An operator's command names an SQLite database that does not exist."""


def open_existing_database(url: str) -> Engine:
    """`open_database` for operators' commands: an SQLite file that does not exist is
    refused (NoDatabase naming it) instead of created empty, so a mistyped path never
    answers with a plausible empty report. Other databases are opened as they are."""
    parsed = make_url(url)
    path = parsed.database
    if parsed.get_backend_name() == "sqlite" and path and path != ":memory:":
        if not Path(path).exists():
            raise NoDatabase(
                f"no database at {path} (check --database or DATABASE_URL; "
                "`python main.py migrate` creates it)"
            )
    return open_database(url)
