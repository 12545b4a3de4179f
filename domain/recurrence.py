"""Repeating reminders: an RFC 5545 RECUR value on a local wall-clock DTSTART.

A rule typed in the chat ("every Monday at 9") is stored as a RECUR value
(`FREQ=WEEKLY;BYDAY=MO`) with DTSTART as a naive wall-clock time in the user's IANA
zone. Occurrences are computed by `dateutil.rrule` on naive local times, then placed on
the zone, so "every day at 8" stays at 08:00 local across DST changes (RFC 5545 §3.3.10
with a TZID DTSTART). A wall-clock time that does not exist (spring-forward gap) is read
with the offset before the change (PEP 495 fold=0), i.e. moved forward by the gap
(02:30 in Paris on the last Sunday of March is 03:30 CEST); an ambiguous one (fall-back)
is the first of the two (fold=0). As in dateutil (not RFC 5545), DTSTART itself is an
occurrence only if it matches the rule: the chat picks a DTSTART that does.

UNTIL in UTC (`...Z`) is an instant; a floating UNTIL is a local wall-clock time; a
date-only UNTIL includes that whole local day. The rule in words, for the chat, is
`bot.features.reminders.wording`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.relativedelta import relativedelta
from dateutil.rrule import rrule, rrulestr

MIN_GAP = timedelta(minutes=5)
MAX_COUNT = 10_000
PROBE_SPAN = relativedelta(years=10)
# Wall-clock vs. instant: no zone moves its clock by more than this at once.
DST_SLACK = timedelta(hours=3)

KNOWN = (
    "FREQ",
    "INTERVAL",
    "COUNT",
    "UNTIL",
    "BYMONTH",
    "BYWEEKNO",
    "BYYEARDAY",
    "BYMONTHDAY",
    "BYDAY",
    "BYHOUR",
    "BYMINUTE",
    "BYSETPOS",
    "WKST",
)
FREQS = ("MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY")
DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_UNTIL = re.compile(r"^(\d{8})(T\d{6}Z?)?$")
_PROBE_START = datetime(2026, 1, 1, 0, 0)


UTC_STAMP = "%Y%m%dT%H%M%SZ"  # RFC 5545 DATE-TIME in UTC ("FORM #2"), as UNTIL and keys use


def utc_stamp(moment: datetime) -> str:
    """An aware time as an RFC 5545 UTC DATE-TIME, "20261201T170000Z"."""
    return moment.astimezone(UTC).strftime(UTC_STAMP)


class RecurrenceError(ValueError):
    """A RECUR value we refuse; `.code` is stable for callers and translations:

    "syntax" (not an RFC 5545 RECUR value dateutil can read), "too_often" (more often
    than every 5 minutes, or SECONDLY/BYSECOND), "count_and_until" (both given: RFC 5545
    forbids it), "too_long" (COUNT above 10000), "never" (no date matches, as
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30").
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def parts_of(rule: str) -> dict[str, str]:
    """`"FREQ=DAILY;INTERVAL=2"` → `{"FREQ": "DAILY", "INTERVAL": "2"}`; RecurrenceError."""
    text = rule.strip().upper()
    if text.startswith("RRULE:"):
        text = text[len("RRULE:") :]
    parts: dict[str, str] = {}
    for item in text.split(";"):
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not sep or not value or key in parts:
            raise RecurrenceError("syntax", f"bad RECUR part {item!r}")
        if key in ("BYSECOND",) or (key == "FREQ" and value == "SECONDLY"):
            raise RecurrenceError("too_often", "repeats every second")
        if key not in KNOWN:
            raise RecurrenceError("syntax", f"unknown RECUR part {key!r}")
        parts[key] = value
    if parts.get("FREQ") not in FREQS:
        raise RecurrenceError("syntax", "FREQ missing or unknown")
    return parts


def normalize_parts(parts: dict[str, str]) -> str:
    return ";".join(f"{key}={parts[key]}" for key in KNOWN if key in parts)


@lru_cache(maxsize=4096)  # pure; every occurrence computed checks its rule again
def validate(rule: str) -> str:
    """Check a RECUR value and return it normalized (upper case, no "RRULE:", parts in
    RFC 5545 order: "FREQ=WEEKLY;BYDAY=MO").

    Raises RecurrenceError (a ValueError) with `.code` "syntax", "too_often",
    "count_and_until", "too_long" or "never". "Too often" is judged on the first occurrences from
    a probe start, so "FREQ=HOURLY;BYMINUTE=0,1,2" is refused as well as MINUTELY with
    INTERVAL below 5.
    """
    parts = parts_of(rule)
    if "COUNT" in parts and "UNTIL" in parts:
        raise RecurrenceError("count_and_until", "COUNT and UNTIL together (RFC 5545)")
    if "COUNT" in parts and parts["COUNT"].isdigit() and int(parts["COUNT"]) > MAX_COUNT:
        raise RecurrenceError("too_long", f"COUNT above {MAX_COUNT}")
    if "UNTIL" in parts and not _UNTIL.match(parts["UNTIL"]):
        raise RecurrenceError("syntax", "UNTIL is not a DATE or DATE-TIME")
    normalized = normalize_parts(parts)
    _check_some_day(parts)
    probe_parts = {k: v for k, v in parts.items() if k != "COUNT"}
    probe = _rrule(probe_parts, _PROBE_START).replace(until=_PROBE_START + PROBE_SPAN)
    previous = None
    for index, occurrence in enumerate(probe):
        if previous is not None and occurrence - previous < MIN_GAP:
            raise RecurrenceError("too_often", "repeats more often than every 5 minutes")
        previous = occurrence
        if index >= 100:
            break
    if previous is None:
        raise RecurrenceError("never", "no occurrence in 10 years")
    return normalized


def _check_some_day(parts: dict[str, str]) -> None:
    """RecurrenceError "never" when no date at all passes the rule's date filters
    ("BYMONTH=2;BYMONTHDAY=30"): dateutil would otherwise search until year 9999 one
    period at a time (seconds for DAILY, more for MINUTELY). Checked on a YEARLY rule
    with the same filters, weekday ordinals dropped: a superset of the rule's dates."""
    keys = ("BYMONTH", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO")
    coarse = {key: parts[key] for key in keys if key in parts}
    if not coarse:
        return
    coarse["FREQ"] = "YEARLY"
    if "BYDAY" in parts:
        coarse["BYDAY"] = ",".join(sorted({day[-2:] for day in parts["BYDAY"].split(",")}))
    probe = _rrule(coarse, _PROBE_START)
    if probe.after(_PROBE_START) is None:
        raise RecurrenceError("never", "no date matches the rule")


def _rrule(parts: dict[str, str], dtstart: datetime) -> rrule:
    """dateutil's rrule for `parts` (UNTIL left out: applied by the caller) from a naive
    `dtstart`; RecurrenceError "syntax" when dateutil refuses it."""
    text = normalize_parts({k: v for k, v in parts.items() if k != "UNTIL"})
    try:
        result = rrulestr(text, dtstart=dtstart)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise RecurrenceError("syntax", f"not a RECUR value: {exc}") from None
    if not isinstance(result, rrule):
        raise RecurrenceError("syntax", "not a single RECUR value")
    return result


def to_instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """A naive wall-clock time in `zone` → aware UTC (gap: moved forward; overlap: first)."""
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def zone_of(zone: str) -> ZoneInfo:
    try:
        return ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {zone!r}") from None


@dataclass(frozen=True)
class Until:
    """UNTIL: an instant (UTC) or a local wall-clock limit, both inclusive."""

    instant: datetime | None
    wall: datetime | None

    @classmethod
    def parse(cls, value: str | None) -> Until:
        if value is None:
            return cls(None, None)
        if len(value) == 8:
            day = datetime.strptime(value, "%Y%m%d")
            return cls(None, day + timedelta(days=1) - timedelta(microseconds=1))
        if value.endswith("Z"):
            return cls(datetime.strptime(value, UTC_STAMP).replace(tzinfo=UTC), None)
        return cls(None, datetime.strptime(value, "%Y%m%dT%H%M%S"))

    def ended(self, wall: datetime, instant: datetime) -> bool:
        if self.instant is not None:
            return instant > self.instant
        return self.wall is not None and wall > self.wall

    def wall_limit(self, zone: ZoneInfo) -> datetime | None:
        """A wall-clock time no occurrence after UNTIL can be before (for stopping)."""
        if self.instant is not None:
            return self.instant.astimezone(zone).replace(tzinfo=None) + DST_SLACK
        return self.wall


_STEP = {
    "MINUTELY": "minutes",
    "HOURLY": "hours",
    "DAILY": "days",
    "WEEKLY": "weeks",
    "MONTHLY": "months",
    "YEARLY": "years",
}


def _rebased(parts: dict[str, str], dtstart: datetime, target: datetime) -> rrule:
    """The rule's rrule started a whole number of INTERVALs after `dtstart`, at or before
    `target` (naive local): the same occurrences from `target` on, without iterating
    from a DTSTART years ago (dateutil's `after()` walks from DTSTART). Not with COUNT,
    which counts from the real DTSTART."""
    parts = dict(parts)
    freq = parts["FREQ"]
    # dateutil fills missing BY* from DTSTART; pin them to the real one before moving it.
    if freq == "WEEKLY" and "BYDAY" not in parts:
        parts["BYDAY"] = DAYS[dtstart.weekday()]
    if freq in ("MONTHLY", "YEARLY") and not {"BYDAY", "BYMONTHDAY", "BYYEARDAY"} & set(parts):
        if freq == "YEARLY" and "BYWEEKNO" not in parts:
            parts.setdefault("BYMONTH", str(dtstart.month))
        if "BYWEEKNO" not in parts:
            parts["BYMONTHDAY"] = str(dtstart.day)
    if "COUNT" in parts or target <= dtstart:
        return _rrule(parts, dtstart)
    interval = int(parts.get("INTERVAL", "1") or 1)
    unit = _STEP[freq]
    if unit in ("months", "years"):
        delta = relativedelta(target, dtstart)
        elapsed = delta.years if unit == "years" else delta.years * 12 + delta.months
    else:
        size = timedelta(**{unit: 1})
        elapsed = (target - dtstart) // size
    steps = max(0, elapsed // interval - 1) * interval
    return _rrule(parts, dtstart + relativedelta(**{unit: steps}))


def _walk(
    rule: str, dtstart_local: datetime, zone: str, after: datetime
) -> Iterator[tuple[datetime, datetime]]:
    """(instant UTC, wall) of the occurrences in wall-clock order, from `after`'s wall
    time minus DST_SLACK on, UNTIL applied. Instants are nearly in order: a gap or an
    overlap can swap occurrences less than DST_SLACK apart."""
    if dtstart_local.tzinfo is not None:
        raise ValueError("dtstart_local must be a naive wall-clock time")
    if after.tzinfo is None:
        raise ValueError("after must be timezone-aware")
    parts = parts_of(validate(rule))
    tz = zone_of(zone)
    until = Until.parse(parts.get("UNTIL"))
    from_wall = after.astimezone(tz).replace(tzinfo=None) - DST_SLACK
    limit = until.wall_limit(tz)
    for wall in _rebased(parts, dtstart_local, from_wall).xafter(from_wall, inc=True):
        if limit is not None and wall > limit:
            return
        instant = to_instant(wall, tz)
        if not until.ended(wall, instant):
            yield instant, wall


def next_after(rule: str, dtstart_local: datetime, zone: str, after: datetime) -> datetime | None:
    """The first occurrence strictly after the aware instant `after`, aware UTC; None when
    the rule has ended (COUNT or UNTIL reached).

    `rule` is a RECUR value (validated: RecurrenceError), `dtstart_local` a naive
    wall-clock time in the IANA `zone` (ValueError for an unknown zone or an aware
    dtstart). Cost does not grow with the time since DTSTART (except with COUNT).
    """
    best: datetime | None = None
    stop_wall: datetime | None = None
    for instant, wall in _walk(rule, dtstart_local, zone, after):
        # Past this wall time no occurrence can be earlier than `best` (a gap or an
        # overlap only swaps occurrences less than DST_SLACK apart).
        if stop_wall is not None and wall > stop_wall:
            break
        if instant > after and (best is None or instant < best):
            best, stop_wall = instant, wall + DST_SLACK
    return best


def between(
    rule: str,
    dtstart_local: datetime,
    zone: str,
    start: datetime,
    end: datetime,
    limit: int = 1000,
) -> list[datetime]:
    """Occurrences in (start, end], aware UTC, sorted, at most `limit` (the earliest).
    Each instant once: two wall-clock times that the spring-forward gap sends to one
    instant (02:00 and 03:00 of an hourly rule) are one occurrence.

    Same arguments and errors as `next_after`; `start` and `end` are aware instants.
    """
    if end.tzinfo is None:
        raise ValueError("end must be timezone-aware")
    tz = zone_of(zone)
    stop_wall = end.astimezone(tz).replace(tzinfo=None) + DST_SLACK
    found: list[datetime] = []
    enough_at: datetime | None = None
    for instant, wall in _walk(rule, dtstart_local, zone, start):
        if wall > stop_wall or (enough_at is not None and wall > enough_at):
            break
        if start < instant <= end:
            found.append(instant)
            if enough_at is None and len(found) >= limit:
                enough_at = wall + 2 * DST_SLACK
    return sorted(set(found))[:limit]
