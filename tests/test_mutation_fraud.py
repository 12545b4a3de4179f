"""Fraud rules: the refusal's record and the daily cap as a hold guard, found untested by
bench/mutation.py (on SQLite and PostgreSQL, like tests/test_wallet_fraud.py)."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from domain.books import hold_key
from domain.clock import utcnow
from domain.money import to_units
from storage.accounts import AccountStore
from storage.fraud import FraudStore
from storage.ledger_store import LedgerStore, account_book
from tests.wallet_helpers import fund, new_account, new_call, wallet_settings
from wallet.billing import Billing
from wallet.fraud import CallRefused, start_of_day

PARIS = "+33142685300"
LONDON = "+442079460958"
JAMAICA = "+18765550100"  # 0.45 ETT/min
ETT = to_units("1", "ETT")


def rules(engine, **overrides):
    return Billing.from_settings(engine, wallet_settings(**overrides)).rules


def test_a_refusal_says_its_rule_and_detail():
    refusal = CallRefused("no_route", "no tariff for this destination", PARIS)
    assert str(refusal) == "no_route: no tariff for this destination"
    assert (refusal.rule, refusal.detail, refusal.number) == (
        "no_route",
        "no tariff for this destination",
        PARIS,
    )
    assert CallRefused("daily_cap", "spent").number is None


def test_a_recorded_refusal_keeps_rule_detail_number_and_call(engine):
    account = new_account(engine)
    rules(engine).record(account, CallRefused("no_route", "no tariff here", PARIS), "call-1")
    [row] = FraudStore(engine).refusals(account)
    assert (row.account_id, row.rule, row.detail, row.number, row.call_id) == (
        account,
        "no_route",
        "no tariff here",
        PARIS,
        "call-1",
    )


def test_the_cap_guard_undoes_a_hold_that_passes_the_daily_cap(engine):
    account = new_account(engine)
    fund(engine, account, "10")
    ledger = LedgerStore(engine)
    guard = rules(engine, FRAUD_DAILY_CAP_ETT="1").cap_guard(account)
    # Within the cap (the new hold itself counts): placed.
    ledger.place_hold(
        key=hold_key("c1"), book=account_book(account), asset="ETT", amount=ETT, guard=guard
    )
    # One unit more than the cap, with the first hold still open: refused and undone.
    with pytest.raises(CallRefused) as refused:
        ledger.place_hold(
            key=hold_key("c2"), book=account_book(account), asset="ETT", amount=1, guard=guard
        )
    assert refused.value.rule == "daily_cap"
    assert refused.value.detail == f"daily spending cap reached ({ETT + 1} > {ETT})"
    assert ledger.hold(hold_key("c2")) is None
    assert ledger.balance(account_book(account), "ETT").held == ETT


def test_the_day_starts_at_midnight_utc():
    afternoon = datetime(2026, 5, 4, 15, 30, 12, tzinfo=UTC)
    assert start_of_day(afternoon) == datetime(2026, 5, 4, tzinfo=UTC)
    assert start_of_day().date() == utcnow().date() and start_of_day().time() == time(0)


def test_busy_calls_are_the_accounts_running_calls_and_call_holds_but_this_one(engine):
    account, other = new_account(engine), new_account(engine)
    fund(engine, account, "10")
    running = new_call(engine, account, PARIS, "+442079460958")
    held = "held-call"
    LedgerStore(engine).place_hold(
        key=hold_key(held), book=account_book(account), asset="ETT", amount=1, ref=held
    )
    new_call(engine, other, PARIS, "+442079460958")
    fraud = rules(engine)
    assert fraud.busy_calls(account) == {running, held}
    assert fraud.busy_calls(account, running) == {held}
    assert fraud.busy_calls(account, held) == {running}
    assert fraud.busy_calls(new_account(engine)) == set()


def _refused(fraud, account: int, a_number: str, b_number: str) -> CallRefused:
    account_row = AccountStore(fraud.store.engine).get(account)
    with pytest.raises(CallRefused) as refused:
        fraud.check(account_row, a_number, b_number, call_id="c")
    return refused.value


@pytest.mark.parametrize(
    ("overrides", "b_number", "rule", "detail"),
    [
        (
            {"FRAUD_DEFAULT_COUNTRIES": "FR"},
            LONDON,
            "country_not_allowed",
            "calls to GB are not allowed",
        ),
        (
            {"FRAUD_DEFAULT_COUNTRIES": "FR,JM", "FRAUD_MAX_PRICE_PER_MINUTE_ETT": "0.4"},
            JAMAICA,
            "rate_per_minute",
            "price per minute 45000000 exceeds the limit 40000000",
        ),
    ],
)
def test_number_refusals_name_the_number_and_say_why(engine, overrides, b_number, rule, detail):
    account = new_account(engine)
    refusal = _refused(rules(engine, **overrides), account, PARIS, b_number)
    assert (refusal.rule, refusal.detail, refusal.number) == (rule, detail, b_number)


def test_a_destination_without_tariff_is_refused_as_no_route(engine, tmp_path):
    only_france = tmp_path / "tariffs.csv"
    only_france.write_text("prefix,ett_per_minute,destination\n33,0.03,France\n", "utf-8")
    fraud = rules(engine, WALLET_TARIFFS_FILE=str(only_france), FRAUD_DEFAULT_COUNTRIES="FR,GB")
    refusal = _refused(fraud, new_account(engine), PARIS, LONDON)
    assert (refusal.rule, refusal.detail, refusal.number) == (
        "no_route",
        "no tariff for this destination",
        LONDON,
    )
