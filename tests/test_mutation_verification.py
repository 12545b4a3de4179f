"""Own-number verification with a scripted dialer in place of the SIP lab (fast, SQLite).

Companions of tests/test_verification.py for what bench/mutation.py found untested in
bot/features/verification/verify.py: what the call is asked for (the spoken text, how
many digits, how long), each way it can end, and each answer before it starts.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.app import build_assistant, build_services
from bot.assistant import Reply, Sender
from bot.assistant.i18n import t
from bot.features.verification import verify
from dialer import DialerError
from dialer.records import CallRecorder
from dialer.speech import SpeechError
from dialer.types import AnnounceResult
from storage import open_database
from storage.db import transaction
from storage.models import CallRecord
from storage.service_calls import VERIFICATION
from testbed.dbs import isolated_database
from tests.conftest_chat import service_settings

NUMBER = "+33612345671"
OTHER = "+447911123456"
WAIT = 20.0


class ScriptedDialer:
    """Answers `announce` as told (answered or not, the digits typed, or an error) and keeps
    what each call asked for. `typed` holds the answer back until the test sets it."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.answered = True
        self.digits = ""
        self.error: Exception | None = None
        self.typed = threading.Event()
        self.typed.set()

    async def announce(
        self,
        number: str,
        wav_path: str | Path,
        *,
        collect_digits: int = 0,
        timeout: float = 60,
        call_id: str,
        on_event=None,
    ) -> AnnounceResult:
        self.requests.append(
            {
                "number": number,
                "wav": wav_path,
                "collect_digits": collect_digits,
                "timeout": timeout,
                "call_id": call_id,
                "on_event": on_event,
            }
        )
        if self.error is not None:
            raise self.error
        assert await asyncio.to_thread(self.typed.wait, WAIT), "the test never typed"
        return AnnounceResult(
            call_id=call_id,
            answered=self.answered,
            cause="completed" if self.answered else "no_answer",
            digits=self.digits,
        )

    async def stop(self) -> None:
        pass


@pytest.fixture
def spoken(monkeypatch) -> list[tuple[str, str]]:
    """The texts the call would speak (and their language), without espeak."""
    said: list[tuple[str, str]] = []

    async def synthesize_async(text: str, lang: str, **_kwargs) -> Path:
        said.append((text, lang))
        return Path("/nonexistent/instruction.wav")

    monkeypatch.setattr(verify.speech, "synthesize_async", synthesize_async)
    return said


@pytest.fixture
def dialer() -> ScriptedDialer:
    return ScriptedDialer()


@pytest.fixture
def services(tmp_path, dialer: ScriptedDialer) -> Iterator:
    with isolated_database("sqlite", tmp_path) as url:
        engine = open_database(url, migrate=False)
        built = build_services(service_settings(url), engine=engine, dialer=dialer)
        yield built
        engine.dispose()


class Inbox:
    """What the outbox sends to the console chat."""

    def __init__(self, services) -> None:
        self.replies: list[Reply] = []
        self.changed = threading.Condition()
        services.outbox.register("console", self._send)

    async def _send(self, _external_id: str, reply: Reply) -> None:
        with self.changed:
            self.replies.append(reply)
            self.changed.notify_all()

    def wait(self, count: int = 1) -> list[Reply]:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.replies) >= count, WAIT), self.replies
            return list(self.replies)


# --- the call itself: verify_by_call -----------------------------------------------------


def _call(services, code: str = "1234", lang: str = "en", number: str = NUMBER):
    """Run one verification call for the console user "me"; (verified, replies, account)."""
    account = services.accounts.resolve("console", "me")
    services.accounts.set_number(account.id, number)
    services.service_calls.open("vrf-1", account.id, number, VERIFICATION)
    inbox = Inbox(services)
    verified = asyncio.run(verify.verify_by_call(services, account.id, number, code, "vrf-1", lang))
    return verified, inbox.replies, services.accounts.get(account.id)


def _logged(caplog, level: int) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == verify.log.name and r.levelno == level
    ]


def test_the_right_code_verifies_the_number(services, dialer, spoken, caplog):
    caplog.set_level(logging.INFO, logger=verify.log.name)
    dialer.digits = "1234"
    verified, replies, account = _call(services, "1234", lang="fr")
    assert verified is True
    assert replies == [Reply(t("fr", "verify_done", number=NUMBER), lang="fr")]
    assert (account.phone_number, account.phone_verified) == (NUMBER, True)
    # The call speaks the instruction in the user's language and collects the code.
    assert spoken == [(t("fr", "verify_spoken"), "fr")]
    [request] = dialer.requests
    assert request["number"] == NUMBER and request["call_id"] == "vrf-1"
    assert request["wav"] == Path("/nonexistent/instruction.wav")
    assert request["collect_digits"] == 4  # as many digits as the code has
    assert request["timeout"] == verify.CALL_TIMEOUT == 60
    assert isinstance(request["on_event"], CallRecorder)  # the call record follows the call
    assert services.calls.get("vrf-1").state == "ended"
    assert _logged(caplog, logging.INFO) == ["verification call vrf-1: verify_done"]


@pytest.mark.parametrize(
    "typed",
    ["1235", "0234", "123", "1", "12345", "4321"],
    ids=["last digit", "first digit", "start", "first only", "one more", "reversed"],
)
def test_any_other_digits_are_a_wrong_code(services, dialer, spoken, typed):
    dialer.digits = typed
    verified, replies, account = _call(services, "1234")
    assert verified is False
    assert replies == [Reply(t("en", "verify_wrong_code", number=NUMBER), lang="en")]
    assert (account.phone_number, account.phone_verified) == (NUMBER, False)


def test_an_answered_call_without_digits_is_no_code(services, dialer, spoken):
    dialer.digits = ""
    verified, replies, account = _call(services, "1234", lang="ru")
    assert verified is False
    assert replies == [Reply(t("ru", "verify_no_code", number=NUMBER), lang="ru")]
    assert account.phone_verified is False


def test_an_unanswered_call_verifies_nothing_whatever_the_digits(services, dialer, spoken):
    dialer.answered, dialer.digits = False, "1234"
    verified, replies, account = _call(services, "1234")
    assert verified is False
    assert replies == [Reply(t("en", "verify_not_answered", number=NUMBER), lang="en")]
    assert account.phone_verified is False


@pytest.mark.parametrize("error", [DialerError("SIP down"), SpeechError("no espeak-ng")])
def test_a_call_that_cannot_be_placed_is_reported_and_closed(
    services, dialer, spoken, monkeypatch, caplog, error
):
    if isinstance(error, SpeechError):

        async def broken(_text: str, _lang: str, **_kwargs) -> Path:
            raise error

        monkeypatch.setattr(verify.speech, "synthesize_async", broken)
    else:
        dialer.error = error
    verified, replies, account = _call(services, "1234", lang="fr")
    assert verified is False
    assert replies == [Reply(t("fr", "verify_failed", number=NUMBER), lang="fr")]
    assert account.phone_verified is False
    record = services.calls.get("vrf-1")
    assert (record.state, record.hangup_cause) == ("ended", "failed")
    assert _logged(caplog, logging.WARNING) == [
        f"verification call vrf-1 could not be placed: {error}"
    ]


def test_without_a_dialer_the_call_fails_cleanly(services, spoken, caplog):
    verified, replies, account = _call(dataclasses.replace(services, dialer=None), "1234")
    assert verified is False
    assert replies == [Reply(t("en", "verify_failed", number=NUMBER), lang="en")]
    assert services.calls.get("vrf-1").state == "ended"
    assert spoken == []  # nothing is synthesized for a call that cannot be placed
    assert _logged(caplog, logging.WARNING) == [
        "verification call vrf-1 could not be placed: no dialer on this instance"
    ]


def test_a_number_changed_during_the_call_is_not_verified(services, dialer, spoken):
    dialer.typed.clear()
    dialer.digits = "1234"
    account = services.accounts.resolve("console", "me")
    services.accounts.set_number(account.id, NUMBER)
    services.service_calls.open("vrf-1", account.id, NUMBER, VERIFICATION)
    inbox = Inbox(services)

    async def scenario() -> bool:
        call = asyncio.create_task(
            verify.verify_by_call(services, account.id, NUMBER, "1234", "vrf-1", "en")
        )
        while not dialer.requests:
            await asyncio.sleep(0.01)
        await asyncio.to_thread(services.accounts.set_number, account.id, OTHER)
        dialer.typed.set()
        return await call

    assert asyncio.run(scenario()) is False
    assert inbox.replies == [Reply(t("en", "verify_number_changed", number=NUMBER), lang="en")]
    changed = services.accounts.get(account.id)
    assert (changed.phone_number, changed.phone_verified) == (OTHER, False)


# --- asking for it in the chat: own_number / set_number ----------------------------------


class Chat:
    """The assistant with the service loop running (as in `serve`), spoken to as "me"."""

    def __init__(self, services) -> None:
        self.services = services
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        services.background.attach(self.loop)
        self.assistant = build_assistant(services)
        self.inbox = Inbox(services)

    def say(self, text: str, user: str = "me") -> list[str]:
        return [r.text for r in self.assistant.handle_sync(Sender("console", user), text)]

    def account(self, user: str = "me"):
        return self.services.accounts.resolve("console", user)

    def finish(self) -> None:
        asyncio.run_coroutine_threadsafe(self.services.background.wait(WAIT), self.loop).result(
            WAIT + 5
        )

    def close(self) -> None:
        self.finish()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def chat(services) -> Iterator[Chat]:
    made = Chat(services)
    yield made
    made.close()


def _verification_ids(services, account_id: int) -> list[str]:
    with transaction(services.engine) as session:
        rows = session.exec(
            select(CallRecord.id).where(
                CallRecord.account_id == account_id, CallRecord.kind == VERIFICATION
            )
        )
        return list(rows)


def test_asking_shows_a_four_digit_code_and_calls_for_it(chat, dialer, spoken, monkeypatch):
    alphabets: list[str] = []

    def choice(alphabet: str) -> str:
        alphabets.append(alphabet)
        return alphabet[len(alphabets) % len(alphabet)]

    monkeypatch.setattr(verify.secrets, "choice", choice)
    dialer.typed.clear()
    [reply] = chat.say(f"my number is {NUMBER}")
    assert alphabets == ["0123456789"] * verify.CODE_DIGITS  # four random decimal digits
    code = re.search(r"code (\d+) ", reply).group(1)
    assert code == "1234"
    assert reply == t("en", "verify_calling", number=NUMBER, code=code)
    account = chat.account()
    assert (account.phone_number, account.phone_verified) == (NUMBER, False)  # not yet
    [call_id] = _verification_ids(chat.services, account.id)
    assert call_id.startswith("vrf-") and len(call_id) == 4 + 24  # 12 random bytes in hex

    dialer.digits = code
    dialer.typed.set()
    chat.finish()
    assert [r.text for r in chat.inbox.replies] == [t("en", "verify_done", number=NUMBER)]
    assert chat.account().phone_verified is True
    [request] = dialer.requests
    assert (request["number"], request["call_id"], request["collect_digits"]) == (
        NUMBER,
        call_id,
        4,
    )


def test_each_request_has_its_own_call_id(chat, dialer, spoken):
    chat.say(f"my number is {NUMBER}")
    chat.finish()
    chat.say(f"my number is {NUMBER}", user="other")
    chat.finish()
    first, second = (r["call_id"] for r in dialer.requests)
    assert first != second


def test_only_the_same_verified_number_is_not_called_again(chat, dialer, spoken):
    account = chat.account()
    chat.services.accounts.update(account.id, phone_number=NUMBER, phone_verified=True)
    assert chat.say(f"my number is {NUMBER}") == [t("en", "number_already_verified", number=NUMBER)]
    assert dialer.requests == [] and _verification_ids(chat.services, account.id) == []

    # The same number, not verified: called (again).
    chat.services.accounts.update(account.id, phone_verified=False)
    [reply] = chat.say(f"my number is {NUMBER}")
    assert reply.startswith(f"I am calling {NUMBER} now.")
    chat.finish()
    # Another number while one is verified: called too, and no longer verified meanwhile.
    chat.services.accounts.update(account.id, phone_verified=True)
    other = chat.account("other")
    chat.services.accounts.update(other.id, phone_number=NUMBER, phone_verified=True)
    [reply] = chat.say(f"my number is {OTHER}", user="other")
    assert reply.startswith(f"I am calling {OTHER} now.")
    assert chat.services.accounts.get(other.id).phone_number == OTHER
    chat.finish()
    assert [r["number"] for r in dialer.requests] == [NUMBER, OTHER]


def test_without_a_running_service_loop_the_number_is_saved_unverified(services, dialer):
    assistant = build_assistant(services)  # the loop is not attached: no background work
    [reply] = [
        r.text for r in assistant.handle_sync(Sender("console", "me"), f"my number is {NUMBER}")
    ]
    assert reply == t("en", "verify_unavailable", number=NUMBER)
    account = services.accounts.resolve("console", "me")
    assert (account.phone_number, account.phone_verified) == (NUMBER, False)
    assert _verification_ids(services, account.id) == [] and dialer.requests == []


def test_a_loop_that_stops_in_between_closes_the_opened_record(chat, dialer, monkeypatch):
    def stopped(coroutine, name: str) -> None:
        coroutine.close()
        raise RuntimeError("no service event loop to run background work on")

    monkeypatch.setattr(chat.services.background, "spawn", stopped)
    assert chat.say(f"my number is {NUMBER}") == [t("en", "verify_unavailable", number=NUMBER)]
    account = chat.account()
    [call_id] = _verification_ids(chat.services, account.id)
    assert chat.services.calls.get(call_id).state == "ended"
    assert dialer.requests == []


def test_too_many_calls_names_the_limit_and_the_local_time_of_the_next(chat, dialer, spoken):
    account = chat.account()
    chat.services.accounts.update(account.id, timezone="Europe/Paris")
    first = None
    for index in range(verify.CALLS_PER_WINDOW):
        record = chat.services.service_calls.open(f"old{index}", account.id, OTHER, VERIFICATION)
        chat.services.calls.record_event(f"old{index}", "ended", cause="no_answer")
        first = first or record.created_at
    [reply] = chat.say(f"my number is {NUMBER}")
    at = (first + timedelta(hours=1)).astimezone(ZoneInfo("Europe/Paris"))
    assert reply == t("en", "verify_too_many", limit=3, at=at.strftime("%Y-%m-%d %H:%M"))
    assert dialer.requests == []


@pytest.mark.parametrize(
    ("text", "key"),
    [("my number is", "number_missing"), ("my number is 12", "number_invalid")],
)
def test_a_missing_or_invalid_number_is_refused(chat, dialer, text, key):
    assert chat.say(text) == [t("en", key)]
    assert chat.account().phone_number is None and dialer.requests == []


def test_the_call_runs_as_named_background_work_and_answers_in_the_users_language(
    chat, dialer, spoken
):
    dialer.typed.clear()
    [reply] = chat.say(f"mon numéro est le {NUMBER}")
    code = re.search(r"code (\d{4}) ", reply).group(1)
    assert reply == t("fr", "verify_calling", number=NUMBER, code=code)
    [call_id] = _verification_ids(chat.services, chat.account().id)

    async def names() -> set[str]:
        while not dialer.requests:
            await asyncio.sleep(0.01)
        return {task.get_name() for task in asyncio.all_tasks()}

    running = asyncio.run_coroutine_threadsafe(names(), chat.loop).result(WAIT)
    assert f"verify {call_id}" in running
    dialer.digits = code
    dialer.typed.set()
    chat.finish()
    assert [r.text for r in chat.inbox.replies] == [t("fr", "verify_done", number=NUMBER)]
    assert spoken == [(t("fr", "verify_spoken"), "fr")]
