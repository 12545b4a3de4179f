"""The whole service, as users meet it: chat → verification call → deposit → paid callback.

Real peers only: the Bot API emulator (aiogram over HTTP), prosody, kamailio with
baresip phones, the Waves node emulator; `bot.app.serve` runs as in production.
The user's phone is +33 6 12 34 56 78 (France mobile, 0.08 ETT/min), the callee
+44 20 7946 0000 (United Kingdom, 0.03 ETT/min); the first minute is always billed.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest

from domain.books import REVENUE
from domain.money import to_units
from storage.accounts import AccountStore
from storage.calls import CallStore
from storage.ledger_store import LedgerStore, account_book
from testbed.sip_lab import ANSWER, DTMF, SipLab, tone_share
from tests.conftest_chat import telegram_settings, xmpp_settings
from tests.wallet_helpers import TEST_SETTINGS

pytestmark = [pytest.mark.sip, pytest.mark.xmpp]

ME, CALLEE = "+33612345678", "+442079460000"
ANN = 424242
FIRST_MINUTES = to_units("0.11", "ETT")  # both legs' first minute: 0.08 + 0.03


@pytest.fixture(scope="module")
def lab() -> Iterator[SipLab]:
    lab = SipLab()
    lab.plan_phone(ME[1:], DTMF, 440.0)  # answers, and types digits when told to
    lab.plan_phone(CALLEE[1:], ANSWER, 1000.0)
    lab.start()
    yield lab
    lab.stop()


def service_overrides(lab: SipLab, chain, **more) -> dict:
    return {
        **lab.settings_overrides(SIP_STRIP_PLUS=True),
        **chain.settings_overrides(WALLET_POLL_SECONDS=0.1),
        **TEST_SETTINGS,
        **more,
    }


def newest(api, user: int, pattern: str, timeout: float = 40):
    """Wait for a message of the bot to `user` whose current text matches `pattern`."""
    found: list = []

    def seen() -> bool:
        found[:] = [m for m in api._sent.get(user, []) if re.search(pattern, m.text)]
        return bool(found)

    api.wait_for(seen, timeout, f"a message matching {pattern!r}")
    return api.messages(user)[[m.message_id for m in api.messages(user)].index(
        found[-1].message_id)]  # fmt: skip


def closed(phone) -> int:
    return len(phone.calls_with("CALL_CLOSED"))


def test_telegram_user_onboards_verifies_deposits_and_pays_an_exact_callback(
    db_url, lab, waves_chain, telegram_api, start_service
):
    service = start_service(**telegram_settings(db_url, telegram_api),
                            **service_overrides(lab, waves_chain))  # fmt: skip
    service.wait_ready("telegram")
    engine = service.assistant.services.engine
    me, callee = lab.phones[ME[1:]], lab.phones[CALLEE[1:]]

    # Onboarding: language from the client, then the time zone by button, then the number.
    telegram_api.send_text(ANN, "/start")
    welcome = newest(telegram_api, ANN, "^Welcome|EncryptoTel")
    assert welcome.buttons and welcome.buttons[0][1].startswith("tz:")
    telegram_api.press_button(ANN, welcome, "tz:Europe/Paris")
    newest(telegram_api, ANN, "Europe/Paris")

    # Own number: a verification call, answered, and the code typed on the keypad.
    established = len(me.calls_with("CALL_ESTABLISHED"))
    telegram_api.send_text(ANN, "my number is +33 6 12 34 56 78")
    calling = newest(telegram_api, ANN, r"type the code \d+")
    code = re.search(r"type the code (\d+)", calling.text)[1]
    me.wait_event("CALL_ESTABLISHED", established + 1)
    time.sleep(0.5)
    me.send_dtmf(code)
    newest(telegram_api, ANN, "is verified")
    account = AccountStore(engine).find_by_identity("telegram", str(ANN))
    assert (account.phone_number, account.phone_verified) == (ME, True)

    # Deposit: the bot gives the address and memo; the user pays 5 ETT on chain.
    telegram_api.send_text(ANN, "deposit")
    info = newest(telegram_api, ANN, "To top up")
    memo = re.search(r"ET\d+-\d\d", info.text)[0]
    waves_chain.send_deposit(memo, to_units("5", "ETT"))
    newest(telegram_api, ANN, "Deposit received: 5 ETT")

    # The callback: quoted, confirmed with the button, one status message edited throughout.
    closed_callee = closed(callee)
    telegram_api.send_text(ANN, "call +44 20 7946 0000")
    offer = newest(telegram_api, ANN, "0.11 ETT per minute")
    [(label, data), _cancel] = offer.buttons
    assert label == "Call"
    telegram_api.press_button(ANN, offer, data)
    connected = newest(telegram_api, ANN, "^📞 Connected with")
    assert connected.message_id == offer.message_id
    assert connected.edits[-2:] == [
        "📞 Calling you at +33 6 12 34 56 78…",
        "📞 You answered. Calling +44 20 7946 0000…",
    ]
    time.sleep(3)
    telegram_api.send_text(ANN, "hang up")
    ended = newest(telegram_api, ANN, "ended after")
    assert ended.message_id == offer.message_id and not ended.buttons
    callee.wait_event("CALL_CLOSED", closed_callee + 1)
    assert tone_share(callee.heard(), 440) >= 0.99  # the caller's tone crossed the bridge

    [call] = [c for c in CallStore(engine).history(account.id) if c.b_number == CALLEE]
    assert call.settled_at is not None and call.bridged_at is not None
    billing = service.assistant.services.billing
    assert call.cost == billing.call_cost(call.id) == FIRST_MINUTES
    assert f"Cost: {0.11} ETT" in ended.text and "(ended at your request)" in ended.text
    ledger = LedgerStore(engine)
    balance = ledger.balance(account_book(account.id), "ETT")
    assert (balance.amount, balance.held) == (to_units("5", "ETT") - FIRST_MINUTES, 0)
    assert ledger.balance(REVENUE, "ETT").amount == FIRST_MINUTES
    telegram_api.send_text(ANN, "history")
    history = newest(telegram_api, ANN, "^Your last calls")
    assert "+44 20 7946 0000" in history.text and "0.11 ETT" in history.text


def test_xmpp_user_places_a_callback_in_plain_text(
    db_url, lab, waves_chain, prosody, xmpp_user, start_service
):
    jid, password = prosody.register()
    service = start_service(**xmpp_settings(prosody, jid, password),
                            **service_overrides(lab, waves_chain))  # fmt: skip
    service.wait_ready("xmpp")
    engine = service.assistant.services.engine
    user = xmpp_user(prosody)
    assert user.ask(jid, "solde", lang="fr").startswith("Votre solde")
    account = AccountStore(engine).find_by_identity("xmpp", user.jid)
    # Shorter than on Telegram: the number is taken as verified and ETT deposited on chain.
    AccountStore(engine).update(account.id, phone_number=ME, phone_verified=True)
    info = user.ask(jid, "recharger")
    waves_chain.send_deposit(re.search(r"ET\d+-\d\d", info)[0], to_units("2", "ETT"))
    body_of(user, lambda m: m.startswith("Dépôt reçu"))

    offer = user.ask(jid, "appelle le +44 20 7946 0000")
    assert "0,11 ETT par minute" in offer and "« oui »" in offer
    assert user.ask(jid, "oui").startswith("📞 Je vous appelle")
    body_of(user, lambda m: m.startswith("📞 En ligne"))
    time.sleep(2)
    user.send(jid, "raccroche")
    ended = body_of(user, lambda m: "terminé après" in m)
    assert "Coût : 0,11 ETT" in ended
    balance = LedgerStore(engine).balance(account_book(account.id), "ETT")
    assert (balance.amount, balance.held) == (to_units("2", "ETT") - FIRST_MINUTES, 0)


def test_stopping_the_service_mid_call_ends_bills_and_records_the_call(
    db_url, lab, waves_chain, telegram_api, start_service
):
    settings = {**telegram_settings(db_url, telegram_api), **service_overrides(lab, waves_chain)}
    service = start_service(**settings)
    service.wait_ready("telegram")
    engine = service.assistant.services.engine
    telegram_api.send_text(ANN, "balance")
    newest(telegram_api, ANN, "^Your balance")
    account = AccountStore(engine).find_by_identity("telegram", str(ANN))
    AccountStore(engine).update(account.id, phone_number=ME, phone_verified=True)
    memo = re.search(r"ET\d+-\d\d", _ask(telegram_api, ANN, "deposit", "To top up"))[0]
    waves_chain.send_deposit(memo, to_units("1", "ETT"))
    newest(telegram_api, ANN, "Deposit received")

    telegram_api.send_text(ANN, "call +44 20 7946 0000")
    offer = newest(telegram_api, ANN, "per minute")
    telegram_api.press_button(ANN, offer, offer.buttons[0][1])
    newest(telegram_api, ANN, "^📞 Connected with")
    time.sleep(2)
    service.stop(timeout=20)  # SIGTERM in production

    [call] = CallStore(engine).history(account.id)
    assert (call.state, call.hangup_cause) == ("ended", "shutdown")
    assert call.settled_at is not None and call.cost == FIRST_MINUTES
    balance = LedgerStore(engine).balance(account_book(account.id), "ETT")
    assert (balance.amount, balance.held) == (to_units("1", "ETT") - FIRST_MINUTES, 0)

    # Back up: the same database, the call in the history with why it ended.
    start_service(**settings).wait_ready("telegram")
    history = _ask(telegram_api, ANN, "history", "^Your last calls")
    assert "the service was stopping" in history and "0.11 ETT" in history


def body_of(user, predicate, timeout: float = 40) -> str:
    """The first message the XMPP user got that satisfies `predicate` (waits for it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [body for _sender, body in list(user.received) if predicate(body)]
        if found:
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"no such message; got {[body for _s, body in user.received]}")


def _ask(api, user: int, text: str, pattern: str) -> str:
    before = len(api.messages(user))
    api.send_text(user, text)
    api.wait_messages(user, before + 1)
    return newest(api, user, pattern).text
