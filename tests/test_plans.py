"""Monthly plans on the real stores and billing (SQLite and PostgreSQL): the plan file,
subscribing, renewals racing at a period boundary, lapses and their notices, included
minutes used at settlement."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from domain.books import REVENUE
from domain.clock import utcnow
from domain.money import to_units
from storage import open_database
from storage.ledger_store import LedgerStore
from storage.models import PlanPeriod
from storage.plans import PlanStore
from tests.wallet_helpers import available, finish_call, fund, new_account, new_call
from tests.wallet_helpers import wallet_settings as settings_of
from wallet.billing import Billing
from wallet.fraud import CallRefused
from wallet.plan_renewal import AHEAD, LAPSED, PlanRenewal
from wallet.plans import Catalogue, PlanError
from wallet.rates import Rates
from wallet.subscriptions import PlanRefused, Subscriptions, add_month, period_key

ETT = 10**8
PARIS = "+33142685300"  # 0.03 ETT/min, group "france"
LONDON = "+442079460958"  # 0.03 ETT/min, group "europe"
JAMAICA = "+18765550100"  # 0.45 ETT/min, group "north_america"
TOKYO = "+81312345678"  # no group
PRICE = {"Starter": 5 * ETT, "Business": 20 * ETT}

PLAN_FILE = """
[groups]
france = ["33"]
europe = ["44"]

[[plan]]
name = "Small"
price_ett = "1.5"
minutes = { france = 2 }

[[plan]]
name = "Big"
price_ett = "3"
minutes = { france = 10, europe = 1 }
dids = 1
ivr = true
"""


def subscriptions(engine) -> Subscriptions:
    return Subscriptions(engine, Catalogue.load(), Rates("100", "25"))


def at(day: int, month: int = 1, hour: int = 12, year: int = 2027) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def revenue(engine, asset: str = "ETT") -> int:
    return -LedgerStore(engine).entries_sum(REVENUE, asset) * -1


# --- the plan file (no database) ------------------------------------------------------


def test_shipped_plans_load_and_longest_prefix_picks_the_group():
    catalogue = Catalogue.load()
    assert [p.name for p in catalogue.plans] == ["Starter", "Business", "Enterprise"]
    business = catalogue.find(" business ")
    assert business is not None and business.price == 20 * ETT
    assert business.included_seconds["france"] == 1000 * 60
    assert (business.dids, business.ivr, business.tracking_numbers) == (1, True, 2)
    assert catalogue.group_of(PARIS) == "france"
    assert catalogue.group_of("+33612345678") == "france"  # French mobiles are France
    assert catalogue.group_of("+79161234567") == "russia"
    assert catalogue.label("north_america", "fr") == "Amérique du Nord (+1)"
    assert catalogue.group_of("1001") is None
    assert catalogue.group_of(TOKYO) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[plan]]\nname = "X"\nprice_ett = "abc"\n', "plan 'X': field 'price_ett'"),
        ('[[plan]]\nname = "X"\nprice_ett = "0"\n', "plan 'X': field 'price_ett'"),
        ('[[plan]]\nname = "X"\nprice_ett = "1"\nminutes = { mars = 5 }\n', "no group 'mars'"),
        (
            '[groups]\nfr = ["33"]\n[[plan]]\nname = "X"\nprice_ett = "1"\nminutes = { fr = -1 }\n',
            "plan 'X': field 'minutes.fr'",
        ),
        ('[[plan]]\nname = "X"\nprice_ett = "1"\nivr = "yes"\n', "plan 'X': field 'ivr'"),
        ('[[plan]]\nname = "X"\nprice_ett = "1"\ncolour = 1\n', "field 'colour': unknown"),
        ('[groups]\na = ["33"]\nb = ["+33"]\n[[plan]]\nname="X"\nprice_ett="1"\n', "too"),
        ('[[plan]]\nname = "X"\nprice_ett = "1"\n[[plan]]\nname = "x"\nprice_ett = "2"\n', "dup"),
        ("[[plan]\n", "not TOML"),
    ],
)
def test_a_bad_plan_file_names_the_file_the_plan_and_the_field(tmp_path: Path, text, message):
    path = tmp_path / "my-plans.toml"
    path.write_text(text)
    with pytest.raises(PlanError, match="my-plans.toml") as error:
        Catalogue.load(path)
    assert message in str(error.value)


def test_periods_are_calendar_months_from_the_subscription_day_clamped():
    assert add_month(at(15, 1), 15) == at(15, 2)
    assert add_month(at(31, 1), 31) == at(28, 2)
    assert add_month(at(28, 2), 31) == at(31, 3)
    assert add_month(at(31, 12, year=2027), 31) == at(31, 1, year=2028)
    assert add_month(at(31, 1, year=2028), 31) == at(29, 2, year=2028)


# --- subscribing --------------------------------------------------------------------


def test_subscribe_charges_the_first_period_in_ett_and_cancel_keeps_it(engine):
    account = new_account(engine)
    fund(engine, account, "30")
    plans = subscriptions(engine)
    outcome = plans.subscribe(account, "business", now=at(10))
    assert (outcome.action, outcome.asset, outcome.amount) == ("subscribed", "ETT", 20 * ETT)
    assert outcome.ends == at(10, 2)
    assert available(engine, account) == 10 * ETT
    transfer = LedgerStore(engine).transfer_by_key(period_key(account, at(10)))
    assert transfer is not None and transfer["kind"] == "plan"
    assert transfer["credit_book"] == REVENUE
    with pytest.raises(PlanRefused) as refused:
        plans.subscribe(account, "Business", now=at(11))
    assert refused.value.reason == "already"
    cancelled = plans.cancel(account)
    assert (cancelled.action, cancelled.ends) == ("cancelled", at(10, 2))
    assert plans.store.period_at(account, at(20)) is not None  # still paid to its end
    renewal = PlanRenewal(plans)
    assert renewal.run_once(at(10, 2, hour=13)) == []
    sub = plans.store.subscription(account)
    assert sub is not None and sub.state == "ended"
    assert available(engine, account) == 10 * ETT  # never renewed


def test_subscribe_pays_in_waves_with_the_surcharge_when_ett_falls_short(engine):
    account = new_account(engine)
    fund(engine, account, "4", "ETT")
    fund(engine, account, "1", "WAVES")
    outcome = subscriptions(engine).subscribe(account, "Starter", now=at(3))
    # 5 ETT at 100 ETT per WAVES plus 25 %: 0.0625 WAVES
    assert (outcome.asset, outcome.amount) == ("WAVES", to_units("0.0625", "WAVES"))
    assert available(engine, account, "ETT") == 4 * ETT
    assert available(engine, account, "WAVES") == ETT - to_units("0.0625", "WAVES")


def test_subscribe_without_the_money_or_to_an_unknown_plan_is_refused(engine):
    account = new_account(engine)
    fund(engine, account, "4")
    plans = subscriptions(engine)
    for name, reason in (("Starter", "insufficient_funds"), ("Gold", "unknown_plan")):
        with pytest.raises(PlanRefused) as refused:
            plans.subscribe(account, name, now=at(3))
        assert refused.value.reason == reason
    assert available(engine, account) == 4 * ETT
    fund(engine, account, "1")
    assert plans.subscribe(account, "Starter", now=at(4)).action == "subscribed"


def test_switching_takes_effect_at_the_next_period(engine):
    account = new_account(engine)
    fund(engine, account, "100")
    plans = subscriptions(engine)
    plans.subscribe(account, "Starter", now=at(5))
    switched = plans.subscribe(account, "Business", now=at(6))
    assert (switched.action, switched.starts) == ("switched", at(5, 2))
    assert available(engine, account) == 95 * ETT  # nothing charged for the switch
    PlanRenewal(plans).run_once(at(5, 2, hour=12))
    sub = plans.store.subscription(account)
    assert sub is not None and (sub.plan, sub.next_plan, sub.period_end) == (
        "Business",
        None,
        at(5, 3),
    )
    assert available(engine, account) == 75 * ETT


# --- renewals -----------------------------------------------------------------------


def test_two_instances_racing_at_the_boundary_renew_once(db_url):
    engines = [open_database(db_url, migrate=False) for _ in range(2)]
    try:
        accounts = [new_account(engines[0]) for _ in range(6)]
        for account in accounts:
            fund(engines[0], account, "45")
            subscriptions(engines[0]).subscribe(account, "Business", now=at(31))
        renewals = [PlanRenewal(subscriptions(e)) for e in engines]
        boundary = at(28, 2, hour=12)  # 31 January 12:00 -> 28 February 12:00
        start = threading.Barrier(4)

        def race(renewal: PlanRenewal) -> None:
            start.wait()
            renewal.run_once(boundary)

        threads = [threading.Thread(target=race, args=(r,)) for r in renewals * 2]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        store = PlanStore(engines[0])
        for account in accounts:
            assert available(engines[0], account) == 5 * ETT  # two periods of 20 ETT
            starts = [p.starts_at for p in store.periods(account)]
            assert starts == [at(31), boundary]
            sub = store.subscription(account)
            assert sub is not None and (sub.state, sub.period_end) == ("active", at(31, 3))
        # again after a "crash" (the same round run once more): nothing more is charged
        for renewal in renewals:
            renewal.run_once(boundary + timedelta(minutes=1))
        assert all(available(engines[0], a) == 5 * ETT for a in accounts)
    finally:
        for engine in engines:
            engine.dispose()


def test_a_renewal_cut_short_after_the_charge_is_finished_without_charging_again(engine):
    account = new_account(engine)
    fund(engine, account, "50")
    plans = subscriptions(engine)
    plans.subscribe(account, "Business", now=at(1))
    business = plans.catalogue.find("Business")
    assert business is not None
    plans._pay(account, business, at(1, 2))  # charged, then the instance died
    assert available(engine, account) == 10 * ETT
    PlanRenewal(plans).run_once(at(1, 2, hour=13))
    assert available(engine, account) == 10 * ETT
    assert [p.starts_at for p in plans.store.periods(account)] == [at(1), at(1, 2)]


def test_a_lapse_is_told_three_days_before_and_when_it_happens_once_each(engine):
    account = new_account(engine)
    fund(engine, account, "25")
    plans = subscriptions(engine)
    plans.subscribe(account, "Business", now=at(10))
    renewal = PlanRenewal(plans)
    assert renewal.run_once(at(6, 2)) == []  # more than 3 days before
    ahead = renewal.run_once(at(7, 2, hour=13))
    assert [(n.kind, n.plan, n.period_end, n.price) for n in ahead] == [
        (AHEAD, "Business", at(10, 2), 20 * ETT)
    ]
    renewal.delivered(ahead[0])
    assert renewal.run_once(at(8, 2)) == []  # once
    assert PlanRenewal(subscriptions(engine)).run_once(at(9, 2)) == []  # once, any instance
    lapsed = renewal.run_once(at(10, 2, hour=12))
    assert [(n.kind, n.account_id) for n in lapsed] == [(LAPSED, account)]
    renewal.delivered(lapsed[0])
    assert renewal.run_once(at(10, 2, hour=13)) == []
    sub = plans.store.subscription(account)
    assert sub is not None and sub.state == "lapsed"
    assert available(engine, account) == 5 * ETT  # nothing charged
    assert plans.store.period_at(account, at(11, 2)) is None  # pay-per-minute now
    with pytest.raises(PlanRefused):  # still short: the lapsed plan stays as it was
        plans.subscribe(account, "Business", now=at(11, 2))
    sub = plans.store.subscription(account)
    assert sub is not None and (sub.state, sub.period_end) == ("lapsed", at(10, 2))
    fund(engine, account, "20")
    assert plans.subscribe(account, "Business", now=at(12, 2)).action == "subscribed"


def test_no_notice_when_the_balance_pays_the_renewal(engine):
    account = new_account(engine)
    fund(engine, account, "40")
    plans = subscriptions(engine)
    plans.subscribe(account, "Business", now=at(10))
    assert PlanRenewal(plans).run_once(at(8, 2)) == []


# --- included minutes at settlement ---------------------------------------------------


def billing(engine, **overrides) -> Billing:
    return Billing.from_settings(engine, settings_of(**overrides))


def use_minutes(engine, account: int, wallet: Billing, a: str, b: str, a_s, b_s) -> int:
    call_id = new_call(engine, account, a, b)
    wallet.authorize(account, call_id, a, b)
    finish_call(engine, call_id, a_s, b_s)
    return wallet.settle(call_id)


def test_a_call_crossing_the_included_minutes_is_split_exactly(engine, tmp_path: Path):
    plan_file = tmp_path / "plans.toml"
    plan_file.write_text(PLAN_FILE)
    account = new_account(engine)
    fund(engine, account, "10")
    now = utcnow()
    wallet = billing(engine, PLANS_FILE=str(plan_file))
    plans = Subscriptions(engine, wallet.catalogue, wallet.rates)
    plans.subscribe(account, "Small", now=now - timedelta(hours=1))  # 120 s to France
    before = available(engine, account)
    per_min = to_units("0.03", "ETT")
    # leg a (Paris, 30 s: billed its 60-s minimum) uses 60 s; leg b (London, no minutes
    # in Small) is paid
    assert use_minutes(engine, account, wallet, PARIS, LONDON, 30, 20) == per_min
    # 60 s left; a 150-s leg to Paris: 60 s included, 90 s at the tariff
    charged = use_minutes(engine, account, wallet, PARIS, "1001", 150, 150)
    assert charged == per_min * 90 // 60
    period = plans.store.period_at(account, now)
    assert period is not None
    usage = plans.store.usage(period)
    assert usage.left("france") == 0 and usage.used == {"france": 120}
    # none left: the whole leg at the tariff
    assert use_minutes(engine, account, wallet, PARIS, "1001", 61, 61) == per_min * 61 // 60
    assert available(engine, account) == before - per_min - per_min * 90 // 60 - per_min * 61 // 60


def test_included_minutes_are_used_once_however_often_a_call_is_settled(engine, tmp_path):
    plan_file = tmp_path / "plans.toml"
    plan_file.write_text(PLAN_FILE)
    account = new_account(engine)
    fund(engine, account, "10")
    wallet = billing(engine, PLANS_FILE=str(plan_file))
    plans = Subscriptions(engine, wallet.catalogue, wallet.rates)
    plans.subscribe(account, "Big", now=utcnow() - timedelta(days=1))
    call_id = new_call(engine, account, PARIS, LONDON)
    wallet.authorize(account, call_id, PARIS, LONDON)
    finish_call(engine, call_id, 200, 100)
    call = wallet.calls.get(call_id)
    assert call is not None
    # a crash after the minutes were used but before the charge: the same split again
    assert wallet.use_included(call) == {"a": 200, "b": 60}
    assert wallet.use_included(call) == {"a": 200, "b": 60}
    london = to_units("0.03", "ETT")
    assert wallet.settle(call_id) == london * 40 // 60
    assert wallet.settle(call_id) == london * 40 // 60
    assert wallet.call_cost(call_id) == london * 40 // 60
    usage = plans.store.usage(plans.store.period_at(account, utcnow()))
    assert usage.used == {"france": 200, "europe": 60}


def test_two_calls_settled_at_once_share_the_minutes_left(db_url, tmp_path):
    plan_file = tmp_path / "plans.toml"
    plan_file.write_text(PLAN_FILE)
    engines = [open_database(db_url, migrate=False) for _ in range(2)]
    try:
        account = new_account(engines[0])
        fund(engines[0], account, "10")
        wallets = [billing(e, PLANS_FILE=str(plan_file)) for e in engines]
        calls = []
        for _ in range(4):  # authorised before the plan: nothing reserved for them
            call_id = new_call(engines[0], account, PARIS, "1001")
            wallets[0].authorize(account, call_id, PARIS, "1001")
            calls.append(call_id)
        Subscriptions(engines[0], wallets[0].catalogue, wallets[0].rates).subscribe(
            account, "Small", now=utcnow() - timedelta(hours=1)
        )
        for call_id in calls:
            finish_call(engines[0], call_id, 90, 90)
        start = threading.Barrier(4)

        def settle(index: int) -> None:
            start.wait()
            wallets[index % 2].settle(calls[index])

        threads = [threading.Thread(target=settle, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        used = [sum(PlanStore(engines[0]).used_by_call(c).values()) for c in calls]
        assert sum(used) == 120  # 4 × 90 s wanted, 120 s included
        per_min = to_units("0.03", "ETT")
        charged = sum(wallets[0].calls.get(c).cost for c in calls)
        assert charged == sum(-(-per_min * (90 - u) // 60) for u in used)
    finally:
        for engine in engines:
            engine.dispose()


def test_internal_calls_and_calls_to_no_group_use_no_minutes(engine, tmp_path):
    plan_file = tmp_path / "plans.toml"
    plan_file.write_text(PLAN_FILE)
    account = new_account(engine)
    fund(engine, account, "10")
    wallet = billing(engine, PLANS_FILE=str(plan_file))
    plans = Subscriptions(engine, wallet.catalogue, wallet.rates)
    plans.subscribe(account, "Big", now=utcnow() - timedelta(hours=1))
    assert use_minutes(engine, account, wallet, "1001", "1002", 100, 100) == 0
    tokyo = use_minutes(engine, account, wallet, TOKYO, "1001", 60, 60)
    assert tokyo == wallet.tariffs.cost(wallet.tariffs.price_per_minute(TOKYO) or 0, 60) > 0
    usage = plans.store.usage(plans.store.period_at(account, utcnow()))
    assert usage.used == {}


def test_a_subscriber_without_balance_calls_on_included_minutes_alone(engine, tmp_path):
    plan_file = tmp_path / "plans.toml"
    plan_file.write_text(PLAN_FILE)
    account = new_account(engine)
    fund(engine, account, "1.5")
    wallet = billing(engine, PLANS_FILE=str(plan_file))
    plans = Subscriptions(engine, wallet.catalogue, wallet.rates)
    plans.subscribe(account, "Small", now=utcnow() - timedelta(hours=1))  # balance now 0
    assert available(engine, account) == 0
    quote = wallet.quote(account, PARIS, "1001")
    assert (quote.asset, quote.max_seconds) == ("ETT", 120)
    call_id = new_call(engine, account, PARIS, "1001")
    auth = wallet.authorize(account, call_id, PARIS, "1001")
    assert (auth.hold_key, auth.max_seconds) == (None, 120)  # cut when the minutes run out
    assert wallet.extend(call_id, 60) == 120
    finish_call(engine, call_id, 120, 120)
    assert wallet.settle(call_id) == 0
    # none left and no balance: refused as any call the balance does not pay
    with pytest.raises(CallRefused) as refused:
        wallet.authorize(account, new_call(engine, account, PARIS, "1001"), PARIS, "1001")
    assert refused.value.rule == "insufficient_funds"
    # London is in no group of Small: the balance alone counts
    with pytest.raises(CallRefused):
        wallet.authorize(account, new_call(engine, account, LONDON, "1001"), LONDON, "1001")


def test_included_minutes_lengthen_what_the_balance_pays(engine, tmp_path):
    plan_file = tmp_path / "plans.toml"
    plan_file.write_text(PLAN_FILE)
    account = new_account(engine)
    fund(engine, account, "1.53")
    wallet = billing(engine, PLANS_FILE=str(plan_file))
    plans = Subscriptions(engine, wallet.catalogue, wallet.rates)
    plans.subscribe(account, "Small", now=utcnow() - timedelta(hours=1))
    # 0.03 ETT left: 60 s at 0.03 ETT/min, plus 120 s included
    call_id = new_call(engine, account, PARIS, "1001")
    auth = wallet.authorize(account, call_id, PARIS, "1001")
    assert auth.hold_key is not None and auth.max_seconds == 180
    assert wallet.extend(call_id, 200) == 180
    finish_call(engine, call_id, 170, 170)
    assert wallet.settle(call_id) == to_units("0.03", "ETT") * 50 // 60
    assert (
        available(engine, account) == to_units("0.03", "ETT") - to_units("0.03", "ETT") * 50 // 60
    )


def test_a_bad_plans_file_stops_billing_with_its_name(tmp_path, engine):
    path = tmp_path / "operator-plans.toml"
    path.write_text('[[plan]]\nname = "X"\nprice_ett = "-1"\n')
    with pytest.raises(PlanError, match="operator-plans.toml: plan 'X': field 'price_ett'"):
        billing(engine, PLANS_FILE=str(path))


def test_a_first_payment_cut_short_is_finished_or_forgotten_by_the_duty(engine):
    paid, unpaid = new_account(engine), new_account(engine)
    for account in (paid, unpaid):
        fund(engine, account, "30")
    plans = subscriptions(engine)
    business = plans.catalogue.find("Business")
    assert business is not None
    for account in (paid, unpaid):  # each instance died after claiming the start
        assert plans.store.claim_start(account, "Business", at(5), at(5, 2), 5)
    plans._pay(paid, business, at(5))  # ... this one after the charge too
    with pytest.raises(PlanRefused) as busy:
        plans.subscribe(unpaid, "Business", now=at(5, hour=13))
    assert busy.value.reason == "busy"
    renewal = PlanRenewal(plans)
    renewal.run_once(utcnow())  # not stale yet: left alone
    assert plans.store.subscription(paid).state == "pending"
    with_time = utcnow() + timedelta(minutes=10)  # (staleness counts from the row's update)
    renewal.run_once(with_time)
    sub = plans.store.subscription(paid)
    assert sub is not None and (sub.state, sub.period_end) == ("active", at(5, 2))
    assert available(engine, paid) == 10 * ETT
    assert plans.store.subscription(unpaid) is None
    assert available(engine, unpaid) == 30 * ETT
    assert plans.subscribe(unpaid, "Business", now=at(6)).action == "subscribed"


# --- regressions (review of the plans) --------------------------------------------------

PARIS_2 = "+33142685301"  # group "france" too


def small_plan_wallet(engine, tmp_path: Path, **overrides) -> tuple[int, Billing]:
    """An account on "Small" (120 s to France) with nothing left on its balance."""
    plan_file = tmp_path / "plans.toml"
    plan_file.write_text(PLAN_FILE)
    account = new_account(engine)
    fund(engine, account, "1.5")
    wallet = billing(engine, PLANS_FILE=str(plan_file), **overrides)
    plans = Subscriptions(engine, wallet.catalogue, wallet.rates)
    plans.subscribe(account, "Small", now=utcnow() - timedelta(hours=1))
    assert available(engine, account) == 0
    return account, wallet


def test_both_legs_in_one_group_share_the_included_minutes(db_url, tmp_path):
    engine = open_database(db_url, migrate=False)
    try:
        account, wallet = small_plan_wallet(engine, tmp_path)
        assert wallet.quote(account, PARIS, PARIS_2).max_seconds == 60  # 120 s, two legs
        call_id = new_call(engine, account, PARIS, PARIS_2)
        auth = wallet.authorize(account, call_id, PARIS, PARIS_2)
        assert (auth.hold_key, auth.max_seconds) == (None, 60)
        assert wallet.extend(call_id, 110) == 60
        finish_call(engine, call_id, 60, 60)
        assert wallet.settle(call_id) == 0
        assert wallet.call_cost(call_id) == 0  # nothing billed that no hold covers
        assert wallet.plans.used_by_call(call_id) == {"a": 60, "b": 60}
    finally:
        engine.dispose()


def test_calls_in_progress_do_not_count_on_the_same_included_minutes(db_url, tmp_path):
    engine = open_database(db_url, migrate=False)
    try:
        account, wallet = small_plan_wallet(engine, tmp_path)
        first = new_call(engine, account, PARIS, "1001")
        assert wallet.authorize(account, first, PARIS, "1001").max_seconds == 120
        assert wallet.quote(account, PARIS, "1001").asset is None  # all 120 s reserved
        second = new_call(engine, account, PARIS, "1001")
        with pytest.raises(CallRefused) as refused:
            wallet.authorize(account, second, PARIS, "1001")
        assert refused.value.rule == "insufficient_funds"
        assert wallet.extend(first, 100) == 120  # its own reservation stays its own
        finish_call(engine, first, 50, 50)  # billed 60 s: the other 60 s free again
        assert wallet.settle(first) == 0
        third = new_call(engine, account, PARIS, "1001")
        assert wallet.authorize(account, third, PARIS, "1001").max_seconds == 60
        finish_call(engine, third, 60, 60)
        assert (wallet.settle(third), wallet.call_cost(third)) == (0, 0)
        period = wallet.plans.period_at(account, utcnow())
        assert period is not None
        assert wallet.plans.usage(period).used == {"france": 120}
    finally:
        engine.dispose()


def test_a_refused_or_released_call_gives_its_reserved_minutes_back(db_url, tmp_path):
    engine = open_database(db_url, migrate=False)
    try:
        account, wallet = small_plan_wallet(engine, tmp_path)
        call_id = new_call(engine, account, PARIS, "1001")
        wallet.authorize(account, call_id, PARIS, "1001")
        wallet.release(call_id)  # never placed
        other = new_call(engine, account, PARIS, "1001")
        assert wallet.authorize(account, other, PARIS, "1001").max_seconds == 120
    finally:
        engine.dispose()


def test_included_minutes_are_cut_to_the_billing_increment(db_url, tmp_path):
    engine = open_database(db_url, migrate=False)
    try:
        account, wallet = small_plan_wallet(engine, tmp_path, WALLET_BILLING_INCREMENT=7)
        # 120 s left: 119 s (17 × 7) fits, 120 s would be billed 126 s
        call_id = new_call(engine, account, PARIS, "1001")
        auth = wallet.authorize(account, call_id, PARIS, "1001")
        assert (auth.hold_key, auth.max_seconds) == (None, 119)
        finish_call(engine, call_id, auth.max_seconds, auth.max_seconds)
        assert (wallet.settle(call_id), wallet.call_cost(call_id)) == (0, 0)
    finally:
        engine.dispose()


def test_a_cancel_or_switch_made_while_a_renewal_runs_is_kept(engine):
    account = new_account(engine)
    fund(engine, account, "60")
    plans = subscriptions(engine)
    plans.subscribe(account, "Business", now=at(1))
    stale = plans.store.due(at(1, 2, hour=13))[0]  # a renewal read it...
    plans.cancel(account)  # ...the user cancels meanwhile
    assert plans.renew(stale, at(1, 2, hour=13)) == "renewed"
    sub = plans.store.subscription(account)
    assert sub is not None and (sub.state, sub.period_end) == ("cancelled", at(1, 3))
    assert PlanRenewal(plans).run_once(at(1, 3, hour=13)) == []
    sub = plans.store.subscription(account)
    assert sub is not None and sub.state == "ended"
    assert available(engine, account) == 20 * ETT  # two periods, no third

    other = new_account(engine)
    fund(engine, other, "60")
    plans.subscribe(other, "Business", now=at(1))
    stale = plans.store.due(at(1, 2, hour=13))[-1]
    assert stale.account_id == other
    plans.subscribe(other, "Starter", now=at(1, 2, hour=13))  # a switch meanwhile
    assert plans.renew(stale, at(1, 2, hour=13)) == "renewed"
    sub = plans.store.subscription(other)
    assert sub is not None and (sub.state, sub.plan, sub.next_plan) == (
        "active",
        "Business",
        "Starter",
    )


def test_a_period_charged_before_a_crash_is_given_whatever_happened_since(engine, tmp_path):
    def charged_then_crashed() -> tuple[int, Subscriptions]:
        account = new_account(engine)
        fund(engine, account, "50")
        plans = subscriptions(engine)
        plans.subscribe(account, "Business", now=at(1))
        business = plans.catalogue.find("Business")
        assert business is not None
        plans._pay(account, business, at(1, 2))  # charged, then the instance died
        return account, plans

    def given(account: int, plans: Subscriptions) -> None:
        assert available(engine, account) == 10 * ETT  # two periods charged, no more
        period = plans.store.period_at(account, at(15, 2))
        assert period is not None and (period.plan, period.ends_at) == ("Business", at(1, 3))

    cancelled, plans = charged_then_crashed()
    plans.cancel(cancelled)
    PlanRenewal(plans).run_once(at(1, 2, hour=13))
    given(cancelled, plans)
    sub = plans.store.subscription(cancelled)
    assert sub is not None and (sub.state, sub.period_end) == ("cancelled", at(1, 3))

    withdrawn, plans = charged_then_crashed()
    other_file = tmp_path / "other.toml"
    other_file.write_text('[[plan]]\nname = "Other"\nprice_ett = "1"\n')
    plans.catalogue = Catalogue.load(other_file)
    PlanRenewal(plans).run_once(at(1, 2, hour=13))
    given(withdrawn, plans)
    period = plans.store.period_at(withdrawn, at(15, 2))
    assert period is not None and period.included == plans.store.periods(withdrawn)[0].included
    sub = plans.store.subscription(withdrawn)
    assert sub is not None and (sub.state, sub.period_end) == ("cancelled", at(1, 3))

    # down past the next boundary: the period charged is given, none charged twice
    late, plans = charged_then_crashed()
    PlanRenewal(plans).run_once(at(5, 3))
    given(late, plans)
    assert [p.starts_at for p in plans.store.periods(late)] == [at(1), at(1, 2)]


def test_a_first_period_paid_for_a_withdrawn_plan_is_kept(engine, tmp_path):
    account = new_account(engine)
    fund(engine, account, "30")
    plans = subscriptions(engine)
    business = plans.catalogue.find("Business")
    assert business is not None
    assert plans.store.claim_start(account, "Business", at(1), at(1, 2), 1)
    plans._pay(account, business, at(1))  # charged, then the instance died
    other_file = tmp_path / "other.toml"
    other_file.write_text('[[plan]]\nname = "Other"\nprice_ett = "1"\n')
    plans.catalogue = Catalogue.load(other_file)
    PlanRenewal(plans).run_once(at(1, hour=13))
    assert available(engine, account) == 10 * ETT
    assert plans.store.period_at(account, at(15)) is not None
    sub = plans.store.subscription(account)
    assert sub is not None and (sub.state, sub.period_end) == ("cancelled", at(1, 2))


def test_a_lapse_notice_that_could_not_be_delivered_is_sent_again(engine):
    account = new_account(engine)
    fund(engine, account, "25")
    plans = subscriptions(engine)
    plans.subscribe(account, "Business", now=at(10))
    attempts: list[str] = []

    async def notify(notice) -> None:
        attempts.append(notice.kind)
        if len(attempts) == 1:
            raise RuntimeError("telegram down")

    renewal = PlanRenewal(plans, notify)
    # the lapse and its notice are one transaction: told even if the round stops here
    sub = plans.store.due(at(10, 2, hour=12))[0]
    assert plans.renew(sub, at(10, 2, hour=12)) == "lapsed"

    async def round_at(moment: datetime) -> list[bool]:
        return [await renewal.deliver(n) for n in renewal.run_once(moment)]

    assert asyncio.run(round_at(at(10, 2, hour=12))) == [False]  # delivery failed
    assert asyncio.run(round_at(at(10, 2, hour=12) + timedelta(minutes=1))) == []  # leased
    assert asyncio.run(round_at(at(10, 2, hour=13))) == [True]  # claimed again, delivered
    assert asyncio.run(round_at(at(10, 2, hour=14))) == []  # once delivered, done
    assert attempts == [LAPSED, LAPSED]


def test_a_notice_that_reached_no_chat_is_tried_again(engine):
    from bot.assistant.outbox import Outbox
    from bot.features.plans.notices import plan_notifier
    from storage.accounts import AccountStore

    account = new_account(engine)
    fund(engine, account, "25")
    plans = subscriptions(engine)
    plans.subscribe(account, "Business", now=at(10))
    outbox = Outbox(AccountStore(engine))  # an API-only instance: no chat network runs
    renewal = PlanRenewal(plans, plan_notifier(AccountStore(engine), plans, outbox))
    sub = plans.store.due(at(10, 2, hour=12))[0]
    assert plans.renew(sub, at(10, 2, hour=12)) == "lapsed"

    async def round_at(moment: datetime) -> list[bool]:
        return [await renewal.deliver(n) for n in renewal.run_once(moment)]

    assert asyncio.run(round_at(at(10, 2, hour=12))) == [False]  # nobody told: kept
    told: list[str] = []

    async def send(external_id: str, reply) -> None:
        told.append(reply.text)

    outbox.register("console", send)  # new_account's identity is on the console
    assert asyncio.run(round_at(at(10, 2, hour=13))) == [True]
    assert len(told) == 1 and "Business" in told[0]


def test_the_same_call_settled_twice_at_once_uses_its_minutes_once(db_url, tmp_path):
    plan_file = tmp_path / "plans.toml"
    plan_file.write_text(PLAN_FILE)
    engines = [open_database(db_url, migrate=False) for _ in range(3)]
    try:
        account = new_account(engines[0])
        fund(engines[0], account, "10")
        plans = Subscriptions(engines[0], Catalogue.load(plan_file), Rates("100", "25"))
        plans.subscribe(account, "Small", now=utcnow() - timedelta(hours=1))
        period = plans.store.period_at(account, utcnow())
        assert period is not None
        call_id = new_call(engines[0], account, PARIS, "1001")
        results: list[object] = []

        def use(engine) -> None:
            try:
                store = PlanStore(engine)
                when = utcnow() - timedelta(minutes=1)
                results.append(store.use_included(account, call_id, "a", "france", when, 90))
            except Exception as error:  # the unique (call_id, leg) hit
                results.append(error)

        # both settlements pass their first look while the period is locked (PostgreSQL)
        with engines[2].begin() as conn:
            conn.execute(select(PlanPeriod).where(PlanPeriod.id == period.id).with_for_update())
            threads = [threading.Thread(target=use, args=(e,)) for e in engines[:2]]
            for thread in threads:
                thread.start()
            time.sleep(0.5)
        for thread in threads:
            thread.join()
        assert results == [90, 90]
        assert PlanStore(engines[0]).used_by_call(call_id) == {"a": 90}
    finally:
        for engine in engines:
            engine.dispose()
