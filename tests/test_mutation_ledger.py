"""The ledger store's reads, refusals and hold edges that bench/mutation.py found untested.

Small and fast, on SQLite and PostgreSQL (the `engine` fixture), like tests/test_ledger.py.
"""

from __future__ import annotations

import re

import pytest

from storage.ledger_store import (
    BalanceView,
    InsufficientFunds,
    LedgerStore,
    UnknownHold,
    account_book,
)

DEPOSITS = "system:deposits"
REVENUE = "system:revenue"
ANN, BOB, CAROL = account_book(1), account_book(2), account_book(3)


def fund(ledger: LedgerStore, book: str, amount: int, asset: str = "ETT", key: str = "") -> None:
    ledger.transfer(
        key=key or f"fund:{book}:{asset}:{amount}",
        kind="deposit",
        asset=asset,
        amount=amount,
        debit=DEPOSITS,
        credit=book,
        reason="funding",
        ref=f"ref:{book}",
    )


def _refusal(error: InsufficientFunds, book: str, asset: str, available: int, wanted: int):
    assert (error.book, error.asset, error.available, error.wanted) == (
        book,
        asset,
        available,
        wanted,
    )
    assert str(error) == f"{book} has {available} {asset} available, {wanted} wanted"


# --- reading -----------------------------------------------------------------------------


def test_balances_are_per_book_and_asset(engine):
    ledger = LedgerStore(engine)
    fund(ledger, ANN, 100)
    fund(ledger, ANN, 7, asset="WAVES")
    fund(ledger, BOB, 40)
    ledger.place_hold(key="h", book=ANN, asset="ETT", amount=30)
    assert ledger.balance(ANN, "ETT") == BalanceView(100, 30)
    assert ledger.balance(ANN, "WAVES") == BalanceView(7, 0)
    assert ledger.balance(CAROL, "ETT") == BalanceView(0, 0)  # never moved
    assert ledger.balance(CAROL, "ETT").held == 0
    assert ledger.balances(ANN) == {"ETT": BalanceView(100, 30), "WAVES": BalanceView(7, 0)}
    # A system book's balance is the sum of its entries, and it holds nothing.
    assert ledger.balance(DEPOSITS, "ETT") == BalanceView(-140, 0)
    assert ledger.balance(DEPOSITS, "WAVES") == BalanceView(-7, 0)
    assert ledger.balance(REVENUE, "ETT") == BalanceView(0, 0)
    assert ledger.entries_sum(DEPOSITS, "WAVES") == -7
    assert ledger.entries_sum(REVENUE, "ETT") == 0  # no entries: zero, not None


def test_total_sums_the_books_of_a_prefix_in_one_asset(engine):
    ledger = LedgerStore(engine)
    assert ledger.total("ETT") == 0
    fund(ledger, ANN, 100)
    fund(ledger, BOB, 40)
    fund(ledger, BOB, 5, asset="WAVES")
    assert ledger.total("ETT") == 140  # user books by default
    assert ledger.total("WAVES") == 5
    assert ledger.total("ETT", prefix=account_book(2)) == 40
    assert ledger.total("ETT", prefix="system:") == 0  # system books keep no balance row


def test_entries_show_kind_reason_and_ref_newest_first_up_to_the_limit(engine):
    ledger = LedgerStore(engine)
    for index in range(52):
        fund(ledger, ANN, index + 1, key=f"fund-{index}")
    entries = ledger.entries(ANN)
    assert len(entries) == 50  # the default limit
    assert [e["amount"] for e in entries[:2]] == [52, 51]
    assert {k: entries[0][k] for k in ("asset", "kind", "reason", "ref")} == {
        "asset": "ETT",
        "kind": "deposit",
        "reason": "funding",
        "ref": f"ref:{ANN}",
    }
    assert entries[0]["created_at"] is not None
    assert len(ledger.entries(ANN, limit=3)) == 3
    assert [e["amount"] for e in ledger.entries(DEPOSITS, limit=1)] == [-52]


def test_a_transfer_stores_its_reason_cut_to_255_its_ref_and_time(engine):
    ledger = LedgerStore(engine)
    fund(ledger, ANN, 100)
    ledger.transfer(
        key="t1", kind="call", asset="ETT", amount=10, debit=ANN, credit=REVENUE,
        reason="x" * 300, ref="call:1",
    )  # fmt: skip
    stored = ledger.transfer_by_key("t1")
    assert len(stored["reason"]) == 255 and stored["ref"] == "call:1"
    assert stored["created_at"] is not None and stored["kind"] == "call"
    ledger.transfer(key="t2", kind="call", asset="ETT", amount=1, debit=ANN, credit=REVENUE)
    assert ledger.transfer_by_key("t2")["reason"] == ""  # no reason given: empty


def test_open_holds_filtered_by_ref_prefix(engine):
    ledger = LedgerStore(engine)
    fund(ledger, ANN, 100)
    ledger.place_hold(key="h1", book=ANN, asset="ETT", amount=10, ref="call:1")
    ledger.place_hold(key="h2", book=ANN, asset="ETT", amount=10, ref="withdrawal:1")
    ledger.place_hold(key="h3", book=ANN, asset="ETT", amount=10, ref="call:2")
    ledger.release_hold("h3")
    assert sorted(h["idempotency_key"] for h in ledger.open_holds()) == ["h1", "h2"]
    [call] = ledger.open_holds("call:")
    assert (call["idempotency_key"], call["ref"], call["amount"]) == ("h1", "call:1", 10)
    assert ledger.open_holds("nothing:") == []


# --- refusals ----------------------------------------------------------------------------


def test_transfer_refusals_name_book_asset_available_and_wanted(engine):
    ledger = LedgerStore(engine)
    fund(ledger, ANN, 100)
    fund(ledger, ANN, 9, asset="WAVES")
    fund(ledger, BOB, 500)
    ledger.place_hold(key="h", book=ANN, asset="ETT", amount=30)
    with pytest.raises(InsufficientFunds) as refused:
        ledger.transfer(key="t", kind="call", asset="ETT", amount=71, debit=ANN, credit=REVENUE)
    _refusal(refused.value, ANN, "ETT", 70, 71)
    with pytest.raises(InsufficientFunds) as refused:  # user to user
        ledger.transfer(key="u", kind="gift", asset="ETT", amount=80, debit=ANN, credit=BOB)
    _refusal(refused.value, ANN, "ETT", 70, 80)
    with pytest.raises(InsufficientFunds) as refused:
        ledger.transfer(key="w", kind="call", asset="WAVES", amount=10, debit=ANN, credit=BOB)
    _refusal(refused.value, ANN, "WAVES", 9, 10)
    with pytest.raises(InsufficientFunds) as refused:  # a book that never moved
        ledger.transfer(key="c", kind="call", asset="ETT", amount=1, debit=CAROL, credit=BOB)
    _refusal(refused.value, CAROL, "ETT", 0, 1)
    assert ledger.transfer_by_key("t") is None and ledger.balance(BOB, "ETT").amount == 500


def test_hold_refusals_name_book_asset_available_and_wanted(engine):
    ledger = LedgerStore(engine)
    fund(ledger, ANN, 100)
    fund(ledger, BOB, 1000)
    ledger.place_hold(key="h", book=ANN, asset="ETT", amount=60)
    with pytest.raises(InsufficientFunds) as refused:
        ledger.place_hold(key="h2", book=ANN, asset="ETT", amount=41)
    _refusal(refused.value, ANN, "ETT", 40, 41)
    with pytest.raises(InsufficientFunds) as refused:
        ledger.extend_hold(key="h", amount=45)
    _refusal(refused.value, ANN, "ETT", 40, 45)
    assert ledger.hold("h2") is None and ledger.balance(ANN, "ETT") == BalanceView(100, 60)
    fund(ledger, ANN, 9, asset="WAVES")  # a second asset of the same book
    with pytest.raises(InsufficientFunds) as refused:
        ledger.place_hold(key="w", book=ANN, asset="WAVES", amount=10)
    _refusal(refused.value, ANN, "WAVES", 9, 10)
    with pytest.raises(InsufficientFunds) as refused:  # a book that never moved
        ledger.place_hold(key="c", book=CAROL, asset="ETT", amount=1)
    _refusal(refused.value, CAROL, "ETT", 0, 1)


def test_bad_arguments_are_refused_with_their_reason(engine):
    ledger = LedgerStore(engine)
    fund(ledger, ANN, 100)
    with pytest.raises(ValueError, match="^debit and credit books must differ$"):
        ledger.transfer(key="t", kind="x", asset="ETT", amount=1, debit=ANN, credit=ANN)
    with pytest.raises(ValueError, match="^holds are placed on user books$"):
        ledger.place_hold(key="h", book=REVENUE, asset="ETT", amount=1)
    ledger.place_hold(key="h", book=ANN, asset="ETT", amount=10)
    with pytest.raises(ValueError, match="^charge must not be negative$"):
        ledger.settle_hold(key="h", charge=-1, credit=REVENUE, kind="call")
    with pytest.raises(UnknownHold) as unknown:
        ledger.extend_hold(key="nope", amount=1)
    assert unknown.value.args == ("nope",)
    with pytest.raises(UnknownHold) as unknown:
        ledger.release_hold("missing")
    assert unknown.value.args == ("missing",)


def test_a_retried_transfer_says_it_was_not_applied(engine):
    ledger = LedgerStore(engine)
    fund(ledger, ANN, 100)
    args = {"kind": "call", "asset": "ETT", "amount": 10, "debit": ANN, "credit": REVENUE}
    first = ledger.transfer(key="once", **args)
    again = ledger.transfer(key="once", **args)
    assert first.applied is True and again.applied is False
    assert again.transfer_id == first.transfer_id > 0
    between = ledger.transfer(key="pair", kind="gift", asset="ETT", amount=5, debit=ANN, credit=BOB)
    repeat = ledger.transfer(key="pair", kind="gift", asset="ETT", amount=5, debit=ANN, credit=BOB)
    assert (between.applied, repeat.applied) == (True, False)
    assert repeat.transfer_id == between.transfer_id
    assert ledger.balance(BOB, "ETT") == BalanceView(5, 0)


# --- holds -------------------------------------------------------------------------------


def test_extending_one_hold_leaves_the_others(engine):
    ledger = LedgerStore(engine)
    fund(ledger, ANN, 100)
    ledger.place_hold(key="a", book=ANN, asset="ETT", amount=10)
    ledger.place_hold(key="b", book=ANN, asset="ETT", amount=20)
    assert ledger.extend_hold(key="a", amount=5) == 15
    assert (ledger.hold("a")["amount"], ledger.hold("b")["amount"]) == (15, 20)
    assert ledger.balance(ANN, "ETT") == BalanceView(100, 35)


def test_settling_to_a_user_book_credits_it_and_records_the_hold_ref(engine):
    ledger = LedgerStore(engine)
    fund(ledger, ANN, 100)
    fund(ledger, BOB, 3)
    ledger.place_hold(key="h", book=ANN, asset="ETT", amount=40, ref="call:9")
    assert ledger.settle_hold(key="h", charge=25, credit=BOB, kind="gift", reason="r") == 25
    assert ledger.balance(ANN, "ETT") == BalanceView(75, 0)
    assert ledger.balance(BOB, "ETT") == BalanceView(28, 0)
    assert ledger.entries_sum(BOB, "ETT") == 28
    settled = ledger.transfer_by_key("settle:h")
    assert (settled["amount"], settled["ref"], settled["reason"]) == (25, "call:9", "r")
    assert ledger.hold("h")["state"] == "settled" and ledger.hold("h")["closed_at"] is not None
    # Again: nothing more, the first charge is returned.
    assert ledger.settle_hold(key="h", charge=25, credit=BOB, kind="gift") == 25
    # The reason is cut to 255 characters, and empty when none is given.
    ledger.place_hold(key="long", book=ANN, asset="ETT", amount=5)
    ledger.settle_hold(key="long", charge=5, credit=REVENUE, kind="call", reason="y" * 300)
    assert ledger.transfer_by_key("settle:long")["reason"] == "y" * 255
    ledger.place_hold(key="bare", book=ANN, asset="ETT", amount=5)
    ledger.settle_hold(key="bare", charge=5, credit=REVENUE, kind="call")
    assert ledger.transfer_by_key("settle:bare")["reason"] == ""


def test_settling_for_nothing_releases_the_hold_and_returns_zero(engine):
    ledger = LedgerStore(engine)
    fund(ledger, ANN, 100)
    ledger.place_hold(key="h", book=ANN, asset="ETT", amount=40)
    assert ledger.settle_hold(key="h", charge=0, credit=REVENUE, kind="call") == 0
    assert ledger.hold("h")["state"] == "released" and ledger.hold("h")["closed_at"] is not None
    assert ledger.transfer_by_key("settle:h") is None
    assert ledger.balance(ANN, "ETT") == BalanceView(100, 0)
    # Settled again (nothing was charged the first time): still nothing.
    assert ledger.settle_hold(key="h", charge=10, credit=REVENUE, kind="call") == 0
    assert ledger.settle_hold(key="h", charge=10, credit=REVENUE, kind="call") == 0


def test_a_charge_beyond_the_balance_takes_what_is_left(engine):
    ledger = LedgerStore(engine)
    fund(ledger, ANN, 50)
    ledger.place_hold(key="h", book=ANN, asset="ETT", amount=20)
    ledger.place_hold(key="other", book=ANN, asset="ETT", amount=30)
    # The balance less the *other* hold is 20: that is all a charge of 35 can take.
    assert ledger.settle_hold(key="h", charge=35, credit=REVENUE, kind="call") == 20
    assert ledger.balance(ANN, "ETT") == BalanceView(30, 30)
    assert ledger.transfer_by_key("settle:h")["amount"] == 20


def test_a_settlement_key_taken_by_another_hold_is_refused(engine):
    ledger = LedgerStore(engine)
    fund(ledger, ANN, 100)
    ledger.transfer(
        key="settle:h", kind="call", asset="ETT", amount=1, debit=ANN, credit=REVENUE
    )  # an unrelated transfer already owns the key the settlement would use
    ledger.place_hold(key="h", book=ANN, asset="ETT", amount=10)
    with pytest.raises(ValueError, match="^" + re.escape("transfer key settle:h is taken") + "$"):
        ledger.settle_hold(key="h", charge=5, credit=REVENUE, kind="call")
    assert ledger.balance(ANN, "ETT") == BalanceView(99, 10)  # rolled back: still held
