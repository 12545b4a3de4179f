"""Repeating reminders: the series, and each occurrence stored once as a `Reminder` row.

A series holds the next occurrence not yet stored (`next_at`). Whichever scheduler finds it
due first moves `next_at` on and stores the occurrence, in one transaction, under a
condition on the old `next_at`: two instances cannot both store it, and the occurrence's
key is unique per series besides. The stored occurrence then fires like any reminder
(`storage.reminders`: pending → firing → fired).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, update
from sqlmodel import col, select

from domain.clock import utcnow
from storage.db import transaction
from storage.models import Reminder, ReminderSeries
from storage.reminders import CANCELLED, CHANNELS, MAX_TEXT, PENDING

ACTIVE = "active"
ENDED = "ended"
STOPPED = "cancelled"


@dataclass(frozen=True)
class Occurrence:
    """An occurrence to store: when it fires (aware), its key within the series (the
    occurrence's own time, ISO UTC), and how many earlier ones passed unfired."""

    fire_at: datetime
    key: str
    missed: int = 0


class SeriesStore:
    """Add, list and stop repeating reminders; store their occurrences once each."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(
        self,
        account_id: int,
        rule: str,
        dtstart: datetime,
        timezone: str,
        channel: str,
        text: str,
        next_at: datetime,
    ) -> ReminderSeries:
        """Store an active series. `dtstart`: naive local wall-clock start in `timezone`;
        `next_at`: its first occurrence (aware). ValueError for a bad channel or text."""
        if channel not in CHANNELS:
            raise ValueError(f"unknown reminder channel {channel!r}")
        if len(text) > MAX_TEXT:
            raise ValueError(f"reminder text longer than {MAX_TEXT} characters")
        if dtstart.tzinfo is not None:
            raise ValueError("dtstart is a naive local wall-clock time")
        series = ReminderSeries(
            account_id=account_id,
            rule=rule,
            dtstart=dtstart.isoformat(timespec="seconds"),
            timezone=timezone,
            channel=channel,
            text=text,
            next_at=next_at.astimezone(UTC),
        )
        with transaction(self.engine) as session:
            session.add(series)
        return series

    def get(self, series_id: int) -> ReminderSeries | None:
        """The series with this id."""
        with transaction(self.engine) as session:
            return session.get(ReminderSeries, series_id)

    def active(self, account_id: int) -> list[ReminderSeries]:
        """The account's series still running, soonest next occurrence first."""
        with transaction(self.engine) as session:
            return list(
                session.exec(
                    select(ReminderSeries)
                    .where(ReminderSeries.account_id == account_id, ReminderSeries.state == ACTIVE)
                    .order_by(col(ReminderSeries.next_at), col(ReminderSeries.id))
                )
            )

    def due(self, now: datetime | None = None, limit: int = 100) -> list[ReminderSeries]:
        """Active series whose next occurrence has come, oldest first."""
        with transaction(self.engine) as session:
            return list(
                session.exec(
                    select(ReminderSeries)
                    .where(
                        ReminderSeries.state == ACTIVE,
                        col(ReminderSeries.next_at) <= (now or utcnow()),
                    )
                    .order_by(col(ReminderSeries.next_at), col(ReminderSeries.id))
                    .limit(limit)
                )
            )

    def advance(
        self, series: ReminderSeries, occurrence: Occurrence, next_at: datetime | None
    ) -> bool:
        """Store `occurrence` as a pending reminder and move the series to `next_at` (None:
        the rule has ended), both or neither; False (nothing done) when another scheduler
        moved the series first or it was stopped meanwhile."""
        return self.advance_many([(series, occurrence, next_at)]) == 1

    def advance_many(
        self, steps: Sequence[tuple[ReminderSeries, Occurrence, datetime | None]]
    ) -> int:
        """`advance` for many series in one transaction (one commit for a minute when
        thousands of "every day at 8" fall due); how many were stored. A series another
        scheduler moved first is skipped; any other error rolls back all of them."""
        stored = 0
        with transaction(self.engine) as session:
            for series, occurrence, next_at in steps:
                moved = (
                    update(ReminderSeries)
                    .where(
                        col(ReminderSeries.id) == series.id,
                        col(ReminderSeries.state) == ACTIVE,
                        col(ReminderSeries.next_at) == series.next_at,
                    )
                    .values(
                        next_at=next_at.astimezone(UTC) if next_at else None,
                        state=ACTIVE if next_at else ENDED,
                    )
                )
                if session.exec(moved).rowcount != 1:
                    continue
                session.add(
                    Reminder(
                        account_id=series.account_id,
                        fire_at=occurrence.fire_at.astimezone(UTC),
                        channel=series.channel,
                        text=series.text,
                        series_id=series.id,
                        occurrence_key=occurrence.key,
                        missed=occurrence.missed,
                    )
                )
                stored += 1
        return stored

    def stop(self, series_id: int, account_id: int) -> bool:
        """Stop the account's series and cancel its occurrence still to fire; False when it
        is not the account's or not running."""
        with transaction(self.engine) as session:
            stopped = session.exec(
                update(ReminderSeries)
                .where(
                    col(ReminderSeries.id) == series_id,
                    col(ReminderSeries.account_id) == account_id,
                    col(ReminderSeries.state) == ACTIVE,
                )
                .values(state=STOPPED)
            ).rowcount
            if stopped != 1:
                return False
            session.exec(
                update(Reminder)
                .where(col(Reminder.series_id) == series_id, col(Reminder.state) == PENDING)
                .values(state=CANCELLED)
            )
        return True
