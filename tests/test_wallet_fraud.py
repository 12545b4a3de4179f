"""Every toll-fraud rule refuses with its code, on both legs, and records the refusal."""

from __future__ import annotations

import pytest

from storage.fraud import FraudStore
from tests.wallet_helpers import finish_call, fund, new_account, new_call, wallet_settings
from wallet.billing import Billing
from wallet.fraud import CallRefused, country_of, number_type

PARIS = "+33142685300"
LONDON = "+442079460958"
JAMAICA = "+18765550100"  # 0.45 ETT/min


def billing(engine, **overrides) -> Billing:
    return Billing.from_settings(engine, wallet_settings(**overrides))


def refused_rule(wallet: Billing, account: int, call_id: str, a: str, b: str) -> CallRefused:
    with pytest.raises(CallRefused) as refused:
        wallet.authorize(account, call_id, a, b)
    return refused.value


def test_number_types_and_countries():
    assert number_type("+33899123456") == "PREMIUM_RATE"
    assert number_type("+33810123456") == "SHARED_COST"
    assert number_type("+19005551234") == "PREMIUM_RATE"
    assert number_type("+123") == "UNKNOWN"
    assert number_type(PARIS) == "FIXED_LINE"
    assert country_of(LONDON) == "GB"


@pytest.mark.parametrize(
    ("number", "detail"),
    [
        ("+33899123456", "premium_rate"),
        ("+449098790123", "premium_rate"),
        ("+33810123456", "shared_cost"),
        ("+882345678901", "unknown"),
    ],
)
def test_premium_shared_cost_and_unknown_numbers_are_refused_on_either_leg(engine, number, detail):
    account = new_account(engine)
    fund(engine, account, "10")
    wallet = billing(engine)
    for call_id, legs in (("pa", (number, PARIS)), ("pb", (PARIS, number))):
        refusal = refused_rule(wallet, account, call_id, *legs)
        assert refusal.rule == "premium_rate"
        assert detail in refusal.detail and refusal.number == number
    rows = FraudStore(engine).refusals(account)
    assert [(r.rule, r.call_id) for r in rows] == [("premium_rate", "pb"), ("premium_rate", "pa")]


def test_countries_outside_the_allow_list_are_refused(engine):
    default_account = new_account(engine)
    own_list = new_account(engine, allowed_countries="FR")
    for account in (default_account, own_list):
        fund(engine, account, "10")
    wallet = billing(engine, FRAUD_DEFAULT_COUNTRIES="FR,GB")
    assert wallet.authorize(default_account, "ok", PARIS, LONDON).max_seconds > 0
    assert refused_rule(wallet, default_account, "ng", PARIS, "+2348031234567").rule == (
        "country_not_allowed"
    )
    refusal = refused_rule(wallet, own_list, "gb", PARIS, LONDON)
    assert refusal.rule == "country_not_allowed" and "GB" in refusal.detail


def test_price_per_minute_limit(engine):
    account = new_account(engine)
    fund(engine, account, "10")
    wallet = billing(engine, FRAUD_MAX_PRICE_PER_MINUTE_ETT="0.4", FRAUD_DEFAULT_COUNTRIES="FR,JM")
    assert refused_rule(wallet, account, "jm", PARIS, JAMAICA).rule == "rate_per_minute"
    loose = billing(engine, FRAUD_MAX_PRICE_PER_MINUTE_ETT="0.5", FRAUD_DEFAULT_COUNTRIES="FR,JM")
    assert loose.authorize(account, "jm2", PARIS, JAMAICA).asset == "ETT"


def test_concurrent_calls_limit(engine):
    account = new_account(engine)
    fund(engine, account, "10")
    wallet = billing(engine, FRAUD_MAX_CONCURRENT_CALLS=2, WALLET_MAX_CALL_SECONDS=120)
    first = new_call(engine, account, PARIS, LONDON)
    wallet.authorize(account, first, PARIS, LONDON)
    wallet.authorize(account, "held-not-created", PARIS, LONDON)  # a hold alone counts too
    third = new_call(engine, account, PARIS, LONDON)
    assert refused_rule(wallet, account, third, PARIS, LONDON).rule == "concurrent_calls"
    finish_call(engine, first, 30, 30)
    wallet.settle(first)
    assert wallet.authorize(account, third, PARIS, LONDON).max_seconds == 120


def test_same_number_daily_limit_skips_the_users_own_phone(engine):
    # Only a number verified by its keypad code is the user's own (item: an unverified
    # "my number is +X" exempts nothing, see the test below).
    account = new_account(engine, phone_number=PARIS, phone_verified=True)
    fund(engine, account, "10")
    wallet = billing(engine, FRAUD_MAX_CALLS_SAME_NUMBER_DAILY=2)
    for _ in range(2):
        call_id = new_call(engine, account, PARIS, LONDON)
        wallet.authorize(account, call_id, PARIS, LONDON)
        finish_call(engine, call_id, 10, 10)
        wallet.settle(call_id)
    call_id = new_call(engine, account, PARIS, LONDON)
    refusal = refused_rule(wallet, account, call_id, PARIS, LONDON)
    assert refusal.rule == "same_number_daily" and refusal.number == LONDON
    assert wallet.authorize(account, "other", PARIS, "+4930123456").asset == "ETT"


def test_daily_cap_counts_spend_and_holds_and_limits_duration(engine):
    account = new_account(engine)
    fund(engine, account, "10")
    wallet = billing(engine, FRAUD_DAILY_CAP_ETT="0.25")  # 0.06 ETT per minute of both legs
    first = new_call(engine, account, PARIS, LONDON)
    auth = wallet.authorize(account, first, PARIS, LONDON)
    assert auth.max_seconds == 250  # the cap, not the 10 ETT balance, limits the call
    finish_call(engine, first, 150, 150)
    assert wallet.settle(first) == 15_000_000
    second = new_call(engine, account, PARIS, LONDON)
    assert wallet.authorize(account, second, PARIS, LONDON).max_seconds == 100
    third = new_call(engine, account, PARIS, LONDON)
    refusal = refused_rule(wallet, account, third, PARIS, LONDON)
    assert refusal.rule == "daily_cap"
    assert [r.rule for r in FraudStore(engine).refusals(account)] == ["daily_cap"]


def test_limits_that_say_at_most_include_their_value(engine):
    account = new_account(engine)
    fund(engine, account, "10")
    exact = billing(engine, FRAUD_MAX_PRICE_PER_MINUTE_ETT="0.03")  # Paris and London cost 0.03
    assert exact.authorize(account, "exact-price", PARIS, LONDON).max_seconds > 0
    below = billing(engine, FRAUD_MAX_PRICE_PER_MINUTE_ETT="0.02999999")
    assert refused_rule(below, account, "dearer", PARIS, LONDON).rule == "rate_per_minute"
    other = new_account(engine)
    fund(engine, other, "10")
    one_minute = billing(engine, FRAUD_DAILY_CAP_ETT="0.06")  # one first minute of both legs
    assert one_minute.authorize(other, "one-minute", PARIS, LONDON).max_seconds == 60
    third = new_account(engine)
    fund(engine, third, "10")
    less = billing(engine, FRAUD_DAILY_CAP_ETT="0.05999999")
    assert refused_rule(less, third, "over-cap", PARIS, LONDON).rule == "daily_cap"


def test_an_unverified_own_number_is_not_exempt_from_the_same_number_limit(engine):
    account = new_account(engine, phone_number=LONDON)  # "my number is +44…", never confirmed
    fund(engine, account, "10")
    wallet = billing(engine, FRAUD_MAX_CALLS_SAME_NUMBER_DAILY=2)
    for _ in range(2):
        call_id = new_call(engine, account, PARIS, LONDON)
        wallet.authorize(account, call_id, PARIS, LONDON)
        finish_call(engine, call_id, 10, 10)
        wallet.settle(call_id)
    refusal = refused_rule(wallet, account, new_call(engine, account, PARIS, LONDON), PARIS, LONDON)
    assert refusal.rule == "same_number_daily" and refusal.number == PARIS
    verified = new_account(engine, phone_number=PARIS, phone_verified=True)
    fund(engine, verified, "10")
    for other in ("+4930123456", "+4930123457", "+4930123458"):
        call_id = new_call(engine, verified, PARIS, other)
        wallet.authorize(verified, call_id, PARIS, other)
        finish_call(engine, call_id, 10, 10)
        wallet.settle(call_id)
    assert wallet.authorize(verified, "fourth", PARIS, LONDON).asset == "ETT"
