"""iCalendar (RFC 5545) feeds: the alarms they hold over a window, and our export.

`alarms()` reads a VCALENDAR (a subscription feed, a CalDAV calendar's events, an
imported file) and lists the moments a reminder is due. Recurring events are expanded
by `recurring_ical_events` (RRULE, RDATE, EXDATE, RECURRENCE-ID overrides, Google's
X-WR-TIMEZONE through `x_wr_timezone`); each occurrence gives one alarm per VALARM,
else one at the user's default. `export()` writes reminders as a VCALENDAR that
Google, Apple and Thunderbird import.

Pure: no I/O. Times out are aware UTC.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
import recurring_ical_events
import x_wr_timezone
from icalendar import Calendar, Component, Event, Timezone, vRecur

from domain.recurrence import to_instant, utc_stamp, validate

# An all-day event without VALARM is announced at this local time on its day, not
# `default_before` its midnight start (15 minutes before midnight wakes nobody usefully).
ALL_DAY_AT = time(9, 0)
# Expansion margin around the window: all-day dates and floating times are compared by
# the library in their own (zone-less) terms; no zone is more than 14 h from UTC.
MARGIN = timedelta(days=1)
SINGLE = "once"  # the RECURRENCE-ID part of the key of an event that does not repeat


class CalendarError(ValueError):
    """A calendar we cannot use; `.code`: "not_ical" (not parseable as iCalendar, or no
    VCALENDAR), "too_many" (more than `max_events` occurrences in the window)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Alarm:
    """One due reminder of a calendar event's occurrence.

    `key` ("UID/RECURRENCE-ID/n") is stable across re-reads and when the instance moves:
    RECURRENCE-ID is the instance's original start (UTC "20261005T080000Z", or
    "20261007" for a date; "once" for an event that does not repeat, which may move
    anywhere), n the VALARM's index in the event ("0", "1", ...; "0.1" for
    its first REPEAT) or "d" for the default alarm. `start` is the occurrence's start
    (all-day: local midnight of its date in the user's zone).
    """

    key: str
    fire_at: datetime
    start: datetime
    all_day: bool
    summary: str
    location: str
    from_valarm: bool


@dataclass(frozen=True)
class ExportItem:
    """A reminder to export: `start` aware; `rule` an RFC 5545 RECUR value or None;
    `channel` "call" or "message"."""

    uid: str
    summary: str
    start: datetime
    rule: str | None
    channel: str


def _zone(zone: str) -> ZoneInfo:
    try:
        return ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {zone!r}") from None


def parse(ics: bytes | str) -> Calendar:
    """A VCALENDAR from its text; CalendarError "not_ical" otherwise."""
    try:
        calendar = Calendar.from_ical(ics)
    except Exception as exc:  # icalendar raises ValueError, KeyError, IndexError...
        raise CalendarError("not_ical", f"not iCalendar: {type(exc).__name__}") from None
    if getattr(calendar, "name", None) != "VCALENDAR":
        raise CalendarError("not_ical", "no VCALENDAR")
    return calendar


def _instant(value: date | datetime, tz: ZoneInfo) -> datetime:
    """A DATE-TIME (floating ones read in `tz`) or a DATE (local midnight) → aware UTC."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return to_instant(value, tz)
        return value.astimezone(UTC)
    return to_instant(datetime.combine(value, time(0)), tz)


def _id_text(value: date | datetime, tz: ZoneInfo) -> str:
    """RECURRENCE-ID text of a key: UTC basic format, or YYYYMMDD for a date."""
    if isinstance(value, datetime):
        return utc_stamp(_instant(value, tz))
    return value.strftime("%Y%m%d")


def _uid(component: Component, recurrence_id: str) -> str:
    uid = str(component.get("UID", "")).strip()
    if uid:
        return uid
    seed = f"{recurrence_id}|{component.get('SUMMARY', '')}".encode()
    return "nouid-" + hashlib.sha256(seed).hexdigest()[:16]


def _valarms(component: Component) -> list[icalendar.Alarm]:
    return [sub for sub in component.subcomponents if isinstance(sub, icalendar.Alarm)]


def _is_none(alarm: icalendar.Alarm) -> bool:
    """RFC 9074 ACTION:NONE: an alarm that does nothing (Apple's "no alarm")."""
    return str(alarm.get("ACTION", "")).upper() == "NONE"


def _trigger(alarm: icalendar.Alarm) -> timedelta | datetime | None:
    try:
        return alarm.TRIGGER
    except (ValueError, TypeError, KeyError):
        return None


def _repeats(alarm: icalendar.Alarm) -> list[timedelta]:
    """Offsets of an alarm's repetitions after its first firing (REPEAT × DURATION)."""
    try:
        count, every = alarm.REPEAT, alarm.DURATION
    except (ValueError, TypeError, KeyError):
        return []
    if not count or not every:
        return []
    return [every * k for k in range(1, min(count, 10) + 1)]


def _margins(calendar: Calendar, default_before: timedelta) -> tuple[timedelta, timedelta]:
    """(how far after an occurrence, how far before it) any relative alarm can fire."""
    late, early = timedelta(0), max(default_before, timedelta(0))
    for alarm in calendar.walk("VALARM"):
        if not isinstance(alarm, icalendar.Alarm):
            continue
        trigger = _trigger(alarm)
        if isinstance(trigger, timedelta):
            for offset in [trigger, *(trigger + r for r in _repeats(alarm))]:
                late, early = max(late, offset), max(early, -offset)
    return late, early


@dataclass(frozen=True)
class _Occurrence:
    component: Component
    key_base: str
    start: datetime
    end: datetime
    all_day: bool

    def alarm(self, index: str, fire_at: datetime, from_valarm: bool) -> Alarm:
        return Alarm(
            key=f"{self.key_base}/{index}",
            fire_at=fire_at,
            start=self.start,
            all_day=self.all_day,
            summary=str(self.component.get("SUMMARY", "")),
            location=str(self.component.get("LOCATION", "")),
            from_valarm=from_valarm,
        )


def _recurring_uids(calendar: Calendar) -> set[str]:
    """UIDs of the events that repeat (RRULE, RDATE) or have moved instances."""
    marks = ("RRULE", "RDATE", "RECURRENCE-ID")
    return {
        str(event.get("UID", "")).strip()
        for event in calendar.walk("VEVENT")
        if any(mark in event for mark in marks)
    }


def _occurrence(
    component: Component, start: Any, end: Any, tz: ZoneInfo, recurring: set[str]
) -> _Occurrence:
    original = component.get("RECURRENCE-ID")
    original_value = original.dt if original is not None else start
    rid = _id_text(original_value, tz)
    if str(component.get("UID", "")).strip() not in recurring:
        rid = SINGLE  # a one-time event keeps its key when it moves
    all_day = not isinstance(start, datetime)
    start_at = _instant(start, tz)
    end_at = _instant(end, tz) if end is not None else start_at
    return _Occurrence(component, f"{_uid(component, rid)}/{rid}", start_at, end_at, all_day)


def _alarms_of(occurrence: _Occurrence, tz: ZoneInfo, default_before: timedelta) -> list[Alarm]:
    """Alarms of one occurrence from its relative VALARMs, or the default one. Absolute
    triggers are not here: they belong to the component, not to each occurrence."""
    valarms = _valarms(occurrence.component)
    if not valarms:
        if occurrence.all_day:
            day = occurrence.start.astimezone(tz).date()
            fire_at = to_instant(datetime.combine(day, ALL_DAY_AT), tz)
        else:
            fire_at = occurrence.start - default_before
        return [occurrence.alarm("d", fire_at, False)]
    result = []
    for index, valarm in enumerate(valarms):
        trigger = _trigger(valarm)
        if _is_none(valarm) or not isinstance(trigger, timedelta):
            continue
        related_end = str(valarm.get("TRIGGER").params.get("RELATED", "START")) == "END"
        base = occurrence.end if related_end else occurrence.start
        result.append(occurrence.alarm(str(index), base + trigger, True))
        for k, extra in enumerate(_repeats(valarm), start=1):
            result.append(occurrence.alarm(f"{index}.{k}", base + trigger + extra, True))
    return result


def _absolute_alarms(calendar: Calendar, tz: ZoneInfo, recurring: set[str]) -> list[Alarm]:
    """Alarms with an absolute DATE-TIME trigger: one per event component (a master or
    an override), whatever its recurrence — RFC 5545 gives them no per-instance sense."""
    result = []
    for component in calendar.walk("VEVENT"):
        if _cancelled(component) or component.get("DTSTART") is None:
            continue
        occurrence = _occurrence(component, component.get("DTSTART").dt, None, tz, recurring)
        for index, valarm in enumerate(_valarms(component)):
            trigger = _trigger(valarm)
            if _is_none(valarm) or not isinstance(trigger, datetime):
                continue
            fire_at = _instant(trigger, tz)
            result.append(occurrence.alarm(str(index), fire_at, True))
            for k, extra in enumerate(_repeats(valarm), start=1):
                result.append(occurrence.alarm(f"{index}.{k}", fire_at + extra, True))
    return result


def _cancelled(component: Component) -> bool:
    return str(component.get("STATUS", "")).upper() == "CANCELLED"


def _expand(
    calendar: Calendar, lo: datetime, hi: datetime, max_events: int
) -> list[tuple[Component, Any, Any]]:
    """(component, start, end) of every VEVENT occurrence overlapping [lo, hi);
    CalendarError "too_many" past `max_events`, "not_ical" if the library refuses it."""
    try:
        query = recurring_ical_events.of(calendar, keep_recurrence_attributes=True)
    except (icalendar.InvalidCalendar, ValueError) as exc:
        raise CalendarError("not_ical", f"unusable calendar: {exc}") from None
    found = []
    for series in query.series:
        for occurrence in series.between(lo, hi):
            found.append(occurrence)
            if len(found) > max_events:
                raise CalendarError("too_many", f"more than {max_events} occurrences")
    result = []
    for occurrence in found:
        component = occurrence.as_component(True)
        result.append((component, occurrence.start, occurrence.end))
    return result


def alarms(
    ics: bytes | str,
    *,
    zone: str,
    start: datetime,
    end: datetime,
    default_before: timedelta,
    max_events: int = 5000,
) -> list[Alarm]:
    """Every alarm of the calendar `ics` due in [start, end) (aware instants), sorted by
    `fire_at`.

    One alarm per VALARM of each VEVENT occurrence (TRIGGER relative to the start, or
    to the end with RELATED=END, or an absolute DATE-TIME; any ACTION but RFC 9074's
    NONE; REPEAT honoured, at most 10 times); an occurrence without VALARM gets one at
    `start - default_before`, or at 09:00 local on its day when all-day. An event whose
    VALARMs are all ACTION:NONE gets none. STATUS:CANCELLED occurrences are skipped;
    an override (RECURRENCE-ID) replaces its instance. Floating times are read in the
    IANA `zone`. A relative trigger is an exact duration (a "-P1D" alarm of an event
    right after a DST change is 24 h before it, not the same wall time).

    Raises CalendarError ("not_ical", "too_many") and ValueError for an unknown zone
    or naive bounds.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware")
    tz = _zone(zone)
    calendar = parse(ics)
    _drop_unusable(calendar)
    try:
        late, early = _margins(calendar, default_before)
        lo = (start - late - MARGIN).astimezone(UTC)
        hi = (end + early + MARGIN).astimezone(UTC)
        result = []
        recurring = _recurring_uids(calendar)
        for component, occ_start, occ_end in _expand(calendar, lo, hi, max_events):
            if _cancelled(component):
                continue
            occurrence = _occurrence(component, occ_start, occ_end, tz, recurring)
            result.extend(_alarms_of(occurrence, tz, default_before))
        result.extend(_absolute_alarms(x_wr_timezone.to_standard(calendar), tz, recurring))
    except CalendarError:
        raise
    except Exception as exc:  # what a hostile or broken file makes the libraries raise
        raise CalendarError("not_ical", f"unusable calendar: {type(exc).__name__}") from None
    due = [alarm for alarm in result if start <= alarm.fire_at < end]
    return sorted(due, key=lambda alarm: (alarm.fire_at, alarm.key))


def _drop_unusable(calendar: Calendar) -> None:
    """Take out the events that cannot be expanded safely, one by one (the others still
    remind): no DTSTART, or an RRULE that `domain.recurrence.validate` refuses — one that
    never occurs, repeats more often than every 5 minutes or has INTERVAL=0 would make
    dateutil search for years or for ever."""
    for holder in [calendar, *calendar.subcomponents]:
        kept = []
        for component in holder.subcomponents:
            if component.name == "VEVENT" and not _usable(component):
                continue
            kept.append(component)
        holder.subcomponents[:] = kept


def _usable(event: Component) -> bool:
    if event.get("DTSTART") is None:
        return False
    rules = event.get("RRULE")
    for rule in rules if isinstance(rules, list) else [rules] if rules is not None else []:
        try:
            validate(rule.to_ical().decode())
        except Exception:
            return False
    return True


def _export_rule(rule: str, zone: ZoneInfo) -> vRecur:
    """Our stored rule as an RRULE for a DTSTART with TZID: RFC 5545 wants UNTIL in UTC
    then, so a floating or date UNTIL becomes the matching UTC instant."""
    text = validate(rule)
    parts = dict(item.split("=", 1) for item in text.split(";"))
    until = parts.get("UNTIL")
    if until and not until.endswith("Z"):
        if len(until) == 8:
            wall = datetime.strptime(until, "%Y%m%d") + timedelta(days=1, seconds=-1)
        else:
            wall = datetime.strptime(until, "%Y%m%dT%H%M%S")
        parts["UNTIL"] = utc_stamp(to_instant(wall, zone))
    return vRecur.from_ical(";".join(f"{k}={v}" for k, v in parts.items()))


def export(
    items: list[ExportItem],
    *,
    zone: str,
    prodid: str = "-//EncryptoTel//Reminders//EN",
) -> bytes:
    """A VCALENDAR (VERSION 2.0) with one VEVENT per reminder, as bytes (CRLF lines).

    Each VEVENT: UID, DTSTAMP, SUMMARY, DTSTART (UTC; with a rule: local time with
    TZID=`zone` and a VTIMEZONE, so the repeat follows the zone's DST), DURATION PT15M
    (a moment shown as a short event: what Google and Apple import best), RRULE, a
    VALARM (ACTION:DISPLAY, TRIGGER:PT0M, DESCRIPTION) at the start, and
    X-ENCRYPTOTEL-CHANNEL ("call" or "message").

    Raises ValueError for an unknown zone, a naive start or a bad channel, and
    RecurrenceError for a bad rule.
    """
    tz = _zone(zone)
    calendar = Calendar()
    calendar.add("PRODID", prodid)
    calendar.add("VERSION", "2.0")
    calendar.add("CALSCALE", "GREGORIAN")
    stamp = datetime.now(UTC).replace(microsecond=0)
    if any(item.rule for item in items):
        calendar.add_component(Timezone.from_tzid(zone))
    for item in items:
        calendar.add_component(_export_event(item, tz, stamp))
    return calendar.to_ical()


def _export_event(item: ExportItem, tz: ZoneInfo, stamp: datetime) -> Event:
    if item.start.tzinfo is None:
        raise ValueError("an exported reminder's start must be timezone-aware")
    if item.channel not in ("call", "message"):
        raise ValueError(f"unknown channel {item.channel!r}")
    event = Event()
    event.add("UID", item.uid)
    event.add("DTSTAMP", stamp)
    event.add("SUMMARY", item.summary)
    if item.rule:
        event.add("DTSTART", item.start.astimezone(tz).replace(microsecond=0))
        event.add("RRULE", _export_rule(item.rule, tz))
    else:
        event.add("DTSTART", item.start.astimezone(UTC).replace(microsecond=0))
    event.add("DURATION", timedelta(minutes=15))
    event.add("X-ENCRYPTOTEL-CHANNEL", item.channel)
    alarm = icalendar.Alarm()
    alarm.add("ACTION", "DISPLAY")
    alarm.add("TRIGGER", timedelta(0))
    alarm.add("DESCRIPTION", item.summary or "Reminder")
    event.add_component(alarm)
    return event
