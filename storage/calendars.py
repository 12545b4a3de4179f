"""The users' calendars (feeds, CalDAV accounts, imported files) and their event reminders.

A calendar is read by one instance at a time: `claim_due` moves its `next_sync_at` on
under a condition, like a lease. Its events' alarms are written by `apply_alarms` in one
transaction: an alarm is a `Reminder` row named by the alarm's key (unique per calendar),
so a re-read never stores it twice; a pending one whose event moved gets its new time; one
whose event is gone is cancelled; one that has fired is never stored again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from domain.clock import utcnow
from domain.recurrence import utc_stamp
from storage.db import transaction
from storage.models import CalendarSource, Reminder
from storage.reminders import CANCELLED, CHANNELS, FAILED, FIRED, FIRING, MAX_TEXT, PENDING

FEED, CALDAV, FILE = "feed", "caldav", "file"
# A calendar reminder whose event is gone from the calendar (deleted, cancelled, an
# EXDATE); it comes back if the event does. One the user stopped is CANCELLED: it stays so.
GONE = "gone"
ACTIVE, REMOVED = "active", "removed"
MAX_CALENDARS = 10  # per account


@dataclass(frozen=True)
class AlarmRow:
    """An alarm to keep as a reminder: its key (stable across re-reads and moves), when it
    fires and the event's start (aware), the text said, the channel."""

    key: str
    fire_at: datetime
    event_at: datetime
    text: str
    channel: str


@dataclass(frozen=True)
class Applied:
    """What `apply_alarms` changed: reminders added, moved (new time or text), cancelled."""

    added: int
    moved: int
    cancelled: int


class TooManyCalendars(Exception):
    """The account already has MAX_CALENDARS calendars."""


class CalendarStore:
    """Add, list and remove calendars; claim them for reading; keep their alarms."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(
        self,
        account_id: int,
        kind: str,
        *,
        label: str,
        url: str | None = None,
        username: str | None = None,
        password: str | None = None,
        body: str | None = None,
        file_sha256: str | None = None,
        minutes_before: int = 15,
        channel: str = "call",
        next_sync_at: datetime | None = None,
    ) -> tuple[CalendarSource, bool]:
        """Store a calendar; (it, True), or (the one already there, False) for a file the
        account imported before (same SHA-256) or a feed/CalDAV URL already connected.
        `next_sync_at`: when it is first read by the background reading (default: now).
        Raises TooManyCalendars, ValueError for a bad kind or channel."""
        if kind not in (FEED, CALDAV, FILE):
            raise ValueError(f"unknown calendar kind {kind!r}")
        if channel not in CHANNELS:
            raise ValueError(f"unknown reminder channel {channel!r}")
        with transaction(self.engine) as session:
            for known in self._active(session, account_id):
                same_file = file_sha256 is not None and known.file_sha256 == file_sha256
                same_url = url is not None and known.url == url and known.username == username
                if same_file or same_url:
                    return known, False
        source = CalendarSource(
            account_id=account_id,
            kind=kind,
            label=label[:200],
            url=url,
            username=username,
            password=password,
            body=body,
            file_sha256=file_sha256,
            minutes_before=minutes_before,
            channel=channel,
            next_sync_at=next_sync_at or utcnow(),
        )
        try:
            with transaction(self.engine) as session:
                if len(self._active(session, account_id)) >= MAX_CALENDARS:
                    raise TooManyCalendars()
                session.add(source)
        except IntegrityError:  # the same file imported at the same moment elsewhere
            with transaction(self.engine) as session:
                for known in self._active(session, account_id):
                    if known.file_sha256 == file_sha256:
                        return known, False
            raise
        return source, True

    def get(self, calendar_id: int) -> CalendarSource | None:
        """The calendar with this id (removed ones too)."""
        with transaction(self.engine) as session:
            return session.get(CalendarSource, calendar_id)

    def of_account(self, account_id: int) -> list[CalendarSource]:
        """The account's calendars (not removed), oldest first."""
        with transaction(self.engine) as session:
            return self._active(session, account_id)

    @staticmethod
    def _active(session: object, account_id: int) -> list[CalendarSource]:
        query = (
            select(CalendarSource)
            .where(CalendarSource.account_id == account_id, CalendarSource.state == ACTIVE)
            .order_by(col(CalendarSource.id))
        )
        return list(session.exec(query))  # type: ignore[attr-defined]

    def remove(self, calendar_id: int, account_id: int) -> bool:
        """Disconnect the account's calendar: its address, credentials and text are wiped,
        its reminders still to fire cancelled. False when not the account's or removed."""
        with transaction(self.engine) as session:
            done = session.exec(
                update(CalendarSource)
                .where(
                    col(CalendarSource.id) == calendar_id,
                    col(CalendarSource.account_id) == account_id,
                    col(CalendarSource.state) == ACTIVE,
                )
                .values(state=REMOVED, url=None, username=None, password=None, body=None)
            ).rowcount
            if done != 1:
                return False
            session.exec(
                update(Reminder)
                .where(col(Reminder.calendar_id) == calendar_id, col(Reminder.state) == PENDING)
                .values(state=CANCELLED)
            )
        return True

    def set_defaults(self, account_id: int, minutes_before: int | None, channel: str | None) -> int:
        """Set when (minutes before an event without an alarm of its own) and how the
        account's calendars remind (None: as it is); they are due for reading at once. How
        many calendars. ValueError for an unknown channel."""
        if channel is not None and channel not in CHANNELS:
            raise ValueError(f"unknown reminder channel {channel!r}")
        values: dict[str, object] = {"next_sync_at": utcnow()}
        if minutes_before is not None:
            values["minutes_before"] = minutes_before
        if channel is not None:
            values["channel"] = channel
        with transaction(self.engine) as session:
            return session.exec(
                update(CalendarSource)
                .where(
                    col(CalendarSource.account_id) == account_id,
                    col(CalendarSource.state) == ACTIVE,
                )
                .values(**values)
            ).rowcount

    def claim_due(
        self, lease: timedelta, now: datetime | None = None, limit: int = 20
    ) -> list[CalendarSource]:
        """The calendars due for reading, each claimed for `lease` (another instance skips
        it until then; reading sets the real next time)."""
        now = now or utcnow()
        with transaction(self.engine) as session:
            due = list(
                session.exec(
                    select(CalendarSource)
                    .where(
                        CalendarSource.state == ACTIVE,
                        col(CalendarSource.next_sync_at) <= now,
                    )
                    .order_by(col(CalendarSource.next_sync_at), col(CalendarSource.id))
                    .limit(limit)
                )
            )
        return [claimed for source in due if (claimed := self.claim(source, lease, now))]

    def claim(
        self, source: CalendarSource, lease: timedelta, now: datetime | None = None
    ) -> CalendarSource | None:
        """Claim one due calendar for `lease` (as read: its `next_sync_at` unchanged since);
        the calendar as claimed, or None when another reader took it first."""
        now = now or utcnow()
        with transaction(self.engine) as session:
            taken = session.exec(
                update(CalendarSource)
                .where(
                    col(CalendarSource.id) == source.id,
                    col(CalendarSource.next_sync_at) == source.next_sync_at,
                    col(CalendarSource.next_sync_at) <= now,
                    col(CalendarSource.state) == ACTIVE,
                )
                .values(next_sync_at=now + lease)
            ).rowcount
        return source if taken == 1 else None

    def record_read(
        self,
        calendar_id: int,
        *,
        next_sync_at: datetime,
        body: str | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        fingerprint: str | None = None,
        error: str | None = None,
        now: datetime | None = None,
    ) -> None:
        """Keep what a read found: the new text and validators (when it changed), or the
        error code (failures counted; cleared by the next good read)."""
        values: dict[str, object] = {"next_sync_at": next_sync_at}
        if error is None:
            values.update(synced_at=now or utcnow(), error=None, failures=0)
            if body is not None:
                values.update(
                    body=body, etag=etag, last_modified=last_modified, fingerprint=fingerprint
                )
        else:
            values.update(error=error, failures=col(CalendarSource.failures) + 1)
        with transaction(self.engine) as session:
            session.exec(
                update(CalendarSource)
                .where(col(CalendarSource.id) == calendar_id, col(CalendarSource.state) == ACTIVE)
                .values(**values)
            )

    def apply_alarms(
        self,
        source: CalendarSource,
        alarms: Sequence[AlarmRow],
        *,
        now: datetime | None = None,
        grace: timedelta = timedelta(minutes=1),
    ) -> Applied:
        """Make the calendar's pending reminders what `alarms` say (all alarms from `now -
        grace` to the reading horizon): new keys added (unless already past), pending
        ones moved, pending ones in that window whose key is gone marked GONE (an older
        one is due and still being delivered: left to the scheduler). Fired, failed and
        firing reminders are never touched nor stored again; one the user stopped stays
        stopped. An event moved after its reminder fired reminds again at its new time
        (a row keyed by the alarm's key and the new start, `moved_key`)."""
        now = now or utcnow()
        added = moved = cancelled = 0
        with transaction(self.engine) as session:
            # Locked: a calendar disconnected meanwhile gets no reminder after its removal.
            current = session.get(CalendarSource, source.id, with_for_update=True)
            if current is None or current.state != ACTIVE:
                return Applied(0, 0, 0)
            stored = {
                row.occurrence_key: row
                for row in session.exec(select(Reminder).where(Reminder.calendar_id == source.id))
            }
            wanted = _wanted(alarms, stored, now)
            new: list[dict[str, object]] = []  # inserted at once: a first read adds hundreds
            for key, alarm in wanted.items():
                row = stored.get(key)
                text = alarm.text[:MAX_TEXT]
                fire_at, event_at = alarm.fire_at.astimezone(UTC), alarm.event_at.astimezone(UTC)
                if row is None:
                    if fire_at >= now - grace:  # one already past when first seen: never
                        new.append({"account_id": source.account_id, "fire_at": fire_at,
                                    "channel": alarm.channel, "text": text, "state": PENDING,
                                    "created_at": now, "calendar_id": source.id,
                                    "occurrence_key": key, "event_at": event_at})  # fmt: skip
                    continue
                values = {"fire_at": fire_at, "text": text, "event_at": event_at,
                          "channel": alarm.channel}  # fmt: skip
                same = (row.fire_at, row.text, row.event_at, row.channel) == tuple(values.values())
                if row.state == PENDING and not same:
                    moved += _update(session, row.id, PENDING, **values)
                elif row.state == GONE and fire_at >= now:
                    # The event came back (un-cancelled, or the EXDATE removed).
                    moved += _update(session, row.id, GONE, state=PENDING, **values)
            if new:
                session.exec(insert(Reminder), params=new)
                added = len(new)
            for row in stored.values():
                gone = row.occurrence_key not in wanted and row.state == PENDING
                if gone and row.fire_at >= now - grace:
                    cancelled += _update(session, row.id, PENDING, state=GONE)
        return Applied(added, moved, cancelled)

    def upcoming(self, account_id: int, limit: int = 10) -> list[Reminder]:
        """The account's calendar reminders still to fire, soonest first."""
        with transaction(self.engine) as session:
            return list(
                session.exec(
                    select(Reminder)
                    .where(
                        Reminder.account_id == account_id,
                        col(Reminder.calendar_id).is_not(None),
                        col(Reminder.state).in_((PENDING, FIRING)),
                    )
                    .order_by(col(Reminder.fire_at), col(Reminder.id))
                    .limit(limit)
                )
            )


def _wanted(
    alarms: Sequence[AlarmRow], stored: dict[str | None, Reminder], now: datetime
) -> dict[str, AlarmRow]:
    """The alarms by the key their reminder has: their own, or `moved_key` for an event
    that moved after its reminder was given (to a time after that)."""
    wanted: dict[str, AlarmRow] = {}
    for alarm in alarms:
        key, first = alarm.key, stored.get(alarm.key)
        if first is not None and first.state in (FIRING, FIRED, FAILED):
            event_at = alarm.event_at.astimezone(UTC)
            if first.event_at != event_at and alarm.fire_at > (first.fired_at or now):
                key = moved_key(key, event_at)
        wanted[key] = alarm
    return wanted


def moved_key(key: str, event_at: datetime) -> str:
    """The key of an alarm whose event moved after its reminder was given: the alarm's own
    key and the event's new start (UTC), so that each new time is told once."""
    return f"{key}@{utc_stamp(event_at)}"


def _update(session: object, reminder_id: int, current: str, **values: object) -> int:
    """Change a reminder only if it is still in state `current` (the scheduler may claim
    it meanwhile)."""
    statement = (
        update(Reminder)
        .where(col(Reminder.id) == reminder_id, col(Reminder.state) == current)
        .values(**values)
    )
    return session.exec(statement).rowcount  # type: ignore[attr-defined]
