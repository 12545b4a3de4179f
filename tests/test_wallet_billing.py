"""Tariffs, quotes, holds and settlement of calls on the real ledger (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from domain.books import DEPOSITS, REVENUE, hold_key
from domain.money import to_units
from storage.calls import CallStore
from storage.fraud import FraudStore
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
from wallet.fraud import CallRefused
from wallet.rates import Rates
from wallet.tariffs import TariffError, Tariffs

PARIS = "+33142685300"  # 0.03 ETT/min
LONDON = "+442079460958"  # 0.03
FR_MOBILE = "+33612345678"  # 0.08
MOSCOW_MOBILE = "+79161234567"  # 0.15
NEW_YORK = "+12125550100"  # 0.02
ETT = 10**8


def billing(engine, **overrides) -> Billing:
    return Billing.from_settings(engine, wallet_settings(**overrides))


# --- tariffs and rates (no database) ---------------------------------------------------


def test_longest_prefix_wins_and_extensions_are_free():
    tariffs = Tariffs.load()
    assert tariffs.price_per_minute(PARIS) == to_units("0.03", "ETT")
    assert tariffs.price_per_minute(FR_MOBILE) == to_units("0.08", "ETT")
    assert tariffs.price_per_minute("+1 876 555 0100") == to_units("0.45", "ETT")  # Jamaica
    assert tariffs.price_per_minute(NEW_YORK) == to_units("0.02", "ETT")
    assert tariffs.price_per_minute("1001") == 0
    assert tariffs.price_per_minute("+999123456789") is None
    assert tariffs.price_per_minute("hello") is None


def test_leg_cost_rounds_up_per_second_after_the_first_minute():
    tariffs = Tariffs.load()
    per_minute = to_units("0.03", "ETT")
    assert tariffs.leg_cost(PARIS, 0) == 0
    assert tariffs.leg_cost(PARIS, 1) == per_minute
    assert tariffs.leg_cost(PARIS, 60) == per_minute
    assert tariffs.leg_cost(PARIS, 60.2) == per_minute * 61 // 60
    assert tariffs.leg_cost(PARIS, 125) == per_minute * 125 // 60
    coarse = Tariffs.load(min_seconds=30, increment=6)
    assert coarse.billable_seconds(7) == 30
    assert coarse.billable_seconds(31) == 36
    assert coarse.leg_cost(MOSCOW_MOBILE, 31) == to_units("0.15", "ETT") * 36 // 60


def test_bad_tariff_file_names_the_row(tmp_path: Path):
    path = tmp_path / "t.csv"
    path.write_text("prefix,ett_per_minute,destination\n33,0.03,France\n44,abc,UK\n")
    with pytest.raises(TariffError, match="row 2"):
        Tariffs.load(path)
    path.write_text("prefix,ett_per_minute,destination\n33,0.1,France\n")
    assert Tariffs.load(path).price_per_minute(PARIS) == to_units("0.1", "ETT")


def test_waves_pays_at_rate_plus_surcharge():
    rates = Rates("100", "25")  # 1 WAVES = 100 ETT, paying in WAVES costs 25 % more
    assert rates.waves_for(100 * ETT) == int(1.25 * ETT)
    assert rates.waves_for(1) == 1  # rounded up
    assert rates.ett_value(int(1.25 * ETT)) == 100 * ETT
    assert rates.ett_value(rates.waves_for(12345)) >= 12345


# --- quote, authorize, settle -----------------------------------------------------------


def test_quote_prices_both_legs_and_limits_duration(engine):
    account = new_account(engine)
    fund(engine, account, "1")
    quote = billing(engine).quote(account, PARIS, MOSCOW_MOBILE)
    assert (quote.a_price_per_minute, quote.b_price_per_minute) == (3_000_000, 15_000_000)
    assert quote.asset == "ETT"
    # 1 ETT pays 1e8 * 60 / 18e6 = 333.3 s of both legs
    assert quote.max_seconds == 333
    assert quote.hold <= ETT
    assert quote.first_minute == 18_000_000


@pytest.mark.parametrize(
    ("a_number", "b_number", "a_seconds", "b_seconds", "expected"),
    [
        (PARIS, LONDON, 95.5, 30, 3_000_000 * 96 // 60 + 3_000_000),
        (PARIS, MOSCOW_MOBILE, 200, 190, 3_000_000 * 200 // 60 + 15_000_000 * 190 // 60),
        (FR_MOBILE, NEW_YORK, 12, None, 8_000_000),  # b never answered: free
        (FR_MOBILE, "1001", 400, 399, -(-8_000_000 * 400 // 60)),  # rounded up; extension free
        (PARIS, LONDON, None, None, 0),
    ],
)
def test_settle_charges_each_leg_at_its_rate(
    engine, a_number, b_number, a_seconds, b_seconds, expected
):
    account = new_account(engine)
    fund(engine, account, "20")
    wallet = billing(engine)
    call_id = new_call(engine, account, a_number, b_number)
    auth = wallet.authorize(account, call_id, a_number, b_number)
    assert auth.asset == "ETT" and auth.max_seconds > 0
    assert available(engine, account) == 20 * ETT - auth.quote.hold
    finish_call(engine, call_id, a_seconds, b_seconds)
    assert wallet.settle(call_id) == expected
    ledger = LedgerStore(engine)
    assert ledger.balance(account_book(account), "ETT").amount == 20 * ETT - expected
    assert ledger.balance(account_book(account), "ETT").held == 0
    assert ledger.balance(REVENUE, "ETT").amount == expected
    record = CallStore(engine).get(call_id)
    assert (record.cost, record.cost_asset) == (expected, "ETT") and record.settled_at
    assert ledger.hold(hold_key(call_id))["state"] == ("settled" if expected else "released")


def test_settlement_is_exactly_once_across_restarts(engine):
    account = new_account(engine)
    fund(engine, account, "5")
    call_id = new_call(engine, account, PARIS, LONDON)
    billing(engine).authorize(account, call_id, PARIS, LONDON)
    finish_call(engine, call_id, 120, 100)
    cost = 3_000_000 * 2 + 5_000_000
    # the process died after the ledger settled the hold but before the record was marked
    LedgerStore(engine).settle_hold(
        key=hold_key(call_id), charge=cost, credit=REVENUE, kind="call", reason="crash test"
    )
    assert CallStore(engine).get(call_id).settled_at is None
    restarted = billing(engine)
    assert restarted.settle_pending() == 1
    assert restarted.settle(call_id) == cost
    assert billing(engine).settle_pending() == 0
    assert available(engine, account) == 5 * ETT - cost
    assert LedgerStore(engine).entries_sum(account_book(account), "ETT") == 5 * ETT - cost


def test_settle_pending_settles_calls_closed_after_a_crash(engine):
    account = new_account(engine)
    fund(engine, account, "5")
    call_id = new_call(engine, account, PARIS, LONDON)
    billing(engine).authorize(account, call_id, PARIS, LONDON)
    finish_call(engine, call_id, 61, 61)
    assert billing(engine).settle_pending() == 1
    assert CallStore(engine).get(call_id).cost == 2 * (3_000_000 * 61 // 60)
    with pytest.raises(ValueError, match="has not ended"):
        other = new_call(engine, account, PARIS, LONDON)
        billing(engine).authorize(account, other, PARIS, LONDON)
        billing(engine).settle(other)


def test_waves_balance_pays_with_surcharge(engine):
    account = new_account(engine)
    fund(engine, account, "2", "WAVES")  # worth 160 ETT after the 25 % surcharge
    wallet = billing(engine)
    call_id = new_call(engine, account, PARIS, LONDON)
    auth = wallet.authorize(account, call_id, PARIS, LONDON)
    assert auth.asset == "WAVES"
    finish_call(engine, call_id, 120, 120)
    charged = wallet.settle(call_id)
    ett_price = 2 * 6_000_000
    assert charged == ett_price * 125 // 100 // 100  # 100 ETT per WAVES, +25 %
    assert CallStore(engine).get(call_id).cost_asset == "WAVES"
    assert available(engine, account, "WAVES") == 2 * ETT - charged


def test_ett_is_preferred_when_it_covers_the_first_minute(engine):
    account = new_account(engine)
    fund(engine, account, "0.06")
    fund(engine, account, "1", "WAVES")
    quote = billing(engine).quote(account, PARIS, LONDON)
    assert quote.asset == "ETT" and quote.max_seconds == 60


def test_low_balance_is_refused_and_recorded(engine):
    account = new_account(engine)
    fund(engine, account, "0.05")  # first minute of Paris + London costs 0.06
    call_id = new_call(engine, account, PARIS, LONDON)
    with pytest.raises(CallRefused) as refused:
        billing(engine).authorize(account, call_id, PARIS, LONDON)
    assert refused.value.rule == "insufficient_funds"
    assert [r.rule for r in FraudStore(engine).refusals(account)] == ["insufficient_funds"]
    assert LedgerStore(engine).hold(hold_key(call_id)) is None


def test_no_route_is_refused(engine, tmp_path: Path):
    tariff = tmp_path / "france-only.csv"
    tariff.write_text("prefix,ett_per_minute,destination\n33,0.03,France\n")
    account = new_account(engine)
    fund(engine, account, "5")
    wallet = billing(engine, WALLET_TARIFFS_FILE=str(tariff))
    with pytest.raises(CallRefused) as refused:
        wallet.authorize(account, "c1", PARIS, LONDON)
    assert (refused.value.rule, refused.value.number) == ("no_route", LONDON)
    assert [r.rule for r in FraudStore(engine).refusals(account)] == ["no_route"]
    assert wallet.authorize(account, "c2", PARIS, PARIS).asset == "ETT"


def test_authorize_twice_keeps_one_hold(engine):
    account = new_account(engine)
    fund(engine, account, "1")
    wallet = billing(engine)
    first = wallet.authorize(account, "call-x", PARIS, LONDON)
    again = wallet.authorize(account, "call-x", PARIS, LONDON)
    assert first.max_seconds == again.max_seconds
    assert available(engine, account) == ETT - first.quote.hold


def test_holds_under_concurrency_never_overspend(engine):
    account = new_account(engine)
    fund(engine, account, "0.30")  # five first minutes of Paris + London (0.06 each)
    results: list[object] = []

    def dial(index: int) -> None:
        wallet = billing(engine)  # one instance per thread: only the database serialises
        try:
            results.append(wallet.authorize(account, f"conc-{index}", PARIS, LONDON))
        except CallRefused as refusal:
            results.append(refusal)

    threads = [threading.Thread(target=dial, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    granted = [r for r in results if not isinstance(r, CallRefused)]
    assert len(results) == 8 and granted
    ledger = LedgerStore(engine)
    view = ledger.balance(account_book(account), "ETT")
    assert view.held == sum(a.quote.hold for a in granted) <= 30_000_000
    assert view.available >= 0
    assert all(r.rule == "insufficient_funds" for r in results if isinstance(r, CallRefused))
    assert ledger.balance(DEPOSITS, "ETT").amount == -30_000_000


# --- the settings reach the bill; WAVES rounds down; holds leave room for the allowed calls --


def test_minimum_and_increment_settings_reach_the_bill(engine):
    account = new_account(engine)
    fund(engine, account, "5")
    wallet = billing(engine, WALLET_MIN_BILLED_SECONDS=30, WALLET_BILLING_INCREMENT=6)
    assert (wallet.tariffs.billable_seconds(31), wallet.tariffs.billable_seconds(7)) == (36, 30)
    call_id = new_call(engine, account, PARIS, MOSCOW_MOBILE)
    wallet.authorize(account, call_id, PARIS, MOSCOW_MOBILE)
    finish_call(engine, call_id, 31, 7)  # leg a 31 s (billed 36 s), leg b 7 s (billed 30 s)
    assert wallet.settle(call_id) == 3_000_000 * 36 // 60 + 15_000_000 * 30 // 60


def test_waves_value_rounds_down_and_waves_price_rounds_up():
    rates = Rates("100", "30")
    assert rates.ett_value(1) == 76  # 100 / 1.3 = 76.9: the house never gives the rest
    assert rates.waves_for(76) == 1 and rates.waves_for(77) == 2  # rounded up


def test_a_waves_paid_call_counts_toward_the_daily_cap_at_its_ett_value(engine):
    account = new_account(engine)
    fund(engine, account, "1", "WAVES")
    wallet = billing(engine, FRAUD_DAILY_CAP_ETT="0.25")
    call_id = new_call(engine, account, PARIS, LONDON)
    auth = wallet.authorize(account, call_id, PARIS, LONDON)
    assert auth.asset == "WAVES"
    held = auth.quote.hold
    assert wallet.rules.remaining_today(account) == 25_000_000 - wallet.rates.ett_value(held)
    finish_call(engine, call_id, 120, 120)
    charged = wallet.settle(call_id)  # WAVES units: 0.12 ETT * 1.25 / 100
    assert charged == 150_000 and wallet.rates.ett_value(charged) == 12_000_000
    assert wallet.rules.remaining_today(account) == 25_000_000 - 12_000_000
    second = new_call(engine, account, PARIS, LONDON)
    assert wallet.authorize(account, second, PARIS, LONDON).max_seconds == 130


def test_the_allowed_concurrency_is_usable_with_a_small_balance(engine):
    """4.78 ETT and two calls allowed at once: the first call's hold is its first minutes,
    not the whole balance, so a second call is placed; a third is refused for the
    concurrency rule, not for the balance."""
    account = new_account(engine)
    fund(engine, account, "4.78")
    wallet = billing(engine, FRAUD_MAX_CONCURRENT_CALLS=2)
    first_call = new_call(engine, account, PARIS, FR_MOBILE)
    first = wallet.authorize(account, first_call, PARIS, FR_MOBILE)  # 0.11 ETT a minute
    assert first.max_seconds == 478 * 60 // 11  # the whole balance pays for that long
    assert first.quote.hold == 11_000_000 * 3  # but only the first 3 minutes are held
    second_call = new_call(engine, account, PARIS, FR_MOBILE)
    second = wallet.authorize(account, second_call, PARIS, FR_MOBILE)
    assert second.max_seconds > 0
    third = refused(wallet, account, new_call(engine, account, PARIS, FR_MOBILE), PARIS, FR_MOBILE)
    assert third.rule == "concurrent_calls"


def test_holds_leave_the_first_minute_of_each_allowed_call(engine):
    account = new_account(engine)
    fund(engine, account, "0.5")  # 0.11 ETT a minute: three first minutes, and some
    wallet = billing(engine, FRAUD_MAX_CONCURRENT_CALLS=3)
    auths = [
        wallet.authorize(account, new_call(engine, account, PARIS, FR_MOBILE), PARIS, FR_MOBILE)
        for _ in range(3)
    ]
    assert all(a.quote.hold >= 11_000_000 for a in auths)
    assert available(engine, account) >= 0


def test_a_call_refused_because_calls_in_progress_hold_the_balance_says_so(engine):
    account = new_account(engine)
    fund(engine, account, "4.78")
    wallet = billing(engine, FRAUD_MAX_CONCURRENT_CALLS=2)
    first = new_call(engine, account, PARIS, FR_MOBILE)
    wallet.authorize(account, first, PARIS, FR_MOBILE)
    covered = wallet.extend(first, 2580)  # the first call went on: its hold grew
    assert covered == 2580 and available(engine, account) < 11_000_000
    refusal = refused(
        wallet, account, new_call(engine, account, PARIS, FR_MOBILE), PARIS, FR_MOBILE
    )
    assert refusal.rule == "concurrent_calls" and "held by 1 call" in refusal.detail
    with pytest.raises(CallRefused) as quoted:
        wallet.quote(account, PARIS, FR_MOBILE)  # the offer says the same
    assert quoted.value.rule == "concurrent_calls"
    # With a balance too low for two first minutes, the balance is the reason.
    poor = new_account(engine)
    fund(engine, poor, "0.15")
    wallet.authorize(poor, new_call(engine, poor, PARIS, FR_MOBILE), PARIS, FR_MOBILE)
    refusal = refused(wallet, poor, new_call(engine, poor, PARIS, FR_MOBILE), PARIS, FR_MOBILE)
    assert refusal.rule == "insufficient_funds"


def test_a_hold_is_extended_as_far_as_the_balance_and_the_cap_allow(engine):
    account = new_account(engine)
    fund(engine, account, "1")
    wallet = billing(engine, FRAUD_DAILY_CAP_ETT="0.9", FRAUD_MAX_CONCURRENT_CALLS=2)
    call_id = new_call(engine, account, PARIS, LONDON)  # 0.06 ETT a minute
    auth = wallet.authorize(account, call_id, PARIS, LONDON)
    assert auth.max_seconds == 900 and auth.quote.hold == 18_000_000
    assert wallet.extend(call_id, 100) == 180  # covered already
    assert wallet.extend(call_id, 600) == 600
    assert LedgerStore(engine).hold(hold_key(call_id))["amount"] == 60_000_000
    assert wallet.extend(call_id, 2000) == 900  # as far as the daily cap allows
    assert wallet.rules.remaining_today(account) == 0
    finish_call(engine, call_id, 700, 690)
    assert wallet.settle(call_id) == 3_000_000 * 700 // 60 + 3_000_000 * 690 // 60
    assert wallet.extend(call_id, 1000) == 0  # settled: nothing to extend


def refused(wallet, account, call_id, a, b) -> CallRefused:
    with pytest.raises(CallRefused) as refusal:
        wallet.authorize(account, call_id, a, b)
    return refusal.value
