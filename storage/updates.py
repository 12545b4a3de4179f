"""Updates handled once: a chat network's delivery claimed in a table shared by instances.

Telegram delivers an update again when the webhook answered late or with an error, and
in long polling when the offset was not confirmed (a crash, a restart); behind a load
balancer two instances may each get it. The first instance to insert its
(source, update_id) row handles it; every later delivery finds the row and is dropped.
Rows older than `KEEP` are pruned: Telegram keeps an undelivered update for 24 hours.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from sqlalchemy import Engine, delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import SQLModel

from domain.clock import utcnow
from storage.db import is_sqlite
from storage.models import ChatUpdate

KEEP = timedelta(days=1)
PRUNE_EVERY = 600.0  # seconds between two prunes by one process

_update = SQLModel.metadata.tables[str(ChatUpdate.__tablename__)]


class SeenUpdates:
    """Claims of delivered updates, shared by every instance on the database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # INSERT … ON CONFLICT DO NOTHING: a duplicate is no error (nor a server log line).
        statement = sqlite_insert(_update) if is_sqlite(engine) else pg_insert(_update)
        self._claim = statement.on_conflict_do_nothing(
            index_elements=["source", "update_id"]
        ).execution_options(preserve_rowcount=True)  # the drivers' count of inserted rows
        self._prune = delete(_update)
        self._lock = threading.Lock()
        self._pruned_at = 0.0

    def claim(self, source: str, update_id: int) -> bool:
        """True for the first claim of `update_id` from `source` (handle it), False when
        it was claimed before, here or by another instance (drop it)."""
        now = utcnow()
        self._prune_now_and_then()
        with self.engine.begin() as connection:
            result = connection.execute(
                self._claim, {"source": source, "update_id": update_id, "seen_at": now}
            )
        return result.rowcount == 1

    def prune(self) -> int:
        """Forget the claims older than `KEEP`; return how many."""
        with self.engine.begin() as connection:
            result = connection.execute(self._prune.where(_update.c.seen_at < utcnow() - KEEP))
        return result.rowcount

    def _prune_now_and_then(self) -> None:
        with self._lock:
            if time.monotonic() - self._pruned_at < PRUNE_EVERY:
                return
            self._pruned_at = time.monotonic()
        self.prune()
