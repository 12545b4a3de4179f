"""'my data' and 'forget me' in the chat, through the Assistant: en, fr and ru, a button
on Telegram and a typed word on XMPP, cancel, a confirmation that holds only for its
account and a few minutes, and the next message of a forgotten user."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from bot.app import build_assistant, build_services
from bot.assistant import Sender
from bot.assistant.context import Context
from bot.assistant.i18n import money_text, number_text, t
from bot.features.privacy.leaving import ForgetData, key_of
from domain.books import DEPOSITS
from domain.clock import utcnow
from nlu.commands import ForgetMe, MyData
from storage.calls import CallStore
from storage.ledger_store import account_book
from storage.models import CallRecord
from tests.conftest_chat import service_settings

ANN = Sender("telegram", "4711", "en")
PHONE = "+447911123456"
UNIT = 100_000_000


@pytest.fixture
def assistant(engine, db_url, tmp_path):
    settings = service_settings(db_url, RECORDING_DIR=str(tmp_path / "recordings"))
    return build_assistant(build_services(settings, engine=engine))


def _account(assistant, sender):
    return assistant.services.accounts.find_by_identity(sender.network, sender.external_id)


def _credit(assistant, account_id: int, amount: int) -> None:
    assistant.services.ledger.transfer(
        key=f"test-deposit:{account_id}",
        kind="deposit",
        asset="ETT",
        amount=amount,
        debit=DEPOSITS,
        credit=account_book(account_id),
    )


@pytest.mark.parametrize(
    ("words", "lang"), [("my data", "en"), ("Mes données", "fr"), ("мои данные", "ru")]
)
def test_my_data_sends_the_json_export(assistant, words, lang):
    assistant.handle_sync(ANN, "my number is +44 7911 123456")
    [reply] = assistant.handle_sync(ANN, words)
    assert reply.text == t(lang, "privacy_my_data")
    attachment = reply.attachment
    assert attachment.mime == "application/json" and attachment.name.endswith(".json")
    document = json.loads(attachment.read())
    assert document["account"]["phone_number"] == PHONE
    assert [(i["network"], i["external_id"]) for i in document["identities"]] == [
        ("telegram", "4711")
    ]


def test_my_data_by_slash_command_and_by_the_parsers_intent(assistant):
    assistant.handle_sync(ANN, "help")
    [reply] = assistant.handle_sync(ANN, "/my_data")
    assert json.loads(reply.attachment.read())["identities"][0]["external_id"] == "4711"
    assert "my_data" in assistant.menu
    account = _account(assistant, ANN)
    ctx = Context(account, "ru", assistant.services, ANN, "экспорт")
    [reply] = assistant.dispatcher.dispatch(ctx, MyData(lang="ru"))
    assert reply.text == t("ru", "privacy_my_data") and reply.attachment is not None
    [question] = assistant.dispatcher.dispatch(ctx, ForgetMe(lang="ru"))
    assert [b.word for b in question.buttons] == [t("ru", "privacy_word_forget"), "нет"]
    # Other words, read by the parser.
    [reply] = assistant.handle_sync(ANN, "send me my data")
    assert reply.text == t("en", "privacy_my_data") and reply.attachment is not None
    [question] = assistant.handle_sync(ANN, "please delete my account")
    assert question.buttons and question.text.startswith("Forget you?")


def test_forget_me_on_telegram_cancel_then_confirm(assistant):
    assistant.handle_sync(ANN, "my number is +44 7911 123456")
    ann = _account(assistant, ANN)
    _credit(assistant, ann.id, 3 * UNIT)
    [question] = assistant.handle_sync(ANN, "forget me")
    assert question.key == key_of(ann.id) and question.lang == "en"
    assert number_text(PHONE) in question.text
    assert money_text(3 * UNIT, "ETT", "en") in question.text
    assert t("en", "privacy_forget_balances", balances="3 ETT", account=ann.id) in question.text
    confirm, cancel = question.buttons
    assert (confirm.label, cancel.label) == (t("en", "privacy_button_forget"), "Cancel")

    [cancelled] = assistant.press_sync(ANN, cancel.data)
    assert (cancelled.text, cancelled.key) == (t("en", "cancelled"), key_of(ann.id))
    assert _account(assistant, ANN).id == ann.id  # nothing forgotten

    [question] = assistant.handle_sync(ANN, "Forget me!")
    [done] = assistant.press_sync(ANN, question.buttons[0].data)
    assert done.text == t(
        "en", "privacy_forget_done_balances", balances="3 ETT", account=ann.id
    ) and done.key == key_of(ann.id)
    assert _account(assistant, ANN) is None
    forgotten = assistant.services.accounts.get(ann.id)
    assert forgotten.forgotten_at is not None and forgotten.phone_number is None
    # The money stays in the ledger under the account's number; the next message of the
    # same Telegram user is a new, empty account.
    assert assistant.services.ledger.balance(account_book(ann.id), "ETT").amount == 3 * UNIT
    [balance] = assistant.handle_sync(ANN, "balance")
    assert balance.text == t("en", "balance", balances="0 ETT, 0 WAVES")
    assert _account(assistant, ANN).id != ann.id
    # The old button, pressed again, is an expired choice for the new account.
    [again] = assistant.press_sync(ANN, question.buttons[0].data)
    assert again.text == t("en", "choice_expired")


def test_forget_me_typed_on_xmpp_in_french(assistant):
    jid = Sender("xmpp", "anne@xmpp.example", "fr")
    [question] = assistant.handle_sync(jid, "oublie-moi")
    anne = _account(assistant, jid)
    assert question.text.startswith("Vous oublier ?") and question.lang == "fr"
    assert t("fr", "privacy_lost_identities", count=1) in question.text
    assert "grand livre" not in question.text  # no money: nothing to withdraw first
    [done] = assistant.handle_sync(jid, "Oublier")  # the confirm button's word
    assert done.text == t("fr", "privacy_forget_done")
    assert assistant.services.accounts.get(anne.id).forgotten_at is not None
    assert _account(assistant, jid) is None


def test_forget_me_in_russian_cancelled_by_its_word(assistant):
    ivan = Sender("xmpp", "ivan@xmpp.example", "ru")
    [question] = assistant.handle_sync(ivan, "забудь меня")
    assert question.text.startswith("Забыть вас?")
    [cancelled] = assistant.handle_sync(ivan, "нет")
    assert cancelled.text == t("ru", "cancelled")
    account = _account(assistant, ivan)
    assert account is not None and account.forgotten_at is None


def test_a_confirmation_holds_for_its_account_and_a_few_minutes(assistant):
    assistant.handle_sync(ANN, "help")
    bob = Sender("telegram", "4712", "en")
    assistant.handle_sync(bob, "help")
    ann, bob_account = _account(assistant, ANN), _account(assistant, bob)
    later = int((utcnow() + timedelta(minutes=4)).timestamp())
    [refused] = assistant.press_sync(bob, ForgetData(ann.id, later).pack())
    assert refused.text == t("en", "choice_expired")
    past = int((utcnow() - timedelta(seconds=1)).timestamp())
    [refused] = assistant.press_sync(ANN, ForgetData(ann.id, past).pack())
    assert refused.text == t("en", "choice_expired")
    assert _account(assistant, ANN).id == ann.id
    assert _account(assistant, bob).id == bob_account.id
    [question] = assistant.handle_sync(ANN, "/forget_me")
    until = ForgetData.unpack(question.buttons[0].data).until
    assert 4 * 60 < until - utcnow().timestamp() <= 5 * 60


def test_forget_me_waits_for_the_call_in_progress(assistant):
    assistant.handle_sync(ANN, "help")
    ann = _account(assistant, ANN)
    CallStore(assistant.services.engine).create(
        CallRecord(id=f"{ann.id}-now", account_id=ann.id, a_number=PHONE, b_number="+33612345678")
    )
    [refused] = assistant.handle_sync(ANN, "забудьте меня")
    assert refused.text == t("ru", "privacy_forget_blocked_call") and not refused.buttons
    assert _account(assistant, ANN).forgotten_at is None
