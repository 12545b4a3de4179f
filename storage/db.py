"""Database engines and transactions, for SQLite (embedded default) and PostgreSQL.

On SQLite every transaction starts with BEGIN IMMEDIATE, so two processes that
read-then-write a balance are serialised by the database lock instead of failing
late on commit. On PostgreSQL, writers lock the rows they change (SELECT … FOR
UPDATE, or a conditional UPDATE: see `storage.ledger_store`).

PostgreSQL connections are not pinged on every checkout from the pool (a ping costs
two round trips, BEGIN and SELECT 1, which the money path cannot afford): a pooled
connection is pinged only when its socket has something to say while idle (the server
closed it or sent a notice) or when it sat idle for PING_AFTER_IDLE seconds; a dead
one is replaced before use, as with SQLAlchemy's pool_pre_ping.

Reads that never write use `read(engine)`: no transaction, each statement sees what
was committed when it started (as in PostgreSQL's READ COMMITTED). On SQLite (WAL)
it neither waits for nor holds up the writers; on PostgreSQL it saves the
BEGIN/ROLLBACK round trips. Use `transaction` when several reads must agree.
"""

from __future__ import annotations

import os
import select as _select
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Select, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlmodel import Session

SQLITE_POOL = 20
PRIVATE_FILE = 0o600  # the SQLite database (and so its -wal and -shm files)
PRIVATE_FOLDER = 0o700  # folders made for it (the default `data/`)
PING_AFTER_IDLE = 10.0  # seconds a pooled PostgreSQL connection may idle unpinged
_IDLE_SINCE = "encryptotel_idle_since"  # key in a pooled connection's record.info
# Execution option of the connections `read` hands out.
_READ_ONLY = "encryptotel_read_only"


def is_sqlite(engine: Engine) -> bool:
    """True when the engine talks to SQLite."""
    return engine.dialect.name == "sqlite"


def _prepare_sqlite_file(url: str) -> None:
    """Create the database file (0600) and the folders leading to it (0700) before SQLite
    does, whatever the umask: balances, numbers and link codes are for this user alone.
    SQLite gives its -wal and -shm files the mode of the database file. A database file
    (or -wal, -shm) found readable by others is made private too."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    _make_private_folders(path.parent)
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        pass
    else:
        os.fchmod(descriptor, PRIVATE_FILE)  # the mode given to open is filtered by the umask
        os.close(descriptor)
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        _make_private(name)


def _make_private_folders(folder: Path) -> None:
    """`folder` and any missing parent, each created 0700 (existing ones are left as they are)."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for created in reversed(missing):
        try:
            created.mkdir(mode=PRIVATE_FOLDER)
        except FileExistsError:  # made at the same moment by another process
            continue
        os.chmod(created, PRIVATE_FOLDER)  # mkdir's mode is filtered by the umask


def _make_private(path: Path) -> None:
    """Take away the group's and others' access to a file of ours."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    if info.st_mode & 0o077 and info.st_uid == os.geteuid():
        os.chmod(path, info.st_mode & 0o700)


def make_engine(url: str, *, pool_size: int = 5) -> Engine:
    """Create an engine for `url` with the transaction behaviour described above."""
    if url.startswith("sqlite"):
        _prepare_sqlite_file(url)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            # An SQLite connection is only a file handle, but opening one costs its PRAGMAs
            # and a schema read: keep enough for every worker thread, never churn them.
            pool_size=max(pool_size, SQLITE_POOL),
            max_overflow=max(pool_size, SQLITE_POOL),
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, _record):  # noqa: ANN001
            # Let SQLAlchemy, not the sqlite3 module, decide when a transaction begins.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection):  # noqa: ANN001
            if connection.get_execution_options().get(_READ_ONLY, False):
                return  # autocommit: each statement is its own read transaction
            # Straight to the driver: this runs for every transaction, and SQLAlchemy
            # has nothing to track about it.
            connection.connection.driver_connection.execute("BEGIN IMMEDIATE")

        return engine
    engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size * 4)
    _ping_when_in_doubt(engine)
    return engine


def _ping_when_in_doubt(engine: Engine) -> None:
    """Replace a dead pooled connection at checkout, pinging only the doubtful ones."""
    dialect = engine.dialect

    @event.listens_for(engine, "connect")
    def _connected(_dbapi_connection, record):  # noqa: ANN001
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection, record):  # noqa: ANN001
        if record is not None:
            record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, _proxy):  # noqa: ANN001
        since = record.info.get(_IDLE_SINCE)
        if since is not None and time.monotonic() - since < PING_AFTER_IDLE:
            if not _in_doubt(dbapi_connection):
                return
        try:
            dialect.do_ping(dbapi_connection)
            dbapi_connection.rollback()  # the ping began a transaction
        except dialect.loaded_dbapi.Error as error:
            raise DisconnectionError(f"pooled connection is dead: {error}") from error


def _in_doubt(dbapi_connection: Any) -> bool:
    """True when an idle connection is closed or its socket is readable (EOF, a notice)."""
    if getattr(dbapi_connection, "closed", False) or getattr(dbapi_connection, "broken", False):
        return True
    try:
        poller = _select.poll()  # not select(): any descriptor number works
        poller.register(dbapi_connection.fileno(), _select.POLLIN)
        return bool(poller.poll(0))
    except Exception:  # closed, or not a socket: ping to find out
        return True


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session whose work is committed on success and rolled back on error."""
    with Session(engine, expire_on_commit=False) as session:
        with session.begin():
            yield session


@contextmanager
def read(engine: Engine) -> Iterator[Connection]:
    """A connection for reads only, each statement in its own transaction (see above).

    Never write through it: a write would commit at once, alone.
    """
    options = {_READ_ONLY: True} if is_sqlite(engine) else {"isolation_level": "AUTOCOMMIT"}
    with engine.connect() as connection:
        yield connection.execution_options(**options)


class FastRead:
    """A prebuilt SELECT run straight on the driver, for the reads every message makes.

    SQLAlchemy's execution machinery costs more than SQLite's own work on these tiny
    lookups; here the statement is compiled once per engine and the driver's values
    go through the columns' own result processors, so rows hold what SQLAlchemy would
    return. Reads only: like `read`, no transaction is kept open.
    """

    def __init__(self, statement: Select) -> None:
        self.statement = statement
        self._plans: dict[tuple[str, str, str], tuple] = {}

    def rows(self, engine: Engine, **params: object) -> list[tuple]:
        """The rows for `params` (the statement's bind parameters, by name)."""
        sql, order, processors = self._plan(engine)
        values = tuple(params[name] for name in order) if order is not None else params
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(sql, values)
                fetched = cursor.fetchall()
            finally:
                cursor.close()
            if not is_sqlite(engine):
                connection.rollback()  # end the driver's implicit read transaction
        finally:
            connection.close()  # back to the pool
        if not any(processors):
            return [tuple(row) for row in fetched]
        return [
            tuple(p(v) if p else v for p, v in zip(processors, row, strict=True)) for row in fetched
        ]

    def _plan(self, engine: Engine) -> tuple:
        dialect = engine.dialect
        key = (dialect.name, dialect.driver, dialect.paramstyle)  # what the SQL depends on
        plan = self._plans.get(key)
        if plan is None:
            compiled = self.statement.compile(dialect=dialect)
            order = list(compiled.positiontup or ()) if dialect.positional else None
            processors = [
                column.type.dialect_impl(dialect).result_processor(dialect, None)
                for column in self.statement.selected_columns
            ]
            plan = self._plans[key] = (compiled.string, order, processors)
        return plan


def default_sqlite_path() -> str:
    """Where the default SQLite database lives, relative to the working directory."""
    return os.path.join("data", "encryptotel.db")
