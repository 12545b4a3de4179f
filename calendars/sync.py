"""Reading the users' calendars into reminders, every few minutes, on one instance at a time.

Each read fetches the calendar (a feed with its ETag/Last-Modified, so an unchanged one
answers 304; a CalDAV account; an imported file needs no fetch), expands its events'
alarms over the coming `horizon` (RFC 5545: RRULE, EXDATE, RECURRENCE-ID, all-day events,
time zones: `calendars.ics`) and makes the calendar's pending reminders match them
(`storage.calendars.CalendarStore.apply_alarms`): a moved event moves its reminder, a
cancelled or deleted one removes it, and nothing is stored, so fired, twice.

A calendar that cannot be read keeps its reminders, is tried again later (backing off
up to MAX_BACKOFF), and its owner is told once, when it starts failing.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from calendars import ics
from calendars.caldav import CalDavError, read_calendars
from domain.clock import sleep_unless_stopped, utcnow
from outbound.fetch import FetchError, fetch, normalize
from settings import Settings
from storage.accounts import AccountStore
from storage.calendars import CALDAV, FEED, AlarmRow, Applied, CalendarStore
from storage.models import CalendarSource

log = logging.getLogger(__name__)
MAX_BACKOFF = timedelta(hours=6)
GRACE = timedelta(minutes=1)  # an alarm this late when first read still fires
# notify(calendar, error code): tell the owner their calendar cannot be read.
Notify = Callable[[CalendarSource, str], Awaitable[None]]


class CalendarUnreadable(Exception):
    """A calendar could not be read; `code` says why (stable, for the user's message):
    outbound.fetch's codes, CalDAV's "auth"/"not_caldav", the iCalendar reader's
    "not_ical"/"too_many"."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class ReadLimits:
    """How calendars are read: every `interval`; addresses of the service's own network
    only with `allow_private` (tests); at most `max_bytes` per answer and `timeout`
    seconds per fetch; alarms expanded `horizon` ahead."""

    interval: timedelta = timedelta(minutes=5)
    allow_private: bool = False
    max_bytes: int = 5 * 1024 * 1024
    timeout: float = 15.0
    horizon: timedelta = timedelta(days=35)


def read_limits(settings: Settings) -> ReadLimits:
    """The CALENDAR_* settings as ReadLimits."""
    return ReadLimits(
        interval=timedelta(seconds=settings.CALENDAR_INTERVAL_SECONDS),
        allow_private=settings.FETCH_ALLOW_PRIVATE,
        max_bytes=settings.CALENDAR_MAX_BYTES,
        timeout=settings.CALENDAR_TIMEOUT_SECONDS,
    )


@dataclass(frozen=True)
class ReadResult:
    """What a read found: the alarms kept (soonest first) and what changed."""

    alarms: list[AlarmRow]
    applied: Applied


def label_of(url: str, username: str | None = None) -> str:
    """What names a connected calendar in the chat: its host (and user), never its path or
    query — a feed's address is its secret."""
    host = urlsplit(normalize(url)).hostname or "?"
    return f"{username}@{host}" if username else host


class CalendarReader:
    """Reads due calendars into reminders until stopped; `read` reads one at once."""

    def __init__(
        self,
        store: CalendarStore,
        accounts: AccountStore,
        limits: ReadLimits,
        notify: Notify | None = None,
    ) -> None:
        self.store = store
        self.accounts = accounts
        self.limits = limits
        self.notify = notify

    async def run(self, stop: asyncio.Event, tick: float = 5.0) -> None:
        """Read the due calendars every `tick` seconds until `stop` is set."""
        while not stop.is_set():
            try:
                await self.read_due()
            except Exception:
                log.exception("reading calendars failed")
            await sleep_unless_stopped(stop, tick)

    @property
    def lease(self) -> timedelta:
        """How long a reader keeps a calendar it claimed (its reading sets the real next
        time): longer than any reading."""
        return self.limits.interval + timedelta(seconds=2 * self.limits.timeout)

    async def read_due(self, now: datetime | None = None) -> int:
        """Claim and read every calendar due; how many were read without error."""
        now = now or utcnow()
        claimed = await asyncio.to_thread(self.store.claim_due, self.lease, now)
        results = await asyncio.gather(*(self._read_claimed(s, now) for s in claimed))
        return sum(results)

    async def _read_claimed(self, source: CalendarSource, now: datetime) -> bool:
        try:
            await self.read(source, now)
            return True
        except CalendarUnreadable as error:
            if source.failures == 0 and self.notify is not None:
                await self.notify(source, error.code)
            return False
        except Exception:
            log.exception("calendar %s could not be read", source.id)
            return False

    async def read(self, source: CalendarSource, now: datetime | None = None) -> ReadResult:
        """Fetch one calendar (when it has an address), keep its text, and make its
        reminders match its alarms. Raises CalendarUnreadable (recorded, retried later;
        the reminders already stored stay)."""
        now = now or utcnow()
        try:
            body, validators = await self._fetch(source)
            texts = json.loads(body) if body is not None else _texts(source)
            alarms = await asyncio.to_thread(self._alarms, source, texts, now)
        except (FetchError, CalDavError, ics.CalendarError) as error:
            backoff = min(self.limits.interval * 2 ** (source.failures + 1), MAX_BACKOFF)
            code = str(getattr(error, "code", "network"))
            log.warning("calendar %s (%s) cannot be read: %s", source.id, source.kind, code)
            await asyncio.to_thread(
                self.store.record_read, source.id, next_sync_at=now + backoff, error=code
            )
            raise CalendarUnreadable(code) from None
        applied = await asyncio.to_thread(self.store.apply_alarms, source, alarms, now=now)
        await asyncio.to_thread(
            self.store.record_read,
            source.id,
            next_sync_at=now + self.limits.interval,
            body=body,
            now=now,
            **validators,
        )
        if applied.added or applied.moved or applied.cancelled:
            log.info("calendar %s: %s", source.id, applied)
        return ReadResult(alarms, applied)

    async def _fetch(self, source: CalendarSource) -> tuple[str | None, dict[str, str | None]]:
        """The calendar's new text (JSON list of VCALENDAR texts; None: unchanged or a
        file) and its validators."""
        limits = self.limits
        if source.kind == FEED and source.url:
            headers = {}
            if source.body is not None and source.etag:
                headers["If-None-Match"] = source.etag
            if source.body is not None and source.last_modified:
                headers["If-Modified-Since"] = source.last_modified
            got = await fetch(
                normalize(source.url),
                headers=headers,
                allow_private=limits.allow_private,
                max_bytes=limits.max_bytes,
                timeout=limits.timeout,
            )
            if got.status == 304:
                return None, {}
            text = got.body.decode("utf-8", errors="replace")
            validators = {"etag": got.etag, "last_modified": got.last_modified}
            return json.dumps([text]), validators
        if source.kind == CALDAV and source.url:
            snapshot = await read_calendars(
                normalize(source.url),
                source.username or "",
                source.password or "",
                allow_private=limits.allow_private,
                max_bytes=limits.max_bytes,
                timeout=limits.timeout,
            )
            if snapshot.fingerprint == source.fingerprint and source.body is not None:
                return None, {}
            texts = [item.decode("utf-8", errors="replace") for item in snapshot.ics]
            return json.dumps(texts), {"fingerprint": snapshot.fingerprint}
        return None, {}

    def _alarms(self, source: CalendarSource, texts: list[str], now: datetime) -> list[AlarmRow]:
        account = self.accounts.get(source.account_id)
        zone = account.timezone if account is not None else "UTC"
        found: dict[str, AlarmRow] = {}
        for text in texts:
            for alarm in ics.alarms(
                text,
                zone=zone,
                start=now - GRACE,
                end=now + self.limits.horizon,
                default_before=timedelta(minutes=source.minutes_before),
            ):
                words = alarm.summary.strip() or "📅"
                if alarm.location.strip():
                    words = f"{words} ({alarm.location.strip()})"
                found.setdefault(
                    alarm.key,
                    AlarmRow(alarm.key, alarm.fire_at, alarm.start, words, source.channel),
                )
        return sorted(found.values(), key=lambda row: (row.fire_at, row.key))


def _texts(source: CalendarSource) -> list[str]:
    """The calendar's last text kept (JSON list of VCALENDAR texts)."""
    return json.loads(source.body) if source.body else []
