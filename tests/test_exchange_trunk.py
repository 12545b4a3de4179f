"""The exchange and the outside world over real SIP: our kamailio + rtpengine + control API
(testbed.exchange_lab), a carrier's trunk emulated by another kamailio with plain-RTP
outside phones (testbed.carrier_lab), softphones over TLS with SRTP. Every call's audio is
checked at both ends; money is read from the ledger; what the trunk received from
carrier.invites()."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import numpy as np
import pytest
from sqlmodel import Session, select

from domain.books import TransferKind, hold_key
from domain.clock import utcnow
from exchange.notices import MissedCall, RefusedCall
from exchange.rpc import KamailioRpc
from exchange.upkeep import reconcile_once
from storage.dids import DidStore
from storage.forwarding import ForwardingStore, Target
from storage.ledger_store import LedgerStore
from storage.models import LedgerTransfer
from testbed.carrier_lab import CarrierLab
from testbed.exchange_lab import ExchangeLab, sip_attempt
from testbed.sip_lab import (
    ANSWER,
    BUSY,
    NO_ANSWER,
    Phone,
    read_wav,
    samples_tone_share,
    tone_share,
    wait_for,
)
from tests.wallet_helpers import available, fund

pytestmark = pytest.mark.sip

DID, DID_2 = "+33199000100", "+33199000101"
MOBILE = "+33612345678"  # answers with 1000 Hz
BUSY_MOBILE = "+33612340486"
CALLER = "+14155550100"  # an outside phone calling our direct numbers, 700 Hz


@pytest.fixture
def world(db_url, tmp_path) -> Iterator[tuple[ExchangeLab, CarrierLab]]:
    carrier = CarrierLab(dids=[DID, DID_2])
    carrier.plan_phone(MOBILE, ANSWER, 1000.0)
    carrier.plan_phone(BUSY_MOBILE, BUSY)
    carrier.plan_phone(CALLER, ANSWER, 700.0)
    carrier.start()
    lab = None
    try:
        lab = ExchangeLab(
            db_url,
            tmp_path,
            SIP_TRUNK_HOST="127.0.0.1",
            SIP_TRUNK_PORT=carrier.port,
            SIP_TRUNK_USER=carrier.user,
            SIP_TRUNK_PASSWORD=carrier.password,
            DID_POOL=f"{DID}-{DID_2}",
            PBX_DEFAULT_REGION="FR",
            WALLET_MIN_BILLED_SECONDS=1,
        ).start()
        carrier.route_dids_to("127.0.0.1", lab.settings.PBX_SIP_PORT)
        yield lab, carrier
    finally:
        if lab is not None:
            lab.stop()
        carrier.stop()


def user_with_did(lab: ExchangeLab, name: str, did: str = DID, **phone) -> tuple[int, Phone]:
    """An account with a direct number and a registered softphone."""
    phone_ = lab.softphone(f"console:{name}", **phone)
    account = lab.accounts.by_extension(phone_.user)
    DidStore(lab.engine).assign(did, account.id)
    return account.id, phone_


def hang_up(*phones: Phone) -> None:
    phones[0].command("hangup")
    for phone in phones:
        phone.wait_event("CALL_CLOSED")


def talk(first: Phone, second: Phone, first_tone: float, second_tone: float, seconds: float = 2.0):
    """Let a connected call run `seconds`, `first` hangs up; each heard the other's tone."""
    time.sleep(seconds)
    hang_up(first, second)
    assert tone_share(second.heard(), first_tone) >= 0.99
    assert tone_share(first.heard(), second_tone) >= 0.99


def call_charges(lab: ExchangeLab, call_id: str) -> list[int]:
    """The amounts charged for one call record in the ledger (one entry when billed once)."""
    query = select(LedgerTransfer.amount).where(
        LedgerTransfer.kind == TransferKind.CALL.value, LedgerTransfer.ref == call_id
    )
    with Session(lab.engine) as session:
        return list(session.exec(query).all())


def outbound_record(lab: ExchangeLab, account_id: int):
    [record] = [r for r in lab.calls.history(account_id, 20) if r.kind == "outbound"]
    return record


def test_a_softphone_calls_an_outside_number_billed_exactly(world):
    lab, carrier = world
    alice_id, alice = user_with_did(lab, "alice", tone_hz=440.0)
    fund(lab.engine, alice_id, "2")
    before = available(lab.engine, alice_id)
    lab.dial(alice, "06 12 34 56 78".replace(" ", ""))  # French national format
    mobile = carrier.phones[MOBILE]
    mobile.wait_event("CALL_ESTABLISHED")
    talk(alice, mobile, 440.0, 1000.0, seconds=3)
    [challenged, sent] = carrier.invites()
    assert (challenged["auth"], sent["auth"], sent["user"]) == ("none", "ok", carrier.user)
    assert DID in sent["from"] and sent["privacy"] is None and DID in sent["pai"]
    record = wait_for(
        lambda: (r := outbound_record(lab, alice_id)).settled_at and r, 10, "the settlement"
    )
    seconds = (record.b_ended_at - record.b_answered_at).total_seconds()
    tariffs = lab.billing.tariffs
    assert 2 <= seconds <= 6
    assert record.cost == tariffs.cost(tariffs.price_per_minute(MOBILE), seconds) > 0
    assert call_charges(lab, record.id) == [record.cost]
    assert available(lab.engine, alice_id) == before - record.cost


def test_kamailio_cuts_an_outside_call_when_the_prepaid_time_runs_out(world):
    lab, carrier = world
    alice_id, alice = user_with_did(lab, "alice")
    price = lab.billing.tariffs.price_per_minute(MOBILE)
    fund(lab.engine, alice_id, f"{lab.billing.tariffs.cost(price, 4) / 10**8:.8f}")
    lab.dial(alice, MOBILE)
    mobile = carrier.phones[MOBILE]
    answered = mobile.wait_event("CALL_ESTABLISHED")
    assert answered
    started = time.monotonic()
    alice.wait_event("CALL_CLOSED", timeout=20)  # nobody hung up: kamailio did
    mobile.wait_event("CALL_CLOSED")
    assert 2.5 <= time.monotonic() - started <= 7
    record = wait_for(
        lambda: (r := outbound_record(lab, alice_id)).settled_at and r, 10, "the settlement"
    )
    assert record.hangup_cause == "max_duration" and record.max_seconds <= 4
    assert available(lab.engine, alice_id) >= 0
    assert call_charges(lab, record.id) == [record.cost]


def test_refused_destinations_get_a_sip_error_and_a_sentence_in_the_chat(world):
    lab, carrier = world
    alice_id, alice = user_with_did(lab, "alice")
    fund(lab.engine, alice_id, "2")
    poor = lab.softphone("console:poor")
    lab.dial(alice, "+33899123456")  # premium rate
    closed = alice.wait_event("CALL_CLOSED")
    assert "403" in str(closed) and "Premium Rate" in str(closed)
    lab.dial(poor, MOBILE)
    closed = poor.wait_event("CALL_CLOSED")
    assert "402" in str(closed) and "Insufficient Balance" in str(closed)
    poor_id = lab.accounts.by_extension(poor.user).id
    assert [(n.account_id, n.rule) for n in lab.notices if isinstance(n, RefusedCall)] == [
        (alice_id, "premium_rate"),
        (poor_id, "insufficient_funds"),
    ]
    assert carrier.invites() == []  # nothing refused reached the carrier


def test_star_67_withholds_the_caller_id_at_the_trunk(world):
    lab, carrier = world
    alice_id, alice = user_with_did(lab, "alice", tone_hz=440.0)
    fund(lab.engine, alice_id, "2")
    lab.dial(alice, f"*67{MOBILE}")
    mobile = carrier.phones[MOBILE]
    mobile.wait_event("CALL_ESTABLISHED")
    talk(mobile, alice, 1000.0, 440.0, seconds=1)  # the far end's BYE reaches the phone
    sent = carrier.invites()[-1]
    assert "anonymous" in sent["from"].lower() and DID not in sent["from"]
    assert sent["privacy"] == "id" and DID in sent["pai"]  # for the carrier only (RFC 3325)
    record = wait_for(
        lambda: (r := outbound_record(lab, alice_id)).settled_at and r, 10, "the settlement"
    )
    assert record.anonymous and record.hangup_cause == "hangup_b"


def test_a_direct_number_rings_the_softphone_in_hours_and_the_mobile_after(world):
    lab, carrier = world
    owner_id, owner = user_with_did(lab, "owner", tone_hz=440.0)
    fund(lab.engine, owner_id, "2")
    caller = carrier.phones[CALLER]
    now = utcnow()  # the owner's time zone is UTC
    later = (
        (now + timedelta(hours=2)).strftime("%H:%M"),
        (now + timedelta(hours=3)).strftime("%H:%M"),
    )
    rules = ForwardingStore(lab.engine)
    rules.set_rule(owner_id, MOBILE, start=later[0], end=later[1])  # not now: the phones
    carrier.dial(caller, DID)
    owner.wait_event("CALL_ESTABLISHED")
    talk(caller, owner, 700.0, 440.0)
    [inbound] = [r for r in lab.calls.history(owner_id) if r.kind == "inbound"]
    assert (inbound.a_number, inbound.b_number, inbound.forwarded_to) == (CALLER, DID, None)

    since = (now - timedelta(hours=1)).strftime("%H:%M")
    rules.set_rule(owner_id, MOBILE, start=since, end=later[0])  # now: the mobile
    carrier.dial(caller, DID)
    mobile = carrier.phones[MOBILE]
    mobile.wait_event("CALL_ESTABLISHED")
    talk(caller, mobile, 700.0, 1000.0)
    forwarded = carrier.invites()[-1]
    assert DID in forwarded["from"] and CALLER not in forwarded["from"]
    leg = wait_for(
        lambda: (r := outbound_record(lab, owner_id)).settled_at and r, 10, "the forwarded leg"
    )
    assert leg.b_number == MOBILE and leg.cost > 0  # paid by the owner
    assert call_charges(lab, leg.id) == [leg.cost]


def test_follow_me_tries_the_next_target_after_its_ring_time(world):
    lab, carrier = world
    owner_id, owner = user_with_did(lab, "owner", behaviour=NO_ANSWER)
    fund(lab.engine, owner_id, "2")
    ForwardingStore(lab.engine).set_rule(
        owner_id, owner.user, ring_seconds=5, follow_me=[Target(MOBILE, None)]
    )
    caller = carrier.phones[CALLER]
    started = time.monotonic()
    carrier.dial(caller, DID)
    owner.wait_event("CALL_INCOMING")
    mobile = carrier.phones[MOBILE]
    owner.wait_event("CALL_CLOSED", timeout=20)  # it rang its 5 s
    mobile.wait_event("CALL_ESTABLISHED", timeout=20)
    assert 4.5 <= time.monotonic() - started <= 10
    talk(caller, mobile, 700.0, 1000.0)


def test_an_unregistered_extension_falls_through_to_its_owners_rule(world):
    lab, carrier = world
    alice = lab.softphone("console:alice", tone_hz=440.0)
    carol = lab.accounts.resolve("console", "carol")
    carol_ext = lab.accounts.extension(carol.id)  # no phone registered
    fund(lab.engine, carol.id, "2")
    ForwardingStore(lab.engine).set_rule(carol.id, MOBILE)
    lab.dial(alice, carol_ext)
    mobile = carrier.phones[MOBILE]
    mobile.wait_event("CALL_ESTABLISHED")
    talk(alice, mobile, 440.0, 1000.0)
    leg = wait_for(
        lambda: (r := outbound_record(lab, carol.id)).settled_at and r, 10, "the forwarded leg"
    )
    assert leg.cost > 0  # carol pays the leg her rule made


def test_a_missed_call_to_a_direct_number_is_told_and_recorded(world):
    lab, carrier = world
    owner_id, owner = user_with_did(lab, "owner", behaviour=BUSY)
    caller = carrier.phones[CALLER]
    carrier.dial(caller, DID)
    closed = caller.wait_event("CALL_CLOSED")
    assert "486" in str(closed) or "Busy" in str(closed)
    wait_for(lambda: any(isinstance(n, MissedCall) for n in lab.notices), 10, "the notice")
    [missed] = [n for n in lab.notices if isinstance(n, MissedCall)]
    assert (missed.account_id, missed.caller, missed.dialled) == (owner_id, CALLER, DID)
    [inbound] = [r for r in lab.calls.history(owner_id) if r.kind == "inbound"]
    assert (inbound.state, inbound.hangup_cause) == ("ended", "busy")


def test_a_strangers_invite_never_reaches_the_trunk(world):
    lab, carrier = world
    port = lab.settings.PBX_SIP_PORT
    assert sip_attempt(port, "INVITE", "1000", None, to_user=MOBILE) in (401, 407)
    assert sip_attempt(port, "INVITE", "1000", "guess", to_user=MOBILE) in (401, 403, 407)
    assert carrier.invites() == []


def test_the_service_restarted_mid_call_bills_the_outside_call_once(world):
    lab, carrier = world
    alice_id, alice = user_with_did(lab, "alice")
    fund(lab.engine, alice_id, "2")
    lab.dial(alice, MOBILE)
    mobile = carrier.phones[MOBILE]
    mobile.wait_event("CALL_ESTABLISHED")
    lab.run(lab.control.stop())  # our service stops; kamailio and the call go on
    time.sleep(2)
    lab.run(lab.control.start())
    call_id = outbound_record(lab, alice_id).id
    held = LedgerStore(lab.engine).hold(hold_key(call_id))["amount"]
    rpc = KamailioRpc(lab.config.rpc_url, lab.token)
    assert lab.run(reconcile_once(lab.exchange, rpc)) == []  # the upkeep's round
    assert outbound_record(lab, alice_id).heartbeat_at is not None
    assert LedgerStore(lab.engine).hold(hold_key(call_id))["amount"] > held  # extended
    hang_up(alice, mobile)
    assert tone_share(mobile.heard(), 440.0) >= 0.99
    record = wait_for(
        lambda: (r := outbound_record(lab, alice_id)).settled_at and r, 10, "the settlement"
    )
    assert record.hangup_cause == "hangup_a"
    assert call_charges(lab, record.id) == [record.cost] and record.cost > 0
    assert lab.exchange.reconcile([], grace=timedelta(0)) == []  # nothing left to close


def test_hold_and_resume_in_an_outside_call_keep_each_sides_media(world):
    lab, carrier = world
    alice_id, alice = user_with_did(lab, "alice", tone_hz=440.0)
    fund(lab.engine, alice_id, "2")
    lab.dial(alice, MOBILE)
    mobile = carrier.phones[MOBILE]
    mobile.wait_event("CALL_ESTABLISHED")
    time.sleep(1)
    alice.command("hold")
    time.sleep(1)
    alice.command("resume")
    time.sleep(3)
    hang_up(alice, mobile)
    for phone, tone in ((mobile, 440.0), (alice, 1000.0)):  # plain RTP / SRTP
        samples, rate = read_wav(phone.heard())
        last = samples[-rate:]  # the last second, after the resume
        assert np.abs(last).mean() > 500 and samples_tone_share(last, rate, tone) >= 0.99
    assert lab.log("rtpengine").count("Received command 'offer'") >= 2  # the re-INVITE's
