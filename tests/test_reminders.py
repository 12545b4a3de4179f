"""Reminders: the store, exactly-once claims, the scheduler, the chat skill and the console."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import build_assistant, build_services
from bot.assistant import Assistant, Reply, Sender, Services
from bot.assistant.i18n import t
from bot.features.reminders.scheduler import Scheduler
from domain.clock import utcnow
from storage.accounts import AccountStore
from storage.reminders import ReminderStore
from tests.conftest_chat import service_settings

ROOT = Path(__file__).resolve().parent.parent
WAIT = 30.0


def _settings(db_url: str):
    return service_settings(db_url)


class Inbox:
    """A chat network registered on the real outbox that keeps what it is sent."""

    def __init__(self, services: Services, network: str = "console") -> None:
        self.received: list[tuple[str, Reply]] = []
        self.changed = threading.Condition()
        services.outbox.register(network, self.send)

    async def send(self, external_id: str, reply: Reply) -> None:
        with self.changed:
            self.received.append((external_id, reply))
            self.changed.notify_all()


async def _run_until(scheduler: Scheduler, condition, timeout: float = WAIT) -> None:
    """Run the scheduler until `condition()` holds (or fail after `timeout`)."""
    stop = asyncio.Event()
    task = asyncio.create_task(scheduler.run(stop))
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while not condition():
            assert asyncio.get_running_loop().time() < deadline, "condition never held"
            assert not task.done(), task
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout)


class Ticks:
    """Counts a scheduler's finished ticks and what each delivered (wraps its `tick`)."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.delivered: list[int] = []
        tick = scheduler.tick

        async def counted(now: datetime | None = None) -> int:
            delivered = await tick(now)
            self.delivered.append(delivered)
            return delivered

        scheduler.tick = counted  # type: ignore[method-assign]

    async def wait(self, count: int, timeout: float = WAIT) -> None:
        """Wait until at least `count` ticks have finished."""
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.delivered) < count:
            assert asyncio.get_running_loop().time() < deadline, f"{self.delivered} ticks"
            await asyncio.sleep(0.01)


# --- the store -------------------------------------------------------------------------


def test_add_due_pending_and_cancel(engine):
    account = AccountStore(engine).resolve("console", "me")
    store = ReminderStore(engine)
    now = utcnow()
    soon = store.add(account.id, now + timedelta(minutes=5), "message", "stretch")
    past = store.add(account.id, now - timedelta(minutes=5), "call", "water")
    later = store.add(account.id, now + timedelta(hours=1), "message", "sleep")
    assert [r.id for r in store.due(now)] == [past.id]
    assert [r.id for r in store.due(now + timedelta(minutes=10))] == [past.id, soon.id]
    assert [r.id for r in store.pending(account.id)] == [past.id, soon.id, later.id]
    assert store.get(soon.id).fire_at == soon.fire_at
    assert store.cancel(later.id, account_id=account.id + 1) is False  # not theirs
    assert store.cancel(later.id, account_id=account.id) is True
    assert store.cancel(later.id) is False
    assert store.get(later.id).state == "cancelled"
    assert later.id not in [r.id for r in store.pending(account.id)]


def test_add_refuses_bad_input(engine):
    account = AccountStore(engine).resolve("console", "me")
    store = ReminderStore(engine)
    with pytest.raises(ValueError, match="timezone-aware"):
        store.add(account.id, datetime(2030, 1, 1, 9, 0), "message", "x")
    with pytest.raises(ValueError, match="channel"):
        store.add(account.id, utcnow(), "pigeon", "x")
    with pytest.raises(ValueError, match="longer"):
        store.add(account.id, utcnow(), "message", "x" * 1001)


def test_fire_at_is_stored_in_utc(engine):
    account = AccountStore(engine).resolve("console", "me")
    store = ReminderStore(engine)
    paris = datetime.fromisoformat("2030-11-29T09:00:00+01:00")
    reminder = store.add(account.id, paris, "message", "rent")
    stored = store.get(reminder.id).fire_at
    assert stored == paris and stored.utcoffset() == timedelta(0)


def test_claim_moves_pending_to_firing_once(engine):
    account = AccountStore(engine).resolve("console", "me")
    store = ReminderStore(engine)
    reminder = store.add(account.id, utcnow(), "message", "once")
    later = store.add(account.id, utcnow() + timedelta(hours=1), "message", "not yet")
    assert store.claim(later.id) is None  # not due: a calendar may have moved it since read
    claimed = store.claim(reminder.id)
    assert (claimed.id, claimed.state, claimed.text) == (reminder.id, "firing", "once")
    assert store.claim(reminder.id) is None
    assert [r.id for r in store.due(utcnow() + timedelta(days=1))] == [later.id]
    assert store.mark_fired(reminder.id) is True
    assert store.mark_fired(reminder.id) is False
    fired = store.get(reminder.id)
    assert fired.state == "fired" and fired.fired_at is not None


def test_two_threads_claim_each_reminder_exactly_once(engine):
    account = AccountStore(engine).resolve("console", "me")
    store = ReminderStore(engine)
    ids = [store.add(account.id, utcnow(), "message", f"r{i}").id for i in range(30)]
    claimed: dict[str, list[int]] = {"a": [], "b": []}
    start = threading.Barrier(2)

    def worker(name: str) -> None:
        mine = ReminderStore(engine)
        start.wait()
        for reminder_id in ids:
            if mine.claim(reminder_id):
                claimed[name].append(reminder_id)

    threads = [threading.Thread(target=worker, args=(n,)) for n in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert sorted(claimed["a"] + claimed["b"]) == ids
    assert not set(claimed["a"]) & set(claimed["b"])


def test_stale_claim_is_released(engine):
    account = AccountStore(engine).resolve("console", "me")
    store = ReminderStore(engine)
    reminder = store.add(account.id, utcnow(), "message", "after a crash")
    assert store.claim(reminder.id)
    assert store.release_stale(timedelta(minutes=10)) == 0  # just claimed: still in flight
    assert store.release_stale(timedelta(minutes=10), now=utcnow() + timedelta(hours=1)) == 1
    assert [r.id for r in store.due()] == [reminder.id]


# --- the scheduler ---------------------------------------------------------------------


def test_missed_reminder_fires_at_start(db_url):
    services = build_services(_settings(db_url), engine=_open(db_url))
    account = services.accounts.resolve("console", "me")
    store = ReminderStore(services.engine)
    missed = store.add(account.id, utcnow() - timedelta(hours=5), "message", "stretch")
    future = store.add(account.id, utcnow() + timedelta(hours=5), "message", "not yet")
    inbox = Inbox(services)
    scheduler = Scheduler(
        services.reminders, services.accounts, services.outbox.notify, interval=60
    )  # only the first tick

    asyncio.run(_run_until(scheduler, lambda: inbox.received))

    due = missed.fire_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M")  # the account's zone
    late = t("en", "reminder_late", at=due)
    assert inbox.received == [("me", Reply(f"⏰ Reminder: stretch\n{late}", lang="en"))]
    assert store.get(missed.id).state == "fired"
    assert store.get(future.id).state == "pending"
    services.engine.dispose()


def test_reminder_due_now_fires_while_running(db_url):
    services = build_services(_settings(db_url), engine=_open(db_url))
    account = services.accounts.resolve("console", "me")
    services.accounts.update(account.id, language="fr")
    store = ReminderStore(services.engine)
    inbox = Inbox(services)
    scheduler = Scheduler(services.reminders, services.accounts, services.outbox.notify)
    ticks = Ticks(scheduler)

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(scheduler.run(stop))
        await ticks.wait(1)  # running: its first tick found nothing due and delivered nothing
        assert ticks.delivered == [0] and inbox.received == []
        reminder = await asyncio.to_thread(
            store.add, account.id, utcnow() + timedelta(seconds=1), "message", "boire"
        )
        deadline = asyncio.get_running_loop().time() + WAIT
        while not inbox.received:
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(task, WAIT)
        assert store.get(reminder.id).state == "fired"
        assert store.get(reminder.id).fired_at >= reminder.fire_at

    asyncio.run(scenario())
    assert [r.text for _id, r in inbox.received] == ["⏰ Rappel : boire"]
    services.engine.dispose()


def test_two_schedulers_deliver_each_reminder_once(db_url):
    services = build_services(_settings(db_url), engine=_open(db_url))
    account = services.accounts.resolve("console", "me")
    store = ReminderStore(services.engine)
    for i in range(20):
        store.add(account.id, utcnow() - timedelta(seconds=i), "message", f"r{i}")
    inbox = Inbox(services)
    first = Scheduler(services.reminders, services.accounts, services.outbox.notify, interval=0.05)
    second = Scheduler(services.reminders, services.accounts, services.outbox.notify, interval=0.05)
    ticks = [Ticks(first), Ticks(second)]

    async def both() -> None:
        stop = asyncio.Event()
        tasks = [asyncio.create_task(s.run(stop)) for s in (first, second)]
        deadline = asyncio.get_running_loop().time() + WAIT
        while store.due() or len(inbox.received) < 20:
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.05)
        # Three more finished ticks of each (counted, not slept for): nothing fires twice.
        for counted in ticks:
            await counted.wait(len(counted.delivered) + 3)
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), WAIT)
        # Even a tick a day later finds nothing left to claim.
        assert await first.tick(utcnow() + timedelta(days=1)) == 0
        assert store.due(utcnow() + timedelta(days=1)) == []

    asyncio.run(both())
    texts = sorted(r.text for _id, r in inbox.received)
    assert texts == sorted(f"⏰ Reminder: r{i}" for i in range(20))
    # Each reminder was delivered by exactly one tick of one scheduler.
    assert sum(ticks[0].delivered) + sum(ticks[1].delivered) == 20
    services.engine.dispose()


def test_call_reminder_without_dialer_comes_as_a_message(db_url):
    services = build_services(_settings(db_url), engine=_open(db_url))
    account = services.accounts.resolve("console", "me")
    ReminderStore(services.engine).add(account.id, utcnow(), "call", "dentist")
    inbox = Inbox(services)
    scheduler = Scheduler(services.reminders, services.accounts, services.outbox.notify)
    assert not scheduler.can_call

    asyncio.run(_run_until(scheduler, lambda: inbox.received))

    text = inbox.received[0][1].text
    assert text.startswith("⏰ Reminder: dentist") and "would have called you" in text
    services.engine.dispose()


def test_call_reminder_goes_to_place_call_when_given(db_url):
    services = build_services(_settings(db_url), engine=_open(db_url))
    account = services.accounts.resolve("console", "me")
    store = ReminderStore(services.engine)
    by_call = store.add(account.id, utcnow(), "call", "dentist")
    by_message = store.add(account.id, utcnow(), "message", "stretch")
    inbox = Inbox(services)
    placed = []

    async def place_call(reminder) -> bool:
        placed.append(reminder.id)
        return True

    scheduler = Scheduler(
        services.reminders, services.accounts, services.outbox.notify, place_call=place_call
    )
    assert scheduler.can_call
    asyncio.run(_run_until(scheduler, lambda: placed and inbox.received))

    assert placed == [by_call.id]
    assert [r.text for _id, r in inbox.received] == ["⏰ Reminder: stretch"]
    assert store.get(by_call.id).state == store.get(by_message.id).state == "fired"
    services.engine.dispose()


def test_reminder_reaching_nobody_is_retried_then_delivered(db_url):
    services = build_services(_settings(db_url), engine=_open(db_url))
    account = services.accounts.resolve("telegram", "42")
    store = ReminderStore(services.engine)
    reminder = store.add(account.id, utcnow(), "message", "later")
    scheduler = Scheduler(
        services.reminders,
        services.accounts,
        services.outbox.notify,
        interval=0.05,
        retry_after=0.1,
    )
    inbox: list[Inbox] = []
    attempts: list[int | None] = []
    notify = scheduler.deliver

    async def counted(account_id: int, reply: Reply) -> int | None:
        attempts.append(await notify(account_id, reply))
        return attempts[-1]

    scheduler.deliver = counted

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(scheduler.run(stop))
        deadline = asyncio.get_running_loop().time() + WAIT
        while len(attempts) < 3:  # several attempts while no network is connected
            assert asyncio.get_running_loop().time() < deadline, attempts
            await asyncio.sleep(0.01)
        assert set(attempts) == {0}  # each reached nobody
        assert store.get(reminder.id).state in ("pending", "firing")  # neither fired nor failed
        inbox.append(Inbox(services, network="telegram"))  # telegram connects
        deadline = asyncio.get_running_loop().time() + WAIT
        while not inbox[0].received:
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(task, WAIT)

    asyncio.run(scenario())
    assert [(i, r.text) for i, r in inbox[0].received] == [("42", "⏰ Reminder: later")]
    assert store.get(reminder.id).state == "fired"
    services.engine.dispose()


def test_reminder_reaching_nobody_fails_after_giving_up(db_url):
    services = build_services(_settings(db_url), engine=_open(db_url))
    account = services.accounts.resolve("telegram", "42")
    store = ReminderStore(services.engine)
    reminder = store.add(account.id, utcnow(), "message", "nobody hears")
    scheduler = Scheduler(
        services.reminders, services.accounts, services.outbox.notify, give_up_after=0
    )

    asyncio.run(_run_until(scheduler, lambda: store.get(reminder.id).state != "pending"))
    assert store.get(reminder.id).state == "failed"
    services.engine.dispose()


# --- the chat skill --------------------------------------------------------------------


def _assistant(db_url: str, *, scheduler: bool = True) -> Assistant:
    services = build_services(_settings(db_url), engine=_open(db_url), scheduler=scheduler)
    return build_assistant(services)


def test_remind_skill_stores_the_reminder(db_url):
    assistant = _assistant(db_url)
    now = datetime(2030, 11, 28, 10, 0, tzinfo=UTC)
    replies = assistant.handle_sync(
        Sender("console", "me"), "remind me in 1 minute to stretch", now=now
    )
    assert [r.text for r in replies] == [
        'I\'ll remind you on 2030-11-28 10:01 by message: "stretch".'
    ]
    account = assistant.services.accounts.resolve("console", "me")
    [reminder] = ReminderStore(assistant.services.engine).pending(account.id)
    assert (reminder.fire_at, reminder.channel, reminder.text) == (
        now + timedelta(minutes=1),
        "message",
        "stretch",
    )
    assistant.services.engine.dispose()


def test_remind_skill_in_the_users_language_and_zone(db_url):
    assistant = _assistant(db_url)
    sender = Sender("console", "anne")
    account = assistant.services.accounts.resolve("console", "anne")
    assistant.services.accounts.update(account.id, timezone="Europe/Paris")
    now = datetime(2030, 11, 28, 10, 0, tzinfo=UTC)
    replies = assistant.handle_sync(sender, "rappelle-moi demain à 9h de payer le loyer", now=now)
    assert (
        replies[0].text
        == "Je vous le rappellerai le 2030-11-29 09:00 par message : « payer le loyer »."
    )
    [reminder] = ReminderStore(assistant.services.engine).pending(account.id)
    assert reminder.fire_at == datetime(2030, 11, 29, 8, 0, tzinfo=UTC)
    assistant.services.engine.dispose()


def test_remind_skill_refuses_a_time_in_the_past(db_url):
    assistant = _assistant(db_url)
    now = datetime(2030, 11, 28, 10, 0, tzinfo=UTC)
    replies = assistant.handle_sync(
        Sender("console", "me"), "remind me on 1 January 2020 to pay", now=now
    )
    assert "already passed" in replies[0].text and "2020-01-01 09:00" in replies[0].text
    account = assistant.services.accounts.resolve("console", "me")
    assert ReminderStore(assistant.services.engine).pending(account.id) == []
    assistant.services.engine.dispose()


def test_remind_by_call_says_it_comes_as_a_message(db_url):
    assistant = _assistant(db_url)
    now = datetime(2030, 11, 28, 10, 0, tzinfo=UTC)
    replies = assistant.handle_sync(
        Sender("console", "me"), "call me tomorrow at 8 to remind me to take the pills", now=now
    )
    assert "by a call" in replies[0].text
    assert "will come as a message" in replies[1].text
    account = assistant.services.accounts.resolve("console", "me")
    [reminder] = ReminderStore(assistant.services.engine).pending(account.id)
    assert reminder.channel == "call"
    assistant.services.engine.dispose()


def test_remind_without_scheduler_stores_nothing(db_url):
    assistant = _assistant(db_url, scheduler=False)
    replies = assistant.handle_sync(Sender("console", "me"), "remind me in 1 minute to stretch")
    assert "scheduler is not running" in replies[-1].text
    account = assistant.services.accounts.resolve("console", "me")
    assert ReminderStore(assistant.services.engine).pending(account.id) == []
    assistant.services.engine.dispose()


# --- the console, end to end -----------------------------------------------------------


def test_console_stores_a_reminder_and_prints_one_due(db_url, tmp_path):
    engine = _open(db_url)
    account = AccountStore(engine).resolve("console", "console")
    store = ReminderStore(engine)
    missed = store.add(account.id, utcnow() - timedelta(minutes=3), "message", "drink water")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "XMPP_"))}
    env.update(DATABASE_URL=db_url, CONSOLE_USER="console")
    run = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "console"],
        input="remind me in 1 minute to stretch\n",
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "⏰ Reminder: drink water" in run.stdout
    assert 'by message: "stretch".' in run.stdout
    assert store.get(missed.id).state == "fired"
    [pending] = store.pending(account.id)
    assert pending.text == "stretch"
    assert timedelta(seconds=30) < pending.fire_at - utcnow() <= timedelta(minutes=1)
    engine.dispose()


def _open(db_url: str):
    from storage import open_database

    return open_database(db_url, migrate=False)


# --- reminders by call (the SIP calls themselves: tests/test_verification.py) ----------


def test_call_reminder_without_a_verified_number_comes_as_a_message(db_url):
    from bot.assistant.i18n import t
    from bot.features.reminders.by_call import place_reminder_call

    services = build_services(_settings(db_url), engine=_open(db_url))
    account = services.accounts.resolve("console", "me")
    services.accounts.set_number(account.id, "+33612345678")  # saved, never verified
    reminder = ReminderStore(services.engine).add(account.id, utcnow(), "call", "dentist")
    inbox = Inbox(services)

    async def fire() -> bool:
        return await place_reminder_call(services, reminder)

    assert asyncio.run(fire()) is True
    assert [r.text for _id, r in inbox.received] == [
        t("en", "reminder_fire_unverified", text="dentist")
    ]
    assert services.calls.history(account.id) == []  # nobody was called
    services.engine.dispose()


def test_remind_by_call_without_a_verified_number_says_so(db_url):
    async def place_call(_reminder) -> bool:
        return True

    services = build_services(
        _settings(db_url), engine=_open(db_url), scheduler=True, place_call=place_call
    )
    assistant = build_assistant(services)
    now = datetime(2030, 11, 28, 10, 0, tzinfo=UTC)
    replies = assistant.handle_sync(
        Sender("console", "me"), "call me tomorrow at 8 to remind me to take the pills", now=now
    )
    assert "by a call" in replies[0].text
    assert replies[1].text.startswith("I can only call a verified number")
    account = services.accounts.resolve("console", "me")
    services.accounts.update(account.id, phone_number="+33612345678", phone_verified=True)
    replies = assistant.handle_sync(
        Sender("console", "me"), "call me tomorrow at 9 to remind me to take the pills", now=now
    )
    assert len(replies) == 1 and "by a call" in replies[0].text
    services.engine.dispose()


# --- what is stored for times the parser reads (tests/test_nlu_kinds.py: the parser) ----


@pytest.mark.parametrize(
    ("text", "sent", "fires"),
    [
        # two real hours across the change to summer time (Paris, 29 March 2026, 02:00)
        ("remind me in 2 hours to check the oven", "2026-03-29T00:30:00+00:00",
         "2026-03-29T02:30:00+00:00"),
        ("rappelle-moi dans 2 heures de vérifier le four", "2026-03-29T00:30:00+00:00",
         "2026-03-29T02:30:00+00:00"),
        ("напомни через 2 часа проверить духовку", "2026-03-29T00:30:00+00:00",
         "2026-03-29T02:30:00+00:00"),
        # calendar days keep the time of day on the wall clock: 10:00 in Paris either side
        ("remind me in 2 days to check the oven", "2026-03-28T09:00:00+00:00",
         "2026-03-30T08:00:00+00:00"),
        # a zone named in the message: 10:00 in New York
        ("remind me tomorrow at 10am EST to check the oven", "2026-11-28T09:00:00+00:00",
         "2026-11-29T15:00:00+00:00"),
        # minutes named in words, and a time before an event
        ("rappelle-moi demain à dix heures et quart de vérifier le four",
         "2026-11-28T09:00:00+00:00", "2026-11-29T09:15:00+00:00"),
        ("напомни завтра в половине восьмого вечера проверить духовку",
         "2026-11-28T09:00:00+00:00", "2026-11-29T18:30:00+00:00"),
        ("rdv demain 15h, rappelle-moi 1h avant de vérifier le four",
         "2026-11-28T09:00:00+00:00", "2026-11-29T13:00:00+00:00"),
    ],
)  # fmt: skip
def test_remind_skill_stores_the_instant_meant(db_url, text, sent, fires):
    assistant = _assistant(db_url)
    sender = Sender("console", "paris")
    account = assistant.services.accounts.resolve("console", "paris")
    assistant.services.accounts.update(account.id, timezone="Europe/Paris")
    replies = assistant.handle_sync(sender, text, now=datetime.fromisoformat(sent))
    [reminder] = ReminderStore(assistant.services.engine).pending(account.id)
    assert reminder.fire_at == datetime.fromisoformat(fires), replies[0].text
    words = ("heure", "quart", "EST", "половин", "avant", "часа")
    assert not any(w in reminder.text for w in words) and reminder.text
    assistant.services.engine.dispose()


def test_a_negated_reminder_is_not_stored(db_url):
    assistant = _assistant(db_url)
    replies = assistant.handle_sync(
        Sender("console", "me"), "don't remind me tomorrow to pay", now=utcnow()
    )
    assert [r.text for r in replies] == ["Understood, I will not do it: nothing was done."]
    account = assistant.services.accounts.resolve("console", "me")
    assert ReminderStore(assistant.services.engine).pending(account.id) == []
    assistant.services.engine.dispose()
