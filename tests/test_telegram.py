"""The Telegram adapter against the Bot API emulator: aiogram speaks real HTTP to it."""

from __future__ import annotations

import pytest

from bot.assistant import Sender
from bot.assistant.i18n import t
from storage import open_database
from storage.accounts import AccountStore
from tests.conftest_chat import telegram_settings

ANN, BOB, CHLOE = 501, 502, 503


def _store(db_url: str) -> tuple[AccountStore, object]:
    engine = open_database(db_url, migrate=False)
    return AccountStore(engine), engine


def test_start_onboarding_menu_and_timezone_button(db_url, telegram_api, start_service):
    start_service(**telegram_settings(db_url, telegram_api))
    telegram_api.send_text(ANN, "/start", language_code="fr")
    [welcome] = telegram_api.wait_messages(ANN, 1)
    assert welcome.text == t("fr", "start", tz="UTC")
    assert [data for _label, data in welcome.buttons] == [
        "tz:Europe/Paris",
        "tz:America/Toronto",
        "tz:Africa/Dakar",
    ]
    # The command menu, in each language.
    telegram_api.wait_for(lambda: len(telegram_api.commands) == 3, what="three command menus")
    menus = telegram_api.commands
    assert [c["command"] for c in menus[("default", "")]][:3] == ["start", "help", "balance"]
    assert menus[("default", "fr")][2]["description"] == t("fr", "menu_balance")
    assert menus[("default", "ru")][2]["description"] == t("ru", "menu_balance")

    # Pressing a button edits the welcome message in place and removes the keyboard.
    telegram_api.press_button(ANN, welcome, "tz:Europe/Paris", language_code="fr")
    telegram_api.wait_for(lambda: bool(telegram_api.messages(ANN)[0].edits), what="an edit")
    [edited] = telegram_api.messages(ANN)
    assert edited.message_id == welcome.message_id
    assert edited.text.startswith("Votre fuseau horaire est maintenant Europe/Paris")
    assert t("fr", "timezone_next_number") in edited.text
    assert edited.buttons == []
    assert len(telegram_api.calls_of("answerCallbackQuery")) == 1

    store, engine = _store(db_url)
    account = store.find_by_identity("telegram", str(ANN))
    assert (account.language, account.timezone) == ("fr", "Europe/Paris")
    engine.dispose()


@pytest.mark.parametrize(
    ("lang", "number"),
    [("en", "+44 7911 123456"), ("fr", "+33 6 12 34 56 78"), ("ru", "+7 903 111 22 33")],
)
def test_help_balance_history_extension_number_in_each_language(
    db_url, telegram_api, start_service, lang, number
):
    start_service(**telegram_settings(db_url, telegram_api))
    words = {
        "en": ("my number is", "timezone Europe/London"),
        "fr": ("mon numéro est le", "fuseau Europe/Paris"),
        "ru": ("мой номер", "часовой пояс Europe/Moscow"),
    }[lang]
    messages = ["/help", "/balance", "/history", "/extension", f"{words[0]} {number}", words[1]]
    for i, text in enumerate(messages, start=1):
        # One at a time: the replies of concurrent updates may arrive in any order.
        telegram_api.send_text(CHLOE, text, language_code=lang)
        telegram_api.wait_messages(CHLOE, i)
    sent = [m.text for m in telegram_api.messages(CHLOE)]
    e164 = "".join(ch for ch in number if ch.isdigit() or ch == "+")
    zone = words[1].split()[-1]
    assert sent[:5] == [
        t(lang, "help"),
        t(lang, "balance", balances="0 ETT, 0 WAVES"),
        t(lang, "history_empty"),
        t(lang, "extension", extension="1001"),
        t(lang, "number_saved", number=e164),
    ]
    assert sent[5].startswith(t(lang, "timezone_set", tz=zone, time="HH:MM").split("HH:MM")[0])


def test_typed_menu_word_and_unknown_text(db_url, telegram_api, start_service):
    start_service(**telegram_settings(db_url, telegram_api))
    telegram_api.send_text(BOB, "/balance@EncryptoTelTestBot", language_code="ru")
    telegram_api.wait_messages(BOB, 1)
    telegram_api.send_text(BOB, "tz Mars/Olympus", language_code="ru")
    telegram_api.wait_messages(BOB, 2)
    telegram_api.send_text(BOB, "qwertyuiop zxcv", language_code="ru")
    sent = [m.text for m in telegram_api.wait_messages(BOB, 3)]
    assert sent == [
        t("ru", "balance", balances="0 ETT, 0 WAVES"),
        t("ru", "timezone_invalid", tz="Mars/Olympus"),
        t("ru", "unknown"),
    ]


def test_link_confirmation_keyboard_round_trip(db_url, telegram_api, start_service):
    service = start_service(**telegram_settings(db_url, telegram_api))
    # Another network's user (the console here) asks for a code.
    [code_reply] = service.assistant.handle_sync(Sender("console", "desk"), "link")
    code = code_reply.text.split()[4].rstrip(".")
    assert code.isdigit() and len(code) == 8

    # This Telegram user has a number of their own: linking asks first.
    telegram_api.send_text(ANN, "my number is +44 7911 123456")
    telegram_api.wait_messages(ANN, 1)
    telegram_api.send_text(ANN, f"link {code}")
    question = telegram_api.wait_messages(ANN, 2)[1]
    assert question.text == t("en", "link_confirm", what="+44 7911 123456")
    assert question.buttons == [("Link", f"link:{code}"), ("Cancel", f"cancel:link:{code}")]

    telegram_api.press_button(ANN, question, f"link:{code}")
    telegram_api.wait_for(lambda: bool(telegram_api.messages(ANN)[1].edits), what="an edit")
    answer = telegram_api.messages(ANN)[1]
    assert answer.text == t("en", "link_done", extension="1001")
    assert answer.buttons == []
    store, engine = _store(db_url)
    desk = store.find_by_identity("console", "desk")
    assert store.find_by_identity("telegram", str(ANN)).id == desk.id
    # The code was used once: a second try is refused.
    telegram_api.send_text(BOB, f"link {code}")
    assert telegram_api.wait_messages(BOB, 1)[0].text == t("en", "link_invalid")
    engine.dispose()


def test_typed_word_answers_the_last_question(db_url, telegram_api, start_service):
    service = start_service(**telegram_settings(db_url, telegram_api))
    [code_reply] = service.assistant.handle_sync(Sender("console", "desk"), "link")
    code = code_reply.text.split()[4].rstrip(".")
    telegram_api.send_text(BOB, "my number is +44 7911 123456")
    telegram_api.wait_messages(BOB, 1)
    telegram_api.send_text(BOB, f"link {code}")
    telegram_api.wait_messages(BOB, 2)
    telegram_api.send_text(BOB, "no")
    # The answer has the question's key: the question is edited into the outcome.
    telegram_api.wait_for(lambda: bool(telegram_api.messages(BOB)[1].edits), what="an edit")
    assert [m.text for m in telegram_api.messages(BOB)][1:] == [t("en", "cancelled")]
    store, engine = _store(db_url)
    assert store.find_by_identity("telegram", str(BOB)).id != (
        store.find_by_identity("console", "desk").id
    )
    engine.dispose()
