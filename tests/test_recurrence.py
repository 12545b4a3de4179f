"""domain.recurrence: RFC 5545 RECUR values on local wall-clock times (DST, gaps, ends)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr

from bot.features.reminders.wording import describe
from domain.recurrence import RecurrenceError, between, next_after, validate

PARIS = "Europe/Paris"
NEW_YORK = "America/New_York"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(instants: list[datetime], zone: str) -> list[str]:
    return [i.astimezone(ZoneInfo(zone)).strftime("%m-%d %H:%M") for i in instants]


def test_validate_normalizes():
    assert validate(" rrule:byday=mo;freq=weekly ") == "FREQ=WEEKLY;BYDAY=MO"
    assert validate("FREQ=HOURLY;INTERVAL=2;UNTIL=20261201T170000Z") == (
        "FREQ=HOURLY;INTERVAL=2;UNTIL=20261201T170000Z"
    )
    assert validate("FREQ=MINUTELY;INTERVAL=5") == "FREQ=MINUTELY;INTERVAL=5"


@pytest.mark.parametrize(
    ("rule", "code"),
    [
        ("FREQ=SECONDLY", "too_often"),
        ("FREQ=MINUTELY", "too_often"),
        ("FREQ=MINUTELY;INTERVAL=4", "too_often"),
        ("FREQ=HOURLY;BYMINUTE=0,1,2", "too_often"),
        ("FREQ=DAILY;BYSECOND=1", "too_often"),
        ("FREQ=DAILY;COUNT=3;UNTIL=20261201T000000Z", "count_and_until"),
        ("FREQ=DAILY;COUNT=20000", "too_long"),
        ("every monday", "syntax"),
        ("FREQ=FORTNIGHTLY", "syntax"),
        ("FREQ=WEEKLY;BYDAY=XX", "syntax"),
        ("FREQ=DAILY;UNTIL=tomorrow", "syntax"),
        ("FREQ=DAILY;COLOR=red", "syntax"),
        ("", "syntax"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "never"),
        ("FREQ=MINUTELY;INTERVAL=5;BYMONTH=2;BYMONTHDAY=30", "never"),
    ],
)
def test_validate_refuses(rule, code):
    with pytest.raises(RecurrenceError) as caught:
        validate(rule)
    assert caught.value.code == code


def test_daily_at_8_stays_8_local_across_both_paris_changes():
    spring = between(
        "FREQ=DAILY", datetime(2026, 3, 1, 8), PARIS, utc(2026, 3, 27), utc(2026, 3, 31)
    )
    assert local(spring, PARIS) == ["03-27 08:00", "03-28 08:00", "03-29 08:00", "03-30 08:00"]
    assert [i.hour for i in spring] == [7, 7, 6, 6]
    autumn = between(
        "FREQ=DAILY", datetime(2026, 3, 1, 8), PARIS, utc(2026, 10, 24), utc(2026, 10, 27)
    )
    assert [i.hour for i in autumn] == [6, 7, 7]
    assert local(autumn, PARIS) == ["10-24 08:00", "10-25 08:00", "10-26 08:00"]


def test_weekly_in_new_york_across_both_changes():
    rule = "FREQ=WEEKLY;BYDAY=MO"
    spring = between(rule, datetime(2026, 1, 5, 9), NEW_YORK, utc(2026, 3, 1), utc(2026, 3, 17))
    assert spring == [utc(2026, 3, 2, 14), utc(2026, 3, 9, 13), utc(2026, 3, 16, 13)]
    autumn = between(rule, datetime(2026, 1, 5, 9), NEW_YORK, utc(2026, 10, 25), utc(2026, 11, 10))
    assert autumn == [utc(2026, 10, 26, 13), utc(2026, 11, 2, 14), utc(2026, 11, 9, 14)]


def test_spring_gap_moves_forward_by_the_gap():
    # 29 March 2026: Paris clocks jump 02:00 → 03:00; 02:30 does not exist that day.
    got = between(
        "FREQ=DAILY", datetime(2026, 3, 27, 2, 30), PARIS, utc(2026, 3, 27), utc(2026, 3, 31)
    )
    assert got == [
        utc(2026, 3, 27, 1, 30),
        utc(2026, 3, 28, 1, 30),
        utc(2026, 3, 29, 1, 30),  # = 03:30 CEST
        utc(2026, 3, 30, 0, 30),  # 02:30 CEST again
    ]
    assert local(got, PARIS)[2] == "03-29 03:30"
    after_gap = next_after(
        "FREQ=DAILY", datetime(2026, 3, 27, 2, 30), PARIS, utc(2026, 3, 29, 1, 15)
    )
    assert after_gap == utc(2026, 3, 29, 1, 30)


def test_fall_back_overlap_takes_the_first():
    # 25 October 2026: Paris 03:00 CEST → 02:00 CET; 02:30 happens twice.
    got = between(
        "FREQ=DAILY", datetime(2026, 10, 24, 2, 30), PARIS, utc(2026, 10, 24), utc(2026, 10, 26)
    )
    assert got == [utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30)]
    # Asked after the first 02:30 (during the second one): the next is the day after.
    assert next_after(
        "FREQ=DAILY", datetime(2026, 10, 24, 2, 30), PARIS, utc(2026, 10, 25, 1, 15)
    ) == utc(2026, 10, 26, 1, 30)


def test_bymonthday_31_skips_short_months():
    got = between(
        "FREQ=MONTHLY;BYMONTHDAY=31",
        datetime(2026, 1, 31, 9),
        PARIS,
        utc(2026, 1, 1),
        utc(2027, 1, 1),
    )
    assert [i.month for i in got] == [1, 3, 5, 7, 8, 10, 12]
    assert local(got, PARIS)[0] == "01-31 09:00" and local(got, PARIS)[1] == "03-31 09:00"


def test_until_ends_utc_and_floating():
    rule = "FREQ=HOURLY;INTERVAL=2;UNTIL=20261201T170000Z"  # 18:00 in Paris
    start = datetime(2026, 12, 1, 8)
    got = between(rule, start, PARIS, utc(2026, 11, 30), utc(2026, 12, 3))
    assert local(got, PARIS) == [f"12-01 {h:02d}:00" for h in (8, 10, 12, 14, 16, 18)]
    assert next_after(rule, start, PARIS, utc(2026, 12, 1, 17)) is None
    assert next_after(rule, start, PARIS, utc(2026, 12, 1, 16)) == utc(2026, 12, 1, 17)
    floating = "FREQ=DAILY;UNTIL=20261203T080000"
    assert next_after(floating, start, PARIS, utc(2026, 12, 2, 7)) == utc(2026, 12, 3, 7)
    assert next_after(floating, start, PARIS, utc(2026, 12, 3, 7)) is None
    day_only = "FREQ=DAILY;UNTIL=20261203"
    assert next_after(day_only, start, PARIS, utc(2026, 12, 2, 7)) == utc(2026, 12, 3, 7)
    assert next_after(day_only, start, PARIS, utc(2026, 12, 3, 7)) is None


def test_count_ends():
    start = datetime(2026, 1, 1, 8)
    assert next_after("FREQ=DAILY;COUNT=3", start, PARIS, utc(2026, 1, 2, 12)) == utc(2026, 1, 3, 7)
    assert next_after("FREQ=DAILY;COUNT=3", start, PARIS, utc(2026, 1, 3, 7)) is None


def test_next_after_is_strictly_after():
    start = datetime(2026, 1, 5, 9)
    assert next_after("FREQ=WEEKLY;BYDAY=MO", start, PARIS, utc(2026, 1, 5, 8)) == utc(
        2026, 1, 12, 8
    )
    assert next_after("FREQ=WEEKLY;BYDAY=MO", start, PARIS, utc(2026, 1, 5, 7, 59)) == utc(
        2026, 1, 5, 8
    )
    # Before DTSTART: the first occurrence.
    assert next_after("FREQ=WEEKLY;BYDAY=MO", start, PARIS, utc(2025, 6, 1)) == utc(2026, 1, 5, 8)


def test_minutely_from_years_ago():
    # DTSTART 2019; dateutil would walk ~780 000 occurrences from it one by one.
    got = next_after(
        "FREQ=MINUTELY;INTERVAL=5", datetime(2019, 1, 1, 0, 2), PARIS, utc(2026, 7, 14, 10, 3, 30)
    )
    assert got == utc(2026, 7, 14, 10, 7)
    got = between(
        "FREQ=MINUTELY;INTERVAL=5",
        datetime(2019, 1, 1, 0, 2),
        PARIS,
        utc(2026, 7, 14, 10),
        utc(2026, 7, 14, 10, 20),
    )
    assert got == [utc(2026, 7, 14, 10, m) for m in (2, 7, 12, 17)]


@pytest.mark.parametrize(
    ("rule", "dtstart"),
    [
        ("FREQ=MONTHLY;BYMONTHDAY=31", datetime(2019, 1, 31, 9)),
        ("FREQ=MONTHLY", datetime(2019, 1, 31, 9)),
        ("FREQ=YEARLY", datetime(2016, 2, 29, 7)),
        ("FREQ=WEEKLY;INTERVAL=3;BYDAY=TU,SA", datetime(2020, 6, 3, 18, 15)),
        ("FREQ=HOURLY;INTERVAL=7", datetime(2021, 3, 28, 1, 40)),
        ("FREQ=DAILY;INTERVAL=10;BYHOUR=2,14;BYMINUTE=30", datetime(2020, 1, 1)),
        ("FREQ=MONTHLY;BYDAY=-1FR;INTERVAL=2", datetime(2020, 2, 28, 12)),
    ],
)
def test_next_after_matches_a_plain_walk_from_dtstart(rule, dtstart):
    """Starting near `after` instead of DTSTART changes nothing (checked against dateutil
    walking from DTSTART, on the same wall-clock-to-instant reading)."""
    zone = ZoneInfo(PARIS)
    plain = rrulestr(rule, dtstart=dtstart)
    for after in (utc(2026, 3, 29, 0, 45), utc(2026, 10, 25, 0, 30), utc(2027, 2, 28, 23)):
        wall = plain.after(after.astimezone(zone).replace(tzinfo=None) - timedelta(hours=3))
        expected = None
        while wall is not None:
            instant = wall.replace(tzinfo=zone).astimezone(UTC)
            if instant > after:
                expected = instant
                break
            wall = plain.after(wall)
        assert next_after(rule, dtstart, PARIS, after) == expected


def test_bad_arguments():
    with pytest.raises(ValueError, match="naive"):
        next_after("FREQ=DAILY", datetime(2026, 1, 1, tzinfo=UTC), PARIS, utc(2026, 1, 2))
    with pytest.raises(ValueError, match="aware"):
        next_after("FREQ=DAILY", datetime(2026, 1, 1), PARIS, datetime(2026, 1, 2))
    with pytest.raises(ValueError, match="zone"):
        next_after("FREQ=DAILY", datetime(2026, 1, 1), "Mars/Olympus", utc(2026, 1, 2))


def test_between_limit_keeps_the_earliest():
    got = between(
        "FREQ=HOURLY", datetime(2026, 1, 1), PARIS, utc(2026, 1, 1), utc(2026, 2, 1), limit=3
    )
    # (start, end]: 00:00 UTC itself is out.
    assert got == [utc(2026, 1, 1, h) for h in (1, 2, 3)]


MONDAY_9 = datetime(2026, 3, 2, 9, 0)


@pytest.mark.parametrize(
    ("rule", "dtstart", "en", "fr", "ru"),
    [
        (
            "FREQ=WEEKLY;BYDAY=MO",
            MONDAY_9,
            "every Monday at 09:00",
            "tous les lundis à 09:00",
            "каждый понедельник в 09:00",
        ),
        (
            "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
            datetime(2026, 3, 2, 8, 30),
            "every weekday at 08:30",
            "en semaine à 08:30",
            "по будням в 08:30",
        ),
        (
            "FREQ=DAILY",
            datetime(2026, 3, 2, 20),
            "every day at 20:00",
            "tous les jours à 20:00",
            "каждый день в 20:00",
        ),
        (
            "FREQ=HOURLY;INTERVAL=2;UNTIL=20260302T170000Z",
            datetime(2026, 3, 2, 10),
            "every 2 hours until 18:00",
            "toutes les 2 heures jusqu'à 18:00",
            "каждые 2 часа до 18:00",
        ),
        (
            "FREQ=MONTHLY;BYMONTHDAY=1",
            MONDAY_9,
            "on day 1 of every month at 09:00",
            "le 1er de chaque mois à 09:00",
            "1-го числа каждого месяца в 09:00",
        ),
        (
            "FREQ=WEEKLY;BYDAY=WE,FR",
            MONDAY_9,
            "every Wednesday and Friday at 09:00",
            "tous les mercredis et vendredis à 09:00",
            "по средам и пятницам в 09:00",
        ),
        (
            "FREQ=WEEKLY;BYDAY=SA",
            MONDAY_9,
            "every Saturday at 09:00",
            "tous les samedis à 09:00",
            "каждую субботу в 09:00",
        ),
        (
            "FREQ=YEARLY",
            MONDAY_9,
            "every year on 2 March at 09:00",
            "tous les ans le 2 mars à 09:00",
            "каждый год 2 марта в 09:00",
        ),
        (
            "FREQ=DAILY;COUNT=5",
            MONDAY_9,
            "every day at 09:00, 5 times",
            "tous les jours à 09:00, 5 fois",
            "каждый день в 09:00, 5 раз",
        ),
        (
            "FREQ=MINUTELY;INTERVAL=30",
            MONDAY_9,
            "every 30 minutes",
            "toutes les 30 minutes",
            "каждые 30 минут",
        ),
    ],
)
def test_describe_three_languages(rule, dtstart, en, fr, ru):
    assert describe(rule, dtstart, "en", PARIS) == en
    assert describe(rule, dtstart, "fr", PARIS) == fr
    assert describe(rule, dtstart, "ru", PARIS) == ru


def test_describe_unusual_rule_shows_the_rule():
    assert (
        describe("FREQ=MONTHLY;BYDAY=1MO", MONDAY_9, "en")
        == "RRULE:FREQ=MONTHLY;BYDAY=1MO at 09:00"
    )
    assert describe("FREQ=WEEKLY", MONDAY_9, "de") == "every Monday at 09:00"


def test_an_hourly_rule_across_the_spring_gap_counts_each_instant_once():
    start = datetime(2026, 3, 29, 0, 0)  # Paris: 02:00 → 03:00 that night
    found = between("FREQ=HOURLY", start, "Europe/Paris",
                    datetime(2026, 3, 28, 22, 0, tzinfo=UTC),
                    datetime(2026, 3, 29, 3, 0, tzinfo=UTC))  # fmt: skip
    assert found == sorted(set(found))
    assert [f.hour for f in found] == [23, 0, 1, 2, 3]


@pytest.mark.parametrize(
    ("lang", "said"),
    [
        ("en", "every day, every hour from 09:00 to 18:00"),
        ("fr", "tous les jours, chaque heure de 09:00 à 18:00"),
        ("ru", "каждый день, каждый час с 09:00 до 18:00"),
    ],
)
def test_a_daily_window_of_hours_is_said_with_its_hours(lang, said):
    rule = "FREQ=DAILY;BYHOUR=9,10,11,12,13,14,15,16,17,18;BYMINUTE=0"
    assert describe(rule, datetime(2026, 12, 1, 11, 0), lang) == said
