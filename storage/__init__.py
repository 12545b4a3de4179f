"""Persistence: models, engines, migrations and the only code that talks SQL."""

from __future__ import annotations

from sqlalchemy import Engine

from storage.db import make_engine
from storage.migrate import upgrade


def open_database(url: str, *, migrate: bool = True, pool_size: int = 5) -> Engine:
    """Create an engine for `url` and apply pending migrations."""
    engine = make_engine(url, pool_size=pool_size)
    if migrate:
        upgrade(engine)
    return engine
