"""The double-entry ledger: idempotency, holds, and no overdraft under concurrency."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest
from sqlalchemy import text

from storage.ledger_store import (
    InsufficientFunds,
    LedgerStore,
    UnknownHold,
    account_book,
)
from tests.ledger_workers import REVENUE, charge_many, hold_and_settle_many

DEPOSITS = "system:deposits"
USER = account_book(1)


def fund(ledger: LedgerStore, amount: int, key: str = "fund") -> None:
    ledger.transfer(
        key=key, kind="deposit", asset="ETT", amount=amount, debit=DEPOSITS, credit=USER
    )


def assert_books_consistent(ledger: LedgerStore, *books: str) -> None:
    for book in books:
        assert ledger.balance(book, "ETT").amount == ledger.entries_sum(book, "ETT")


def test_transfer_is_double_entry_and_idempotent(engine):
    ledger = LedgerStore(engine)
    first = ledger.transfer(
        key="dep-1", kind="deposit", asset="ETT", amount=150, debit=DEPOSITS, credit=USER
    )
    again = ledger.transfer(
        key="dep-1", kind="deposit", asset="ETT", amount=150, debit=DEPOSITS, credit=USER
    )
    assert first.applied and not again.applied and first.transfer_id == again.transfer_id
    assert ledger.balance(USER, "ETT").amount == 150
    assert ledger.balance(DEPOSITS, "ETT").amount == -150
    assert ledger.entries_sum(USER, "ETT") + ledger.entries_sum(DEPOSITS, "ETT") == 0
    assert [e["amount"] for e in ledger.entries(USER)] == [150]


def test_assets_are_separate(engine):
    ledger = LedgerStore(engine)
    fund(ledger, 100)
    ledger.transfer(key="w", kind="deposit", asset="WAVES", amount=7, debit=DEPOSITS, credit=USER)
    balances = ledger.balances(USER)
    assert balances["ETT"].amount == 100 and balances["WAVES"].amount == 7


def test_user_book_cannot_go_negative(engine):
    ledger = LedgerStore(engine)
    fund(ledger, 100)
    with pytest.raises(InsufficientFunds) as refused:
        ledger.transfer(key="c", kind="call", asset="ETT", amount=101, debit=USER, credit=REVENUE)
    assert refused.value.available == 100
    assert ledger.transfer_by_key("c") is None  # nothing written for a refused transfer
    assert ledger.balance(USER, "ETT").amount == 100


@pytest.mark.parametrize("amount", [0, -5, 1.5, True])
def test_amount_must_be_a_positive_integer(engine, amount):
    with pytest.raises(ValueError):
        LedgerStore(engine).transfer(
            key="x", kind="deposit", asset="ETT", amount=amount, debit=DEPOSITS, credit=USER
        )


def test_hold_reserves_and_settles_exactly_once(engine):
    ledger = LedgerStore(engine)
    fund(ledger, 100)
    ledger.place_hold(key="call-1", book=USER, asset="ETT", amount=60, ref="call:1")
    assert ledger.balance(USER, "ETT").available == 40
    with pytest.raises(InsufficientFunds):
        ledger.transfer(key="c", kind="call", asset="ETT", amount=41, debit=USER, credit=REVENUE)
    assert ledger.settle_hold(key="call-1", charge=25, credit=REVENUE, kind="call") == 25
    assert ledger.settle_hold(key="call-1", charge=25, credit=REVENUE, kind="call") == 25
    view = ledger.balance(USER, "ETT")
    assert (view.amount, view.held) == (75, 0)
    assert ledger.balance(REVENUE, "ETT").amount == 25
    assert ledger.hold("call-1")["state"] == "settled"
    assert_books_consistent(ledger, USER, REVENUE, DEPOSITS)


def test_hold_is_idempotent_and_released(engine):
    ledger = LedgerStore(engine)
    fund(ledger, 100)
    first = ledger.place_hold(key="h", book=USER, asset="ETT", amount=30)
    assert ledger.place_hold(key="h", book=USER, asset="ETT", amount=30) == first
    assert ledger.balance(USER, "ETT").held == 30
    assert ledger.release_hold("h") is True
    assert ledger.release_hold("h") is False
    assert ledger.balance(USER, "ETT").held == 0
    with pytest.raises(UnknownHold):
        ledger.release_hold("nope")


def test_hold_refused_beyond_available(engine):
    ledger = LedgerStore(engine)
    fund(ledger, 50)
    with pytest.raises(InsufficientFunds):
        ledger.place_hold(key="h", book=USER, asset="ETT", amount=51)
    assert ledger.hold("h") is None


def test_settle_never_charges_more_than_the_balance(engine):
    ledger = LedgerStore(engine)
    fund(ledger, 50)
    ledger.place_hold(key="h", book=USER, asset="ETT", amount=50)
    assert ledger.settle_hold(key="h", charge=80, credit=REVENUE, kind="call") == 50
    assert ledger.balance(USER, "ETT").amount == 0


def test_concurrent_threads_never_overdraw(engine, db_url):
    ledger = LedgerStore(engine)
    fund(ledger, 500)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda w: charge_many(db_url, 1, w, 40, 3), range(8)))
    charged = sum(c for c, _ in results)
    assert charged == 500 // 3 and sum(r for _, r in results) == 320 - charged
    assert ledger.balance(USER, "ETT").amount == 500 - 3 * charged == 2
    assert ledger.balance(REVENUE, "ETT").amount == 3 * charged
    assert_books_consistent(ledger, USER, REVENUE)


def test_concurrent_processes_never_overdraw(engine, db_url):
    ledger = LedgerStore(engine)
    fund(ledger, 1000)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=4, mp_context=context) as pool:
        futures = [pool.submit(charge_many, db_url, 1, w, 80, 4) for w in range(4)]
        results = [f.result() for f in futures]
    charged = sum(c for c, _ in results)
    assert charged == 250
    assert ledger.balance(USER, "ETT").amount == 0
    assert ledger.balance(REVENUE, "ETT").amount == 1000
    assert_books_consistent(ledger, USER, REVENUE)


def test_concurrent_holds_keep_available_non_negative(engine, db_url):
    ledger = LedgerStore(engine)
    fund(ledger, 200)
    with ThreadPoolExecutor(max_workers=6) as pool:
        placed = sum(pool.map(lambda w: hold_and_settle_many(db_url, 1, w, 10), range(6)))
    view = ledger.balance(USER, "ETT")
    assert view.held == 0
    assert view.amount == 200 - 7 * placed and view.amount >= 0
    assert placed >= 19  # each settled hold frees 3, so at least 200 // 10 holds fit
    assert_books_consistent(ledger, USER, REVENUE)


def test_settle_never_charges_more_than_the_balance_less_the_other_holds(engine):
    ledger = LedgerStore(engine)
    fund(ledger, 100)
    ledger.place_hold(key="first", book=USER, asset="ETT", amount=60)
    ledger.place_hold(key="second", book=USER, asset="ETT", amount=40)
    assert ledger.settle_hold(key="first", charge=80, credit=REVENUE, kind="call") == 60
    view = ledger.balance(USER, "ETT")
    assert (view.amount, view.held, view.available) == (40, 40, 0)
    assert ledger.hold("second")["state"] == "open"
    assert ledger.settle_hold(key="second", charge=40, credit=REVENUE, kind="call") == 40
    assert ledger.balance(USER, "ETT").amount == 0
    assert_books_consistent(ledger, USER, REVENUE)


def test_a_hold_is_extended_only_while_open_and_covered(engine):
    ledger = LedgerStore(engine)
    fund(ledger, 100)
    ledger.place_hold(key="h", book=USER, asset="ETT", amount=30)
    assert ledger.extend_hold(key="h", amount=50) == 80
    with pytest.raises(InsufficientFunds):
        ledger.extend_hold(key="h", amount=21)
    assert (ledger.hold("h")["amount"], ledger.balance(USER, "ETT").held) == (80, 80)
    assert ledger.settle_hold(key="h", charge=70, credit=REVENUE, kind="call") == 70
    assert ledger.extend_hold(key="h", amount=5) is None  # closed
    assert ledger.balance(USER, "ETT").held == 0
    with pytest.raises(UnknownHold):
        ledger.extend_hold(key="nope", amount=5)


def test_a_hold_guard_refuses_inside_the_holds_transaction(engine):
    ledger = LedgerStore(engine)
    fund(ledger, 100)
    seen = []

    def refuse(conn):
        seen.append(conn.execute(text("SELECT amount FROM hold WHERE idempotency_key = 'g'")).all())
        raise RuntimeError("over the limit")

    with pytest.raises(RuntimeError):
        ledger.place_hold(key="g", book=USER, asset="ETT", amount=10, guard=refuse)
    assert seen == [[(10,)]]  # the guard sees the new hold, and its refusal undoes it
    assert ledger.hold("g") is None and ledger.balance(USER, "ETT").held == 0
    ledger.place_hold(key="x", book=USER, asset="ETT", amount=10)
    with pytest.raises(RuntimeError):
        ledger.extend_hold(key="x", amount=10, guard=refuse)
    assert ledger.hold("x")["amount"] == 10 and ledger.balance(USER, "ETT").held == 10
