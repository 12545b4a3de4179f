"""Repeating reminders: each occurrence stored and fired once (also with two instances and
after a restart), on the user's wall clock across daylight saving time changes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from bot.app import build_services
from bot.assistant.i18n import t
from bot.features.reminders.scheduler import Scheduler
from bot.features.reminders.series import store_due_occurrences
from domain.clock import utcnow
from storage import open_database
from storage.models import Reminder
from storage.reminders import ReminderStore
from tests.test_reminders import Inbox, _settings

PARIS = ZoneInfo("Europe/Paris")


def _series(services, rule: str, dtstart: datetime, next_at: datetime, text: str = "pills"):
    account = services.accounts.resolve("console", "me")
    services.accounts.update(account.id, timezone="Europe/Paris")
    return services.series.add(account.id, rule, dtstart, "Europe/Paris", "message", text, next_at)


def test_every_day_at_8_stays_at_8_across_the_autumn_change(engine):
    services = build_services(_settings(str(engine.url)), engine=engine)
    start = datetime(2026, 10, 24, 8, 0)  # Saturday; summer time ends Sunday 25 at 03:00
    first = start.replace(tzinfo=PARIS)
    series = _series(services, "FREQ=DAILY", start, first)
    fired = []
    for day in (24, 25, 26):
        moment = datetime(2026, 10, day, 8, 0, 30, tzinfo=PARIS)
        assert store_due_occurrences(services.series, moment) == 1
        assert store_due_occurrences(services.series, moment) == 0  # stored once
        fired += [r.fire_at for r in ReminderStore(engine).due(moment)]
        for reminder in ReminderStore(engine).due(moment):
            ReminderStore(engine).claim(reminder.id)
            ReminderStore(engine).mark_fired(reminder.id)
    assert [f.astimezone(PARIS).strftime("%d %H:%M %z") for f in fired] == [
        "24 08:00 +0200",
        "25 08:00 +0100",
        "26 08:00 +0100",
    ]
    assert [f.astimezone(UTC).hour for f in fired] == [6, 7, 7]
    after = services.series.get(series.id).next_at
    assert after.astimezone(PARIS) == datetime(2026, 10, 27, 8, 0, tzinfo=PARIS)


def test_occurrences_missed_while_down_fire_once_and_say_so(engine):
    services = build_services(_settings(str(engine.url)), engine=engine)
    now = utcnow().replace(microsecond=0)
    three_days_ago = (now - timedelta(days=3)).astimezone(PARIS).replace(second=0)
    local = three_days_ago.replace(tzinfo=None)
    series = _series(services, "FREQ=DAILY", local, three_days_ago, "water the plants")
    inbox = Inbox(services)
    scheduler = Scheduler(
        services.reminders, services.accounts, services.outbox.notify, series=services.series
    )

    assert asyncio.run(scheduler.tick(now)) == 1
    assert asyncio.run(scheduler.tick(now)) == 0

    with Session(engine) as session:
        stored = list(session.exec(select(Reminder).where(Reminder.series_id == series.id)))
    assert len(stored) == 1  # one reminder for the four occurrences that passed
    (reminder,) = stored
    assert reminder.missed == 3 and reminder.state == "fired"
    assert reminder.fire_at == three_days_ago + timedelta(days=3)
    ((_, reply),) = inbox.received
    due = reminder.fire_at.astimezone(PARIS).strftime("%Y-%m-%d %H:%M")
    assert t("en", "reminder_missed", at=due, count=3) in reply.text
    assert reply.text.startswith("⏰ Reminder: water the plants")
    next_at = services.series.get(series.id).next_at
    assert now < next_at <= now + timedelta(days=1)


def test_two_instances_store_and_fire_an_occurrence_once(db_url):
    one = build_services(_settings(db_url), engine=open_database(db_url, migrate=False))
    two = build_services(_settings(db_url), engine=open_database(db_url, migrate=False))
    now = utcnow()
    local = now.astimezone(PARIS).replace(tzinfo=None, microsecond=0) - timedelta(seconds=1)
    series = _series(one, "FREQ=HOURLY", local, now - timedelta(seconds=1), "stretch")
    inboxes = [Inbox(one), Inbox(two)]
    schedulers = [
        Scheduler(s.reminders, s.accounts, s.outbox.notify, series=s.series) for s in (one, two)
    ]

    async def race() -> list[int]:
        return list(await asyncio.gather(*(s.tick(now) for s in schedulers for _ in range(3))))

    assert sum(asyncio.run(race())) == 1
    assert sum(len(inbox.received) for inbox in inboxes) == 1
    assert one.series.get(series.id).next_at.astimezone(PARIS).replace(tzinfo=None) == (
        local + timedelta(hours=1)
    )
    for services in (one, two):
        services.engine.dispose()


def test_stopping_a_series_cancels_its_stored_occurrence(engine):
    services = build_services(_settings(str(engine.url)), engine=engine)
    now = utcnow()
    local = now.astimezone(PARIS).replace(tzinfo=None, microsecond=0)
    series = _series(services, "FREQ=WEEKLY", local, now - timedelta(seconds=1))
    assert store_due_occurrences(services.series, now) == 1
    (pending,) = services.reminders.pending(series.account_id)
    assert services.series.stop(series.id, series.account_id + 1) is False  # not theirs
    assert services.series.stop(series.id, series.account_id) is True
    assert services.reminders.get(pending.id).state == "cancelled"
    assert services.series.get(series.id).state == "cancelled"
    assert store_due_occurrences(services.series, now + timedelta(weeks=2)) == 0


def test_a_rule_with_an_end_stops_after_its_last_occurrence(engine):
    services = build_services(_settings(str(engine.url)), engine=engine)
    start = datetime(2026, 12, 1, 10, 0)
    until = datetime(2026, 12, 1, 14, 0, tzinfo=PARIS).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    series = _series(services, f"FREQ=HOURLY;INTERVAL=2;UNTIL={until}", start,
                     start.replace(tzinfo=PARIS))  # fmt: skip
    moments = [datetime(2026, 12, 1, h, 0, 1, tzinfo=PARIS) for h in (10, 12, 14, 16)]
    assert [store_due_occurrences(services.series, m) for m in moments] == [1, 1, 1, 0]
    assert services.series.get(series.id).state == "ended"
    assert services.series.get(series.id).next_at is None
