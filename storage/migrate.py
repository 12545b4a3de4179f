"""Apply the Alembic migrations in storage/migrations to a database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class ForeignKeyViolation(RuntimeError):
    """A migration left rows whose foreign key points nowhere (SQLite); nothing was changed."""


def alembic_config(url: str) -> Config:
    """An Alembic configuration for `url` that needs no alembic.ini."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database behind `engine` to `revision` (default: the newest schema).

    One transaction: a failing migration leaves the database as it was. Raises
    ForeignKeyViolation (SQLite) when the result would break a foreign key.
    """
    _run(engine, lambda config: command.upgrade(config, revision))


def downgrade(engine: Engine, revision: str) -> None:
    """Take the database behind `engine` back to `revision` (e.g. "0001"), in one transaction."""
    _run(engine, lambda config: command.downgrade(config, revision))


def _run(engine: Engine, step: Callable[[Config], None]) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.connect() as connection:
        if engine.dialect.name != "sqlite":
            with connection.begin():
                config.attributes["connection"] = connection
                step(config)
            return
        # SQLite changes a table by rebuilding it (create, copy, drop, rename). Dropping
        # a table that others refer to must not cascade or fail, so foreign keys are off
        # while migrating (the pragma has no effect inside a transaction: set it before)
        # and every one of them is checked before the commit.
        driver: Any = connection.connection.driver_connection
        driver.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                step(config)
                _check_foreign_keys(connection)
        finally:
            driver.execute("PRAGMA foreign_keys=ON")


def _check_foreign_keys(connection: Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise ForeignKeyViolation(f"foreign keys broken by the migration: {broken[:5]}")
