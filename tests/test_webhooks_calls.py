"""Callback events end to end: a callback placed from the chat over the SIP lab (kamailio
and baresip phones) queues call.ringing, call.answered and call.ended, which the
dispatcher delivers, signed, to a receiver on 127.0.0.1 (both databases)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from testbed.sip_lab import ANSWER, BUSY, SipLab
from tests.call_env import CallEnv
from tests.test_calls import confirm_button, verified_user
from tests.test_webhooks_receiver import Receiver
from webhooks.dispatcher import Dispatcher
from webhooks.signing import verify

pytestmark = pytest.mark.sip

ME, CALLEE, BUSY_CALLEE = "+33612345678", "+442079460000", "+12125550199"


@pytest.fixture(scope="module")
def lab() -> Iterator[SipLab]:
    lab = SipLab()
    lab.plan_phone(ME[1:], ANSWER, 440.0)
    lab.plan_phone(CALLEE[1:], ANSWER, 1000.0)
    lab.plan_phone(BUSY_CALLEE[1:], BUSY, 440.0)
    lab.start()
    yield lab
    lab.stop()


@pytest.fixture
def env(db_url, lab) -> Iterator[CallEnv]:
    env = CallEnv(db_url, lab, WEBHOOK_ALLOW_PRIVATE=True)
    yield env
    env.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.close()


def deliver(env: CallEnv) -> None:
    assert env.services.webhooks is not None
    sender = Dispatcher(env.services.webhooks.store, allow_private=True, timeout=5.0)
    states = asyncio.run(sender.dispatch_due())
    assert set(states) <= {"delivered"}


def test_a_callback_sends_ringing_answered_and_ended_with_its_id(env, receiver):
    ann, account_id = verified_user(env)
    assert env.services.webhooks is not None
    endpoint = env.services.webhooks.store.create_endpoint(account_id, receiver.url)
    (status,) = env.press(ann, confirm_button(env.say(ann, "call +44 20 7946 0000")))
    call_id = status.key.removeprefix("call:")
    env.wait_pushed(ann, lambda r: r.text.startswith("📞 Connected"))
    env.run(asyncio.sleep(2))
    env.say(ann, "hang up")
    env.wait_pushed(ann, lambda r: "ended after" in r.text)
    env.wait_idle()
    deliver(env)

    requests = receiver.wait_for(3)
    for request in requests:
        verify(endpoint.secret, request.headers["encryptotel-signature"], request.body)
    # Deliveries are sent concurrently: their order is that of `created_at`, not of arrival.
    in_order = sorted((r.event for r in requests), key=lambda e: e["created_at"])
    events = {e["type"]: e for e in in_order}
    assert list(events) == ["call.ringing", "call.answered", "call.ended"]
    assert {e["data"]["id"] for e in events.values()} == {call_id}
    assert events["call.answered"]["data"]["bridged_at"]
    ended = events["call.ended"]["data"]
    record = env.services.calls.get(call_id)
    assert ended["state"] == "ended" and ended["hangup_cause"] == "hangup"
    assert ended["from"] == ME and ended["to"] == CALLEE and ended["kind"] == "callback"
    assert ended["duration_seconds"] >= 2
    assert ended["cost"] == {"units": record.cost, "asset": "ETT"} and record.cost > 0


def test_a_callback_to_a_busy_number_ends_without_being_answered(env, receiver):
    ann, account_id = verified_user(env)
    assert env.services.webhooks is not None
    env.services.webhooks.store.create_endpoint(
        account_id, receiver.url, ["call.answered", "call.ended"]
    )
    (status,) = env.press(ann, confirm_button(env.say(ann, "call +1 212 555 0199")))
    call_id = status.key.removeprefix("call:")
    env.wait_pushed(ann, lambda r: r.text.startswith("Call not connected"))
    env.wait_idle()
    deliver(env)
    (request,) = receiver.wait_for(1)
    assert request.event["type"] == "call.ended"  # call.answered: the callee never answered
    assert request.event["data"]["id"] == call_id
    assert request.event["data"]["hangup_cause"] == "busy"
    assert request.event["data"]["duration_seconds"] == 0
