"""Reminders: stored with their time, claimed once by whichever scheduler comes first.

States: `pending` → `firing` (claimed by one scheduler) → `fired` or `failed`;
`pending` → `cancelled`. A claim is a conditional UPDATE, so two service instances
sharing the database never deliver one reminder twice.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, and_, or_, update
from sqlmodel import col, select

from domain.clock import utcnow
from storage.db import transaction
from storage.models import Reminder

PENDING = "pending"
FIRING = "firing"
FIRED = "fired"
FAILED = "failed"
CANCELLED = "cancelled"
CHANNELS = ("message", "call")
MAX_TEXT = 1000


class ReminderStore:
    """Add reminders and move them through their states."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, account_id: int, fire_at: datetime, channel: str, text: str) -> Reminder:
        """Store a pending reminder; `fire_at` must be timezone-aware."""
        if fire_at.tzinfo is None or fire_at.utcoffset() is None:
            raise ValueError("fire_at must be timezone-aware")
        if channel not in CHANNELS:
            raise ValueError(f"unknown reminder channel {channel!r}")
        if len(text) > MAX_TEXT:
            raise ValueError(f"reminder text longer than {MAX_TEXT} characters")
        reminder = Reminder(
            account_id=account_id,
            fire_at=fire_at.astimezone(UTC),
            channel=channel,
            text=text,
        )
        with transaction(self.engine) as session:
            session.add(reminder)
        return reminder

    def get(self, reminder_id: int) -> Reminder | None:
        """The reminder with this id."""
        with transaction(self.engine) as session:
            return session.get(Reminder, reminder_id)

    def due(self, now: datetime | None = None, limit: int = 100) -> list[Reminder]:
        """Pending reminders whose time has come, oldest first."""
        with transaction(self.engine) as session:
            return list(
                session.exec(
                    select(Reminder)
                    .where(Reminder.state == PENDING, col(Reminder.fire_at) <= (now or utcnow()))
                    .order_by(col(Reminder.fire_at), col(Reminder.id))
                    .limit(limit)
                )
            )

    def claim(self, reminder_id: int, now: datetime | None = None) -> Reminder | None:
        """Move a reminder from pending to firing if it is still due at `now`; the row as
        claimed (its time and text may have changed since it was read: a calendar's event
        moved), or None if another claimed it first or it is no longer due."""
        now = now or utcnow()
        # fired_at holds the claim time while firing, so a stale claim can be released.
        statement = (
            update(Reminder)
            .where(
                col(Reminder.id) == reminder_id,
                col(Reminder.state) == PENDING,
                col(Reminder.fire_at) <= now,
            )
            .values(state=FIRING, fired_at=utcnow())
        )
        with transaction(self.engine) as session:
            if session.exec(statement).rowcount != 1:
                return None
            return session.get(Reminder, reminder_id)

    def release(self, reminder_id: int) -> bool:
        """Give a claimed reminder back (delivery reached nobody); it is due again."""
        return self._move(reminder_id, FIRING, PENDING, fired_at=None)

    def mark_fired(self, reminder_id: int) -> bool:
        """Record that a claimed reminder was delivered."""
        return self._move(reminder_id, FIRING, FIRED, fired_at=utcnow())

    def mark_failed(self, reminder_id: int) -> bool:
        """Record that a claimed reminder could not be delivered and will not be retried."""
        return self._move(reminder_id, FIRING, FAILED, fired_at=utcnow())

    def cancel(self, reminder_id: int, account_id: int | None = None) -> bool:
        """Cancel a pending reminder (only the account's own when `account_id` is given)."""
        return self._move(reminder_id, PENDING, CANCELLED, account_id=account_id)

    def pending(self, account_id: int) -> list[Reminder]:
        """The account's reminders still to come, soonest first."""
        with transaction(self.engine) as session:
            return list(
                session.exec(
                    select(Reminder)
                    .where(Reminder.account_id == account_id, Reminder.state == PENDING)
                    .order_by(col(Reminder.fire_at), col(Reminder.id))
                )
            )

    def upcoming(
        self, account_id: int, *, limit: int, after: tuple[datetime, int] | None = None
    ) -> list[Reminder]:
        """A page of the account's pending reminders, soonest first by (fire_at, id): at
        most `limit`, those strictly after `after` (the last of the previous page)."""
        query = select(Reminder).where(Reminder.account_id == account_id, Reminder.state == PENDING)
        if after is not None:
            moment, reminder_id = after
            query = query.where(
                or_(
                    col(Reminder.fire_at) > moment,
                    and_(col(Reminder.fire_at) == moment, col(Reminder.id) > reminder_id),
                )
            )
        query = query.order_by(col(Reminder.fire_at), col(Reminder.id))
        with transaction(self.engine) as session:
            return list(session.exec(query.limit(limit)))

    def release_stale(self, older_than: timedelta, now: datetime | None = None) -> int:
        """Give back claims left by a scheduler that stopped while firing; how many."""
        limit = (now or utcnow()) - older_than
        with transaction(self.engine) as session:
            result = session.exec(
                update(Reminder)
                .where(col(Reminder.state) == FIRING, col(Reminder.fired_at) <= limit)
                .values(state=PENDING, fired_at=None)
            )
            return result.rowcount

    def _move(
        self, reminder_id: int, old: str, new: str, account_id: int | None = None, **values: object
    ) -> bool:
        statement = (
            update(Reminder)
            .where(col(Reminder.id) == reminder_id, col(Reminder.state) == old)
            .values(state=new, **values)
        )
        if account_id is not None:
            statement = statement.where(col(Reminder.account_id) == account_id)
        with transaction(self.engine) as session:
            return session.exec(statement).rowcount == 1
