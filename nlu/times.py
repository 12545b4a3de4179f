"""Rule-based reading of dates and times in English, French and Russian.

Works on the canonical text of a Message (folded, phone numbers masked), so the digits
of a phone number can never become a time. Returns the moment and the spans of the
time words, so that reminder texts can be cut free of them.

`find_time` runs the readers of `nlu.time_readers` in a fixed order, each on the text
the earlier ones left, then `compose` turns what they found into one moment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from nlu.time_readers.clock import (
    read_dotted_time,
    read_half_past,
    read_hour_after_preposition,
    read_hour_in_words,
    read_hour_with_part_of_day,
    read_hour_with_unit,
    read_hours_and_minutes,
    read_noon_or_midnight,
)
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
from nlu.time_readers.delays import read_duration_from_now, read_months_from_now
from nlu.time_readers.findings import Findings, read_first
from nlu.time_readers.parts_of_day import read_part_of_day

# A date with no time of day means 09:00.
DEFAULT_CLOCK = (9, 0)
_SECONDS_PER_DAY = 86400

DELAY_READERS = (
    read_months_from_now,  # "in 3 months", "dans 2 mois", "через месяц"
    read_duration_from_now,  # "in 2 hours", "dans 10 minutes", "через час"
)
TIME_OF_DAY_READERS = (  # most specific first
    read_half_past,  # "half past nine", "quarter to 5"
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
    """What was read: `at` (aware) or None, and the spans of the time words."""

    at: datetime | None = None
    spans: list[tuple[int, int]] = field(default_factory=list)


def find_time(c: str, now: datetime, lang: str = "en", mdy: bool = False) -> TimeResult:
    """Read the moment meant by canonical text `c`, relative to aware `now`.

    `lang` is the message's language, `mdy` whether "3/4" is March 4th.
    """
    if not any(ch.isalnum() for ch in c):
        return TimeResult()
    found = Findings(c, now, lang, month_first=mdy)
    read_iso_date_time(found)  # first: its digits must not be read as anything else
    read_first(found, DELAY_READERS)
    if found.clock is None:
        read_first(found, TIME_OF_DAY_READERS)
    if found.day is None:
        read_first(found, DATE_READERS)
    read_part_of_day(found)  # "tomorrow morning", "ce soir", "вечером"
    return compose(found)


def compose(found: Findings) -> TimeResult:
    """The moment the findings mean, with the spans of the words read.

    - a delay of whole days and a time, no date: that day at that time ("in 2 days at 9am");
    - any other delay without both a date and a time: now + the delay, to the second
      ("in 2 hours");
    - a date and a time (a delay then counts for nothing): that moment; a date alone is
      at DEFAULT_CLOCK, 09:00;
    - a time alone: its next occurrence, today or tomorrow;
    - nothing: no moment, and no spans.
    """
    delay = found.seconds_from_now
    if delay is not None:
        if found.clock is not None and found.day is None and delay % _SECONDS_PER_DAY == 0:
            found.day = found.today + timedelta(seconds=delay)
        elif found.day is None or found.clock is None:
            at = (found.now + timedelta(seconds=delay)).replace(microsecond=0)
            return TimeResult(at=at, spans=found.spans)
    if found.day is None and found.clock is None:
        return TimeResult()
    hour, minute = found.clock or DEFAULT_CLOCK
    if found.day is None:
        return TimeResult(at=_next_occurrence(found.now, hour, minute), spans=found.spans)
    day = found.day
    at = datetime(day.year, day.month, day.day, hour, minute, tzinfo=found.now.tzinfo)
    return TimeResult(at=at, spans=found.spans)


def _next_occurrence(now: datetime, hour: int, minute: int) -> datetime:
    """`hour`:`minute` today if still to come after `now`, else tomorrow (in now's zone)."""
    today = now.date()
    candidate = datetime(today.year, today.month, today.day, hour, minute, tzinfo=now.tzinfo)
    if candidate <= now:
        tomorrow = today + timedelta(days=1)
        candidate = datetime(
            tomorrow.year, tomorrow.month, tomorrow.day, hour, minute, tzinfo=now.tzinfo
        )
    return candidate
