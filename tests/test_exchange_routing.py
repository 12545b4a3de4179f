"""The exchange's decisions for the outside world, on both databases and without SIP: how a
dialled number is read, which caller ID goes out, what an outside call is allowed and
billed, and where a call to a direct number goes (rules by hour across DST, follow-me,
an extension's fall-through). The same decisions over real SIP: tests/test_exchange_trunk.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from exchange.notices import EndedCall, MissedCall, RefusedCall
from exchange.routing import NotANumber, caller_id, dialled
from exchange.runtime import build_exchange
from exchange.service import CARRIER, record_id
from storage.accounts import AccountStore
from storage.calls import CallStore
from storage.dids import DidStore
from storage.forwarding import ForwardingStore, Target
from storage.ledger_store import LedgerStore
from tests.wallet_helpers import available, fund, new_account, wallet_settings
from wallet.billing import Billing

DID = "+33199000100"
MOBILE = "+33612345678"
PARIS_CALLER = "+33142685300"


@pytest.fixture
def world(engine, tmp_path):
    settings = wallet_settings(
        PBX_RUN_DIR=str(tmp_path / "exchange"),
        SIP_TRUNK_HOST="127.0.0.1",
        DID_POOL=f"{DID}-+33199000101",
        PBX_DEFAULT_REGION="FR",
    )
    notices: list = []
    accounts, calls = AccountStore(engine), CallStore(engine)
    billing = Billing.from_settings(engine, settings)
    exchange = build_exchange(accounts, calls, settings, billing=billing, notify=notices.append)
    return exchange, notices


def owner_with_did(engine, timezone: str = "Europe/Paris"):
    account_id = new_account(engine, timezone=timezone)
    accounts = AccountStore(engine)
    extension = accounts.extension(account_id)
    DidStore(engine).assign(DID, account_id)
    return account_id, extension


def test_dialled_numbers_are_read_as_people_write_them():
    assert dialled("+33 6 12 34 56 78", "US").number == MOBILE
    assert dialled("0033612345678", "US").number == MOBILE
    assert dialled("0612345678", "FR") == dialled(MOBILE, "US")
    assert dialled("(212) 555-0123", "US").number == "+12125550123"
    assert dialled("*670612345678", "FR").withheld is True
    assert dialled("*82+33612345678", "FR").withheld is False
    assert dialled("1002", "FR").number == "1002"
    for nonsense in ("12ab", "0612345", "*67", "+"):
        with pytest.raises(NotANumber):
            dialled(nonsense, "FR")


def test_the_caller_id_is_a_number_the_account_holds_or_withheld(engine):
    accounts, dids = AccountStore(engine), DidStore(engine)
    dids.sync_pool([DID])

    def shown(account_id: int, withheld: bool | None):
        account = accounts.get(account_id)
        return caller_id(account, dids.numbers_of(account_id), withheld)

    assert shown(new_account(engine), None).withheld is True  # holds no number
    verified = new_account(engine, phone_number=MOBILE, phone_verified=True)
    assert shown(verified, None) == shown(verified, False)
    assert shown(verified, None).number == MOBILE
    assert shown(new_account(engine, phone_number=MOBILE), False).withheld is True
    holder, _ = owner_with_did(engine)
    assert (shown(holder, None).number, shown(holder, None).withheld) == (DID, False)
    assert shown(holder, True).withheld is True  # *67
    accounts.update(holder, hide_caller_id=True)
    assert shown(holder, None).withheld is True
    assert shown(holder, False).withheld is False  # *82


def test_an_outside_call_is_held_billed_exactly_and_refusals_are_explained(world, engine):
    exchange, notices = world
    caller, extension = owner_with_did(engine)
    poor = new_account(engine)
    poor_ext = AccountStore(engine).extension(poor)
    fund(engine, caller, "1")
    before = available(engine, caller)

    route = exchange.route(extension, "*67 06 12 34 56 78", "out-1")
    assert (route.action, route.target, route.withheld) == ("trunk", MOBILE, 1)
    assert (route.from_user, route.pai) == ("anonymous", DID)
    assert "RTP/AVP" in route.offer and 0 < route.max_sec <= 3600
    record = exchange.calls.get(record_id("out-1"))
    assert (record.kind, record.a_number, record.b_number) == ("outbound", extension, MOBILE)
    assert record.anonymous and available(engine, caller) < before  # the hold

    exchange.answered("out-1")
    exchange.ended("out-1", "hangup_a")
    settled = exchange.calls.get(record_id("out-1"))
    price = exchange.billing.tariffs.cost(exchange.billing.tariffs.price_per_minute(MOBILE), 60)
    assert settled.settled_at is not None and settled.cost == price > 0
    assert available(engine, caller) == before - price
    # Its account is told it ended (for its webhooks), once settled.
    assert notices == [EndedCall(caller, record_id("out-1"))]
    notices.clear()

    refused = exchange.route(poor_ext, MOBILE, "out-2")
    assert (refused.action, refused.code, refused.reason) == ("refuse", 402, "Insufficient Balance")
    assert exchange.calls.get(record_id("out-2")).hangup_cause == "refused:insufficient_funds"
    premium = exchange.route(extension, "+33899123456", "out-3")
    assert (premium.code, premium.reason) == (403, "Premium Rate Number Refused")
    assert [(n.account_id, n.rule) for n in notices if isinstance(n, RefusedCall)] == [
        (poor, "insufficient_funds"),
        (caller, "premium_rate"),
    ]
    assert exchange.route(extension, "12ab", "out-4").code == 404
    assert LedgerStore(engine).hold("call:" + record_id("out-2")) is None


def test_a_direct_number_follows_the_rule_in_the_owners_time_zone_across_dst(world, engine):
    exchange, _ = world
    owner, extension = owner_with_did(engine)
    fund(engine, owner, "5")
    ForwardingStore(engine).set_rule(owner, MOBILE, start="18:00", end="08:00")
    # 29 March 2026: Paris moves from UTC+1 to UTC+2 at 01:00 UTC.
    dst_day = datetime(2026, 3, 29, tzinfo=UTC)
    evening = dst_day + timedelta(hours=16, minutes=30)  # 18:30 in Paris (17:30 in UTC+1)
    afternoon = dst_day + timedelta(hours=15, minutes=30)  # 17:30 in Paris
    night_before = datetime(2026, 3, 28, 23, 30, tzinfo=UTC)  # 00:30, still UTC+1
    forwarded = exchange.route(PARIS_CALLER, DID, "in-1", source=CARRIER, at=evening)
    assert (forwarded.action, forwarded.target) == ("trunk", MOBILE)
    assert forwarded.from_user == DID  # the owner's number, never the caller's
    leg = exchange.calls.get(record_id("in-1", 0))
    assert (leg.kind, leg.account_id, leg.b_number) == ("outbound", owner, MOBILE)
    inbound = exchange.calls.get(record_id("in-1"))
    assert (inbound.kind, inbound.account_id, inbound.a_number) == ("inbound", owner, PARIS_CALLER)
    assert inbound.forwarded_to == MOBILE
    phones = exchange.route(PARIS_CALLER, DID, "in-2", source=CARRIER, at=afternoon)
    assert (phones.action, phones.target, phones.ring_sec) == ("local", extension, 0)
    late = exchange.route(PARIS_CALLER, "33199000100", "in-3", source=CARRIER, at=night_before)
    assert late.action == "trunk"  # the carrier dropped the +
    assert exchange.route(PARIS_CALLER, "+33199000101", "in-4", source=CARRIER).code == 404


def test_follow_me_rings_each_target_in_turn_and_the_missed_call_is_told(world, engine):
    exchange, notices = world
    owner, extension = owner_with_did(engine)
    colleague = AccountStore(engine).extension(new_account(engine))
    fund(engine, owner, "5")
    chain = [Target(MOBILE, None)]
    ForwardingStore(engine).set_rule(owner, colleague, ring_seconds=15, follow_me=chain)
    first = exchange.route("anonymous", DID, "fm-1", source=CARRIER)
    assert (first.action, first.target, first.ring_sec, first.more) == ("local", colleague, 15, 1)
    second = exchange.route("anonymous", DID, "fm-1", source=CARRIER, leg=1, code=408)
    assert (second.action, second.target, second.leg, second.more) == ("trunk", MOBILE, 1, 0)
    held = available(engine, owner)
    exchange.failed("fm-1", 486, leg=1)
    assert exchange.calls.get(record_id("fm-1", 1)).hangup_cause == "busy"
    assert available(engine, owner) > held  # the forwarded leg's hold released
    inbound = exchange.calls.get(record_id("fm-1"))
    assert (inbound.state, inbound.a_number, inbound.anonymous) == ("ended", "anonymous", True)
    missed = [n for n in notices if isinstance(n, MissedCall)]
    assert [(n.account_id, n.caller, n.dialled) for n in missed] == [(owner, "anonymous", DID)]
    assert extension  # the owner's own phones were not in this rule


def test_an_extension_rings_its_phones_then_falls_through_to_its_rule(world, engine):
    exchange, notices = world
    caller = AccountStore(engine).extension(new_account(engine))
    owner, extension = owner_with_did(engine)
    fund(engine, owner, "5")
    ForwardingStore(engine).set_rule(owner, MOBILE)
    phones = exchange.route(caller, extension, "ext-1")
    assert (phones.action, phones.target, phones.ring_sec, phones.more) == (
        "local", extension, 20, 1,
    )  # fmt: skip
    fallback = exchange.route(caller, extension, "ext-1", leg=1, code=480)
    assert (fallback.action, fallback.target, fallback.from_user) == ("trunk", MOBILE, DID)
    assert exchange.calls.get(record_id("ext-1")).kind == "internal"
    # the owner cannot pay: the forwarded leg is refused, the owner told, the call ends
    poor_owner = new_account(engine)
    poor_ext = AccountStore(engine).extension(poor_owner)
    ForwardingStore(engine).set_rule(poor_owner, MOBILE)
    exchange.route(caller, poor_ext, "ext-2")
    last = exchange.route(caller, poor_ext, "ext-2", leg=1, code=480)
    assert (last.action, last.code) == ("refuse", 480)
    refused = [n for n in notices if isinstance(n, RefusedCall)]
    assert [(n.account_id, n.rule, n.forwarded) for n in refused] == [
        (poor_owner, "insufficient_funds", True)
    ]


def test_reconcile_closes_an_outside_call_at_its_last_sign_of_life_and_bills_once(world, engine):
    exchange, _ = world
    caller, extension = owner_with_did(engine)
    fund(engine, caller, "5")
    before = available(engine, caller)
    exchange.route(extension, MOBILE, "rc-1")
    exchange.answered("rc-1")
    call_id = record_id("rc-1")
    assert exchange.keep_alive([("rc-1", 0, 30.0)]) == []
    seen = exchange.calls.get(call_id).heartbeat_at
    assert exchange.reconcile([], grace=timedelta(0)) == [call_id]
    closed = exchange.calls.get(call_id)
    assert closed.ended_at == seen and closed.hangup_cause == "interrupted"
    assert exchange.reconcile([], grace=timedelta(0)) == []
    exchange.ended("rc-1", "hangup_a")  # a late end changes nothing
    assert available(engine, caller) == before - closed.cost
    price = exchange.billing.tariffs.price_per_minute(MOBILE)
    assert closed.cost == exchange.billing.tariffs.cost(price, 60) > 0  # the minimum billed


def test_a_phones_own_extension_never_counts_as_a_number_called_too_often(engine, tmp_path):
    settings = wallet_settings(
        PBX_RUN_DIR=str(tmp_path / "exchange"),
        SIP_TRUNK_HOST="127.0.0.1",
        FRAUD_MAX_CALLS_SAME_NUMBER_DAILY=2,
    )
    accounts, calls = AccountStore(engine), CallStore(engine)
    exchange = build_exchange(
        accounts, calls, settings, billing=Billing.from_settings(engine, settings)
    )
    caller = new_account(engine)
    extension = accounts.extension(caller)
    fund(engine, caller, "5")
    for index, number in enumerate(("+33612345671", "+33612345672", "+33612345673")):
        assert exchange.route(extension, number, f"same-{index}").action == "trunk"
    exchange.route(extension, MOBILE, "same-3")
    exchange.route(extension, MOBILE, "same-4")
    refused = exchange.route(extension, MOBILE, "same-5")
    assert (refused.code, refused.reason) == (403, "Too Many Calls To This Number Today")


def test_a_callbacks_legs_reach_outside_numbers_through_the_trunk_unbilled_here(world, engine):
    exchange, _ = world
    extension = AccountStore(engine).extension(new_account(engine))
    leg = exchange.route("dialer-host-5070", MOBILE, "cb-1")
    assert (leg.action, leg.target, leg.withheld) == ("trunk", MOBILE, 1)
    assert exchange.calls.get(record_id("cb-1")) is None  # the callback's flow records it
    assert exchange.route("dialer-host-5070", extension, "cb-2").action == "local"
    assert exchange.route("dialer-host-5070", "+1", "cb-3").code == 403


def test_a_reused_call_id_never_makes_a_free_call(world, engine):
    exchange, _ = world
    caller, extension = owner_with_did(engine)
    fund(engine, caller, "5")
    assert exchange.route(extension, MOBILE, "reused").action == "trunk"
    exchange.answered("reused")
    exchange.ended("reused", "hangup_a")
    again = exchange.route(extension, "+33899123456", "reused")  # premium, same Call-ID
    assert (again.action, again.code) == ("refuse", 403)


def test_free_calls_do_not_count_toward_the_concurrency_limit(world, engine):
    exchange, _ = world
    owner, extension = owner_with_did(engine)
    fund(engine, owner, "5")
    ForwardingStore(engine).set_rule(owner, MOBILE)  # every DID call goes to the mobile
    callers = ("+14155550101", "+14155550102", "+14155550103")
    for index, caller in enumerate(callers):  # FRAUD_MAX_CONCURRENT_CALLS is 50 here...
        assert exchange.route(caller, DID, f"busy-{index}", source=CARRIER).action == "trunk"
    busy = exchange.billing.rules.busy_calls(owner)
    assert len(busy) == 3  # ...but only the three forwarded legs are calls in progress
    assert all(exchange.calls.get(call).kind == "outbound" for call in busy)


def test_a_direct_number_is_found_however_the_carrier_writes_it(engine, tmp_path):
    settings = wallet_settings(
        PBX_RUN_DIR=str(tmp_path / "exchange"),
        SIP_TRUNK_HOST="127.0.0.1",
        DID_POOL="+12125550123",
        PBX_DEFAULT_REGION="US",
    )
    accounts = AccountStore(engine)
    exchange = build_exchange(
        accounts, CallStore(engine), settings, billing=Billing.from_settings(engine, settings)
    )
    owner = new_account(engine)
    extension = accounts.extension(owner)
    DidStore(engine).assign("+12125550123", owner)
    for written in ("+12125550123", "12125550123", "2125550123"):
        route = exchange.route(PARIS_CALLER, written, f"us-{written}", source=CARRIER)
        assert (route.action, route.target) == ("local", extension)


def test_the_crash_sweep_leaves_the_exchanges_calls_to_kamailio(world, engine):
    exchange, _ = world
    caller, extension = owner_with_did(engine)
    fund(engine, caller, "5")
    exchange.route(extension, MOBILE, "sweep-1")
    exchange.route(PARIS_CALLER, DID, "sweep-2", source=CARRIER)
    later = datetime.now(UTC) + timedelta(hours=1)
    assert exchange.calls.close_interrupted(older_than=later) == []
    assert exchange.calls.get(record_id("sweep-1")).state != "ended"


def test_a_number_dropped_from_the_pool_is_no_longer_presented(engine, tmp_path):
    values = {"PBX_RUN_DIR": str(tmp_path / "exchange"), "SIP_TRUNK_HOST": "127.0.0.1"}
    accounts, calls = AccountStore(engine), CallStore(engine)
    before = wallet_settings(DID_POOL=DID, **values)
    billing = Billing.from_settings(engine, before)
    build_exchange(accounts, calls, before, billing=billing)  # stores the pool
    caller, extension = owner_with_did(engine)
    fund(engine, caller, "5")
    after = build_exchange(accounts, calls, wallet_settings(DID_POOL="", **values), billing=billing)
    route = after.route(extension, MOBILE, "dropped-1")
    assert (route.action, route.from_user, route.pai) == ("trunk", "anonymous", "")
    assert DidStore(engine).numbers_of(caller) == [DID]  # still the holder's, not shown
