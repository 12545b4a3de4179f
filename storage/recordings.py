"""Recordings: the sealed files of recorded calls (their bytes live in RECORDING_DIR, named
by `file_name`), with the account that owns them and when they expire.

A row exists from the moment its file is created until the file is deleted:
`delete`/`delete_all`/`expired` hand back the rows whose files the caller removes
(privacy.recordings). `seconds` is 0 until the recording is complete.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, and_, delete, or_, update
from sqlmodel import col, select

from domain.clock import utcnow
from storage.db import transaction
from storage.models import Recording


class RecordingStore:
    """Add, list, deliver and delete recordings, always by the account that owns them."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, recording: Recording) -> Recording:
        """Store a recording as it starts (its file is being written): a crash leaves the
        row, so the file is still deleted when it expires."""
        with transaction(self.engine) as session:
            session.add(recording)
        return recording

    def complete(self, recording_id: str, size_bytes: int, seconds: int) -> Recording | None:
        """Note a finished recording's size (bytes) and duration (seconds); the row."""
        with transaction(self.engine) as session:
            found = session.get(Recording, recording_id)
            if found is not None:
                found.size_bytes, found.seconds = size_bytes, seconds
                session.add(found)
            return found

    def get(self, account_id: int, recording_id: str) -> Recording | None:
        """The account's recording with this id (None for another account's)."""
        with transaction(self.engine) as session:
            found = session.get(Recording, recording_id)
            return found if found is not None and found.account_id == account_id else None

    def of_account(self, account_id: int, limit: int | None = 50) -> list[Recording]:
        """The account's recordings, newest first (all of them with `limit` None)."""
        with transaction(self.engine) as session:
            return list(
                session.exec(
                    select(Recording)
                    .where(Recording.account_id == account_id)
                    .order_by(col(Recording.created_at).desc(), col(Recording.id))
                    .limit(limit)
                )
            )

    def page(
        self, account_id: int, *, limit: int, before: tuple[datetime, str] | None = None
    ) -> list[Recording]:
        """A page of the account's recordings, newest first by (created_at, id): at most
        `limit`, those strictly before `before` (the last of the previous page)."""
        query = select(Recording).where(Recording.account_id == account_id)
        if before is not None:
            moment, recording_id = before
            query = query.where(
                or_(
                    col(Recording.created_at) < moment,
                    and_(col(Recording.created_at) == moment, col(Recording.id) < recording_id),
                )
            )
        query = query.order_by(col(Recording.created_at).desc(), col(Recording.id).desc())
        with transaction(self.engine) as session:
            return list(session.exec(query.limit(limit)))

    def mark_delivered(self, recording_id: str, at: datetime | None = None) -> None:
        """Note that the owner's chat got the file."""
        with transaction(self.engine) as session:
            session.execute(
                update(Recording)
                .where(col(Recording.id) == recording_id)
                .values(delivered_at=at or utcnow())
            )

    def delete(self, account_id: int, recording_id: str) -> Recording | None:
        """Remove one of the account's recordings; the row removed, or None."""
        with transaction(self.engine) as session:
            found = session.get(Recording, recording_id)
            if found is None or found.account_id != account_id:
                return None
            session.delete(found)
            return found

    def delete_all(self, account_id: int) -> list[Recording]:
        """Remove every recording of the account; the rows removed."""
        with transaction(self.engine) as session:
            rows = list(session.exec(select(Recording).where(Recording.account_id == account_id)))
            session.execute(delete(Recording).where(col(Recording.account_id) == account_id))
            return rows

    def expired(self, now: datetime | None = None, limit: int = 500) -> list[Recording]:
        """Remove the recordings whose time is up; the rows removed."""
        with transaction(self.engine) as session:
            rows = list(
                session.exec(
                    select(Recording)
                    .where(col(Recording.expires_at) <= (now or utcnow()))
                    .order_by(col(Recording.expires_at))
                    .limit(limit)
                )
            )
            if rows:
                session.execute(
                    delete(Recording).where(col(Recording.id).in_([r.id for r in rows]))
                )
            return rows
