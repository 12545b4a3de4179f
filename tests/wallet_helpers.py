"""Helpers shared by the wallet tests: accounts with money and finished call records."""

from __future__ import annotations

import uuid
from datetime import timedelta

from domain.books import DEPOSITS
from domain.clock import utcnow
from domain.money import to_units
from settings import load_settings
from storage.accounts import AccountStore
from storage.calls import CallStore
from storage.ledger_store import LedgerStore, account_book
from storage.models import CallRecord

TEST_SETTINGS = {
    "WALLET_WAVES_ETT_RATE": "100",
    "WALLET_WAVES_SURCHARGE_PERCENT": "25",
    "FRAUD_DAILY_CAP_ETT": "1000",
    "FRAUD_MAX_CONCURRENT_CALLS": 50,
    "FRAUD_MAX_CALLS_SAME_NUMBER_DAILY": 100,
}


def wallet_settings(**overrides):
    return load_settings(**{**TEST_SETTINGS, **overrides})


def new_account(engine, **fields) -> int:
    store = AccountStore(engine)
    account = store.resolve("console", f"user-{uuid.uuid4().hex[:8]}")
    if fields:
        store.update(account.id, **fields)
    return account.id


def fund(engine, account_id: int, amount: str, asset: str = "ETT") -> None:
    LedgerStore(engine).transfer(
        key=f"test-fund:{uuid.uuid4().hex}",
        kind="deposit",
        asset=asset,
        amount=to_units(amount, asset),
        debit=DEPOSITS,
        credit=account_book(account_id),
        reason="test funding",
    )


def new_call(engine, account_id: int, a_number: str, b_number: str) -> str:
    call_id = uuid.uuid4().hex[:16]
    CallStore(engine).create(
        CallRecord(id=call_id, account_id=account_id, a_number=a_number, b_number=b_number)
    )
    return call_id


def finish_call(engine, call_id: str, a_seconds: float | None, b_seconds: float | None) -> None:
    """End a call whose legs were answered for the given durations (None: never answered)."""
    calls = CallStore(engine)
    start = utcnow() - timedelta(seconds=(a_seconds or 0) + 10)
    end = start + timedelta(seconds=a_seconds or 5)
    if a_seconds is not None:
        calls.record_event(call_id, "answered", leg="a", at=start)
        calls.record_event(call_id, "ended", leg="a", at=end)
    if b_seconds is not None:
        b_start = end - timedelta(seconds=b_seconds)
        calls.record_event(call_id, "answered", leg="b", at=b_start)
        calls.record_event(call_id, "ended", leg="b", at=end)
    calls.record_event(call_id, "ended", cause="normal", at=end)


def available(engine, account_id: int, asset: str = "ETT") -> int:
    return LedgerStore(engine).balance(account_book(account_id), asset).available
