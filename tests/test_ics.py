"""calendars.ics: alarms of real iCalendar files (recurrences, zones, overrides) and export."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from calendars.ics import ALL_DAY_AT, CalendarError, ExportItem, alarms, export
from domain.recurrence import between

DATA = Path(__file__).parent / "data" / "ics"
PARIS = "Europe/Paris"
FIFTEEN = timedelta(minutes=15)
STANDUP = "weekly-standup@example.org"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


OCTOBER, DECEMBER = utc(2026, 10, 1), utc(2026, 12, 1)


def read(name: str, zone: str = PARIS, start=OCTOBER, end=DECEMBER, **kw):
    return alarms(
        (DATA / name).read_bytes(), zone=zone, start=start, end=end, default_before=FIFTEEN, **kw
    )


def by_key(found):
    return {alarm.key: alarm.fire_at for alarm in found}


def test_weekly_with_exdate_and_moved_instance():
    found = read("paris_weekly_v1.ics")
    assert by_key(found) == {
        f"{STANDUP}/20261005T080000Z/0": utc(2026, 10, 5, 7, 30),
        # 12 Oct is an EXDATE; 19 Oct moved to Tuesday 20 Oct 14:30 CEST.
        "lunch@example.org/once/d": utc(2026, 10, 15, 10, 15),
        f"{STANDUP}/20261019T080000Z/0": utc(2026, 10, 20, 12, 0),
        # After 25 Oct Paris is UTC+1: still 10:00 local.
        f"{STANDUP}/20261026T090000Z/0": utc(2026, 10, 26, 8, 30),
        f"{STANDUP}/20261102T090000Z/0": utc(2026, 11, 2, 8, 30),
        f"{STANDUP}/20261109T090000Z/0": utc(2026, 11, 9, 8, 30),
        f"{STANDUP}/20261116T090000Z/0": utc(2026, 11, 16, 8, 30),
        f"{STANDUP}/20261123T090000Z/0": utc(2026, 11, 23, 8, 30),
        f"{STANDUP}/20261130T090000Z/0": utc(2026, 11, 30, 8, 30),  # UNTIL is inclusive
    }
    assert [a.fire_at for a in found] == sorted(a.fire_at for a in found)
    moved = next(a for a in found if a.key == f"{STANDUP}/20261019T080000Z/0")
    assert moved.summary == "Stand-up (moved to Tuesday)" and moved.location == "Room 2"
    assert moved.start == utc(2026, 10, 20, 12, 30) and moved.from_valarm and not moved.all_day
    lunch = next(a for a in found if a.key.startswith("lunch@"))
    assert not lunch.from_valarm and lunch.start == utc(2026, 10, 15, 10, 30)


def test_moved_again_cancelled_and_deleted_between_two_reads():
    before, after = by_key(read("paris_weekly_v1.ics")), by_key(read("paris_weekly_v2.ics"))
    moved = f"{STANDUP}/20261019T080000Z/0"
    assert before[moved] == utc(2026, 10, 20, 12, 0)
    assert after[moved] == utc(2026, 10, 21, 6, 30)  # same key, new time
    assert f"{STANDUP}/20261102T090000Z/0" in before
    assert f"{STANDUP}/20261102T090000Z/0" not in after  # cancelled instance
    assert "lunch@example.org/once/d" not in after  # deleted event
    unchanged = set(before) - {moved, f"{STANDUP}/20261102T090000Z/0"}
    unchanged.discard("lunch@example.org/once/d")
    assert {k: after[k] for k in unchanged} == {k: before[k] for k in unchanged}


def test_window_is_over_fire_times():
    # The 5 Oct stand-up starts 08:00 UTC; its alarm (07:30) is in [07:00, 07:45) …
    found = read("paris_weekly_v1.ics", start=utc(2026, 10, 5, 7), end=utc(2026, 10, 5, 7, 45))
    assert [a.key for a in found] == [f"{STANDUP}/20261005T080000Z/0"]
    # … and not in [07:31, 09:00) although the event is.
    assert read("paris_weekly_v1.ics", start=utc(2026, 10, 5, 7, 31), end=utc(2026, 10, 5, 9)) == []
    # start is inclusive, end exclusive.
    assert (
        len(read("paris_weekly_v1.ics", start=utc(2026, 10, 5, 7, 30), end=utc(2026, 10, 5, 7, 31)))
        == 1
    )
    assert read("paris_weekly_v1.ics", start=utc(2026, 10, 5, 7), end=utc(2026, 10, 5, 7, 30)) == []


def test_all_day_events():
    found = read("all_day.ics")
    birthday = next(a for a in found if a.key == "birthday@example.org/once/d")
    # 25 Oct 2026, the day Paris leaves summer time: midnight is CEST, 09:00 is CET.
    assert birthday.all_day and not birthday.from_valarm
    assert birthday.start == utc(2026, 10, 24, 22)
    assert birthday.fire_at == utc(2026, 10, 25, 8) and ALL_DAY_AT.hour == 9
    armistice = next(a for a in found if a.key == "holiday@example.org/20261111/0")
    assert armistice.fire_at == utc(2026, 11, 10, 8)  # -PT15H: 09:00 the day before
    assert armistice.start == utc(2026, 11, 10, 23) and armistice.from_valarm
    # The same file read by a user in New York: the dates are theirs.
    ny = by_key(read("all_day.ics", zone="America/New_York"))
    assert ny["birthday@example.org/once/d"] == utc(2026, 10, 25, 13)


def test_new_york_event_read_in_paris():
    found = read("new_york.ics")
    assert [(a.key, a.fire_at) for a in found] == [
        ("ny-call@example.com/20261020T130000Z/0", utc(2026, 10, 20, 12, 50)),
        # 27 Oct: Paris has changed (25 Oct), New York not yet: still 09:00 EDT.
        ("ny-call@example.com/20261027T130000Z/0", utc(2026, 10, 27, 12, 50)),
        # From 1 Nov New York is on EST: 09:00 is 14:00 UTC.
        ("ny-call@example.com/20261103T140000Z/0", utc(2026, 11, 3, 13, 50)),
        ("ny-call@example.com/20261110T140000Z/0", utc(2026, 11, 10, 13, 50)),
    ]
    assert found[2].start == utc(2026, 11, 3, 14) and found[2].location == "Zoom"


def test_google_feed_with_x_wr_timezone():
    # Read by a user in New York: the feed's own zone (X-WR-TIMEZONE) rules its times.
    found = read("google.ics", zone="America/New_York")
    medicine = [a.start for a in found if a.summary == "Medicine"]
    # DTSTART 08:00 UTC is 10:00 in Paris; the daily repeat stays 10:00 Paris time.
    assert medicine == [
        utc(2026, 10, 23, 8),
        utc(2026, 10, 24, 8),
        utc(2026, 10, 25, 9),
        utc(2026, 10, 26, 9),
        utc(2026, 10, 27, 9),
    ]
    lunch = next(a for a in found if a.summary == "Floating lunch")
    assert lunch.start == utc(2026, 10, 26, 11)  # 12:00 floating, in Paris
    assert lunch.fire_at == utc(2026, 10, 26, 10, 45)


def test_floating_time_without_x_wr_timezone_is_read_in_the_users_zone():
    ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:f@x\r\n"
        "DTSTAMP:20260901T000000Z\r\nDTSTART:20261026T120000\r\nSUMMARY:F\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\n"
    )
    for zone, start in ((PARIS, utc(2026, 10, 26, 11)), ("Asia/Tokyo", utc(2026, 10, 26, 3))):
        (alarm,) = alarms(
            ics, zone=zone, start=utc(2026, 10, 1), end=utc(2026, 11, 1), default_before=FIFTEEN
        )
        assert alarm.start == start and alarm.key == "f@x/once/d"


def test_triggers_cancelled_and_silent_events():
    found = read("triggers.ics")
    workshop = {a.key: a.fire_at for a in found if a.summary == "Workshop"}
    assert workshop == {
        "triggers@example.org/once/0": utc(2026, 11, 5, 13, 30),  # -PT30M
        "triggers@example.org/once/1": utc(2026, 11, 5, 15, 55),  # RELATED=END
        "triggers@example.org/once/2": utc(2026, 11, 1, 9),  # absolute
    }
    summaries = {a.summary for a in found}
    assert "Cancelled meeting" not in summaries  # STATUS:CANCELLED
    assert "No alarm wanted" not in summaries  # only an ACTION:NONE alarm
    (no_uid,) = [a for a in found if a.summary == "No UID"]
    assert no_uid.key.startswith("nouid-") and no_uid.fire_at == utc(2026, 11, 8, 13, 45)
    assert no_uid.key == next(a.key for a in read("triggers.ics") if a.summary == "No UID")


def test_absolute_trigger_far_from_its_event():
    found = read("triggers.ics", start=utc(2026, 11, 1), end=utc(2026, 11, 2))
    assert [a.key for a in found] == ["triggers@example.org/once/2"]


def test_too_many_occurrences_refused():
    with pytest.raises(CalendarError) as caught:  # every 5 minutes for a week: 2,016
        read("minutely.ics", start=utc(2026, 10, 1), end=utc(2026, 10, 8), max_events=1000)
    assert caught.value.code == "too_many"


HOSTILE = [
    "RRULE:FREQ=DAILY;INTERVAL=0",  # dateutil would loop for ever
    "RRULE:FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=30",  # never: searched for years
    "RRULE:FREQ=SECONDLY",
    "RRULE:FREQ=MINUTELY",  # more often than every 5 minutes
]


@pytest.mark.parametrize("rule", HOSTILE)
def test_an_event_that_cannot_be_expanded_safely_is_left_out_alone(rule):
    ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n"
        "BEGIN:VEVENT\r\nUID:ok\r\nDTSTART:20261005T100000Z\r\nSUMMARY:ok\r\nEND:VEVENT\r\n"
        f"BEGIN:VEVENT\r\nUID:bad\r\nDTSTART:20261005T100000Z\r\n{rule}\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:no-start\r\nSUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    found = alarms(ics, zone=PARIS, start=OCTOBER, end=DECEMBER, default_before=FIFTEEN)
    assert [a.key for a in found] == ["ok/once/d"]


def test_what_the_libraries_refuse_is_not_ical():
    broken = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:ok\r\n"
        "DTSTART:20261005T100000Z\r\nDURATION:-P1000000D\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    with pytest.raises(CalendarError) as caught:
        alarms(broken, zone=PARIS, start=OCTOBER, end=DECEMBER, default_before=FIFTEEN)
    assert caught.value.code == "not_ical"
    with pytest.raises(CalendarError) as caught:
        read("paris_weekly_v1.ics", max_events=3)
    assert caught.value.code == "too_many"


@pytest.mark.parametrize(
    "text",
    [
        b"",
        b"hello",
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:A\r\nEND:VCARD\r\n",
        b"\x89PNG\r\n\x1a\n\x00",
    ],
)
def test_not_ical(text):
    with pytest.raises(CalendarError) as caught:
        alarms(text, zone=PARIS, start=utc(2026, 1, 1), end=utc(2026, 2, 1), default_before=FIFTEEN)
    assert caught.value.code == "not_ical"


def test_bad_arguments():
    ics = (DATA / "new_york.ics").read_bytes()
    with pytest.raises(ValueError, match="aware"):
        alarms(
            ics, zone=PARIS, start=datetime(2026, 1, 1), end=utc(2026, 2, 1), default_before=FIFTEEN
        )
    with pytest.raises(ValueError, match="zone"):
        alarms(
            ics,
            zone="Nowhere/Land",
            start=utc(2026, 1, 1),
            end=utc(2026, 2, 1),
            default_before=FIFTEEN,
        )


def test_export_round_trip():
    items = [
        ExportItem("r1@encryptotel", "Pay the rent", utc(2026, 10, 24, 16), None, "call"),
        # Every day at 08:00 Paris, across the 25 Oct change.
        ExportItem(
            "r2@encryptotel", "Medicine", utc(2026, 10, 23, 6), "FREQ=DAILY;COUNT=5", "message"
        ),
        # Floating UNTIL (local): exported in UTC as RFC 5545 requires with a TZID start.
        ExportItem(
            "r3@encryptotel",
            "Call mom",
            utc(2026, 10, 19, 7),
            "FREQ=WEEKLY;BYDAY=MO;UNTIL=20261109T090000",
            "call",
        ),
    ]
    data = export(items, zone=PARIS)
    calendar = icalendar.Calendar.from_ical(data)
    assert calendar["VERSION"] == "2.0" and calendar["PRODID"] == "-//EncryptoTel//Reminders//EN"
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == [PARIS]
    events = calendar.walk("VEVENT")
    assert [str(e["X-ENCRYPTOTEL-CHANNEL"]) for e in events] == ["call", "message", "call"]
    assert all(e.get("DTSTAMP") and e["DURATION"].dt == FIFTEEN for e in events)
    assert b"UNTIL=20261109T080000Z" in data
    assert b"DTSTART;TZID=Europe/Paris:20261023T080000" in data

    found = alarms(
        data,
        zone="Asia/Tokyo",
        start=utc(2026, 10, 1),
        end=utc(2026, 12, 1),
        default_before=FIFTEEN,
    )
    assert all(a.from_valarm and a.fire_at == a.start for a in found)
    got = {uid: [a.fire_at for a in found if a.key.startswith(uid)] for uid in ("r1", "r2", "r3")}
    assert got["r1"] == [utc(2026, 10, 24, 16)]
    for item, uid in ((items[1], "r2"), (items[2], "r3")):
        wall = item.start.astimezone(ZoneInfo(PARIS)).replace(tzinfo=None)
        expected = [item.start] + between(item.rule, wall, PARIS, item.start, utc(2026, 12, 1))
        assert got[uid] == expected
    assert got["r2"][-1] == utc(2026, 10, 27, 7)
    # 09:00 Paris every Monday, the last one on the UNTIL (inclusive).
    assert got["r3"] == [
        utc(2026, 10, 19, 7),
        utc(2026, 10, 26, 8),
        utc(2026, 11, 2, 8),
        utc(2026, 11, 9, 8),
    ]


def test_export_refuses_bad_items():
    with pytest.raises(ValueError, match="channel"):
        export([ExportItem("u", "s", utc(2026, 1, 1), None, "pigeon")], zone=PARIS)
    with pytest.raises(ValueError, match="aware"):
        export([ExportItem("u", "s", datetime(2026, 1, 1), None, "call")], zone=PARIS)
    with pytest.raises(ValueError):
        export([ExportItem("u", "s", utc(2026, 1, 1), "FREQ=SECONDLY", "call")], zone=PARIS)
