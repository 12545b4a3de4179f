"""Rule-based reading of dates and times in English, French and Russian.

Works on the canonical text of a Message (folded, phone numbers masked), so the digits
of a phone number can never become a time. Returns the moment and the spans of the
time words, so that reminder texts can be cut free of them.

`find_time` runs the readers of `nlu.time_readers` in a fixed order, each on the text
the earlier ones left, then `compose` turns what they found into one moment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo

from nlu.time_readers.clock import (
    read_dotted_time,
    read_hour_after_preposition,
    read_hour_in_words,
    read_hour_with_part_of_day,
    read_hour_with_unit,
    read_hours_and_minutes,
    read_noon_or_midnight,
)
from nlu.time_readers.clock_words import read_french_minutes, read_half_past, read_russian_minutes
from nlu.time_readers.dates import (
    read_day_of_month,
    read_day_then_month_name,
    read_iso_date_time,
    read_month_name_then_day,
    read_numeric_date,
    read_relative_day,
    read_weekday,
    read_weekend_or_next_week,
)
from nlu.time_readers.delays import (
    read_duration_from_now,
    read_months_from_now,
    read_time_before_event,
)
from nlu.time_readers.findings import Findings, read_first
from nlu.time_readers.parts_of_day import read_part_of_day
from nlu.time_readers.zones import read_time_zone

# A date with no time of day means 09:00.
DEFAULT_CLOCK = (9, 0)
_SECONDS_PER_DAY = 86400

DELAY_READERS = (
    read_months_from_now,  # "in 3 months", "dans 2 mois", "через месяц"
    read_duration_from_now,  # "in 2 hours", "dans 10 minutes", "через час"
)
TIME_OF_DAY_READERS = (  # most specific first
    read_french_minutes,  # "à dix heures et quart", "8h moins le quart", "midi et demie"
    read_russian_minutes,  # "в половине восьмого", "без четверти восемь", "четверть девятого"
    read_half_past,  # "half past nine", "quarter to 5", "ten to five", "at nine thirty"
    read_hours_and_minutes,  # "at 9:30", "à 9h30", "в 9:30"
    read_dotted_time,  # "at 9.30", "à 10.30", "в 9.30"
    read_hour_with_unit,  # "9pm", "à 9h", "в 9 часов"
    read_hour_with_part_of_day,  # "7 in the evening", "9 du soir", "в 9 утра"
    read_hour_after_preposition,  # "at 9", "à 8", "в 9"
    read_noon_or_midnight,  # "at noon", "à midi", "в полночь"
    read_hour_in_words,  # "at five", "à neuf heures", "в девять часов"
)
DATE_READERS = (
    read_relative_day,  # "tomorrow", "demain", "завтра"
    read_weekday,  # "next friday", "mardi", "в среду"
    read_weekend_or_next_week,  # "this weekend", "la semaine prochaine", "в выходные"
    read_day_then_month_name,  # "3 December", "le 3 décembre", "3 декабря"
    read_month_name_then_day,  # "december 3", "march 3rd, 2027"
    read_numeric_date,  # "12/25", "le 25/12", "на 25.12"
    read_day_of_month,  # "the 5th", "le 5", "5-го"
)


@dataclass
class TimeResult:
    """What was read: `at` (aware) or None, and the spans of the time words; `clock`
    (hour, minute) and `day` when the words named them (not the 09:00 of a date alone)."""

    at: datetime | None = None
    spans: list[tuple[int, int]] = field(default_factory=list)
    clock: tuple[int, int] | None = None
    day: date | None = None


def find_time(
    c: str,
    now: datetime,
    lang: str = "en",
    mdy: bool = False,
    original: Callable[[int, int], str] | None = None,
) -> TimeResult:
    """Read the moment meant by canonical text `c`, relative to aware `now`.

    `lang` is the message's language, `mdy` whether "3/4" is March 4th; `original(start,
    end)` gives the words of `c` as written (their case: "EST" is a zone, "est" a verb).
    A zone named in the message ("10am EST") is where the dates and times are read; the
    moment is given in `now`'s zone.
    """
    if not any(ch.isalnum() for ch in c):
        return TimeResult()
    found = Findings(c, now, lang, month_first=mdy, original=original)
    read_time_zone(found)  # "10am EST", "heure de Paris", "по московскому времени"
    read_iso_date_time(found)  # first of the rest: its digits must not be read otherwise
    read_time_before_event(found)  # "1h avant": before "1h" can be read as a time of day
    read_first(found, DELAY_READERS)
    if found.clock is None:
        read_first(found, TIME_OF_DAY_READERS)
    if found.day is None:
        read_first(found, DATE_READERS)
    read_part_of_day(found)  # "tomorrow morning", "ce soir", "вечером"
    result = compose(found)
    if result.at is not None:
        result.clock, result.day = found.clock, found.day
        if now.tzinfo is not None:
            result.at = result.at.astimezone(now.tzinfo)
    return result


def compose(found: Findings) -> TimeResult:
    """The moment the findings mean, with the spans of the words read.

    Delays, by unit:
    - seconds, minutes, hours, and any delay that is not a whole number of days ("in a day
      and a half" is 36 h): elapsed time, added to the instant, so "in 2 hours" is two
      real hours later also across a change of daylight saving time;
    - days, weeks, months (whole days): calendar days, counted on the wall clock: "in 2
      days" is the same time of day two dates later, "in 2 days at 9" that day at 09:00
      local, whatever the offset is then.

    Then:
    - any other delay without both a date and a time: now + the delay;
    - a date and a time (a delay then counts for nothing): that moment; a date alone is
      at DEFAULT_CLOCK, 09:00;
    - a time alone: its next occurrence, today or tomorrow;
    - nothing: no moment, and no spans.
    A wall-clock time that does not exist that day (skipped by a change to summer time) is
    moved forward by the gap. Last, a time before the event ("1h before") is taken off, by
    the same rules.
    """
    at = _moment(found)
    if at is None:
        return TimeResult()
    if found.seconds_before:
        at = _earlier(at, found.seconds_before)
    return TimeResult(at=at, spans=found.spans)


def _moment(found: Findings) -> datetime | None:
    """The moment of the findings, before any time before the event is taken off."""
    delay = found.seconds_from_now
    zone = found.now.tzinfo
    if delay is not None and found.day is None and delay % _SECONDS_PER_DAY == 0:
        day = found.today + timedelta(days=int(delay // _SECONDS_PER_DAY))
        if found.clock is not None:
            return wall_clock(day, *found.clock, zone=zone)
        now = found.now
        return wall_clock(day, now.hour, now.minute, now.second, zone=zone)
    if delay is not None and (found.day is None or found.clock is None):
        return elapsed(found.now, delay)
    if found.day is None and found.clock is None:
        return None
    hour, minute = found.clock or DEFAULT_CLOCK
    if found.day is None:
        return next_occurrence(found.now, hour, minute)
    return wall_clock(found.day, hour, minute, zone=zone)


def elapsed(moment: datetime, seconds: float) -> datetime:
    """`moment` + `seconds` of real time (on the instant, not the wall clock), to the
    second, in `moment`'s zone."""
    later = moment.astimezone(UTC) + timedelta(seconds=seconds)
    return later.astimezone(moment.tzinfo).replace(microsecond=0)


def wall_clock(
    day: date, hour: int, minute: int, second: int = 0, *, zone: tzinfo | None
) -> datetime:
    """`day` at `hour`:`minute` on the clocks of `zone`; a time skipped by a change to
    summer time is moved forward by the gap (02:30 -> 03:30)."""
    local = datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=zone)
    return local.astimezone(UTC).astimezone(zone) if zone is not None else local


def _earlier(at: datetime, seconds: float) -> datetime:
    """`seconds` before `at`: whole days on the wall clock, anything else in real time."""
    if seconds % _SECONDS_PER_DAY == 0:
        day = at.date() - timedelta(days=int(seconds // _SECONDS_PER_DAY))
        return wall_clock(day, at.hour, at.minute, at.second, zone=at.tzinfo)
    return elapsed(at, -seconds)


def next_occurrence(now: datetime, hour: int, minute: int) -> datetime:
    """`hour`:`minute` today if still to come after `now`, else tomorrow (in now's zone)."""
    candidate = wall_clock(now.date(), hour, minute, zone=now.tzinfo)
    if candidate <= now:
        candidate = wall_clock(now.date() + timedelta(days=1), hour, minute, zone=now.tzinfo)
    return candidate
