"""Billing's error paths, calls without a hold and free calls, found untested by
bench/mutation.py (on SQLite and PostgreSQL, like tests/test_wallet_billing.py)."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from domain.books import REVENUE, hold_key, settle_key
from storage.calls import CallStore
from storage.ledger_store import LedgerStore, account_book
from tests.wallet_helpers import (
    available,
    finish_call,
    fund,
    new_account,
    new_call,
    wallet_settings,
)
from wallet.billing import Billing

PARIS = "+33142685300"  # 0.03 ETT/min
LONDON = "+442079460958"  # 0.03 ETT/min
ETT = 10**8
PER_MINUTE = 3_000_000


def billing(engine, **overrides) -> Billing:
    return Billing.from_settings(engine, wallet_settings(**overrides))


def test_unknown_calls_and_accounts_are_key_errors(engine):
    wallet = billing(engine)
    with pytest.raises(KeyError, match="no call nope"):
        wallet.call_cost("nope")
    with pytest.raises(KeyError, match="no call nope"):
        wallet.settle("nope")
    with pytest.raises(KeyError, match="no account 987654"):
        wallet.authorize(987654, "c", PARIS, LONDON)


def test_a_call_not_ended_cannot_be_settled(engine):
    account = new_account(engine)
    call_id = new_call(engine, account, PARIS, LONDON)
    with pytest.raises(ValueError, match="^" + re.escape(f"call {call_id} has not ended") + "$"):
        billing(engine).settle(call_id)


def test_release_gives_the_hold_back_once(engine):
    account = new_account(engine)
    fund(engine, account, "5")
    wallet = billing(engine)
    assert wallet.release("never-held") is False
    call_id = new_call(engine, account, PARIS, LONDON)
    wallet.authorize(account, call_id, PARIS, LONDON)
    assert available(engine, account) < 5 * ETT
    assert wallet.release(call_id) is True
    assert wallet.release(call_id) is False
    assert available(engine, account) == 5 * ETT


def test_a_free_call_needs_no_hold(engine):
    account = new_account(engine)  # no money at all
    quote = billing(engine).quote(account, "1001", "1002")
    assert quote.free and quote.price_per_minute == 0
    assert (quote.asset, quote.hold, quote.first_minute) == ("ETT", 0, 0)
    assert quote.max_seconds == wallet_settings().WALLET_MAX_CALL_SECONDS
    auth = billing(engine).authorize(account, "free-1", "1001", "1002")
    assert (auth.hold_key, auth.asset, auth.max_seconds) == (None, "ETT", quote.max_seconds)
    assert LedgerStore(engine).hold(hold_key("free-1")) is None


def test_a_priced_quote_is_not_free(engine):
    account = new_account(engine)
    fund(engine, account, "1")
    quote = billing(engine).quote(account, PARIS, LONDON)
    assert quote.price_per_minute == 2 * PER_MINUTE and not quote.free


def test_an_ended_call_without_hold_is_charged_what_the_balance_allows(engine, caplog):
    account = new_account(engine)
    fund(engine, account, "0.05")
    call_id = new_call(engine, account, PARIS, LONDON)
    finish_call(engine, call_id, 120, 120)  # due: 2 legs x 2 min x 0.03 = 0.12 ETT
    with caplog.at_level(logging.ERROR, logger="wallet.billing"):
        charged = billing(engine).settle(call_id)
    assert charged == 5_000_000  # all there was
    assert available(engine, account) == 0
    transfer = LedgerStore(engine).transfer_by_key(settle_key(hold_key(call_id)))
    assert (transfer["amount"], transfer["asset"], transfer["kind"]) == (5_000_000, "ETT", "call")
    assert (transfer["debit_book"], transfer["credit_book"]) == (account_book(account), REVENUE)
    assert (transfer["reason"], transfer["ref"]) == (f"call {call_id} (no hold)", call_id)
    record = CallStore(engine).get(call_id)
    assert (record.cost, record.cost_asset) == (5_000_000, "ETT") and record.settled_at
    assert [r.getMessage() for r in caplog.records if r.name == "wallet.billing"] == [
        f"call {call_id} had no hold; charging 5000000 of {4 * PER_MINUTE} ETT units"
    ]


def test_a_call_without_hold_on_an_empty_balance_charges_nothing(engine):
    account = new_account(engine)
    call_id = new_call(engine, account, PARIS, LONDON)
    finish_call(engine, call_id, 60, 60)
    assert billing(engine).settle(call_id) == 0
    assert LedgerStore(engine).transfer_by_key(settle_key(hold_key(call_id))) is None
    assert CallStore(engine).get(call_id).settled_at is not None


def test_a_free_call_without_hold_is_settled_at_zero(engine):
    account = new_account(engine)
    fund(engine, account, "1")
    call_id = new_call(engine, account, "1001", "1002")
    finish_call(engine, call_id, 300, 300)
    assert billing(engine).settle(call_id) == 0
    assert available(engine, account) == ETT
    record = CallStore(engine).get(call_id)
    assert (record.cost, record.cost_asset) == (0, "ETT")


def test_a_leg_whose_route_disappeared_is_billed_nothing(engine, tmp_path: Path, caplog):
    account = new_account(engine)
    call_id = new_call(engine, account, PARIS, LONDON)
    finish_call(engine, call_id, 60, 60)
    only_france = tmp_path / "tariffs.csv"
    only_france.write_text("prefix,ett_per_minute,destination\n33,0.03,France\n", "utf-8")
    wallet = billing(engine, WALLET_TARIFFS_FILE=str(only_france))
    with caplog.at_level(logging.WARNING, logger="wallet.billing"):
        assert wallet.call_cost(call_id) == PER_MINUTE  # the French leg only
    assert [r.getMessage() for r in caplog.records if r.name == "wallet.billing"] == [
        f"call {call_id} leg b: no tariff any more, billed 0"
    ]


def test_authorizing_again_returns_the_same_authorization(engine):
    account = new_account(engine)
    fund(engine, account, "10")
    wallet = billing(engine, FRAUD_DAILY_CAP_ETT="0.5")  # the cap, not the balance, limits
    call_id = new_call(engine, account, PARIS, LONDON)
    first = wallet.authorize(account, call_id, PARIS, LONDON)
    again = wallet.authorize(account, call_id, "+33 1 42 68 53 00", LONDON)
    assert (again.call_id, again.hold_key, again.asset) == (call_id, hold_key(call_id), "ETT")
    assert again.max_seconds == first.max_seconds == 500  # 0.5 ETT at 0.06 ETT/min
    assert again.quote == first.quote
    assert (again.quote.a_number, again.quote.hold) == (PARIS, first.quote.hold)
    # Once the hold is closed, the call may last no longer.
    wallet.release(call_id)
    closed = wallet.authorize(account, call_id, PARIS, LONDON)
    assert closed.max_seconds == 0 and closed.quote.max_seconds == 0


def test_settle_pending_counts_each_call_and_logs_one_that_fails(engine, caplog):
    account = new_account(engine)
    fund(engine, account, "5")
    wallet = billing(engine)
    calls = [new_call(engine, account, PARIS, LONDON) for _ in range(3)]
    for call_id in calls:
        wallet.authorize(account, call_id, PARIS, LONDON)
        finish_call(engine, call_id, 61, 61)
    settle = wallet.settle

    def failing(call_id: str) -> int:
        if call_id == calls[1]:
            raise RuntimeError("ledger unavailable")
        return settle(call_id)

    wallet.settle = failing  # type: ignore[method-assign]
    with caplog.at_level(logging.ERROR, logger="wallet.billing"):
        assert wallet.settle_pending() == 2
    assert [r.getMessage() for r in caplog.records if r.name == "wallet.billing"] == [
        f"could not settle call {calls[1]}"
    ]
    assert CallStore(engine).get(calls[1]).settled_at is None


def test_a_quote_with_calls_in_progress_and_enough_money_is_a_quote(engine):
    account = new_account(engine)
    fund(engine, account, "10")
    wallet = billing(engine)
    running = new_call(engine, account, PARIS, LONDON)
    wallet.authorize(account, running, PARIS, LONDON)
    quote = wallet.quote(account, PARIS, LONDON)
    assert quote.asset == "ETT" and quote.max_seconds > 0


def test_a_quote_counts_what_the_account_committed_today(engine):
    account = new_account(engine)
    fund(engine, account, "10")
    wallet = billing(engine, FRAUD_DAILY_CAP_ETT="0.5")
    assert wallet.quote(account, PARIS, LONDON).max_seconds == 500
    running = new_call(engine, account, PARIS, LONDON)
    held = wallet.authorize(account, running, PARIS, LONDON).quote.hold
    left = 50_000_000 - held
    assert wallet.quote(account, PARIS, LONDON).max_seconds == left * 60 // (2 * PER_MINUTE)


def test_extend_without_an_open_hold_covers_nothing(engine):
    account = new_account(engine)
    fund(engine, account, "5")
    wallet = billing(engine)
    assert wallet.extend("no-such-call", 600) == 0
    call_id = new_call(engine, account, PARIS, LONDON)
    wallet.authorize(account, call_id, PARIS, LONDON)
    assert wallet.extend(call_id, 60) >= 60
    wallet.release(call_id)
    assert wallet.extend(call_id, 600) == 0


def test_a_hold_is_never_extended_past_the_daily_cap(engine):
    account = new_account(engine)
    fund(engine, account, "10")  # the balance would pay for far more
    wallet = billing(engine, FRAUD_DAILY_CAP_ETT="0.5")
    call_id = new_call(engine, account, PARIS, LONDON)
    wallet.authorize(account, call_id, PARIS, LONDON)
    assert wallet.extend(call_id, 3000) == 500  # 0.5 ETT at 0.06 ETT/min
    assert LedgerStore(engine).hold(hold_key(call_id))["amount"] == 50_000_000
