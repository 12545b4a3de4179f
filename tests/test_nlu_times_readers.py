"""The time readers of nlu/time_readers one by one, and find_time's composition of them.

All at NOW, a Saturday 10:00 in Paris.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from nlu.message import prepare
from nlu.time_readers import clock, dates, delays, parts_of_day
from nlu.time_readers.findings import FILL, Findings
from nlu.times import find_time

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 28, 10, 0, tzinfo=PARIS)


def read(reader, text: str, lang: str = "en") -> Findings:
    found = Findings(prepare(text, None).c, NOW, lang, month_first=False)
    assert reader(found), text
    assert found.spans and all(set(found.text[a:b]) == {FILL} for a, b in found.spans)
    return found


@pytest.mark.parametrize(
    ("reader", "text", "lang", "clock_time"),
    [
        (clock.read_half_past, "half past nine", "en", (9, 30)),
        (clock.read_half_past, "quarter to 5 pm", "en", (16, 45)),
        (clock.read_hours_and_minutes, "at 9:30", "en", (9, 30)),
        (clock.read_hours_and_minutes, "à 9h30", "fr", (9, 30)),
        (clock.read_hours_and_minutes, "в 9ч30 утра", "ru", (9, 30)),
        (clock.read_dotted_time, "at 9.30 pm", "en", (21, 30)),
        (clock.read_dotted_time, "à 10.30", "fr", (10, 30)),
        (clock.read_dotted_time, "в 9.30", "ru", (9, 30)),
        (clock.read_hour_with_unit, "9pm", "en", (21, 0)),
        (clock.read_hour_with_unit, "à 9 heures 30", "fr", (9, 30)),
        (clock.read_hour_with_unit, "в 9 часов", "ru", (9, 0)),
        (clock.read_hour_with_part_of_day, "7 in the evening", "en", (19, 0)),
        (clock.read_hour_with_part_of_day, "9 du soir", "fr", (21, 0)),
        (clock.read_hour_with_part_of_day, "в 11 ночи", "ru", (23, 0)),
        (clock.read_hour_after_preposition, "at 9", "en", (9, 0)),
        (clock.read_hour_after_preposition, "à 8", "fr", (8, 0)),
        (clock.read_hour_after_preposition, "около 10", "ru", (10, 0)),
        (clock.read_noon_or_midnight, "at noon", "en", (12, 0)),
        (clock.read_noon_or_midnight, "minuit et demie", "fr", (0, 30)),
        (clock.read_noon_or_midnight, "в полночь", "ru", (0, 0)),
        (clock.read_hour_in_words, "at seven pm", "en", (19, 0)),
        (clock.read_hour_in_words, "à sept heures du soir", "fr", (19, 0)),
        (clock.read_hour_in_words, "в девять часов", "ru", (9, 0)),
    ],
)
def test_time_of_day_readers(reader, text, lang, clock_time):
    assert read(reader, text, lang).clock == clock_time


@pytest.mark.parametrize(
    ("reader", "text", "day"),
    [
        (dates.read_iso_date_time, "2026-12-24", date(2026, 12, 24)),
        (dates.read_relative_day, "tomorrow", date(2026, 11, 29)),
        (dates.read_relative_day, "après-demain", date(2026, 11, 30)),
        (dates.read_relative_day, "сегодня", date(2026, 11, 28)),
        (dates.read_weekday, "next friday", date(2026, 12, 4)),
        (dates.read_weekday, "saturday", date(2026, 12, 5)),
        (dates.read_weekday, "в среду", date(2026, 12, 2)),
        (dates.read_weekend_or_next_week, "this weekend", date(2026, 12, 5)),
        (dates.read_weekend_or_next_week, "la semaine prochaine", date(2026, 11, 30)),
        (dates.read_day_then_month_name, "le 1er mai", date(2027, 5, 1)),
        (dates.read_day_then_month_name, "1 мая 2027", date(2027, 5, 1)),
        (dates.read_month_name_then_day, "december 3", date(2026, 12, 3)),
        (dates.read_numeric_date, "le 25/12", date(2026, 12, 25)),
        (dates.read_numeric_date, "на 25.12", date(2026, 12, 25)),
        (dates.read_day_of_month, "on the 5th", date(2026, 12, 5)),
        (dates.read_day_of_month, "5-го числа", date(2026, 12, 5)),
    ],
)
def test_date_readers(reader, text, day):
    assert read(reader, text).day == day


@pytest.mark.parametrize(
    ("reader", "text", "seconds"),
    [
        (delays.read_duration_from_now, "in an hour and a half", 5400),
        (delays.read_duration_from_now, "dans une demi-heure", 1800),
        (delays.read_duration_from_now, "через 2 часа 30 минут", 9000),
        (delays.read_duration_from_now, "10 минут спустя", 600),
        (delays.read_months_from_now, "in a month", 30 * 86400),
        (delays.read_months_from_now, "dans 2 mois", 61 * 86400),
    ],
)
def test_delay_readers(reader, text, seconds):
    assert read(reader, text).seconds_from_now == seconds


def test_part_of_day_alone_and_after_a_time():
    assert read(parts_of_day.read_part_of_day, "вечером").clock == (19, 0)
    found = Findings("at 7 tomorrow evening", NOW, "en", month_first=False)
    assert clock.read_hour_after_preposition(found) and found.clock == (7, 0)
    assert parts_of_day.read_part_of_day(found) and found.clock == (19, 0)


def test_readers_refuse():
    for reader, text in [
        (clock.read_hour_in_words, "à neuf"),  # no unit: English only
        (clock.read_hour_with_unit, "at 25h"),
        (dates.read_numeric_date, "25.12"),  # '.' without a year needs a preposition
        (dates.read_day_of_month, "the 31st"),  # no November 31st
        (parts_of_day.read_part_of_day, "am"),
    ]:
        found = Findings(prepare(text, None).c, NOW, "fr", month_first=False)
        assert not reader(found), text
        assert found.spans == [] and found.clock is None and found.day is None


@pytest.mark.parametrize(
    ("text", "at"),
    [
        ("tomorrow evening at 8", "2026-11-29T20:00:00+01:00"),
        ("in 2 days at 9am", "2026-11-30T09:00:00+01:00"),
        ("in 2 days at 9", "2026-11-30T10:00:00+01:00"),  # a bare "at 9" is not read by a delay
        ("at 9 in 2 hours", "2026-11-28T12:00:00+01:00"),
        ("tonight", "2026-11-28T20:00:00+01:00"),
        ("at 9", "2026-11-29T09:00:00+01:00"),
        ("on monday", "2026-11-30T09:00:00+01:00"),
        ("2026-12-24 18:30", "2026-12-24T18:30:00+01:00"),
        ("hello", None),
    ],
)
def test_find_time_composes(text, at):
    c = prepare(text, None).c
    got = find_time(c, NOW, "en")
    assert (got.at.isoformat() if got.at else None) == at
    assert bool(got.spans) == (at is not None)
