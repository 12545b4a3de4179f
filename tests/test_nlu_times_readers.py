"""The time readers of nlu/time_readers one by one, and find_time's composition of them.

All at NOW, a Saturday 10:00 in Paris.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from nlu.message import prepare
from nlu.time_readers import clock, clock_words, dates, delays, parts_of_day, zones
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
        (clock_words.read_half_past, "half past nine", "en", (9, 30)),
        (clock_words.read_half_past, "quarter to 5 pm", "en", (16, 45)),
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
        ("in 2 days at 9", "2026-11-30T09:00:00+01:00"),  # whole days: that day at 9
        ("in 2 hours at 9", "2026-11-28T12:00:00+01:00"),  # a bare "at 9" after hours is not
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


@pytest.mark.parametrize(
    ("reader", "text", "lang", "clock_time"),
    [
        (clock_words.read_half_past, "ten to five", "en", (4, 50)),
        (clock_words.read_half_past, "20 minutes past 3 pm", "en", (15, 20)),
        (clock_words.read_half_past, "at nine thirty pm", "en", (21, 30)),
        (clock_words.read_half_past, "at half nine", "en", (9, 30)),
        (clock_words.read_french_minutes, "à dix heures et quart", "fr", (10, 15)),
        (clock_words.read_french_minutes, "10h et demie", "fr", (10, 30)),
        (clock_words.read_french_minutes, "à 8h moins le quart du soir", "fr", (19, 45)),
        (clock_words.read_french_minutes, "midi moins dix", "fr", (11, 50)),
        (clock_words.read_french_minutes, "minuit et quart", "fr", (0, 15)),
        (clock_words.read_french_minutes, "à sept heures vingt-cinq", "fr", (7, 25)),
        (clock_words.read_russian_minutes, "в половине восьмого вечера", "ru", (19, 30)),
        (clock_words.read_russian_minutes, "полвосьмого", "ru", (7, 30)),
        (clock_words.read_russian_minutes, "без четверти восемь", "ru", (7, 45)),
        (clock_words.read_russian_minutes, "без пяти 8", "ru", (7, 55)),
        (clock_words.read_russian_minutes, "четверть девятого", "ru", (8, 15)),
        (clock_words.read_russian_minutes, "в половине первого ночи", "ru", (0, 30)),
        (clock_words.read_russian_minutes, "без пяти час", "ru", (12, 55)),
        (clock_words.read_russian_minutes, "в восемь тридцать", "ru", (8, 30)),
    ],
)
def test_minutes_in_words_readers(reader, text, lang, clock_time):
    assert read(reader, text, lang).clock == clock_time


def test_minutes_in_words_readers_refuse():
    for reader, text, lang in [
        (clock_words.read_half_past, "from 10 to 5", "en"),  # a range
        (clock_words.read_half_past, "a quarter of an hour", "en"),  # a duration
        (clock_words.read_french_minutes, "dix vingt", "fr"),  # no hour word
        (clock_words.read_russian_minutes, "восемь тридцать", "ru"),  # needs "в"
    ]:
        found = Findings(prepare(text, None).c, NOW, lang, month_first=False)
        assert not reader(found), text
        assert found.spans == [] and found.clock is None


@pytest.mark.parametrize(
    ("text", "lang", "zone"),
    [
        ("at 10am EST", "en", "America/New_York"),
        ("9:00 pst", "en", "America/Los_Angeles"),
        ("New York time", "en", "America/New_York"),
        ("time in Tokyo", "en", "Asia/Tokyo"),
        ("à 10h CET", "fr", "Europe/Paris"),
        ("heure de Moscou", "fr", "Europe/Moscow"),
        ("à l'heure de Londres", "fr", "Europe/London"),
        ("по московскому времени", "ru", "Europe/Moscow"),
        ("по времени Киева", "ru", "Europe/Kyiv"),
        ("в 10 мск", "ru", "Europe/Moscow"),
        ("по Москве", "ru", "Europe/Moscow"),
    ],
)
def test_time_zone_reader(text, lang, zone):
    message = prepare(text, None)
    found = Findings(message.c, NOW, lang, month_first=False, original=message.original)
    assert zones.read_time_zone(found), text
    assert str(found.zone) == zone and found.now.tzinfo == found.zone
    assert found.spans and all(set(found.text[a:b]) == {FILL} for a, b in found.spans)


def test_time_zone_reader_utc_offsets_and_refusals():
    found = Findings("at 9:00 utc+3", NOW, "en", month_first=False)
    assert zones.read_time_zone(found) and found.now.utcoffset() == timedelta(hours=3)
    for text, lang in [
        ("c'est urgent", "fr"),
        ("mon numero est le", "fr"),
        ("a 15h cet apres-midi", "fr"),
        ("a 10h est", "fr"),  # lower case, in French: the verb
        ("по другому", "ru"),
    ]:
        message = prepare(text, None)
        found = Findings(message.c, NOW, lang, month_first=False, original=message.original)
        assert not zones.read_time_zone(found), text


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1h avant", 3600),
        ("an hour before", 3600),
        ("15 minutes earlier", 900),
        ("за час до", 3600),
        ("за 30 минут", 1800),
        ("la veille", 86400),
        ("накануне", 86400),
    ],
)
def test_time_before_event_reader(text, seconds):
    assert read(delays.read_time_before_event, text).seconds_before == seconds


@pytest.mark.parametrize(
    ("text", "now", "at"),
    [
        # elapsed time on the instant; calendar days on the wall clock (see `compose`)
        ("in 2 hours", "2026-03-29T01:30:00+01:00", "2026-03-29T04:30:00+02:00"),
        ("in 2 days", "2026-03-28T10:00:00+01:00", "2026-03-30T10:00:00+02:00"),
        ("tomorrow at 2:30", "2026-03-28T10:00:00+01:00", "2026-03-29T03:30:00+02:00"),
        ("at 10am EST", "2026-11-28T10:00:00+01:00", "2026-11-28T16:00:00+01:00"),
        ("tomorrow at 3pm, 1h before", "2026-11-28T10:00:00+01:00", "2026-11-29T14:00:00+01:00"),
        ("on december 3 at 7am, the day before", "2026-11-28T10:00:00+01:00",
         "2026-12-02T07:00:00+01:00"),
    ],
)  # fmt: skip
def test_find_time_composes_across_zones_and_daylight_saving(text, now, at):
    moment = datetime.fromisoformat(now).astimezone(PARIS)
    message = prepare(text, None)
    got = find_time(message.c, moment, "en", original=message.original)
    assert got.at is not None and got.at.isoformat() == at


@pytest.mark.parametrize("item", ["6h ", "6h", "6 h ", "2 min, ", "1h and "])
def test_a_long_run_of_durations_is_read_in_linear_time(item):
    # "6h 6h 6h …" once backtracked exponentially in the delays' pattern (found by
    # tests/test_nlu_fuzz.py): each join of two items is now read one way only.
    text = "remind me tomorrow at 9 " + item * 300 + " nothing"
    started = time.perf_counter()
    found = Findings(prepare(text, None).c, NOW, "en", month_first=False)
    delays.read_time_before_event(found)
    delays.read_duration_from_now(found)
    assert time.perf_counter() - started < 5  # exponential would never end; linear is ms
