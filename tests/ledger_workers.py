"""Workers for the money concurrency and crash tests (threads, or spawned processes that
may be SIGKILLed): charges, holds, withdrawals, call authorisations."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from settings import load_settings
from storage import open_database
from storage.ledger_store import InsufficientFunds, LedgerStore, account_book
from wallet.billing import Billing
from wallet.deposits import DepositWatcher
from wallet.fraud import CallRefused
from wallet.withdrawals import Withdrawals

REVENUE = "system:revenue"
PARIS = "+33142685300"  # 0.03 ETT/min
LONDON = "+442079460958"  # 0.03 ETT/min


def charge_many(url: str, account_id: int, worker: int, count: int, amount: int) -> tuple[int, int]:
    """Charge `amount` `count` times; return (charged, refused)."""
    engine = open_database(url, migrate=False, pool_size=1)
    ledger = LedgerStore(engine)
    charged = refused = 0
    try:
        for i in range(count):
            try:
                ledger.transfer(
                    key=f"charge:{worker}:{i}",
                    kind="call",
                    asset="ETT",
                    amount=amount,
                    debit=account_book(account_id),
                    credit=REVENUE,
                )
                charged += 1
            except InsufficientFunds:
                refused += 1
    finally:
        engine.dispose()
    return charged, refused


def hold_and_settle_many(url: str, account_id: int, worker: int, count: int) -> int:
    """Place a hold of 10 and settle 7 of it, `count` times; return how many holds were placed."""
    engine = open_database(url, migrate=False, pool_size=1)
    ledger = LedgerStore(engine)
    placed = 0
    try:
        for i in range(count):
            key = f"hold:{worker}:{i}"
            try:
                ledger.place_hold(key=key, book=account_book(account_id), asset="ETT", amount=10)
            except InsufficientFunds:
                continue
            placed += 1
            ledger.settle_hold(key=key, charge=7, credit=REVENUE, kind="call")
    finally:
        engine.dispose()
    return placed


# --- withdrawals killed at the critical point (kill -9) --------------------------------------

DIE_POINTS = ("after_debit", "before_broadcast", "after_broadcast")


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _arm(withdrawals: object, where: str) -> None:
    """Make the next withdrawal SIGKILL this process at `where`."""
    client = withdrawals.client
    real_broadcast = client.broadcast
    if where == "after_debit":  # debited, never signed
        withdrawals._send = lambda _row: _die()
    elif where == "before_broadcast":  # signed and stored, never sent
        client.broadcast = lambda _tx: _die()
    elif where == "after_broadcast":  # on chain, never booked
        client.broadcast = lambda tx: (real_broadcast(tx), _die())
    else:
        raise ValueError(where)


def withdraw_then_die(
    url: str, overrides: dict, account_id: int, amounts: list[int], to: str, where: str
) -> None:
    """Withdraw each amount (keys `<where>:<i>`); SIGKILLed during the last one at `where`."""
    engine = open_database(url, migrate=False, pool_size=1)
    withdrawals = Withdrawals.from_settings(engine, load_settings(**overrides))
    for i, amount in enumerate(amounts):
        if i == len(amounts) - 1:
            _arm(withdrawals, where)
        withdrawals.withdraw(account_id, amount, "ETT", to, key=f"{where}:{i}")
    raise AssertionError("the worker should have been killed")


def withdraw_many(url: str, overrides: dict, account_id: int, to: str, prefix: str, count: int):
    """Withdraw 0.01 ETT `count` times (keys `<prefix>:<i>`), until killed from outside."""
    engine = open_database(url, migrate=False, pool_size=1)
    withdrawals = Withdrawals.from_settings(engine, load_settings(**overrides))
    for i in range(count):
        withdrawals.withdraw(account_id, 10**6 + i, "ETT", to, key=f"{prefix}:{i}")
    engine.dispose()


# --- call authorisations from several instances ------------------------------------------


def authorize_many(
    url: str,
    overrides: dict,
    account_id: int,
    worker: int,
    count: int,
    start_at: float,
    ready: Any = None,
) -> int:
    """Authorise `count` Paris → London calls from their own Billing (an instance of the
    service), all workers starting at `start_at` (time.time()), or together once every
    party of the barrier `ready` is there; how many were granted."""
    engine = open_database(url, migrate=False, pool_size=2)
    billing = Billing.from_settings(engine, load_settings(**overrides))
    if ready is not None:  # however long each took to start (spawned, on a busy machine)
        ready.wait(120)
    time.sleep(max(0.0, start_at - time.time()))
    granted = 0
    try:
        for i in range(count):
            try:
                billing.authorize(account_id, f"w{worker}-{i}", PARIS, LONDON)
                granted += 1
            except CallRefused:
                pass
    finally:
        engine.dispose()
    return granted


def poll_deposits(url: str, overrides: dict, page_size: int) -> None:
    """Credit deposits in a loop, until killed from outside."""
    engine = open_database(url, migrate=False, pool_size=1)
    watcher = DepositWatcher.from_settings(engine, load_settings(**overrides))
    watcher.page_size = page_size
    while True:
        watcher.poll_once()
