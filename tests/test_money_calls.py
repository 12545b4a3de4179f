"""A call's hold is extended while it is bridged, and the call is cut (cause max_duration)
when the balance cannot extend it: the call runner with a stand-in dialer that bridges at
once and ends when asked (the SIP path itself is tested in test_calls.py)."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.app import build_services
from bot.features.calls import runner
from dialer.types import CallbackRequest, CallSummary, DialerEvent
from domain.books import REVENUE, hold_key
from domain.calls import HangupCause, LegEvent
from storage.calls import CallStore
from storage.ledger_store import LedgerStore, account_book
from storage.models import CallRecord
from tests.conftest_chat import service_settings
from tests.wallet_helpers import TEST_SETTINGS, available, fund, new_account

PARIS, LONDON = "+33142685300", "+442079460958"  # 0.06 ETT a minute together: 0.001 ETT/s
ETT = 10**8


class StandInDialer:
    """Answers both legs at once, bridges them, and ends the call after `seconds`, at
    `max_seconds`, or when hung up (cause "hangup", as the real dialer does)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.hangups: list[str] = []
        self._hangup: dict[str, asyncio.Event] = {}

    @property
    def active_calls(self) -> list[str]:
        return list(self._hangup)

    async def hangup(self, call_id: str) -> bool:
        self.hangups.append(call_id)
        event = self._hangup.get(call_id)
        if event is not None:
            event.set()
        return event is not None

    async def callback(self, request: CallbackRequest, on_event) -> CallSummary:
        call_id = request.call_id
        hung_up = self._hangup[call_id] = asyncio.Event()
        for leg in ("a", "b"):
            await on_event(DialerEvent(call_id, LegEvent.ANSWERED, leg=leg))
        await on_event(DialerEvent(call_id, LegEvent.BRIDGED))
        began = time.monotonic()
        limit = min(self.seconds, request.max_seconds or self.seconds)
        try:
            await asyncio.wait_for(hung_up.wait(), limit)
            cause = HangupCause.HANGUP
        except TimeoutError:
            cause = HangupCause.HANGUP_B if limit == self.seconds else HangupCause.MAX_DURATION
        for leg in ("b", "a"):
            await on_event(DialerEvent(call_id, LegEvent.ENDED, leg=leg, cause=cause))
        await on_event(DialerEvent(call_id, LegEvent.ENDED, cause=cause))
        del self._hangup[call_id]
        seconds = time.monotonic() - began
        return CallSummary(call_id, cause, seconds, seconds, True, seconds)


@pytest.fixture
def fast_extensions(monkeypatch):
    monkeypatch.setattr(runner, "EXTEND_SECONDS", 0.2)
    monkeypatch.setattr(runner, "CUT_MARGIN_SECONDS", 0.4)


def paid_call(db_url, engine, dialer: StandInDialer, ett: str):
    settings = service_settings(
        db_url, **TEST_SETTINGS, WALLET_MIN_BILLED_SECONDS=1, WALLET_BILLING_INCREMENT=1
    )
    services = build_services(settings, engine=engine, dialer=dialer, wallet=False)
    services.billing.hold_ahead_seconds = 2  # the hold runs 2 s ahead of the call
    account = new_account(engine)
    fund(engine, account, ett)
    record = CallStore(engine).create(
        CallRecord(
            id=f"c{time.monotonic_ns()}"[-16:], account_id=account, a_number=PARIS, b_number=LONDON
        )
    )
    auth = services.billing.authorize(account, record.id, PARIS, LONDON)
    return services, account, record, auth


def test_the_hold_follows_the_call_while_the_balance_lasts(db_url, engine, fast_extensions):
    dialer = StandInDialer(seconds=3.0)
    services, account, record, auth = paid_call(db_url, engine, dialer, "1")
    assert auth.quote.hold == 200_000  # two seconds of both legs
    largest = []

    async def watch_hold() -> None:
        while True:
            largest.append(LedgerStore(engine).hold(hold_key(record.id))["amount"])
            await asyncio.sleep(0.1)

    async def scenario():
        watcher = asyncio.create_task(watch_hold())
        try:
            return await runner.run_call(services, record, auth, "en")
        finally:
            watcher.cancel()

    ended = asyncio.run(scenario())
    assert ended.hangup_cause == HangupCause.HANGUP_B and dialer.hangups == []
    assert max(largest) >= 400_000  # extended beyond its first two seconds
    assert ended.cost == LedgerStore(engine).balance(REVENUE, "ETT").amount > 0
    assert available(engine, account) == ETT - ended.cost


def test_a_call_the_balance_cannot_extend_is_cut_as_its_maximum_duration(
    db_url, engine, fast_extensions
):
    dialer = StandInDialer(seconds=60.0)
    services, account, record, auth = paid_call(db_url, engine, dialer, "1")
    assert auth.max_seconds == 1000  # what the balance paid for when the call began
    ledger = LedgerStore(engine)

    async def spend_the_rest() -> None:  # another call of the account took the balance
        await asyncio.sleep(0.5)
        rest = available(engine, account)
        await asyncio.to_thread(
            ledger.transfer, key="elsewhere", kind="call", asset="ETT", amount=rest,
            debit=account_book(account), credit=REVENUE,
        )  # fmt: skip

    async def scenario():
        spender = asyncio.create_task(spend_the_rest())
        began = time.monotonic()
        ended = await runner.run_call(services, record, auth, "en")
        await spender
        return ended, time.monotonic() - began

    ended, lasted = asyncio.run(scenario())
    assert dialer.hangups == [record.id]
    assert ended.hangup_cause == HangupCause.MAX_DURATION
    assert lasted < 5  # cut when its hold ran out, not after 60 s (or 1000)
    assert ended.settled_at is not None and available(engine, account) >= 0
    assert ledger.balance(account_book(account), "ETT").held == 0
