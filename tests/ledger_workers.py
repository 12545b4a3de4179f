"""Charging workers for the ledger concurrency tests (threads or processes)."""

from __future__ import annotations

from storage import open_database
from storage.ledger_store import InsufficientFunds, LedgerStore, account_book

REVENUE = "system:revenue"


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
