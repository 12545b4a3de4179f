"""Repeating reminders: a chat request made into a series, and each due occurrence stored.

The rule is an RFC 5545 RECUR value read on the user's wall clock (`domain.recurrence`),
so "every day at 8" stays at 08:00 across changes of daylight saving time. Occurrences
that passed while no service ran are not fired one by one: the latest fires once, and
says how many were missed (`Reminder.missed`).
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from domain import recurrence
from domain.clock import utcnow
from storage.models import ReminderSeries
from storage.reminder_series import Occurrence, SeriesStore

log = logging.getLogger(__name__)
MAX_MISSED_COUNTED = 10_000  # occurrences counted when telling how many were missed


def start_of(first: datetime, zone: str) -> datetime:
    """The series' DTSTART: the first occurrence (aware) as naive wall-clock time in
    `zone`, to the second."""
    return first.astimezone(ZoneInfo(zone)).replace(tzinfo=None, microsecond=0)


def key_of(moment: datetime) -> str:
    """An occurrence's key within its series: its time, an RFC 5545 UTC DATE-TIME."""
    return recurrence.utc_stamp(moment)


def due_occurrence(series: ReminderSeries, now: datetime) -> tuple[Occurrence, datetime | None]:
    """The occurrence to store for a due series and the series' next occurrence after
    `now` (None: ended). Occurrences in (next_at, now] besides next_at were missed while
    no service ran: the latest is stored, the others counted. Raises RecurrenceError."""
    assert series.next_at is not None
    dtstart = datetime.fromisoformat(series.dtstart)
    passed = recurrence.between(
        series.rule, dtstart, series.timezone, series.next_at, now, limit=MAX_MISSED_COUNTED
    )
    latest = passed[-1] if passed else series.next_at
    occurrence = Occurrence(fire_at=latest, key=key_of(latest), missed=len(passed))
    return occurrence, recurrence.next_after(series.rule, dtstart, series.timezone, now)


def store_due_occurrences(store: SeriesStore, now: datetime | None = None) -> int:
    """Store the occurrence of every due series (at most a page of them: `SeriesStore.due`)
    as a pending reminder, once whatever the number of instances (`SeriesStore.advance`),
    in one transaction; how many were stored. Should that fail (one series' row), each
    is stored on its own, so that one bad series holds back no other."""
    now = now or utcnow()
    steps = []
    for series in store.due(now):
        try:
            occurrence, next_at = due_occurrence(series, now)
        except Exception:  # RecurrenceError, an unknown zone, a bad start: not the others'
            # Checked when stored; should a rule become unreadable, it fires once and ends.
            log.exception("repeating reminder %s has a rule that cannot be read", series.id)
            assert series.next_at is not None
            occurrence, next_at = Occurrence(series.next_at, key_of(series.next_at)), None
        steps.append((series, occurrence, next_at))
    try:
        return store.advance_many(steps)
    except Exception:
        log.exception("storing %d occurrences at once failed; storing them one by one", len(steps))
    stored = 0
    for step in steps:
        try:
            stored += store.advance(*step)
        except Exception:
            log.exception("repeating reminder %s: its occurrence could not be stored", step[0].id)
    return stored
