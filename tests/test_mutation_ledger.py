"""The ledger store's reads, refusals and hold edges that bench/mutation.py found untested.

Small and fast, on SQLite and PostgreSQL (the `engine` fixture), like tests/test_ledger.py.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import create_mock_engine
from sqlalchemy.exc import DBAPIError, IntegrityError

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


def test_an_amount_that_is_no_positive_integer_is_refused_with_its_reason(engine):
    """Transfers, holds and extensions refuse a bad amount, saying what an amount must be."""
    ledger = LedgerStore(engine)
    fund(ledger, ANN, 100)
    ledger.place_hold(key="h", book=ANN, asset="ETT", amount=10)
    reason = "^" + re.escape("amount must be a positive integer in the asset's smallest unit") + "$"
    with pytest.raises(ValueError, match=reason):
        ledger.transfer(key="t", kind="call", asset="ETT", amount=0, debit=ANN, credit=REVENUE)
    with pytest.raises(ValueError, match=reason):
        ledger.place_hold(key="h2", book=ANN, asset="ETT", amount=-1)
    with pytest.raises(ValueError, match=reason):
        ledger.extend_hold(key="h", amount=2.5)
    assert ledger.transfer_by_key("t") is None and ledger.hold("h2") is None
    assert ledger.balance(ANN, "ETT") == BalanceView(100, 10)


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


# --- database failures -------------------------------------------------------------------


def _refuse_revenue_entries(engine) -> None:
    """A constraint of the test's own: no ledger entry may be written to REVENUE."""
    if engine.dialect.name == "sqlite":
        sql = (
            "CREATE TRIGGER no_revenue BEFORE INSERT ON ledgerentry"
            f" WHEN NEW.book = '{REVENUE}' BEGIN SELECT RAISE(ABORT, 'no revenue'); END"
        )
    else:
        sql = f"ALTER TABLE ledgerentry ADD CONSTRAINT ck_no_revenue CHECK (book <> '{REVENUE}')"
    with engine.begin() as conn:
        conn.exec_driver_sql(sql)


def test_a_charge_refused_by_another_constraint_is_no_insufficient_funds(engine):
    """Only the balance's own check is reported as InsufficientFunds; others as they are."""
    ledger = LedgerStore(engine)
    fund(ledger, ANN, 100)
    _refuse_revenue_entries(engine)
    with pytest.raises(IntegrityError) as refused:
        ledger.transfer(key="c", kind="call", asset="ETT", amount=10, debit=ANN, credit=REVENUE)
    assert not isinstance(refused.value, InsufficientFunds)
    assert ledger.transfer_by_key("c") is None
    assert ledger.balance(ANN, "ETT") == BalanceView(100, 0)
    with pytest.raises(InsufficientFunds) as refused:  # an uncovered charge: still a refusal
        ledger.transfer(key="d", kind="call", asset="ETT", amount=101, debit=ANN, credit=REVENUE)
    _refusal(refused.value, ANN, "ETT", 100, 101)


def test_a_transfer_whose_connection_the_server_drops_says_it_is_invalidated(engine):
    """A transfer between user books that loses its connection raises a DBAPIError marked
    connection_invalidated (so a caller may retry), and the next transfers work."""
    if engine.dialect.name != "postgresql":
        pytest.skip("a server-side disconnect is a PostgreSQL matter")
    ledger = LedgerStore(engine)
    fund(ledger, ANN, 100)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE FUNCTION drop_me() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            " PERFORM pg_terminate_backend(pg_backend_pid()); PERFORM pg_sleep(5);"
            " RETURN NEW; END $$"
        )
        conn.exec_driver_sql(
            "CREATE TRIGGER drop_me BEFORE INSERT ON ledgerentry"
            " FOR EACH ROW EXECUTE FUNCTION drop_me()"
        )
    with pytest.raises(DBAPIError) as dropped:
        ledger.transfer(key="g", kind="gift", asset="ETT", amount=10, debit=ANN, credit=BOB)
    assert dropped.value.connection_invalidated is True
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER drop_me ON ledgerentry")
    assert ledger.transfer_by_key("g") is None
    ledger.transfer(key="g", kind="gift", asset="ETT", amount=10, debit=ANN, credit=BOB)
    assert ledger.balance(ANN, "ETT") == BalanceView(90, 0)
    assert ledger.balance(BOB, "ETT") == BalanceView(10, 0)


def test_both_entries_of_a_settlement_carry_one_time(engine):
    """The two entries of a settled hold are written at one instant, like a transfer's."""
    ledger = LedgerStore(engine)
    fund(ledger, ANN, 100)
    for index in range(3):
        ledger.place_hold(key=f"h{index}", book=ANN, asset="ETT", amount=10)
        ledger.settle_hold(key=f"h{index}", charge=index + 1, credit=REVENUE, kind="call")
        [debit] = ledger.entries(ANN, limit=1)
        [credit] = ledger.entries(REVENUE, limit=1)
        assert (debit["amount"], credit["amount"]) == (-index - 1, index + 1)
        assert debit["created_at"] == credit["created_at"]


def test_opposite_transfers_between_two_user_books_never_deadlock(engine):
    """Two threads moving money back and forth between the same two user books lock the
    balance rows in one order: none of them fails, and every amount comes back."""
    ledger = LedgerStore(engine)
    fund(ledger, ANN, 1000)
    fund(ledger, BOB, 1000)

    def move(debit: str, credit: str) -> int:
        for index in range(60):
            ledger.transfer(
                key=f"{debit}>{credit}:{index}", kind="gift", asset="ETT", amount=1,
                debit=debit, credit=credit,
            )  # fmt: skip
        return index + 1

    with ThreadPoolExecutor(max_workers=2) as pool:
        done = list(pool.map(move, (ANN, BOB), (BOB, ANN)))
    assert done == [60, 60]
    assert ledger.balance(ANN, "ETT") == BalanceView(1000, 0) == ledger.balance(BOB, "ETT")
    assert ledger.entries_sum(ANN, "ETT") == 1000 == ledger.entries_sum(BOB, "ETT")


def test_settling_to_a_user_book_that_never_moved_opens_its_balance_unheld(engine):
    """A settlement credited to a user book with no balance yet gives it the charge, held 0."""
    ledger = LedgerStore(engine)
    fund(ledger, ANN, 100)
    ledger.place_hold(key="h", book=ANN, asset="ETT", amount=40)
    assert ledger.settle_hold(key="h", charge=25, credit=CAROL, kind="gift") == 25
    assert ledger.balance(CAROL, "ETT") == BalanceView(25, 0)
    assert ledger.balance(CAROL, "ETT").available == 25
    assert ledger.balance(ANN, "ETT") == BalanceView(75, 0)


def test_closing_a_hold_gives_back_only_its_own_asset(engine):
    """Releasing or settling a hold in one asset leaves the holds of the book's other assets."""
    ledger = LedgerStore(engine)
    fund(ledger, ANN, 100)
    fund(ledger, ANN, 50, asset="WAVES")
    ledger.place_hold(key="ett", book=ANN, asset="ETT", amount=30)
    ledger.place_hold(key="waves", book=ANN, asset="WAVES", amount=5)
    ledger.place_hold(key="ett2", book=ANN, asset="ETT", amount=20)
    assert ledger.release_hold("ett") is True
    assert ledger.balance(ANN, "ETT") == BalanceView(100, 20)
    assert ledger.balance(ANN, "WAVES") == BalanceView(50, 5)
    assert ledger.settle_hold(key="ett2", charge=15, credit=REVENUE, kind="call") == 15
    assert ledger.balances(ANN) == {"ETT": BalanceView(85, 0), "WAVES": BalanceView(50, 5)}


def test_a_ledger_on_an_unsupported_database_is_refused_by_name():
    """Only SQLite and PostgreSQL are supported: any other engine is refused, named."""
    engine = create_mock_engine("mysql://", executor=lambda *args, **kwargs: None)
    with pytest.raises(ValueError, match="^unsupported database mysql$"):
        LedgerStore(engine)
