"""Paid callback calls from the chat, against kamailio and baresip phones (no mocks).

The requester's phone is +33 6 12 34 56 78 (a lab phone registered as 33612345678),
the callee +44 20 7946 0000; prices come from the shipped tariff file (France mobile
0.08 ETT/min, United Kingdom 0.03 ETT/min, 60 s minimum then per second).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlmodel import update

from bot.assistant.i18n import t
from bot.features.calls import runner as call_runner
from bot.features.calls.offer import base36
from domain.books import REVENUE
from domain.clock import utcnow
from domain.money import to_units
from privacy.keys import encode_key, new_seed, public_key_of_seed
from storage.calls import leg_seconds
from storage.db import transaction
from storage.ledger_store import account_book
from storage.models import CallRecord
from testbed.sip_lab import ANSWER, BUSY, SipLab, audible_seconds, tone_share
from tests.call_env import CallEnv
from tests.wallet_helpers import fund

pytestmark = pytest.mark.sip

ME, CALLEE, BUSY_CALLEE = "+33612345678", "+442079460000", "+12125550199"
# As the chat shows them (libphonenumber's international format).
ME_SHOWN, CALLEE_SHOWN = "+33 6 12 34 56 78", "+44 20 7946 0000"


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
    env = CallEnv(db_url, lab)
    yield env
    env.close()


def verified_user(env: CallEnv, name: str = "ann", etts: str | None = "10", lang: str = "en"):
    sender = env.user(name, lang)
    account = env.services.accounts.resolve(sender.network, sender.external_id)
    env.services.accounts.update(account.id, phone_number=ME, phone_verified=True)
    if etts:
        fund(env.services.engine, account.id, etts)
    return sender, account.id


def confirm_button(replies) -> str:
    (offer,) = replies
    return next(b.data for b in offer.buttons if b.data.startswith("call:"))


def closed(phone) -> int:
    return len(phone.calls_with("CALL_CLOSED"))


def test_callback_is_quoted_confirmed_bridged_and_charged_exactly(env, lab):
    ann, account_id = verified_user(env)
    me, callee = lab.phones[ME[1:]], lab.phones[CALLEE[1:]]
    closed_me, closed_callee = closed(me), closed(callee)

    offer = env.say(ann, "call +44 20 7946 0000")
    assert len(offer) == 1 and CALLEE_SHOWN in offer[0].text and ME_SHOWN in offer[0].text
    assert "0.11 ETT per minute" in offer[0].text  # 0.08 (France mobile) + 0.03 (UK)
    minimum = env.services.settings.WALLET_MIN_BILLED_SECONDS
    assert f"once answered, is billed at least {minimum} s" in offer[0].text
    assert f"if {CALLEE_SHOWN} does not answer, the call to you is still paid" in offer[0].text
    assert [b.label for b in offer[0].buttons] == ["Call", "Cancel"]

    (status,) = env.press(ann, confirm_button(offer))
    assert status.text == f"📞 Calling you at {ME_SHOWN}…" and status.key.startswith("call:")
    call_id = status.key.removeprefix("call:")
    assert env.services.ledger.balance(account_book(account_id), "ETT").held > 0

    env.wait_pushed(ann, lambda r: r.text.startswith("📞 You answered"))
    connected = env.wait_pushed(ann, lambda r: r.text.startswith("📞 Connected"))
    assert connected.key == status.key and connected.buttons[0].data == f"hangup:{call_id}"
    # No running time in the first connected line: where it cannot be edited, it stays.
    assert connected.text == f'📞 Connected with {CALLEE_SHOWN}. Say "hang up" to end the call.'
    assert connected.buttons[0].word == "hang up" and not connected.progress
    env.run(asyncio.sleep(3))
    assert [r.text for r in env.say(ann, "hang up")] == ["Hanging up."]
    ended = env.wait_pushed(ann, lambda r: "ended after" in r.text)
    env.wait_idle()

    record = env.services.calls.get(call_id)
    assert record.state == "ended" and record.hangup_cause == "hangup" and record.settled_at
    a_seconds, b_seconds = leg_seconds(record, "a"), leg_seconds(record, "b")
    assert 3 <= a_seconds < 15 and 3 <= b_seconds < 15
    expected = env.services.billing.tariffs.cost(to_units("0.08", "ETT"), a_seconds)
    expected += env.services.billing.tariffs.cost(to_units("0.03", "ETT"), b_seconds)
    assert record.cost == expected == to_units("0.11", "ETT")  # both legs under the minimum
    balance = env.services.ledger.balance(account_book(account_id), "ETT")
    assert (balance.amount, balance.held) == (to_units("10", "ETT") - expected, 0)
    assert env.services.ledger.balance(REVENUE, "ETT").amount == expected
    assert ended.key == status.key and not ended.buttons
    assert "(ended at your request). Cost: 0.11 ETT." in ended.text

    (history,) = env.say(ann, "history")
    assert f"{ME_SHOWN} → {CALLEE_SHOWN}" in history.text and "0.11 ETT" in history.text

    me.wait_event("CALL_CLOSED", closed_me + 1)
    callee.wait_event("CALL_CLOSED", closed_callee + 1)
    assert tone_share(callee.heard(), 440) >= 0.99  # the requester's tone crossed the bridge
    assert tone_share(me.heard(), 1000) >= 0.99
    assert audible_seconds(callee.heard()) >= 2.0


def test_pressing_twice_places_one_call_and_other_accounts_cannot_hang_it_up(env):
    ann, _ = verified_user(env)
    bob, _ = verified_user(env, "bob")
    data = confirm_button(env.say(ann, "call +44 20 7946 0000"))
    (first,) = env.press(ann, data)
    (second,) = env.press(ann, data)
    assert second.text == "This call has already been placed." and second.key == first.key
    call_id = first.key.removeprefix("call:")
    env.wait_pushed(ann, lambda r: r.text.startswith("📞 Connected"))
    assert [r.text for r in env.press(bob, f"hangup:{call_id}")] == [
        "This choice is no longer available."
    ]
    assert env.services.calls.get(call_id).state == "bridged"
    (history,) = env.say(ann, "history")
    assert f"{CALLEE_SHOWN}: in progress" in history.text
    assert [r.text for r in env.press(ann, f"hangup:{call_id}")] == ["Hanging up."]
    env.wait_pushed(ann, lambda r: "ended after" in r.text)
    env.wait_idle()
    assert env.services.calls.history(env.services.accounts.resolve("console", "ann").id)[0].id \
        == call_id  # fmt: skip


def test_an_old_or_forged_quote_is_not_placed(env):
    ann, account_id = verified_user(env)
    data = confirm_button(env.say(ann, "call +44 20 7946 0000"))
    assert len(data.encode()) <= 64  # Telegram's limit on callback data
    fields = data.split(":")  # call:nonce:leg:to:flags:epoch:offered:dtmf

    def with_field(index: int, value: str) -> str:
        return ":".join([*fields[:index], value, *fields[index + 1 :]])

    stale = with_field(6, base36(int(fields[6], 36) - 601))
    assert env.press(ann, stale)[0].text.startswith("This price was offered more than 10")
    for index, value in ((6, "not-a-time!"), (5, "?"), (7, "12a"), (7, "123456789"), (7, "²")):
        forged = with_field(index, value)
        assert env.press(ann, forged)[0].text == "This choice is no longer available.", forged
    assert env.press(ann, "call:x:m:+442079460000")[0].text == "This choice is no longer available."
    assert env.services.calls.history(account_id) == []
    assert env.services.ledger.balance(account_book(account_id), "ETT").held == 0


def test_busy_callee_ends_the_call_with_a_clear_status_and_the_exact_cost(env):
    ann, account_id = verified_user(env, lang="fr")
    offer = env.say(ann, "appelle le +1 212 555 0199")
    assert re.search(r"Prix : \d+,\d+ ETT par minute", offer[0].text)  # a decimal comma
    assert "si le +1 212-555-0199 ne répond pas, l'appel vers vous reste payant" in offer[0].text
    (status,) = env.press(ann, confirm_button(offer))
    assert status.text.startswith("📞 Je vous appelle")
    ended = env.wait_pushed(ann, lambda r: r.text.startswith("Appel non connecté"))
    env.wait_idle()
    assert "+1 212-555-0199 n'a pas pu être joint (la ligne était occupée)" in ended.text
    assert "Coût : 0,08 ETT" in ended.text  # a decimal comma in French
    record = env.services.calls.get(status.key.removeprefix("call:"))
    assert record.hangup_cause == "busy" and record.bridged_at is None
    # The first leg was answered: its first minute is due, the busy leg costs nothing.
    assert record.cost == to_units("0.08", "ETT")
    balance = env.services.ledger.balance(account_book(account_id), "ETT")
    assert (balance.amount, balance.held) == (to_units("9.92", "ETT"), 0)


def test_refusals_are_one_sentence_in_the_users_language(env):
    poor, _ = verified_user(env, "poor", etts=None, lang="ru")
    (refusal,) = env.say(poor, "позвони на +44 20 7946 0000")
    assert refusal.text.startswith("На балансе недостаточно средств") and not refusal.buttons
    assert "первая минута стоит 0,11 ETT" in refusal.text  # both legs' first minute

    unverified = env.user("nemo")
    account = env.services.accounts.resolve("console", "nemo")
    env.services.accounts.update(account.id, phone_number=ME)
    (reply,) = env.say(unverified, "call +44 20 7946 0000")
    assert "is not verified yet" in reply.text

    ann, _ = verified_user(env)
    (reply,) = env.say(ann, "call +44 20 7946 0000 then call me at +33 6 99 99 99 99")
    assert "only ring you at your own verified number" in reply.text
    # An international network (+882, no country) with too few digits: libphonenumber finds
    # it invalid, so it is refused as an invalid number before any fraud rule is asked.
    (reply,) = env.say(ann, "call +882 1234 5678")
    assert reply.text == (
        "That number does not look valid. Write it with the country code, "
        "for example +1 212 555 0123."
    )
    assert not reply.buttons
    # A valid number of that network has no country, so no country allow-list admits it.
    (reply,) = env.say(ann, "call +882 16 1234 5678")
    assert reply.text == (
        "I cannot call +882 16 1234 5678: calls to that country are not allowed on your account."
    )


def test_a_message_delivered_late_is_quoted_when_it_is_answered(env):
    """Telegram keeps undelivered updates for a day: a "call +X" sent two hours ago gets a
    quote that can be confirmed for the next 10 minutes, not one born expired."""
    ann, _ = verified_user(env)
    offer = env.assistant.handle_sync(
        ann, "call +44 20 7946 0000", sent=utcnow() - timedelta(hours=2)
    )
    offered = int(confirm_button(offer).split(":")[6], 36)
    assert abs(utcnow().timestamp() - offered) < 60


def test_scheduled_call_is_stored_then_placed_when_due(env):
    ann, account_id = verified_user(env)
    offer = env.say(ann, "call +44 20 7946 0000 tomorrow at 9")
    assert " at " in offer[0].text
    (scheduled,) = env.press(ann, confirm_button(offer))
    assert scheduled.text.startswith(f"Scheduled: I will call you, then {CALLEE_SHOWN}")
    call_id = scheduled.key.removeprefix("call:")
    assert env.services.calls.get(call_id).state == "scheduled"
    assert env.run(call_runner.place_due(env.services)) == 0  # not yet

    with transaction(env.services.engine) as session:  # tomorrow 9:00 has come
        session.exec(
            update(CallRecord)
            .where(CallRecord.id == call_id)
            .values(scheduled_at=utcnow() - timedelta(seconds=1))
        )
    assert env.run(call_runner.place_due(env.services)) == 1
    assert env.run(call_runner.place_due(env.services)) == 0  # claimed once
    env.wait_pushed(ann, lambda r: r.text.startswith("📞 Connected"))
    env.say(ann, "hang up")
    env.wait_pushed(ann, lambda r: "ended after" in r.text)
    env.wait_idle()
    assert env.services.calls.get(call_id).settled_at is not None
    assert env.services.ledger.balance(account_book(account_id), "ETT").held == 0


def test_a_numbers_extension_is_quoted_stored_and_dialled_after_it_answers(env, lab):
    ann, _ = verified_user(env)
    callee = lab.phones[CALLEE[1:]]
    pressed = len(callee.calls_with("CALL_DTMF_START"))
    (offer,) = env.say(ann, "call +44 20 7946 0000 ext. 42 tomorrow at 9")
    assert f"Call {CALLEE_SHOWN} ext. 42, after ringing you" in offer.text
    assert f"After {CALLEE_SHOWN} answers, I dial 42 on its keypad" in offer.text
    (scheduled,) = env.press(ann, confirm_button([offer]))
    assert scheduled.text.startswith(f"Scheduled: I will call you, then {CALLEE_SHOWN} ext. 42")
    call_id = scheduled.key.removeprefix("call:")
    assert env.services.calls.get(call_id).dtmf == "42"
    with transaction(env.services.engine) as session:  # tomorrow 9:00 has come
        session.exec(
            update(CallRecord)
            .where(CallRecord.id == call_id)
            .values(scheduled_at=utcnow() - timedelta(seconds=1))
        )
    assert env.run(call_runner.place_due(env.services)) == 1
    env.wait_pushed(ann, lambda r: r.text.startswith(f"📞 Connected with {CALLEE_SHOWN} ext. 42"))
    callee.wait_event("CALL_DTMF_END", pressed + 2)
    keys = [e["param"] for e in callee.calls_with("CALL_DTMF_START")[pressed:]]
    assert keys == ["4", "2"]
    env.say(ann, "hang up")
    env.wait_pushed(ann, lambda r: "ended after" in r.text)
    env.wait_idle()
    (history,) = env.say(ann, "history")
    assert f"→ {CALLEE_SHOWN} ext. 42:" in history.text


@pytest.mark.parametrize(
    ("text", "lang", "shown"),
    [
        ("appelle le +44 20 7946 0000 poste 7", "fr", f"{CALLEE_SHOWN} poste 7"),
        ("позвони на +44 20 7946 0000 доб. 7", "ru", f"{CALLEE_SHOWN} доб. 7"),
    ],
)
def test_an_extension_is_quoted_in_the_users_words(env, text, lang, shown):
    ann, _ = verified_user(env, lang=lang)
    (offer,) = env.say(ann, text)
    assert shown in offer.text and len(confirm_button([offer]).encode()) <= 64


def test_an_extension_too_long_for_the_button_is_refused_not_dropped(env):
    ann, account_id = verified_user(env)
    (reply,) = env.say(ann, "call +44 20 7946 0000 ext. 1234567890")
    assert reply.text.startswith("An extension of up to 8 digits") and not reply.buttons
    asked = "call +44 20 7946 0000 ext. 12345678 anonymously and record it"
    (refused,) = env.say(ann, asked)  # recorded calls are sealed to the user's key
    assert refused.text == t("en", "rec_call_needs_key") and not refused.buttons
    key = encode_key(public_key_of_seed(new_seed()))
    env.services.accounts.update(account_id, recording_key=key)
    (offer,) = env.say(ann, asked)
    assert len(confirm_button([offer]).encode()) <= 64
    assert env.services.calls.history(account_id) == []


def test_hang_up_cancels_a_scheduled_call(env):
    ann, _ = verified_user(env)
    data = confirm_button(env.say(ann, "call +44 20 7946 0000 tomorrow at 9"))
    (scheduled,) = env.press(ann, data)
    replies = env.say(ann, "hang up")
    assert [r.text[:26] for r in replies] == ["Cancelled: the call to +44"]
    record = env.services.calls.get(scheduled.key.removeprefix("call:"))
    assert (record.state, record.hangup_cause) == ("ended", "cancelled")


def test_call_cut_off_by_a_stopped_instance_is_closed_billed_and_reported(env):
    ann, account_id = verified_user(env)
    # A call another instance was running when it died: answered and bridged, then silence.
    started = utcnow() - timedelta(seconds=100)
    record = CallRecord(id=f"{account_id}-dead", account_id=account_id, a_number=ME,
                        b_number=CALLEE, created_at=started)  # fmt: skip
    env.services.calls.create(record)
    env.services.billing.authorize(account_id, record.id, ME, CALLEE)
    for leg in ("a", "b"):
        env.services.calls.record_event(record.id, "answered", leg=leg, at=started)
    env.services.calls.record_event(record.id, "bridged", at=started)
    with transaction(env.services.engine) as session:
        session.exec(
            update(CallRecord)
            .where(CallRecord.id == record.id)
            .values(heartbeat_at=started + timedelta(seconds=80), updated_at=started)
        )
    assert env.run(call_runner.close_stale(env.services)) == [record.id]
    closed_record = env.services.calls.get(record.id)
    assert closed_record.hangup_cause == "interrupted"
    assert leg_seconds(closed_record, "a") == pytest.approx(80)
    # 80 s on each leg: 0.08 × 80/60 + 0.03 × 80/60, each rounded up to a unit
    expected = env.services.billing.call_cost(record.id)
    assert closed_record.cost == expected > 0
    balance = env.services.ledger.balance(account_book(account_id), "ETT")
    assert (balance.amount, balance.held) == (to_units("10", "ETT") - expected, 0)
    notice = env.wait_pushed(ann, lambda r: "cut off by a restart" in r.text)
    assert "ended after 1:20" in notice.text


def test_a_local_number_is_read_in_the_country_of_the_users_verified_number(env):
    ann, _ = verified_user(env)  # a French number
    (offer,) = env.say(ann, "call 06 12 34 56 78")
    assert offer.text.startswith(f"Call {ME_SHOWN}, after ringing you at {ME_SHOWN}")
    assert confirm_button([offer]).split(":")[3] == ME  # the request carries E.164
    assert "ETT per minute" in offer.text
