"""Repeating reminders: the `repeat` slot of `remind` (an RFC 5545 RECUR value), its first
occurrence `at` and the text free of the time and repeat words; en, fr and ru.

Read at NOW (Saturday 2026-11-28 10:00) in Europe/Paris unless told otherwise; the DST
cases at Saturday 2026-10-24 10:00, the day before the change to winter time.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from nlu import command_of, parse
from nlu.commands import Remind

NOW = "2026-11-28T10:00:00"
DST_NOW = "2026-10-24T10:00:00"
PAR = "Europe/Paris"


def at_(day: int, hm: str, month: int = 11, year: int = 2026, off: str = "+01:00") -> str:
    return f"{year}-{month:02d}-{day:02d}T{hm}:00{off}"


WD = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"
WE = "FREQ=WEEKLY;BYDAY=SA,SU"
MO = "FREQ=WEEKLY;BYDAY=MO"

# (text, repeat, at, text, lang)
CASES = [
    # ---- weekdays
    ("remind me every monday at 9 to call mom", MO, at_(30, "09:00"), "call mom", "en"),
    ("remind me every Monday at 9 AM to call mom", MO, at_(30, "09:00"), "call mom", "en"),
    (
        "remind me on mondays at 9 to water the plants",
        MO,
        at_(30, "09:00"),
        "water the plants",
        "en",
    ),
    ("remind me mondays at 9 to water the plants", MO, at_(30, "09:00"), "water the plants", "en"),
    (
        "remind me every monday and thursday at 9 to call mom",
        "FREQ=WEEKLY;BYDAY=MO,TH",
        at_(30, "09:00"),
        "call mom",
        "en",
    ),
    (
        "remind me every tuesday, thursday and saturday at 7pm to go to the gym",
        "FREQ=WEEKLY;BYDAY=TU,TH,SA",
        at_(28, "19:00"),
        "go to the gym",
        "en",
    ),
    (
        "remind me every other monday at 9 to call mom",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO",
        at_(30, "09:00"),
        "call mom",
        "en",
    ),
    (
        "rappelle-moi tous les lundis à 9h d'appeler maman",
        MO,
        at_(30, "09:00"),
        "appeler maman",
        "fr",
    ),
    ("rappelle-moi chaque lundi à 9h d'appeler maman", MO, at_(30, "09:00"), "appeler maman", "fr"),
    ("rappelle moi chaque lundi a 9h d'appeler maman", MO, at_(30, "09:00"), "appeler maman", "fr"),
    (
        "rappelle-moi tous les lundis et jeudis à 9h d'appeler maman",
        "FREQ=WEEKLY;BYDAY=MO,TH",
        at_(30, "09:00"),
        "appeler maman",
        "fr",
    ),
    ("напомни каждый понедельник в 9 позвонить маме", MO, at_(30, "09:00"), "позвонить маме", "ru"),
    ("напомни по понедельникам в 9 позвонить маме", MO, at_(30, "09:00"), "позвонить маме", "ru"),
    (
        "напоминай каждое воскресенье в 10 звонить родителям",
        "FREQ=WEEKLY;BYDAY=SU",
        at_(29, "10:00"),
        "звонить родителям",
        "ru",
    ),
    # ---- weekdays and weekends as groups
    ("remind me every weekday at 8:30 to stand up", WD, at_(30, "08:30"), "stand up", "en"),
    ("remind me on weekdays at 8:30 to stand up", WD, at_(30, "08:30"), "stand up", "en"),
    ("remind me monday through friday at 7 to get up", WD, at_(30, "07:00"), "get up", "en"),
    (
        "rappelle-moi en semaine à 8h30 de faire du sport",
        WD,
        at_(30, "08:30"),
        "faire du sport",
        "fr",
    ),
    (
        "rappelle-moi du lundi au vendredi à 8h30 de faire du sport",
        WD,
        at_(30, "08:30"),
        "faire du sport",
        "fr",
    ),
    ("напоминай по будням в 8:30 делать зарядку", WD, at_(30, "08:30"), "делать зарядку", "ru"),
    ("напоминай с понедельника по пятницу в 7 вставать", WD, at_(30, "07:00"), "вставать", "ru"),
    ("remind me every weekend at 10 to clean", WE, at_(29, "10:00"), "clean", "en"),
    (
        "rappelle-moi le week-end à 10h de faire le ménage",
        WE,
        at_(29, "10:00"),
        "faire le ménage",
        "fr",
    ),
    ("напоминай по выходным в 10 убираться", WE, at_(29, "10:00"), "убираться", "ru"),
    # ---- days
    ("remind me every day at 20:00 to read", "FREQ=DAILY", at_(28, "20:00"), "read", "en"),
    ("remind me daily to stretch", "FREQ=DAILY", at_(29, "09:00"), "stretch", "en"),
    ("remind me every morning to meditate", "FREQ=DAILY", at_(29, "09:00"), "meditate", "en"),
    ("remind me every evening at 8 to journal", "FREQ=DAILY", at_(28, "20:00"), "journal", "en"),
    (
        "rappelle-moi tous les jours à 8h de boire de l'eau",
        "FREQ=DAILY",
        at_(29, "08:00"),
        "boire de l'eau",
        "fr",
    ),
    (
        "rappelle-moi chaque jour à 8h de prendre mes médicaments",
        "FREQ=DAILY",
        at_(29, "08:00"),
        "prendre mes médicaments",
        "fr",
    ),
    ("rappelle-moi tous les soirs à 20h d'écrire", "FREQ=DAILY", at_(28, "20:00"), "écrire", "fr"),
    ("напоминай каждый день в 8 пить воду", "FREQ=DAILY", at_(29, "08:00"), "пить воду", "ru"),
    ("напоминай ежедневно пить воду", "FREQ=DAILY", at_(29, "09:00"), "пить воду", "ru"),
    (
        "напоминай каждый вечер в 8 писать дневник",
        "FREQ=DAILY",
        at_(28, "20:00"),
        "писать дневник",
        "ru",
    ),
    ("напоминай по утрам медитировать", "FREQ=DAILY", at_(29, "09:00"), "медитировать", "ru"),
    # ---- intervals
    (
        "remind me every 2 days to water the cactus",
        "FREQ=DAILY;INTERVAL=2",
        at_(29, "09:00"),
        "water the cactus",
        "en",
    ),
    (
        "rappelle-moi un jour sur deux d'arroser",
        "FREQ=DAILY;INTERVAL=2",
        at_(29, "09:00"),
        "arroser",
        "fr",
    ),
    (
        "remind me every other week to call grandma",
        "FREQ=WEEKLY;INTERVAL=2",
        at_(29, "09:00"),
        "call grandma",
        "en",
    ),
    (
        "rappelle-moi toutes les deux semaines d'appeler mamie",
        "FREQ=WEEKLY;INTERVAL=2",
        at_(29, "09:00"),
        "appeler mamie",
        "fr",
    ),
    (
        "напоминай раз в две недели звонить бабушке",
        "FREQ=WEEKLY;INTERVAL=2",
        at_(29, "09:00"),
        "звонить бабушке",
        "ru",
    ),
    (
        "remind me every 2 weeks on friday to pay salary",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=FR",
        at_(4, "09:00", month=12),
        "pay salary",
        "en",
    ),
    (
        "remind me every week to take out the trash",
        "FREQ=WEEKLY",
        at_(29, "09:00"),
        "take out the trash",
        "en",
    ),
    (
        "напоминай раз в неделю поливать цветы",
        "FREQ=WEEKLY",
        at_(29, "09:00"),
        "поливать цветы",
        "ru",
    ),
    # ---- months and years
    (
        "remind me every month on the 15th to pay rent",
        "FREQ=MONTHLY;BYMONTHDAY=15",
        at_(15, "09:00", month=12),
        "pay rent",
        "en",
    ),
    (
        "remind me on the 1st of every month to pay rent",
        "FREQ=MONTHLY;BYMONTHDAY=1",
        at_(1, "09:00", month=12),
        "pay rent",
        "en",
    ),
    (
        "remind me on the 1st of every month at 8:15 to pay rent",
        "FREQ=MONTHLY;BYMONTHDAY=1",
        at_(1, "08:15", month=12),
        "pay rent",
        "en",
    ),
    (
        "rappelle-moi le 1er de chaque mois de payer le loyer",
        "FREQ=MONTHLY;BYMONTHDAY=1",
        at_(1, "09:00", month=12),
        "payer le loyer",
        "fr",
    ),
    (
        "rappelle-moi tous les mois le 5 de payer le loyer",
        "FREQ=MONTHLY;BYMONTHDAY=5",
        at_(5, "09:00", month=12),
        "payer le loyer",
        "fr",
    ),
    (
        "напоминай каждое 1 число платить за квартиру",
        "FREQ=MONTHLY;BYMONTHDAY=1",
        at_(1, "09:00", month=12),
        "платить за квартиру",
        "ru",
    ),
    (
        "напоминай 1-го числа каждого месяца платить за квартиру",
        "FREQ=MONTHLY;BYMONTHDAY=1",
        at_(1, "09:00", month=12),
        "платить за квартиру",
        "ru",
    ),
    (
        "напоминай ежемесячно платить за квартиру",
        "FREQ=MONTHLY",
        at_(29, "09:00"),
        "платить за квартиру",
        "ru",
    ),
    (
        "remind me every year on March 5 about mom's birthday",
        "FREQ=YEARLY",
        at_(5, "09:00", month=3, year=2027),
        "mom's birthday",
        "en",
    ),
    (
        "rappelle-moi chaque année le 5 mars l'anniversaire de maman",
        "FREQ=YEARLY",
        at_(5, "09:00", month=3, year=2027),
        "anniversaire de maman",
        "fr",
    ),
    (
        "напоминай каждый год 5 марта про день рождения мамы",
        "FREQ=YEARLY",
        at_(5, "09:00", month=3, year=2027),
        "день рождения мамы",
        "ru",
    ),
    # ---- hours and minutes, with an end (Paris is UTC+1 in November)
    (
        "remind me every 2 hours until 18:00 to drink water",
        "FREQ=HOURLY;INTERVAL=2;UNTIL=20261128T170000Z",
        at_(28, "12:00"),
        "drink water",
        "en",
    ),
    (
        "rappelle-moi toutes les 2 heures jusqu'à 18h de boire de l'eau",
        "FREQ=HOURLY;INTERVAL=2;UNTIL=20261128T170000Z",
        at_(28, "12:00"),
        "boire de l'eau",
        "fr",
    ),
    (
        "напоминай каждые 2 часа до 18:00 пить воду",
        "FREQ=HOURLY;INTERVAL=2;UNTIL=20261128T170000Z",
        at_(28, "12:00"),
        "пить воду",
        "ru",
    ),
    ("remind me every hour to stretch", "FREQ=HOURLY", at_(28, "11:00"), "stretch", "en"),
    ("remind me hourly to stretch", "FREQ=HOURLY", at_(28, "11:00"), "stretch", "en"),
    (
        "rappelle-moi toutes les heures de m'étirer",
        "FREQ=HOURLY",
        at_(28, "11:00"),
        "m'étirer",
        "fr",
    ),
    ("напоминай каждый час разминаться", "FREQ=HOURLY", at_(28, "11:00"), "разминаться", "ru"),
    ("remind me every hour from 9 to stretch", "FREQ=HOURLY", at_(29, "09:00"), "stretch", "en"),
    (
        "remind me every 30 minutes to stretch",
        "FREQ=MINUTELY;INTERVAL=30",
        at_(28, "10:30"),
        "stretch",
        "en",
    ),
    (
        "rappelle-moi toutes les 30 minutes de m'étirer",
        "FREQ=MINUTELY;INTERVAL=30",
        at_(28, "10:30"),
        "m'étirer",
        "fr",
    ),
    (
        "напоминай каждые 30 минут разминаться",
        "FREQ=MINUTELY;INTERVAL=30",
        at_(28, "10:30"),
        "разминаться",
        "ru",
    ),
    (
        "remind me every 20 minutes until 11 to check the oven",
        "FREQ=MINUTELY;INTERVAL=20;UNTIL=20261128T100000Z",
        at_(28, "10:20"),
        "check the oven",
        "en",
    ),
    # ---- an end that is a date: the end of that day, local, in UTC
    (
        "remind me every day until Friday to take the pills",
        "FREQ=DAILY;UNTIL=20261204T225959Z",
        at_(29, "09:00"),
        "take the pills",
        "en",
    ),
    (
        "remind me every day at 9 until friday to take the pills",
        "FREQ=DAILY;UNTIL=20261204T225959Z",
        at_(29, "09:00"),
        "take the pills",
        "en",
    ),
    (
        "rappelle-moi tous les jours jusqu'au 5 décembre de prendre le traitement",
        "FREQ=DAILY;UNTIL=20261205T225959Z",
        at_(29, "09:00"),
        "prendre le traitement",
        "fr",
    ),
    (
        "напоминай каждый день до пятницы пить таблетки",
        "FREQ=DAILY;UNTIL=20261204T225959Z",
        at_(29, "09:00"),
        "пить таблетки",
        "ru",
    ),
]


@pytest.mark.parametrize(("text", "repeat", "at", "words", "lang"), CASES)
def test_a_repeat_is_read_with_its_first_time_and_text(text, repeat, at, words, lang):
    got = parse(text, NOW, PAR)
    assert got["intent"] == "remind", got
    assert got["repeat"] == repeat, got
    assert datetime.fromisoformat(got["at"]) == datetime.fromisoformat(at), got
    assert got["at"] == at, got  # in --tz, offset included
    assert got["text"] == words, got
    assert got["lang"] == lang, got


@pytest.mark.parametrize(
    ("text", "repeat", "at"),
    [
        # 25 October 2026: Paris goes from +02:00 to +01:00 at 03:00; 08:00 stays 08:00
        ("remind me every day at 8 to take my pills", "FREQ=DAILY", "2026-10-25T08:00:00+01:00"),
        (
            "rappelle-moi chaque jour à 8h de prendre mes médicaments",
            "FREQ=DAILY",
            "2026-10-25T08:00:00+01:00",
        ),
        ("напоминай каждый день в 8 пить таблетки", "FREQ=DAILY", "2026-10-25T08:00:00+01:00"),
        # from a Saturday, the coming Monday (after the change)
        ("remind me every monday at 9 to call mom", MO, "2026-10-26T09:00:00+01:00"),
        ("rappelle-moi tous les lundis à 9h d'appeler maman", MO, "2026-10-26T09:00:00+01:00"),
        ("напомни каждый понедельник в 9 позвонить маме", MO, "2026-10-26T09:00:00+01:00"),
        # an end said as an hour: that day, before the change (+02:00 -> 16:00 UTC)
        (
            "remind me every 2 hours until 18:00 to drink",
            "FREQ=HOURLY;INTERVAL=2;UNTIL=20261024T160000Z",
            "2026-10-24T12:00:00+02:00",
        ),
        # until Monday, after the change: 23:59:59 at +01:00 is 22:59:59 UTC
        (
            "remind me every day at 8 until monday to stretch",
            "FREQ=DAILY;UNTIL=20261026T225959Z",
            "2026-10-25T08:00:00+01:00",
        ),
    ],
)
def test_repeats_across_the_change_of_daylight_saving_time(text, repeat, at):
    got = parse(text, DST_NOW, PAR)
    assert got["intent"] == "remind", got
    assert (got["repeat"], got["at"]) == (repeat, at), got


def test_the_first_time_is_strictly_after_the_message():
    # Monday 09:00 itself: the next Monday; 08:59: today
    got = parse("remind me every monday at 9 to call mom", "2026-11-30T09:00:00", PAR)
    assert got["at"] == "2026-12-07T09:00:00+01:00", got
    got = parse("remind me every monday at 9 to call mom", "2026-11-30T08:59:00", PAR)
    assert got["at"] == "2026-11-30T09:00:00+01:00", got
    # a 31st: the next month that has one
    got = parse("remind me every month on the 31st to pay", "2026-11-28T10:00:00", PAR)
    assert (got["repeat"], got["at"]) == ("FREQ=MONTHLY;BYMONTHDAY=31", "2026-12-31T09:00:00+01:00")
    # every hour from 9, said before 9: today at 9
    got = parse("remind me every hour from 9 to stretch", "2026-11-28T07:30:00", PAR)
    assert got["at"] == "2026-11-28T09:00:00+01:00", got


def test_a_time_zone_other_than_utc_gives_until_in_utc():
    got = parse(
        "remind me every 2 hours until 6pm to drink", "2026-11-28T10:00:00", "America/New_York"
    )
    assert got["repeat"] == "FREQ=HOURLY;INTERVAL=2;UNTIL=20261128T230000Z", got
    assert got["at"] == "2026-11-28T12:00:00-05:00", got


@pytest.mark.parametrize(
    ("text", "at", "words"),
    [
        ("remind me tomorrow at 9 to call mom", at_(29, "09:00"), "call mom"),
        ("remind me tomorrow to water every plant", at_(29, "09:00"), "water every plant"),
        ("remind me about my daily standup tomorrow at 9", at_(29, "09:00"), "my daily standup"),
        ("remind me to buy a weekly pass tomorrow", at_(29, "09:00"), "buy a weekly pass"),
        ("remind me on monday at 9 to call mom", at_(30, "09:00"), "call mom"),
        ("rappelle-moi lundi à 9h d'appeler maman", at_(30, "09:00"), "appeler maman"),
        (
            "rappelle-moi demain de payer toutes les factures",
            at_(29, "09:00"),
            "payer toutes les factures",
        ),
        ("напомни в понедельник в 9 позвонить маме", at_(30, "09:00"), "позвонить маме"),
        ("remind me in 2 hours to stretch", at_(28, "12:00"), "stretch"),
        (
            "remind me tomorrow at 9 to check the hourly report",
            at_(29, "09:00"),
            "check the hourly report",
        ),
    ],
)
def test_a_reminder_said_once_has_no_repeat(text, at, words):
    got = parse(text, NOW, PAR)
    assert got["intent"] == "remind", got
    assert got["repeat"] is None, got
    assert (got["at"], got["text"]) == (at, words), got


def test_until_words_are_never_the_reminders_time():
    # without the repeat, "until 18:00" would have been read as the time
    got = parse("remind me every 2 hours until 18:00 to drink water", NOW, PAR)
    assert got["at"] != at_(28, "18:00"), got
    assert "until" not in got["text"] and "18" not in got["text"], got


def test_the_channel_is_kept_with_a_repeat():
    got = parse("remind me by call every monday at 9 to call mom", NOW, PAR)
    assert (got["channel"], got["repeat"], got["text"]) == ("call", MO, "call mom"), got


def test_the_typed_command_carries_the_repeat():
    cmd = command_of(parse("remind me every monday at 9 to call mom", NOW, PAR))
    assert isinstance(cmd, Remind)
    assert cmd.repeat == MO
    assert cmd.at == datetime.fromisoformat(at_(30, "09:00"))
    assert cmd.text == "call mom"
    once = command_of(parse("remind me tomorrow at 9 to call mom", NOW, PAR))
    assert isinstance(once, Remind) and once.repeat is None
    # a repeat of the wrong type reads as none, never raises
    odd = command_of({"intent": "remind", "at": at_(30, "09:00"), "repeat": ["FREQ=DAILY"]})
    assert isinstance(odd, Remind) and odd.repeat is None


def test_the_repeat_is_a_valid_rrule_for_dateutil():
    from dateutil.rrule import rrulestr

    got = parse("remind me every monday and thursday at 9 until december 24 to call mom", NOW, PAR)
    start = datetime.fromisoformat(got["at"]).replace(tzinfo=None)
    rule = got["repeat"].replace("UNTIL=20261224T225959Z", "UNTIL=20261224T235959")
    dates = list(rrulestr(rule, dtstart=start))
    assert dates[0] == start
    assert [d.strftime("%a %d") for d in dates] == [
        "Mon 30", "Thu 03", "Mon 07", "Thu 10", "Mon 14", "Thu 17", "Mon 21", "Thu 24"
    ]  # fmt: skip


# ---- rules no RECUR value can state, and the rarer parts (read at 2026-12-01 09:07, a
# Tuesday, in Paris: the user test's moment)
USER_NOW = "2026-12-01T09:07:00"


def dec_(day: int, hm: str, month: int = 12, year: int = 2026) -> str:
    return f"{year}-{month:02d}-{day:02d}T{hm}:00+01:00"


LAST = "FREQ=MONTHLY;BYMONTHDAY=-1"
LEAP = "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29"


@pytest.mark.parametrize(
    ("text", "repeat", "at", "words"),
    [
        # the last day of the month: BYMONTHDAY=-1 (RFC 5545 3.3.10), never a garbled text
        ("remind me on the last day of every month to pay", LAST, dec_(31, "09:00"), "pay"),
        ("remind me every month on the last day to pay", LAST, dec_(31, "09:00"), "pay"),
        ("remind me every last day of the month to pay", LAST, dec_(31, "09:00"), "pay"),
        ("rappelle-moi le dernier jour de chaque mois de payer", LAST, dec_(31, "09:00"), "payer"),
        ("rappelle-moi chaque mois le dernier jour de payer", LAST, dec_(31, "09:00"), "payer"),
        ("напомни в последний день каждого месяца заплатить", LAST, dec_(31, "09:00"), "заплатить"),
        ("напоминай каждый последний день месяца платить", LAST, dec_(31, "09:00"), "платить"),
        # 29 February: only leap years have it, so it is stated; `at` is the next one
        (
            "remind me every year on 29 february at 9 to celebrate",
            LEAP,
            dec_(29, "09:00", 2, 2028),
            "celebrate",
        ),
        ("remind me every february 29 to celebrate", LEAP, dec_(29, "09:00", 2, 2028), "celebrate"),
        (
            "rappelle-moi chaque année le 29 février à 9h de fêter",
            LEAP,
            dec_(29, "09:00", 2, 2028),
            "fêter",
        ),
        (
            "напоминай каждый год 29 февраля в 9 праздновать",
            LEAP,
            dec_(29, "09:00", 2, 2028),
            "праздновать",
        ),
        # any other date of every year is still the time reader's (`at` carries it)
        (
            "remind me every year on 14 february to buy flowers",
            "FREQ=YEARLY",
            dec_(14, "09:00", 2, 2027),
            "buy flowers",
        ),
        # a span in the rule's own unit: COUNT (after the other parts)
        (
            "remind me every day at 8 for 3 days to walk",
            "FREQ=DAILY;COUNT=3",
            dec_(2, "08:00"),
            "walk",
        ),
        (
            "rappelle-moi tous les jours à 8h pendant 3 jours de marcher",
            "FREQ=DAILY;COUNT=3",
            dec_(2, "08:00"),
            "marcher",
        ),
        (
            "напоминай каждый день в 8 в течение 3 дней гулять",
            "FREQ=DAILY;COUNT=3",
            dec_(2, "08:00"),
            "гулять",
        ),
        ("remind me every monday for 3 weeks to run", f"{MO};COUNT=3", dec_(7, "09:00"), "run"),
        (
            "remind me every month on the 15th for 6 months to pay",
            "FREQ=MONTHLY;BYMONTHDAY=15;COUNT=6",
            dec_(15, "09:00"),
            "pay",
        ),
        # ... else UNTIL: the end of the span's last day (from the day of `at`), in UTC
        (
            "remind me every day at 8 for 2 weeks to walk",
            "FREQ=DAILY;UNTIL=20261215T225959Z",
            dec_(2, "08:00"),
            "walk",
        ),
        (
            "remind me every monday and thursday for 2 weeks to run",
            "FREQ=WEEKLY;BYDAY=MO,TH;UNTIL=20261216T225959Z",
            dec_(3, "09:00"),
            "run",
        ),
        (
            "напоминай каждый день в течение недели тянуться",
            "FREQ=DAILY;UNTIL=20261208T225959Z",
            dec_(2, "09:00"),
            "тянуться",
        ),
        (
            "rappelle-moi chaque jour pendant une semaine de m'étirer",
            "FREQ=DAILY;UNTIL=20261208T225959Z",
            dec_(2, "09:00"),
            "m'étirer",
        ),
        # hours: the message's moment plus the span (09:07 + 2 h = 10:07 at +01:00)
        (
            "remind me every 30 minutes for 2 hours to drink",
            "FREQ=MINUTELY;INTERVAL=30;UNTIL=20261201T100700Z",
            dec_(1, "09:37"),
            "drink",
        ),
        # a span shorter than the rule's unit is the reminder's words
        (
            "remind me every day to study for 2 hours",
            "FREQ=DAILY",
            dec_(2, "09:00"),
            "study for 2 hours",
        ),
        # "second" is "other" before a unit or a day, and one minute stays a rule
        (
            "remind me every second monday to x",
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO",
            dec_(7, "09:00"),
            "x",
        ),
        ("remind me every 1 minute to blink", "FREQ=MINUTELY", dec_(1, "09:08"), "blink"),
    ],
)
def test_last_days_leap_days_and_spans(text, repeat, at, words):
    got = parse(text, USER_NOW, PAR)
    assert got["intent"] == "remind", got
    assert (got["repeat"], got["at"], got["text"]) == (repeat, at, words), got
    assert "error" not in got and "repeat_error" not in got, got


@pytest.mark.parametrize(
    ("text", "code", "words"),
    [
        # no day 32 (or 0) in a month
        ("remind me on the 32nd of every month to pay", "no_such_day", "pay"),
        ("remind me every 32nd to pay", "no_such_day", "pay"),
        ("remind me every month on the 0th to pay", "no_such_day", "pay"),
        ("rappelle-moi le 32 de chaque mois de payer", "no_such_day", "payer"),
        ("напоминай каждое 32 число платить", "no_such_day", "платить"),
        # no 30 February, no 31 April, in any year
        ("remind me every february 30 to party", "no_such_day", "party"),
        ("remind me every year on april 31 to plant", "no_such_day", "plant"),
        ("rappelle-moi chaque 30 février de faire la fête", "no_such_day", "faire la fête"),
        ("напоминай каждый год 30 февраля праздновать", "no_such_day", "праздновать"),
        # no 25:00
        ("remind me every day at 25:00 to sleep", "no_such_time", "sleep"),
        ("remind me every day at 9:75 to stretch", "no_such_time", "stretch"),
        ("remind me every monday at 25 to run", "no_such_time", "run"),
        ("rappelle-moi tous les jours à 25h de dormir", "no_such_time", "dormir"),
        ("напоминай каждый день в 25:00 спать", "no_such_time", "спать"),
        # a zero interval
        ("remind me every 0 days to breathe", "zero", "breathe"),
        ("remind me every 0 minutes to breathe", "zero", "breathe"),
        ("remind me every day for 0 days to breathe", "zero", "breathe"),
        ("rappelle-moi toutes les 0 heures de boire", "zero", "boire"),
        ("напоминай каждые 0 дней дышать", "zero", "дышать"),
        # seconds
        ("remind me every 30 seconds to blink", "too_often", "blink"),
        ("remind me every second to blink", "too_often", "blink"),
        ("rappelle-moi toutes les 30 secondes de cligner", "too_often", "cligner"),
        ("напоминай каждые 30 секунд моргать", "too_often", "моргать"),
        ("напоминай каждую секунду моргать", "too_often", "моргать"),
    ],
)
def test_a_rule_that_cannot_be_is_an_error_with_a_code(text, code, words):
    got = parse(text, USER_NOW, PAR)
    assert got["intent"] == "remind", got
    assert (got["at"], got["repeat"]) == (None, None), got
    assert got["repeat_error"] == code, got
    assert (
        got["error"]
        == {
            "zero": "zero interval",
            "too_often": "seconds are too often",
            "no_such_day": "no such day",
            "no_such_time": "no such time",
        }[code]
    ), got
    assert got["text"] == words, got  # none of the unread date or time words are kept
    cmd = command_of(got)
    assert isinstance(cmd, Remind) and (cmd.repeat_error, cmd.at) == (code, None)


def test_a_time_that_does_not_exist_said_once_is_asked_again():
    got = parse("remind me tomorrow at 25:00 to sleep", USER_NOW, PAR)
    assert (got["at"], got["repeat"], got["text"]) == (None, None, "sleep"), got
    assert got["error"] == "no such time" and "repeat_error" not in got, got


def test_a_count_and_a_leap_day_are_valid_rrules_for_dateutil():
    from dateutil.rrule import rrulestr

    got = parse("remind me every day at 8 for 3 days to walk", USER_NOW, PAR)
    start = datetime.fromisoformat(got["at"]).replace(tzinfo=None)
    assert [d.day for d in rrulestr(got["repeat"], dtstart=start)] == [2, 3, 4]
    got = parse("remind me every year on 29 february at 9 to celebrate", USER_NOW, PAR)
    start = datetime.fromisoformat(got["at"]).replace(tzinfo=None)
    years = [d.year for d in list(rrulestr(got["repeat"], dtstart=start, cache=False)[:3])]
    assert years == [2028, 2032, 2036]
    got = parse("remind me on the last day of every month to pay", USER_NOW, PAR)
    start = datetime.fromisoformat(got["at"]).replace(tzinfo=None)
    days = [d.strftime("%m-%d") for d in rrulestr(got["repeat"], dtstart=start)[:3]]
    assert days == ["12-31", "01-31", "02-28"]


# ---- a window of the day ("from 9 to 18") repeats every day; an end already past is an error
WIN_NOW = "2026-12-01T10:30:00"  # a Tuesday, Paris at +01:00
HOURS_9_18 = "FREQ=DAILY;BYHOUR=9,10,11,12,13,14,15,16,17,18;BYMINUTE=0"


@pytest.mark.parametrize(
    ("text", "now", "repeat", "at", "words"),
    [
        ("remind me every hour from 9 to 18 to drink water", WIN_NOW, HOURS_9_18,
         dec_(1, "11:00"), "drink water"),
        ("rappelle-moi toutes les heures de 9h à 18h de boire de l'eau", WIN_NOW, HOURS_9_18,
         dec_(1, "11:00"), "boire de l'eau"),
        ("напоминай каждый час с 9 до 18 пить воду", WIN_NOW, HOURS_9_18, dec_(1, "11:00"),
         "пить воду"),
        ("remind me every hour from 9 until 18 to drink", WIN_NOW, HOURS_9_18,
         dec_(1, "11:00"), "drink"),
        # after the end: the start, tomorrow
        ("remind me every hour from 9 to 18 to drink water", "2026-12-01T19:00:00",
         HOURS_9_18, dec_(2, "09:00"), "drink water"),
        ("remind me every 2 hours from 8 to 20 to drink water", WIN_NOW,
         "FREQ=DAILY;BYHOUR=8,10,12,14,16,18,20;BYMINUTE=0", dec_(1, "12:00"), "drink water"),
        ("rappelle-moi toutes les 2 heures de 8h à 20h de boire", "2026-12-01T19:00:00",
         "FREQ=DAILY;BYHOUR=8,10,12,14,16,18,20;BYMINUTE=0", dec_(1, "20:00"), "boire"),
        ("напоминай каждые 2 часа с 8 до 20 пить воду", WIN_NOW,
         "FREQ=DAILY;BYHOUR=8,10,12,14,16,18,20;BYMINUTE=0", dec_(1, "12:00"), "пить воду"),
        # BYSETPOS keeps 09:00 to 11:00 out of 9, 10, 11 x 0, 30 (no 11:30)
        ("remind me every 30 minutes between 9 and 11 to stretch", WIN_NOW,
         "FREQ=DAILY;BYHOUR=9,10,11;BYMINUTE=0,30;BYSETPOS=1,2,3,4,5", dec_(1, "11:00"),
         "stretch"),
        ("rappelle-moi toutes les 30 minutes entre 9h et 11h de m'étirer", "2026-12-01T10:00:00",
         "FREQ=DAILY;BYHOUR=9,10,11;BYMINUTE=0,30;BYSETPOS=1,2,3,4,5", dec_(1, "10:30"),
         "m'étirer"),
        ("напоминай каждые 30 минут с 9 до 11 разминаться", "2026-12-01T11:00:00",
         "FREQ=DAILY;BYHOUR=9,10,11;BYMINUTE=0,30;BYSETPOS=1,2,3,4,5", dec_(2, "09:00"),
         "разминаться"),
        # a span of days is UNTIL (COUNT would count times, not days)
        ("remind me every hour from 9 to 18 for 3 days to drink", WIN_NOW,
         HOURS_9_18 + ";UNTIL=20261203T225959Z", dec_(1, "11:00"), "drink"),
    ],
)  # fmt: skip
def test_a_window_of_the_day_repeats_every_day(text, now, repeat, at, words):
    got = parse(text, now, PAR)
    assert got["intent"] == "remind", got
    assert (got["repeat"], got["at"], got["text"]) == (repeat, at, words), got
    assert "repeat_error" not in got, got


def test_a_window_gives_the_same_hours_each_day_for_dateutil():
    from dateutil.rrule import rrulestr

    def times(text: str, n: int) -> list[str]:
        got = parse(text, WIN_NOW, PAR)
        start = datetime.fromisoformat(got["at"]).replace(tzinfo=None)
        return [d.strftime("%d %H:%M") for d in rrulestr(got["repeat"], dtstart=start)[:n]]

    assert times("remind me every hour from 9 to 18 to drink", 10)[-3:] == [
        "01 18:00",
        "02 09:00",
        "02 10:00",
    ]
    assert times("remind me every 30 minutes between 9 and 11 to stretch", 7) == [
        "01 11:00",
        "02 09:00",
        "02 09:30",
        "02 10:00",
        "02 10:30",
        "02 11:00",
        "03 09:00",
    ]


@pytest.mark.parametrize(
    ("text", "now", "words"),
    [
        ("remind me every 2 hours until 18:00 to drink water", "2026-12-01T19:00:00",
         "drink water"),
        ("rappelle-moi toutes les 2 heures jusqu'à 18h de boire de l'eau",
         "2026-12-01T19:00:00", "boire de l'eau"),
        ("напоминай каждые 2 часа до 18:00 пить воду", "2026-12-01T19:00:00", "пить воду"),
        # not ended yet, but the first time (19:00) would be after it
        ("remind me every 2 hours until 18:00 to drink water", "2026-12-01T17:00:00",
         "drink water"),
        ("remind me every hour until 18:00 to drink", "2026-12-01T18:00:00", "drink"),
    ],
)  # fmt: skip
def test_an_end_hour_already_past_is_an_error(text, now, words):
    got = parse(text, now, PAR)
    assert got["intent"] == "remind", got
    assert (got["at"], got["repeat"], got["text"]) == (None, None, words), got
    assert (got["repeat_error"], got["error"]) == ("ended", "the end has passed"), got
    cmd = command_of(got)
    assert isinstance(cmd, Remind) and (cmd.repeat_error, cmd.at) == ("ended", None)


@pytest.mark.parametrize(
    ("text", "now", "repeat", "at"),
    [
        ("remind me every 2 hours until 18:00 to drink water", "2026-12-01T10:00:00",
         "FREQ=HOURLY;INTERVAL=2;UNTIL=20261201T170000Z", dec_(1, "12:00")),
        ("напоминай каждые 2 часа до 18:00 пить воду", "2026-12-01T10:00:00",
         "FREQ=HOURLY;INTERVAL=2;UNTIL=20261201T170000Z", dec_(1, "12:00")),
        # the first time is the end itself: that one time, today (UNTIL is inclusive)
        ("remind me every hour until 18:00 to drink", "2026-12-01T17:00:00",
         "FREQ=HOURLY;UNTIL=20261201T170000Z", dec_(1, "18:00")),
    ],
)  # fmt: skip
def test_an_end_hour_still_ahead_ends_today(text, now, repeat, at):
    got = parse(text, now, PAR)
    assert (got["repeat"], got["at"]) == (repeat, at), got
    assert "repeat_error" not in got, got
