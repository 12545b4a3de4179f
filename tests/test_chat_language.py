"""One rule for the language of every answer (see `bot.assistant.core`): the words' when
they surely tell it, else the account's (set by the last such message), the chat client's
only for a new account; on typed messages, commands, presses, unknown words, pushes."""

from __future__ import annotations

import pytest

from bot.app import build_assistant, build_services
from bot.assistant import Sender
from bot.assistant.i18n import t
from tests.conftest_chat import service_settings, telegram_settings

FR_CLIENT, NEW_RU, THANKS = 1001, 1002, 1003


@pytest.fixture
def call_lab():
    """kamailio and two baresip phones: the requester's and the callee's (as test_calls)."""
    from testbed.sip_lab import ANSWER, SipLab
    from tests.test_calls import CALLEE, ME

    lab = SipLab()
    lab.plan_phone(ME[1:], ANSWER, 440.0)
    lab.plan_phone(CALLEE[1:], ANSWER, 1000.0)
    lab.start()
    yield lab
    lab.stop()


def _say(api, user: int, text: str, lang: str, count: int = 1) -> list[str]:
    """Write one message and return the texts of the `count` messages it got."""
    seen = len(api.messages(user))
    api.send_text(user, text, language_code=lang)
    return [m.text for m in api.wait_messages(user, seen + count)[seen:]]


def test_a_french_client_writing_english_is_answered_in_english_everywhere(
    db_url, telegram_api, start_service
):
    service = start_service(**telegram_settings(db_url, telegram_api))
    api = telegram_api
    # A new account starts in the client's language.
    [welcome_text] = _say(api, FR_CLIENT, "/start", "fr")
    assert welcome_text == t("fr", "start", tz="UTC")
    welcome = api.messages(FR_CLIENT)[0]
    # English words: English from now on, whatever the client says.
    assert _say(api, FR_CLIENT, "my number is +44 7911 123456", "fr") == [
        t("en", "number_saved", number="+447911123456")
    ]
    assert _say(api, FR_CLIENT, "call +44 20 7946 0000", "fr", 2) == [
        t("en", "call_understood", to="+44 20 7946 0000", when="", flags="",
          **{"from": t("en", "call_me")}),
        t("en", "dialer_not_configured"),
    ]  # fmt: skip
    assert _say(api, FR_CLIENT, "hang up", "fr") == [t("en", "hangup_none")]
    assert _say(api, FR_CLIENT, "qwertyuiop zxcv", "fr") == [t("en", "unknown")]
    assert _say(api, FR_CLIENT, "/balance", "fr") == [t("en", "balance", balances="0 ETT, 0 WAVES")]
    # A button press tells no language: the account's, under the French welcome too.
    api.press_button(FR_CLIENT, welcome, "tz:Europe/Paris", language_code="fr")
    api.wait_for(lambda: bool(api.messages(FR_CLIENT)[0].edits), what="an edit")
    assert api.messages(FR_CLIENT)[0].text.startswith("Your time zone is now Europe/Paris")
    # A question and its Cancel button, in the same language.
    [issued] = service.assistant.handle_sync(Sender("console", "desk"), "link")
    code = issued.text.split()[4].rstrip(".")
    [question_text] = _say(api, FR_CLIENT, f"link {code}", "fr")
    assert question_text == t("en", "link_confirm", what="+44 7911 123456")
    question = api.messages(FR_CLIENT)[-1]
    api.press_button(FR_CLIENT, question, f"cancel:link:{code}", language_code="fr")
    api.wait_for(lambda: bool(api.messages(FR_CLIENT)[-1].edits), what="an edit")
    assert api.messages(FR_CLIENT)[-1].text == t("en", "cancelled")
    # French words switch it back, for what follows too.
    assert _say(api, FR_CLIENT, "solde", "en") == [t("fr", "balance", balances="0 ETT, 0 WAVES")]
    assert _say(api, FR_CLIENT, "/extension", "en") == [t("fr", "extension", extension="1001")]
    # A message the assistant pushes later (a reminder) is in the account's language.
    assert _say(api, FR_CLIENT, "remind me in 2 seconds to drink water", "fr")[0].startswith(
        "I'll remind you on "
    )
    fired = api.wait_messages(FR_CLIENT, len(api.messages(FR_CLIENT)) + 1, timeout=20)[-1]
    assert fired.text == t("en", "reminder_fire", text="drink water")


def test_a_new_user_writing_russian_is_answered_in_russian(db_url, telegram_api, start_service):
    start_service(**telegram_settings(db_url, telegram_api))
    assert _say(telegram_api, NEW_RU, "привет", "en") == [t("ru", "greeting")]
    assert _say(telegram_api, NEW_RU, "qwertyuiop zxcv", "en") == [t("ru", "unknown")]
    assert _say(telegram_api, NEW_RU, "/help", "en") == [t("ru", "help")]
    # Not understood, but surely Russian: "Sorry, I did not understand" in Russian.
    assert _say(telegram_api, THANKS, "спасибо большое", "en") == [t("ru", "unknown")]


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("hello", "en"),
        ("Hi!", "en"),
        ("good morning", "en"),
        ("bonjour", "fr"),
        ("Salut !", "fr"),
        ("привет", "ru"),
        ("Здравствуйте", "ru"),
    ],
)
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_greetings_are_answered_in_their_language(db_url, engine, text, lang):
    assistant = build_assistant(build_services(service_settings(db_url), engine=engine))
    sender = Sender("console", f"greeter-{text}", "ru" if lang != "ru" else "en")
    assert [r.text for r in assistant.handle_sync(sender, text)] == [t(lang, "greeting")]
    account = assistant.services.accounts.find_by_identity("console", sender.external_id)
    # The next message that tells no language is answered in the greeting's.
    assert assistant.handle_sync(sender, "/balance")[0].text == t(
        lang, "balance", balances="0 ETT, 0 WAVES"
    )
    assert account is not None


@pytest.mark.sip
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_call_is_quoted_placed_and_ended_in_the_language_of_its_words(db_url, call_lab):
    """A French account on a French client asks for a call in English: the quote, the
    Cancel and Call buttons, the status pushed as the call goes, "hang up": all English."""
    from tests.call_env import CallEnv
    from tests.test_calls import CALLEE_SHOWN, ME, ME_SHOWN, confirm_button
    from tests.wallet_helpers import fund

    env = CallEnv(db_url, call_lab)
    try:
        ann = env.user("ann", "fr")
        account = env.services.accounts.resolve(ann.network, ann.external_id, language="fr")
        env.services.accounts.update(account.id, phone_number=ME, phone_verified=True)
        fund(env.services.engine, account.id, "10")
        [quote] = env.say(ann, "call +44 20 7946 0000")
        assert quote.text.startswith(f"Call {CALLEE_SHOWN}, after ringing you at {ME_SHOWN}")
        cancel = next(b.data for b in quote.buttons if b.data.startswith("cancel:"))
        assert [r.text for r in env.press(ann, cancel)] == [t("en", "cancelled")]
        [quote] = env.say(ann, "call +44 20 7946 0000")
        [status] = env.press(ann, confirm_button([quote]))
        assert status.text == t("en", "call_status_dialing_a", a=ME_SHOWN)
        env.wait_pushed(ann, lambda r: r.text.startswith("📞 Connected"))
        assert [r.text for r in env.say(ann, "hang up")] == [t("en", "hangup_done")]
        ended = env.wait_pushed(ann, lambda r: "ended after" in r.text)
        assert ended.text.startswith(f"Call with {CALLEE_SHOWN} ended after ")
        env.wait_idle()
    finally:
        env.close()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_new_account_without_a_client_language_starts_in_the_default_one(db_url, engine):
    settings = service_settings(db_url, DEFAULT_LANGUAGE="fr")
    assistant = build_assistant(build_services(settings, engine=engine))
    balance = "0 ETT, 0 WAVES"
    assert assistant.handle_sync(Sender("console", "a"), "/balance")[0].text == t(
        "fr", "balance", balances=balance
    )
    assert assistant.handle_sync(Sender("console", "b", "ru"), "/balance")[0].text == t(
        "ru", "balance", balances=balance
    )
