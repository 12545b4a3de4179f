"""The numbers feature and follow-me forwarding in the chat, through the assistant, in
en, fr and ru: the account's direct numbers, extension and caller ID; hiding and showing
the number; forwarding rules with several targets in turn, and their refusals."""

from __future__ import annotations

import pytest

from bot.app import build_assistant, build_services
from bot.assistant import Assistant, Sender
from bot.assistant.i18n import t
from storage import open_database
from storage.dids import DidStore
from storage.forwarding import MAX_RING_SECONDS, MAX_TARGETS, MIN_RING_SECONDS, Target, targets
from tests.conftest_chat import service_settings

POOL = "+33199000100-+33199000102"


def make_assistant(db_url: str, **overrides: object):
    engine = open_database(db_url, migrate=False)
    settings = service_settings(db_url, DID_POOL=POOL, **overrides)
    return build_assistant(build_services(settings, engine=engine)), engine


@pytest.fixture
def assistant(db_url):
    built, engine = make_assistant(db_url)
    yield built
    engine.dispose()


def ask(assistant: Assistant, sender: Sender, text: str) -> list[str]:
    return [reply.text for reply in assistant.handle_sync(sender, text)]


def account_of(assistant: Assistant, sender: Sender):
    return assistant.services.accounts.find_by_identity(sender.network, sender.external_id)


# --- my numbers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "text"), [("en", "my numbers"), ("fr", "mes numéros"), ("ru", "мои номера")]
)
def test_no_direct_number_yet(assistant, lang, text):
    sender = Sender("console", f"none-{lang}", lang)
    [reply] = ask(assistant, sender, text)
    extension = account_of(assistant, sender).extension  # allocated by the answer
    assert extension is not None
    assert reply == t(
        lang,
        "numbers",
        dids=t(lang, "numbers_none", extension=extension),
        caller_id=t(lang, "numbers_shown"),
    )
    assert "*67" in reply


@pytest.mark.parametrize(
    ("lang", "text"),
    [("en", "what is my number"), ("fr", "quel est mon numéro"), ("ru", "какой у меня номер")],
)
def test_the_direct_numbers_the_operator_assigned(assistant, lang, text):
    sender = Sender("console", f"did-{lang}", lang)
    account = assistant.services.accounts.resolve("console", f"did-{lang}")
    dids = DidStore(assistant.services.engine)
    dids.sync_pool(assistant.services.settings.did_pool)
    dids.assign("+33199000101", account.id)
    [one] = ask(assistant, sender, text)
    extension = assistant.services.accounts.extension(account.id)
    assert one.startswith(
        t(lang, "numbers_dids_one", numbers="+33 1 99 00 01 01", extension=extension)
    )
    dids.assign("+33199000100", account.id)
    assistant.services.accounts.update(account.id, hide_caller_id=True)
    [two] = ask(assistant, sender, text)
    assert two == t(
        lang,
        "numbers",
        dids=t(
            lang,
            "numbers_dids_many",
            numbers="+33 1 99 00 01 00, +33 1 99 00 01 01",
            extension=extension,
        ),
        caller_id=t(lang, "numbers_hidden"),
    )
    assert "*82" in two


def test_the_menu_has_the_numbers(assistant):
    sender = Sender("console", "menu", "en")
    assert "numbers" in assistant.menu
    assert ask(assistant, sender, "/numbers") == ask(assistant, sender, "my numbers")


@pytest.mark.parametrize("lang", ["en", "fr", "ru"])
def test_the_help_names_the_numbers(lang):
    words = {"en": "my numbers", "fr": "mes numéros", "ru": "мои номера"}[lang]
    assert words in t(lang, "help")


# --- hide / show my number -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "hide", "show"),
    [
        ("en", "hide my number", "show my number"),
        ("fr", "masquer mon numéro", "afficher mon numéro"),
        ("ru", "скрыть мой номер", "показывать мой номер"),
    ],
)
def test_the_caller_id_is_hidden_then_shown(assistant, lang, hide, show):
    sender = Sender("console", f"cid-{lang}", lang)
    assert ask(assistant, sender, hide) == [t(lang, "caller_id_hidden")]
    assert account_of(assistant, sender).hide_caller_id is True
    assert "*82" in t(lang, "caller_id_hidden")
    assert ask(assistant, sender, hide) == [t(lang, "caller_id_hidden")]  # again: the same
    assert ask(assistant, sender, show) == [t(lang, "caller_id_shown")]
    assert account_of(assistant, sender).hide_caller_id is False
    assert "*67" in t(lang, "caller_id_shown")


def test_a_call_with_a_hidden_number_leaves_the_setting_alone(assistant):
    sender = Sender("console", "caller", "en")
    ask(assistant, sender, "call +33612345678 and hide my number")
    assert account_of(assistant, sender).hide_caller_id is False


# --- follow-me -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "text", "saved", "last"),
    [
        (
            "en",
            "forward my calls to {ext} for 20 seconds then to +33612345678",
            "Saved: forward all calls to {ext} for 20 seconds, then to +33612345678.",
            "+33612345678",
        ),
        (
            "fr",
            "transfère mes appels vers le {ext} pendant 20 secondes puis vers le +33612345678",
            "C'est enregistré : renvoyer tous les appels vers le {ext} pendant 20 secondes, "
            "puis vers le +33612345678.",
            "+33612345678",
        ),
        (
            "ru",
            "переадресуй звонки на {ext} на 20 секунд, потом на +79031112233",
            "Сохранено: переадресовать все звонки на {ext} (20 с), затем на +79031112233.",
            "+79031112233",
        ),
    ],
)
def test_follow_me_is_stored_and_described(assistant, lang, text, saved, last):
    sender = Sender("console", f"fm-{lang}", lang)
    account = assistant.services.accounts.resolve("console", f"fm-{lang}")
    ext = assistant.services.accounts.extension(account.id)  # forwarding to one's own phones
    replies = ask(assistant, sender, text.format(ext=ext))
    assert replies == [saved.format(ext=ext), t(lang, "forward_saved_no_exchange")]
    [rule] = assistant.services.forwarding.rules(account.id)
    assert targets(rule) == [Target(ext, 20), Target(last, None)]


def test_a_chain_of_three_and_the_note_only_without_the_exchange(db_url):
    built, engine = make_assistant(db_url, PBX_ENABLED=True)
    try:
        sender = Sender("console", "pbx", "en")
        other = built.services.accounts.resolve("console", "colleague")
        ext = built.services.accounts.extension(other.id)
        replies = ask(
            built,
            sender,
            f"forward calls from +447911123456 to +33612345678 for 15 s then to {ext} "
            "for 30 seconds then to +33145678900 on weekdays",
        )
        assert replies == [
            f"Saved: forward calls from +447911123456 to +33612345678 for 15 seconds, then to "
            f"{ext} for 30 seconds, then to +33145678900 on Mon, Tue, Wed, Thu, Fri."
        ]
        [rule] = built.services.forwarding.rules(account_of(built, sender).id)
        assert rule.caller == "+447911123456" and rule.days == "mon,tue,wed,thu,fri"
        assert targets(rule) == [
            Target("+33612345678", 15),
            Target(ext, 30),
            Target("+33145678900", None),
        ]
    finally:
        engine.dispose()


@pytest.mark.parametrize("lang", ["en", "fr", "ru"])
def test_an_unknown_extension_is_refused(assistant, lang):
    sender = Sender("console", f"unknown-{lang}", lang)
    text = {
        "en": "forward my calls to 4321",
        "fr": "renvoie mes appels vers le 4321",
        "ru": "переадресуй звонки на 4321",
    }[lang]
    assert ask(assistant, sender, text) == [t(lang, "forward_unknown_extension", number="4321")]
    assert assistant.services.forwarding.rules(account_of(assistant, sender).id) == []


@pytest.mark.parametrize(
    ("lang", "text", "key", "values"),
    [
        (
            "en",
            "forward my calls to +33612345678 then to +447911123456",
            "forward_ring_needed",
            {"number": "+33612345678"},
        ),
        (
            "fr",
            "renvoie mes appels vers le +33612345678 puis vers le +447911123456",
            "forward_ring_needed",
            {"number": "+33612345678"},
        ),
        (
            "ru",
            "переадресуй звонки на +79031112233 на 2 секунды, потом на +447911123456",
            "forward_ring_range",
            {"min": MIN_RING_SECONDS, "max": MAX_RING_SECONDS},
        ),
        (
            "en",
            "forward to +33612345678 for 10 s then +33612345679 for 10 s then +33612345670 "
            "for 10 s then +33612345671 for 10 s then +33612345672 for 10 s then +33612345673",
            "forward_too_many",
            {"limit": MAX_TARGETS},
        ),
    ],
)
def test_a_rule_the_store_refuses_is_one_sentence(assistant, lang, text, key, values):
    sender = Sender("console", f"bad-{lang}-{key}", lang)
    assert ask(assistant, sender, text) == [t(lang, key, **values)]
    assert assistant.services.forwarding.rules(account_of(assistant, sender).id) == []


def test_a_plain_rule_still_replaces_a_chain(assistant):
    sender = Sender("console", "plain", "en")
    ask(assistant, sender, "forward my calls to +33612345678 for 20 seconds then +447911123456")
    ask(assistant, sender, "forward my calls to +33145678900")
    [rule] = assistant.services.forwarding.rules(account_of(assistant, sender).id)
    assert targets(rule) == [Target("+33145678900", None)]
