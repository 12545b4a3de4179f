"""Own-number verification by a DTMF call, and reminders by call, against the SIP lab.

The lab phones' SIP users are the digits of E.164 numbers and the dialer strips the
"+", so "my number is +33612345671" rings the lab phone 33612345671.
"""

from __future__ import annotations

import asyncio
import functools
import re
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.app import build_assistant, build_services
from bot.assistant import Reply, Sender
from bot.assistant.i18n import t
from bot.features.reminders.by_call import place_reminder_call
from bot.features.reminders.scheduler import Scheduler
from bot.features.verification.verify import CALLS_PER_WINDOW
from dialer import Dialer, SipConfig
from dialer.speech import synthesize
from domain.clock import utcnow
from settings import load_settings
from storage import open_database
from storage.db import transaction
from storage.models import CallRecord
from storage.reminders import ReminderStore
from storage.service_calls import REMINDER, VERIFICATION, ServiceCallStore, TooManyCalls
from testbed.dbs import isolated_database
from testbed.sip_lab import DTMF, NO_ANSWER, SipLab, audible_seconds
from tests.conftest_chat import service_settings

ANSWERING = "+33612345671"
SILENT = "+33612345672"
WAIT = 90.0


@pytest.fixture(scope="module")
def lab() -> Iterator[SipLab]:
    """kamailio with one phone that answers (and types digits) and one that never answers."""
    lab = SipLab()
    lab.plan_phone(ANSWERING[1:], DTMF, 500.0)
    lab.plan_phone(SILENT[1:], NO_ANSWER, 500.0)
    lab.start()
    yield lab
    lab.stop()


def _sip_config(lab: SipLab) -> SipConfig:
    overrides = lab.settings_overrides(SIP_STRIP_PLUS=True, SIP_RING_TIMEOUT=4)
    return SipConfig.from_settings(load_settings(_env_file=None, **overrides))


@pytest.fixture
def sqlite_url(tmp_path) -> Iterator[str]:
    """A SQLite database for the slower SIP tests (the main flow runs on both backends)."""
    with isolated_database("sqlite", tmp_path) as url:
        yield url


class Harness:
    """Services on a running event loop (as in `serve`), a chat user and what the outbox sends."""

    def __init__(self, db_url: str, sip: SipConfig | None = None, *, start: bool = True) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        settings = service_settings(db_url)
        self.dialer = Dialer(sip) if sip is not None else None
        engine = open_database(db_url, migrate=False)
        self.services = build_services(settings, engine=engine, dialer=self.dialer)
        self.services.background.attach(self.loop)
        self.received: list[tuple[str, Reply]] = []
        self.changed = threading.Condition()
        self.services.outbox.register("console", self._send)
        if self.dialer is not None and start:
            self.run(self.dialer.start())
        self.assistant = build_assistant(self.services)

    async def _send(self, external_id: str, reply: Reply) -> None:
        with self.changed:
            self.received.append((external_id, reply))
            self.changed.notify_all()

    def run(self, coroutine, timeout: float = WAIT):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def say(self, text: str, user: str = "me") -> list[str]:
        return [r.text for r in self.assistant.handle_sync(Sender("console", user), text)]

    def account(self, user: str = "me"):
        return self.services.accounts.resolve("console", user)

    def messages(self, count: int = 1, timeout: float = WAIT) -> list[str]:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.received) >= count, timeout), (
                f"only {len(self.received)} of {count} notifications arrived"
            )
            return [reply.text for _user, reply in self.received]

    def service_calls(self, account_id: int, purpose: str) -> list[CallRecord]:
        """The account's records of free calls of one purpose (not listed in `history`)."""
        with transaction(self.services.engine) as session:
            return list(
                session.exec(
                    select(CallRecord).where(
                        CallRecord.account_id == account_id, CallRecord.kind == purpose
                    )
                )
            )

    def close(self) -> None:
        self.run(self.services.background.wait(30), 40)
        if self.services.dialer is not None:
            self.run(self.services.dialer.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
        self.services.engine.dispose()


@pytest.fixture
def harness() -> Iterator:
    made: list[Harness] = []

    def make(db_url: str, sip: SipConfig | None = None, **kwargs) -> Harness:
        made.append(Harness(db_url, sip, **kwargs))
        return made[-1]

    yield make
    for one in made:
        one.close()


def _code(reply: str) -> str:
    found = re.search(r"code (\d{4}) ", reply)
    assert found, reply
    return found.group(1)


def _answered_calls(phone) -> int:
    return len(phone.calls_with("CALL_ESTABLISHED"))


def _type_when_answered(phone, before: int, digits: str) -> None:
    phone.wait_event("CALL_ESTABLISHED", before + 1)
    time.sleep(1.0)  # let the instruction start, as a person would
    phone.send_dtmf(digits)


# --- verification calls against the lab -----------------------------------------------


@pytest.mark.sip
def test_number_is_verified_by_typing_the_code(lab, harness, db_url):
    h = harness(db_url, _sip_config(lab))
    phone = lab.phones[ANSWERING[1:]]
    before = _answered_calls(phone)

    [reply] = h.say(f"my number is {ANSWERING}")
    code = _code(reply)
    assert reply == t("en", "verify_calling", number=ANSWERING, code=code)
    account = h.account()
    assert (account.phone_number, account.phone_verified) == (ANSWERING, False)

    _type_when_answered(phone, before, code)
    assert h.messages() == [t("en", "verify_done", number=ANSWERING)]
    assert h.account().phone_verified is True
    phone.wait_event("CALL_CLOSED", before + 1)
    assert audible_seconds(phone.heard()) >= 1.0  # the spoken instruction reached the phone

    [record] = h.service_calls(account.id, VERIFICATION)
    assert (record.a_number, record.state, record.hangup_cause) == (ANSWERING, "ended", "completed")
    assert record.cost == 0 and record.settled_at is not None  # free, never billed
    assert h.services.billing.settle(record.id) == 0

    # The same number again: no new call.
    assert h.say(f"my number is {ANSWERING}") == [
        t("en", "number_already_verified", number=ANSWERING)
    ]
    assert len(h.service_calls(account.id, VERIFICATION)) == 1


@pytest.mark.sip
def test_a_wrong_code_leaves_the_number_unverified(lab, harness, sqlite_url):
    h = harness(sqlite_url, _sip_config(lab))
    phone = lab.phones[ANSWERING[1:]]
    before = _answered_calls(phone)
    [reply] = h.say(f"mon numéro est le {ANSWERING}")
    code = _code(reply)
    assert reply == t("fr", "verify_calling", number=ANSWERING, code=code)
    wrong = "".join(str((int(d) + 1) % 10) for d in code)

    _type_when_answered(phone, before, wrong)
    assert h.messages() == [t("fr", "verify_wrong_code", number=ANSWERING)]
    assert h.account().phone_verified is False


@pytest.mark.sip
def test_a_code_wrong_only_in_its_last_digit_is_refused(lab, harness, sqlite_url):
    h = harness(sqlite_url, _sip_config(lab))
    phone = lab.phones[ANSWERING[1:]]
    before = _answered_calls(phone)
    [reply] = h.say(f"my number is {ANSWERING}")
    code = _code(reply)
    almost = code[:-1] + str((int(code[-1]) + 1) % 10)

    _type_when_answered(phone, before, almost)
    assert h.messages() == [t("en", "verify_wrong_code", number=ANSWERING)]
    account = h.account()
    assert (account.phone_number, account.phone_verified) == (ANSWERING, False)
    [record] = h.service_calls(account.id, VERIFICATION)
    # All four digits were collected, so the call itself ended normally.
    assert (record.state, record.hangup_cause) == ("ended", "completed")


@pytest.mark.sip
@pytest.mark.parametrize("typed", [1, 2, 3])
def test_the_start_of_the_code_then_hanging_up_is_refused(lab, harness, sqlite_url, typed):
    h = harness(sqlite_url, _sip_config(lab))
    phone = lab.phones[ANSWERING[1:]]
    before = _answered_calls(phone)
    closed = len(phone.calls_with("CALL_CLOSED"))
    [reply] = h.say(f"my number is {ANSWERING}")
    code = _code(reply)

    _type_when_answered(phone, before, code[:typed])  # right so far, but incomplete
    phone.command("hangup")
    phone.wait_event("CALL_CLOSED", closed + 1)
    assert h.messages() == [t("en", "verify_wrong_code", number=ANSWERING)]
    account = h.account()
    assert (account.phone_number, account.phone_verified) == (ANSWERING, False)
    [record] = h.service_calls(account.id, VERIFICATION)
    assert (record.state, record.hangup_cause) == ("ended", "hangup_a")  # the phone hung up


@pytest.mark.sip
def test_an_unanswered_call_leaves_the_number_unverified(lab, harness, sqlite_url):
    h = harness(sqlite_url, _sip_config(lab))
    [reply] = h.say(f"мой номер {SILENT}")
    assert reply.startswith(f"Я звоню на {SILENT}.")
    assert h.messages() == [t("ru", "verify_not_answered", number=SILENT)]
    account = h.account()
    assert account.phone_verified is False
    [record] = h.service_calls(account.id, VERIFICATION)
    assert (record.state, record.hangup_cause) == ("ended", "no_answer")


# --- reminders by call against the lab --------------------------------------------------


def _verified(h: Harness, number: str, language: str = "en"):
    account = h.account()
    return h.services.accounts.update(
        account.id, phone_number=number, phone_verified=True, language=language
    )


def _fire(h: Harness, reminder_id: int) -> None:
    scheduler = Scheduler(
        h.services.reminders,
        h.services.accounts,
        h.services.outbox.notify,
        place_call=functools.partial(place_reminder_call, h.services),
    )
    store = ReminderStore(h.services.engine)

    async def until_fired() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(scheduler.run(stop))
        while store.get(reminder_id).state != "fired":
            assert not task.done(), task
            await asyncio.sleep(0.1)
        stop.set()
        await task

    h.run(until_fired(), WAIT)


@pytest.mark.sip
def test_a_call_reminder_is_spoken_on_the_verified_number(lab, harness, db_url, tmp_path):
    h = harness(db_url, _sip_config(lab))
    phone = lab.phones[ANSWERING[1:]]
    closed = len(phone.calls_with("CALL_CLOSED"))
    account = _verified(h, ANSWERING, "fr")
    reminder = ReminderStore(h.services.engine).add(
        account.id, utcnow(), "call", "prendre les médicaments"
    )

    _fire(h, reminder.id)
    phone.wait_event("CALL_CLOSED", closed + 1)
    spoken = synthesize(
        t("fr", "reminder_spoken", text="prendre les médicaments"), "fr", directory=tmp_path
    )
    # The phone heard (about) all of the reminder, not just the start of it.
    assert audible_seconds(phone.heard()) >= 0.8 * audible_seconds(spoken) >= 1.5
    assert h.received == []  # answered: no message needed
    [record] = h.service_calls(account.id, REMINDER)
    assert (record.a_number, record.hangup_cause, record.cost) == (ANSWERING, "completed", 0)
    assert record.a_answered_at is not None


@pytest.mark.sip
def test_an_unanswered_call_reminder_comes_as_a_message(lab, harness, sqlite_url):
    h = harness(sqlite_url, _sip_config(lab))
    account = _verified(h, SILENT)
    reminder = ReminderStore(h.services.engine).add(account.id, utcnow(), "call", "dentist")

    _fire(h, reminder.id)
    assert h.messages() == [t("en", "reminder_fire_not_answered", text="dentist", number=SILENT)]
    [record] = h.service_calls(account.id, REMINDER)
    assert record.hangup_cause == "no_answer"


# --- without the lab ---------------------------------------------------------------------

UNREACHABLE = SipConfig(server="127.0.0.1", user="dialer", password="unused")


def test_verification_calls_are_limited_per_account_and_per_number(harness, db_url):
    h = harness(db_url, UNREACHABLE, start=False)
    account = h.account()
    store = ServiceCallStore(h.services.engine)
    for index in range(CALLS_PER_WINDOW):
        store.open(f"old{index}", account.id, ANSWERING, VERIFICATION)
        h.services.calls.record_event(f"old{index}", "ended", cause="no_answer")

    [reply] = h.say(f"my number is {ANSWERING}")
    assert reply.startswith(f"I have already made {CALLS_PER_WINDOW} verification calls")
    assert "try again after" in reply
    assert h.account().phone_number is None  # a refused request changes nothing
    assert len(h.service_calls(account.id, VERIFICATION)) == CALLS_PER_WINDOW
    # Another number does not help: the limit is the account's.
    assert h.say("my number is +447911123456")[0].startswith("I have already made")

    # Another account cannot ring the same number either.
    [other] = h.say(f"my number is {ANSWERING}", user="other")
    assert other.startswith("I have already made")
    assert h.service_calls(h.account("other").id, VERIFICATION) == []
    assert h.received == []


def test_one_verification_call_at_a_time(harness, db_url):
    h = harness(db_url, UNREACHABLE, start=False)
    account = h.account()
    ServiceCallStore(h.services.engine).open("ringing", account.id, ANSWERING, VERIFICATION)
    assert h.say(f"my number is {ANSWERING}") == [t("en", "verify_in_progress")]


def test_an_old_call_no_longer_counts(harness, db_url):
    h = harness(db_url, UNREACHABLE, start=False)
    account = h.account()
    store = ServiceCallStore(h.services.engine)
    for index in range(CALLS_PER_WINDOW):
        store.open(f"old{index}", account.id, ANSWERING, VERIFICATION)
        h.services.calls.record_event(f"old{index}", "ended", cause="no_answer")
    assert store.count_since(account.id, VERIFICATION, utcnow() - timedelta(hours=1)) == 3
    assert store.count_since(account.id, VERIFICATION, utcnow() + timedelta(seconds=1)) == 0
    with pytest.raises(TooManyCalls):
        store.open("new", account.id, ANSWERING, VERIFICATION, limit=CALLS_PER_WINDOW)
    # The window is measured from the call records' times: move them back an hour.
    with transaction(h.services.engine) as session:
        for index in range(CALLS_PER_WINDOW):
            record = session.get(CallRecord, f"old{index}")
            record.created_at -= timedelta(hours=1, minutes=1)
            session.add(record)
    store.open("new", account.id, ANSWERING, VERIFICATION, limit=CALLS_PER_WINDOW)


def test_a_new_number_needs_a_new_verification(harness, db_url):
    h = harness(db_url, UNREACHABLE, start=False)  # the dialer cannot place calls
    account = _verified(h, ANSWERING)
    assert h.say(f"my number is {ANSWERING}") == [
        t("en", "number_already_verified", number=ANSWERING)
    ]
    [reply] = h.say("my number is +447911123456")
    assert reply.startswith("I am calling +447911123456 now.")
    changed = h.services.accounts.get(account.id)
    assert (changed.phone_number, changed.phone_verified) == ("+447911123456", False)
    # The call cannot be placed: the user is told, and the record is closed.
    assert h.messages() == [t("en", "verify_failed", number="+447911123456")]
    [record] = h.service_calls(account.id, VERIFICATION)
    assert (record.state, record.hangup_cause) == ("ended", "failed")


def test_without_a_dialer_the_number_is_saved_unverified(harness, db_url):
    h = harness(db_url)
    assert h.say(f"my number is {ANSWERING}") == [t("en", "number_saved", number=ANSWERING)]
    account = h.account()
    assert (account.phone_number, account.phone_verified) == (ANSWERING, False)
    assert h.service_calls(account.id, VERIFICATION) == []


def test_a_verification_is_only_for_the_number_still_set(harness, db_url):
    h = harness(db_url)
    account = h.account()
    store = ServiceCallStore(h.services.engine)
    h.services.accounts.set_number(account.id, "+447911123456")
    assert store.confirm_number(account.id, ANSWERING) is False
    assert h.services.accounts.get(account.id).phone_verified is False
    assert store.confirm_number(account.id, "+447911123456") is True
    assert h.services.accounts.get(account.id).phone_verified is True
