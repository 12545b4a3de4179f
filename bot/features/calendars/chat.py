"""Calendars in the chat: "connect my calendar URL" (an iCalendar feed, or a CalDAV account
with "user … password …"), "my calendars", "disconnect my calendar", "calendar reminders
30 minutes before by message", "export my reminders"; and an .ics file sent, imported once.

A calendar is read once at once, so the user learns at the time of asking whether it can
be read and what it will remind of; then `calendars.sync` reads it every few minutes.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from typing import Any, TypeVar

from bot.assistant import Context, Refusal, Reply, Router
from bot.assistant.i18n import t
from bot.assistant.replies import Attachment, ReceivedFile
from bot.features.calendars import exporting
from bot.features.calendars.notices import reason
from calendars.sync import CalendarUnreadable, ReadResult, label_of
from nlu.commands import Calendar
from outbound.addresses import UnsafeUrl, parse
from outbound.fetch import normalize
from storage.calendars import CALDAV, FEED, FILE, TooManyCalendars
from storage.models import CalendarSource

router = Router("calendars")
T = TypeVar("T")
DEFAULT_MINUTES = 15
MAX_MINUTES = 7 * 24 * 60
ICS = "text/calendar"
READ_MARGIN = 30.0  # seconds for expanding and storing a calendar once fetched


@router.intent(Calendar)
def calendar(ctx: Context, cmd: Calendar) -> list[Reply]:
    """Connect, list, disconnect the account's calendars, set when they remind, or export
    the account's reminders as an .ics file."""
    match cmd.action:
        case "connect":
            return connect(ctx, cmd)
        case "disconnect":
            return disconnect(ctx, cmd.number)
        case "defaults":
            return defaults(ctx, cmd)
        case "export":
            return [export(ctx)]
        case _:
            return [listing(ctx)]


def connect(ctx: Context, cmd: Calendar) -> list[Reply]:
    """Connect a feed (its secret iCal address) or a CalDAV account, read it once now."""
    if not cmd.url:
        return [ctx.say("calendar_need_url")]
    url = normalize(cmd.url)
    try:
        parse(url)
    except UnsafeUrl:
        raise Refusal("calendar_bad_url") from None
    caldav = bool(cmd.username or cmd.password)
    if caldav and not (cmd.username and cmd.password):
        raise Refusal("calendar_need_credentials")
    if caldav and url.startswith("http:") and not ctx.services.settings.FETCH_ALLOW_PRIVATE:
        raise Refusal("calendar_needs_https")  # Basic auth in clear: the password goes too
    said = _minutes(cmd)
    minutes, channel = DEFAULT_MINUTES if said is None else said, cmd.channel or "call"
    reader = ctx.services.calendar_reader
    source, created = _add(
        ctx,
        CALDAV if caldav else FEED,
        label=label_of(url, cmd.username if caldav else None),
        url=url,
        username=cmd.username if caldav else None,
        password=cmd.password if caldav else None,
        minutes_before=minutes,
        channel=channel,
        next_sync_at=ctx.now + reader.limits.interval,
    )
    if not created:
        return [ctx.say("calendar_already", label=source.label)]
    return _first_read(ctx, source, "calendar_connected")


@router.file((".ics", ".ical", ".icalendar"), (ICS,))
def import_file(ctx: Context, file: ReceivedFile) -> list[Reply]:
    """Import an .ics file sent in the chat, once (the same file again is recognised);
    its events remind like a connected calendar's, repeating ones for as long as they
    repeat."""
    limit = ctx.services.settings.CALENDAR_MAX_BYTES
    if len(file.data) > limit:
        raise Refusal("calendar_file_too_big", megabytes=round(limit / 1024 / 1024, 1))
    text = file.data.decode("utf-8", errors="replace")
    digest = hashlib.sha256(file.data).hexdigest()
    reader = ctx.services.calendar_reader
    source, created = _add(
        ctx,
        FILE,
        label=file.name[:200],
        body=json.dumps([text]),
        file_sha256=digest,
        minutes_before=DEFAULT_MINUTES,
        channel="call",
        next_sync_at=ctx.now + reader.limits.interval,
    )
    if not created:
        return [ctx.say("calendar_file_already", label=source.label,
                        at=ctx.local_time(source.created_at))]  # fmt: skip
    return _first_read(ctx, source, "calendar_imported")


def _add(ctx: Context, kind: str, **fields: Any) -> tuple[CalendarSource, bool]:
    try:
        return ctx.services.calendars.add(ctx.account.id, kind, **fields)
    except TooManyCalendars:
        raise Refusal("calendar_too_many") from None


def _first_read(ctx: Context, source: CalendarSource, key: str) -> list[Reply]:
    """Read a calendar just added; removed again (and the user told why) when it cannot
    be read."""
    reader = ctx.services.calendar_reader
    try:
        result: ReadResult = _run(reader.read(source, ctx.now), _read_timeout(ctx))
    except (CalendarUnreadable, TimeoutError) as error:
        ctx.services.calendars.remove(source.id, ctx.account.id)
        code = error.code if isinstance(error, CalendarUnreadable) else "timeout"
        return [ctx.say("calendar_unreadable", label=source.label,
                        reason=reason(ctx.lang, code))]  # fmt: skip
    coming = [alarm for alarm in result.alarms if alarm.fire_at > ctx.now]
    replies = [ctx.say(key, label=source.label, count=len(coming),
                       days=reader.limits.horizon.days)]  # fmt: skip
    if coming:
        first = coming[0]
        replies.append(ctx.say("calendar_next", at=ctx.local_time(first.fire_at),
                               text=first.text, start=ctx.local_time(first.event_at)))  # fmt: skip
    replies.append(_settings_line(ctx, source.minutes_before, source.channel))
    return replies


def _settings_line(
    ctx: Context, minutes: int, channel: str, key: str = "calendar_settings"
) -> Reply:
    line = ctx.say(key, minutes=minutes, channel=t(ctx.lang, f"channel_{channel}"))
    if channel == "call" and not (ctx.account.phone_number and ctx.account.phone_verified):
        return Reply(line.text + "\n" + t(ctx.lang, "remind_call_needs_number"), lang=ctx.lang)
    return line


def _minutes(cmd: Calendar) -> int | None:
    """The minutes before an event the user said (None: not said); Refusal past a week."""
    if cmd.minutes is not None and not 0 <= cmd.minutes <= MAX_MINUTES:
        raise Refusal("calendar_bad_minutes", limit=MAX_MINUTES // 60)
    return cmd.minutes


def listing(ctx: Context) -> Reply:
    """The account's calendars, numbered ("disconnect calendar N"), with their state."""
    sources = ctx.services.calendars.of_account(ctx.account.id)
    if not sources:
        return ctx.say("calendar_none")
    lines = [t(ctx.lang, "calendar_list_header")]
    for n, source in enumerate(sources, 1):
        kind = t(ctx.lang, f"calendar_kind_{source.kind}")
        read = ctx.local_time(source.synced_at) if source.synced_at else "—"
        line = t(ctx.lang, "calendar_list_line", n=n, label=source.label, kind=kind, read=read,
                 minutes=source.minutes_before,
                 channel=t(ctx.lang, f"channel_{source.channel}"))  # fmt: skip
        if source.error:
            line += " " + t(
                ctx.lang, "calendar_list_failing", reason=reason(ctx.lang, source.error)
            )
        lines.append(line)
    lines.append(t(ctx.lang, "calendar_list_footer"))
    return Reply("\n".join(lines), lang=ctx.lang)


def disconnect(ctx: Context, number: int | None) -> list[Reply]:
    """Disconnect the calendar numbered `number` in "my calendars" (the only one when
    there is one): its address and password are deleted, its reminders to come cancelled."""
    sources = ctx.services.calendars.of_account(ctx.account.id)
    if not sources:
        return [ctx.say("calendar_none")]
    if number is None and len(sources) > 1:
        return [ctx.say("calendar_which"), listing(ctx)]
    index = 1 if number is None else number
    if not 1 <= index <= len(sources):
        return [ctx.say("calendar_which"), listing(ctx)]
    source = sources[index - 1]
    ctx.services.calendars.remove(source.id, ctx.account.id)
    return [ctx.say("calendar_disconnected", label=source.label)]


def defaults(ctx: Context, cmd: Calendar) -> list[Reply]:
    """Set how long before an event (without an alarm of its own) and how the account's
    calendars remind; they are read again at once, so their reminders follow now (one
    that cannot be read now follows at its next reading)."""
    # What is not said stays as it is.
    count = ctx.services.calendars.set_defaults(ctx.account.id, _minutes(cmd), cmd.channel)
    if not count:
        return [ctx.say("calendar_none")]
    reader, store = ctx.services.calendar_reader, ctx.services.calendars
    sources = store.of_account(ctx.account.id)
    minutes, channel = sources[0].minutes_before, sources[0].channel
    for source in sources:
        # Claimed like the background reader does: one reading at a time. One it holds
        # already follows within seconds; one that cannot be read is said in "my calendars".
        if (claimed := store.claim(source, reader.lease)) is not None:
            with suppress(CalendarUnreadable, TimeoutError):
                _run(reader.read(claimed, ctx.now), _read_timeout(ctx))
    return [_settings_line(ctx, minutes, channel, "calendar_settings_set")]


def export(ctx: Context) -> Reply:
    """The account's own reminders (one-off and repeating) as an .ics file any calendar
    imports (RFC 5545), each with an alarm at its time."""
    data, count = exporting.ics_of(ctx.services, ctx.account, ctx.now)
    if not count:
        return ctx.say("calendar_export_none")
    name = f"encryptotel-reminders-{ctx.now.strftime('%Y%m%d')}.ics"
    attachment = Attachment(name, data=data, mime=ICS)
    return Reply(t(ctx.lang, "calendar_exported", count=count), lang=ctx.lang,
                 attachment=attachment)  # fmt: skip


def _run(coroutine: Coroutine[Any, Any, T], timeout: float) -> T:
    """Run a coroutine to its end from a handler (a worker thread, or the console's own
    thread while its loop runs): on a loop of its own, in a thread of its own. TimeoutError
    after `timeout` seconds (the thread is left to finish alone)."""
    pool = ThreadPoolExecutor(1, thread_name_prefix="calendar-read")
    try:
        return pool.submit(asyncio.run, coroutine).result(timeout)
    finally:
        pool.shutdown(wait=False)


def _read_timeout(ctx: Context) -> float:
    """How long a handler waits for one calendar reading: its fetch, then the expansion."""
    return ctx.services.calendar_reader.limits.timeout + READ_MARGIN
