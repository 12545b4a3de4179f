"""The user's calendars, against real peers: Radicale (Debian's CalDAV server) and a local
iCalendar feed, connected from the chat, read into reminders, read again (moved and
cancelled events, ETag revalidation), raced by two instances, fired once."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Timezone
from sqlmodel import Session, select

from bot.app import build_assistant, build_services
from bot.assistant import Sender
from bot.assistant.i18n import t
from bot.assistant.replies import ReceivedFile
from bot.features.calendars.notices import reason
from bot.features.reminders.scheduler import Scheduler
from domain.clock import utcnow
from storage import open_database
from storage.accounts import AccountStore
from storage.calendars import AlarmRow, CalendarStore
from storage.models import Reminder
from storage.reminders import ReminderStore
from testbed.http_lab import HttpLab
from testbed.radicale_lab import running_radicale
from tests.conftest_chat import service_settings
from tests.test_reminders import Inbox

PARIS, NEW_YORK = ZoneInfo("Europe/Paris"), ZoneInfo("America/New_York")
ME = Sender("console", "me", "en")


@pytest.fixture
def radicale(tmp_path):
    with running_radicale(tmp_path / "radicale") as lab:
        yield lab


@pytest.fixture
def feed():
    with HttpLab() as lab:
        yield lab


def _service(db_url: str, **overrides):
    settings = service_settings(db_url, FETCH_ALLOW_PRIVATE=True, **overrides)
    services = build_services(settings, engine=open_database(db_url, migrate=False), scheduler=True)
    account = services.accounts.resolve("console", "me")
    services.accounts.update(account.id, timezone="Europe/Paris")
    return services, build_assistant(services)


def _say(assistant, text: str, sender: Sender = ME) -> str:
    return "\n".join(reply.text for reply in assistant.handle_sync(sender, text))


def _reminders(services) -> dict[str, Reminder]:
    with Session(services.engine) as session:
        rows = session.exec(select(Reminder).where(Reminder.calendar_id.is_not(None)))  # type: ignore[union-attr]
        return {row.occurrence_key.split("/")[0]: row for row in rows}


def _day(days: int) -> date:
    return (utcnow().astimezone(PARIS) + timedelta(days=days)).date()


def _stamp(day: date, hour: int, minute: int = 0) -> str:
    return datetime.combine(day, time(hour, minute)).strftime("%Y%m%dT%H%M%S")


def _event(uid: str, body: str) -> str:
    return _calendar([(uid, body)])


def _weekly(first: date, skipped: date) -> str:
    return _event(
        "standup",
        f"DTSTART;TZID=Europe/Paris:{_stamp(first, 10)}\r\n"
        f"DTEND;TZID=Europe/Paris:{_stamp(first, 11)}\r\nRRULE:FREQ=WEEKLY;COUNT=3\r\n"
        f"EXDATE;TZID=Europe/Paris:{_stamp(skipped, 10)}\r\nSUMMARY:Stand-up\r\n",
    )


def _all_day(day: date) -> str:
    after = day + timedelta(days=1)
    return _event(
        "birthday",
        f"DTSTART;VALUE=DATE:{day:%Y%m%d}\r\nDTEND;VALUE=DATE:{after:%Y%m%d}\r\n"
        "SUMMARY:Mum's birthday\r\n",
    )


def _new_york(day: date, hour: int) -> str:
    return _event(
        "ny-call",
        f"DTSTART;TZID=America/New_York:{_stamp(day, hour)}\r\nDURATION:PT30M\r\n"
        "SUMMARY:Call with the New York office\r\n",
    )


def _radicale_calendar(radicale) -> tuple[str, dict[str, date]]:
    days = {"first": _day(2), "all_day": _day(3), "ny": _day(4)}
    calendar = radicale.make_calendar("work")
    radicale.put(calendar, "standup.ics", _weekly(days["first"], days["first"] + timedelta(7)))
    radicale.put(calendar, "birthday.ics", _all_day(days["all_day"]))
    radicale.put(calendar, "ny.ics", _new_york(days["ny"], 9))
    return calendar, days


def test_a_caldav_account_becomes_reminders_and_follows_its_changes(db_url, radicale):
    services, assistant = _service(db_url)
    calendar, days = _radicale_calendar(radicale)

    answer = _say(
        assistant,
        f"connect my calendar {radicale.url} user {radicale.user} password {radicale.password}",
    )

    assert "alice@127.0.0.1" in answer and radicale.password not in answer
    assert t("en", "calendar_next", at="", text="", start="").split(":")[0] in answer
    rows = _reminders(services)
    assert set(rows) == {"standup", "birthday", "ny-call"}
    standups = [
        r.fire_at
        for r in _all_rows(services)
        if r.occurrence_key.startswith("standup/") and r.state == "pending"
    ]
    first = datetime.combine(days["first"], time(9, 45), PARIS)  # 15 minutes before, default
    assert sorted(standups) == [first, first + timedelta(days=14)]  # the EXDATE'd week skipped
    assert rows["birthday"].fire_at == datetime.combine(days["all_day"], time(9), PARIS)
    ny_start = datetime.combine(days["ny"], time(9), NEW_YORK)
    assert rows["ny-call"].fire_at == ny_start - timedelta(minutes=15)
    assert rows["ny-call"].event_at == ny_start
    assert rows["ny-call"].channel == "call"

    # The New York call moves to 11:00, the birthday is deleted: read again later.
    radicale.put(calendar, "ny.ics", _new_york(days["ny"], 11))
    radicale.delete(calendar, "birthday.ics")
    later = utcnow() + timedelta(minutes=6)
    assert asyncio.run(services.calendar_reader.read_due(later)) == 1
    moved = _reminders(services)
    assert moved["ny-call"].id == rows["ny-call"].id  # the same reminder, moved
    assert moved["ny-call"].fire_at == ny_start + timedelta(hours=2, minutes=-15)
    assert moved["birthday"].state == "gone"

    listed = _say(assistant, "my calendars")
    assert "alice@127.0.0.1" in listed and "CalDAV" in listed
    assert radicale.password not in listed
    services.engine.dispose()


def _all_rows(services) -> list[Reminder]:
    with Session(services.engine) as session:
        return list(session.exec(select(Reminder).where(Reminder.calendar_id.is_not(None))))  # type: ignore[union-attr]


def test_a_wrong_password_is_said_and_nothing_is_kept(db_url, radicale):
    services, assistant = _service(db_url)
    radicale.make_calendar("work")
    answer = _say(assistant, f"connect my calendar {radicale.url} user alice password wrong")
    assert reason("en", "auth") in answer and "wrong" not in answer
    assert services.calendars.of_account(services.accounts.resolve("console", "me").id) == []
    services.engine.dispose()


def _feed_v1(day: date) -> str:
    events = [
        ("dentist", f"DTSTART;TZID=Europe/Paris:{_stamp(day, 15)}\r\nSUMMARY:Dentist\r\n"
                    "BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:x\r\nTRIGGER:-PT1H\r\n"
                    "END:VALARM\r\n"),
        ("gym", f"DTSTART;TZID=Europe/Paris:{_stamp(day, 18)}\r\nSUMMARY:Gym\r\n"),
    ]  # fmt: skip
    return _calendar(events)


def _calendar(events: list[tuple[str, str]]) -> str:
    """A VCALENDAR of these events (UID, lines), with the VTIMEZONE of each TZID they name
    (as calendar servers send them; RFC 5545 3.6.5)."""
    body = "".join(
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20261201T000000Z\r\n{rest}END:VEVENT\r\n"
        for uid, rest in events
    )
    zones = sorted({z for _, rest in events for z in re.findall(r"TZID=([^:;]+)", rest)})
    timezones = "".join(Timezone.from_tzid(zone).to_ical().decode() for zone in zones)
    head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
    return f"{head}{timezones}{body}END:VCALENDAR\r\n"


def test_a_feed_is_revalidated_moved_and_cancelled_and_fires_once(db_url, feed):
    services, assistant = _service(db_url)
    inbox = Inbox(services)
    day = _day(1)
    feed.serve("/secret-8f3a/basic.ics", _feed_v1(day).encode())
    url = feed.url("/secret-8f3a/basic.ics")

    answer = _say(assistant, f"connect my calendar {url} 30 minutes before by message")
    assert "secret-8f3a" not in answer and "127.0.0.1" in answer
    rows = _reminders(services)
    assert rows["dentist"].fire_at == datetime.combine(day, time(14), PARIS)  # its own alarm
    assert rows["gym"].fire_at == datetime.combine(day, time(17, 30), PARIS)  # 30 min, said
    assert rows["gym"].channel == "message"

    # Unchanged: the server answers 304 to the ETag, nothing moves.
    later = utcnow() + timedelta(minutes=6)
    assert asyncio.run(services.calendar_reader.read_due(later)) == 1
    conditional = feed.seen("/secret-8f3a/basic.ics")[-1]
    assert conditional.headers.get("if-none-match")
    assert _reminders(services) == rows

    # The gym moves to 19:00, the dentist is cancelled.
    moved = _calendar([
        ("dentist", f"DTSTART;TZID=Europe/Paris:{_stamp(day, 15)}\r\nSUMMARY:Dentist\r\n"
                    "STATUS:CANCELLED\r\n"),
        ("gym", f"DTSTART;TZID=Europe/Paris:{_stamp(day, 19)}\r\nSUMMARY:Gym\r\n"),
    ])  # fmt: skip
    feed.serve("/secret-8f3a/basic.ics", moved.encode())
    assert asyncio.run(services.calendar_reader.read_due(later + timedelta(minutes=6))) == 1
    now_rows = _reminders(services)
    assert now_rows["dentist"].state == "gone"
    assert now_rows["gym"].fire_at == datetime.combine(day, time(18, 30), PARIS)

    # Its time comes: fired once, even though the feed is read again after.
    fire_time = now_rows["gym"].fire_at + timedelta(seconds=1)
    scheduler = Scheduler(services.reminders, services.accounts, services.outbox.notify)
    assert asyncio.run(scheduler.tick(fire_time)) == 1
    asyncio.run(services.calendar_reader.read_due(fire_time + timedelta(minutes=6)))
    assert asyncio.run(scheduler.tick(fire_time + timedelta(minutes=7))) == 0
    ((_, reply),) = inbox.received
    assert reply.text.startswith("⏰ Reminder: Gym — at ")
    services.engine.dispose()


def test_two_instances_read_a_calendar_once(db_url, feed):
    one, assistant = _service(db_url)
    two, _ = _service(db_url)
    feed.serve("/cal.ics", _feed_v1(_day(1)).encode())
    _say(assistant, f"connect my calendar {feed.url('/cal.ics')}")
    requests = len(feed.seen("/cal.ics"))
    later = utcnow() + timedelta(minutes=6)

    async def race() -> list[int]:
        readers = (one.calendar_reader, two.calendar_reader)
        return list(await asyncio.gather(*(r.read_due(later) for r in readers for _ in range(2))))

    assert sum(asyncio.run(race())) == 1
    assert len(feed.seen("/cal.ics")) == requests + 1
    assert len(_all_rows(one)) == 2
    for services in (one, two):
        services.engine.dispose()


@pytest.mark.parametrize(
    ("lang", "words"),
    [("en", "connect my calendar"), ("fr", "connecte mon agenda"), ("ru", "подключи календарь")],
)
def test_a_private_address_is_refused_unless_allowed(db_url, feed, lang, words):
    settings = service_settings(db_url, FETCH_ALLOW_PRIVATE=False)
    services = build_services(settings, engine=open_database(db_url, migrate=False), scheduler=True)
    assistant = build_assistant(services)
    feed.serve("/cal.ics", _feed_v1(_day(1)).encode())
    sender = Sender("console", f"user-{lang}", lang)
    answer = _say(assistant, f"{words} {feed.url('/cal.ics')}", sender)
    assert reason(lang, "private") in answer
    assert feed.seen("/cal.ics") == []  # never asked
    account = services.accounts.resolve("console", f"user-{lang}")
    assert services.calendars.of_account(account.id) == []
    services.engine.dispose()


def test_export_gives_an_ics_file_with_the_repeating_rules(db_url):
    from icalendar import Calendar

    services, assistant = _service(db_url)
    _say(assistant, "remind me every monday at 9 to call mom")
    _say(assistant, "remind me tomorrow at 10 to pay the rent")
    (reply,) = assistant.handle_sync(ME, "export my reminders")
    assert reply.attachment is not None and reply.attachment.mime == "text/calendar"
    calendar = Calendar.from_ical(reply.attachment.read())
    events = {str(e["SUMMARY"]): e for e in calendar.walk("VEVENT")}
    assert set(events) == {"call mom", "pay the rent"}
    assert events["call mom"]["RRULE"].to_ical() == b"FREQ=WEEKLY;BYDAY=MO"
    start = events["call mom"].decoded("DTSTART")
    assert (start.hour, start.minute, start.weekday()) == (9, 0, 0)
    assert str(start.tzinfo) == "Europe/Paris"
    assert events["pay the rent"].decoded("DTSTART").astimezone(UTC) > utcnow()
    services.engine.dispose()


def test_changing_when_calendars_remind_applies_at_once(db_url, feed):
    services, assistant = _service(db_url)
    day = _day(1)
    feed.serve("/cal.ics", _feed_v1(day).encode())
    _say(assistant, f"connect my calendar {feed.url('/cal.ics')}")
    assert _reminders(services)["gym"].fire_at == datetime.combine(day, time(17, 45), PARIS)

    answer = _say(assistant, "calendar reminders 30 minutes before by message")

    assert answer.startswith(
        t("en", "calendar_settings_set", minutes=30, channel=t("en", "channel_message"))
    )
    gym = _reminders(services)["gym"]
    assert (gym.fire_at, gym.channel) == (datetime.combine(day, time(17, 30), PARIS), "message")
    dentist = _reminders(services)["dentist"]  # its own alarm (1 h before) is kept
    assert dentist.fire_at == datetime.combine(day, time(14), PARIS)
    listed = _say(assistant, "my reminders")
    assert f"{day:%Y-%m-%d} 17:30 — Gym" in listed  # when it reminds, then the start
    assert f"{day:%Y-%m-%d} 18:00" in listed
    _say(assistant, "calendar reminders by call")  # the minutes not said stay 30
    gym = _reminders(services)["gym"]
    assert (gym.fire_at, gym.channel) == (datetime.combine(day, time(17, 30), PARIS), "call")
    services.engine.dispose()


def test_the_reading_limits_come_from_the_settings(db_url, feed):
    services, assistant = _service(
        db_url, CALENDAR_INTERVAL_SECONDS=60, CALENDAR_MAX_BYTES=2048, CALENDAR_TIMEOUT_SECONDS=1
    )
    small = _calendar([("one", f"DTSTART:{utcnow() + timedelta(days=1):%Y%m%dT%H%M%SZ}\r\n")])
    feed.serve("/cal.ics", small.encode())
    now = utcnow()
    assert "📅" in _say(assistant, f"connect my calendar {feed.url('/cal.ics')}")
    seen = len(feed.seen("/cal.ics"))
    assert asyncio.run(services.calendar_reader.read_due(now + timedelta(seconds=50))) == 0
    assert asyncio.run(services.calendar_reader.read_due(now + timedelta(seconds=70))) == 1
    assert len(feed.seen("/cal.ics")) == seen + 1  # read again after CALENDAR_INTERVAL_SECONDS

    feed.serve(
        "/big.ics",
        _calendar([(f"e{n}", "DTSTART:20261205T100000Z\r\n") for n in range(40)]).encode(),
    )
    answer = _say(assistant, f"connect my calendar {feed.url('/big.ics')}")
    assert reason("en", "too_big") in answer  # over CALENDAR_MAX_BYTES
    feed.silent("/slow.ics")
    answer = _say(assistant, f"connect my calendar {feed.url('/slow.ics')}")
    assert reason("en", "timeout") in answer  # over CALENDAR_TIMEOUT_SECONDS
    big_file = _calendar([(f"f{n}", "DTSTART:20261205T100000Z\r\n") for n in range(40)]).encode()
    (reply,) = assistant.handle_file_sync(ME, ReceivedFile("big.ics", big_file))
    assert reply.text == t("en", "calendar_file_too_big", megabytes=0.0)
    services.engine.dispose()


def test_alarms_kept_moved_after_firing_and_never_dropped_while_due(db_url):
    engine = open_database(db_url, migrate=False)
    account = AccountStore(engine).resolve("console", "me")
    store, reminders = CalendarStore(engine), ReminderStore(engine)
    source, _ = store.add(account.id, "file", label="x.ics", body="[]")
    now = utcnow().replace(microsecond=0)
    meeting = now + timedelta(hours=1)

    def alarm(start: datetime, key: str = "meet/once/d") -> AlarmRow:
        return AlarmRow(key, start - timedelta(minutes=15), start, "Meeting", "message")

    store.apply_alarms(source, [alarm(meeting)], now=now)
    (first,) = _all_rows_of(engine)
    # Its time comes; the delivery reaches nobody yet (released, retried by the scheduler).
    due_at = first.fire_at + timedelta(seconds=1)
    assert reminders.claim(first.id, due_at) and reminders.release(first.id)
    # A read five minutes later, the event gone from the window: the due one is kept.
    later = due_at + timedelta(minutes=5)
    assert store.apply_alarms(source, [], now=later).cancelled == 0
    assert reminders.get(first.id).state == "pending"
    assert reminders.claim(first.id, later) and reminders.mark_fired(first.id)

    # Moved to the afternoon after its reminder was given: it reminds again, once.
    afternoon = meeting + timedelta(hours=5)
    applied = store.apply_alarms(source, [alarm(afternoon)], now=later)
    assert applied.added == 1
    assert store.apply_alarms(source, [alarm(afternoon)], now=later).added == 0
    rows = {r.occurrence_key: r for r in _all_rows_of(engine)}
    again = rows[f"meet/once/d@{afternoon.astimezone(UTC):%Y%m%dT%H%M%SZ}"]
    assert (again.state, again.fire_at) == ("pending", afternoon - timedelta(minutes=15))
    assert rows["meet/once/d"].state == "fired"
    # Moved back to the morning's time: told already, so nothing; the afternoon one goes.
    applied = store.apply_alarms(source, [alarm(meeting)], now=later)
    assert (applied.added, applied.cancelled) == (0, 1)
    assert reminders.get(again.id).state == "gone"
    engine.dispose()


def _all_rows_of(engine) -> list[Reminder]:
    with Session(engine) as session:
        return list(session.exec(select(Reminder)))
