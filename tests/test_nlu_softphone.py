"""The softphone intent: the SIP credentials asked for, with `reset` for a new password, in
en, fr and ru; and its neighbours (reminders, money, calls, hanging up) left as they were."""

from __future__ import annotations

from datetime import datetime

import pytest

from nlu import command_of, parse
from nlu.commands import Softphone

NOW = datetime.fromisoformat("2026-11-28T10:00:00")


def ask(text: str) -> dict:
    return parse(text, NOW, "Europe/Paris", "FR")


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("softphone", "en"),
        ("Softphone?", "en"),
        ("my SIP account", "en"),
        ("sip settings", "en"),
        ("what are my SIP credentials", "en"),
        ("what's my sip password", "en"),
        ("how do I set up a softphone?", "en"),
        ("soft phone", "en"),
        ("sofphone", "en"),
        ("voip settings please", "en"),
        ("configure zoiper", "en"),
        ("mon softphone", "fr"),
        ("mes identifiants SIP", "fr"),
        ("mes paramètres SIP", "fr"),
        ("réglages SIP", "fr"),
        ("quel est mon mot de passe SIP ?", "fr"),
        ("мой SIP", "ru"),
        ("настройки SIP", "ru"),
        ("мой SIP-аккаунт", "ru"),
        ("логин и пароль SIP", "ru"),
        ("настрой софтфон", "ru"),
    ],
)
def test_the_credentials_are_asked_for(text, lang):
    got = ask(text)
    assert (got["intent"], got["lang"], got["reset"]) == ("softphone", lang, False), got
    assert command_of(got) == Softphone(lang=lang, reset=False)


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("new SIP password", "en"),
        ("reset my softphone password", "en"),
        ("reset sip", "en"),
        ("I forgot my SIP password", "en"),
        ("change my softphone password please", "en"),
        ("new password", "en"),
        ("nouveau mot de passe SIP", "fr"),
        ("réinitialise mon softphone", "fr"),
        ("j'ai oublié mon mot de passe SIP", "fr"),
        ("change le mot de passe de mon softphone", "fr"),
        ("новый пароль SIP", "ru"),
        ("сбросить пароль SIP", "ru"),
        ("сбрось пароль сип", "ru"),
        ("забыл пароль от SIP", "ru"),
        ("смени пароль софтфона", "ru"),
    ],
)
def test_a_new_password_is_asked_for(text, lang):
    got = ask(text)
    assert (got["intent"], got["lang"], got["reset"]) == ("softphone", lang, True), got
    assert command_of(got) == Softphone(lang=lang, reset=True)


def test_a_reset_asked_not_to_be_done_only_shows_the_settings():
    got = ask("don't reset my sip password")
    assert (got["intent"], got["reset"]) == ("softphone", False)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        # a reminder whose text speaks of SIP is a reminder
        ("remind me tomorrow at 9 to set up my softphone", "remind"),
        ("rappelle-moi demain de changer le mot de passe SIP", "remind"),
        ("напомни завтра сменить пароль SIP", "remind"),
        # money and past calls
        ("balance of my sip account", "balance"),
        ("historique des appels SIP", "history"),
        # a phone number makes it a call
        ("call +33 6 12 34 56 78 from my softphone", "call"),
        # the neighbours of "сбросить пароль"
        ("сбрось звонок", "hangup"),
        ("hang up", "hangup"),
        ("what is my extension", "extension"),
        ("quel est mon poste", "extension"),
        ("help", "help"),
    ],
)
def test_neighbours_keep_their_intent(text, intent):
    assert ask(text)["intent"] == intent


def test_command_of_reads_only_a_true_reset():
    assert command_of({"intent": "softphone", "lang": "fr"}) == Softphone(lang="fr")
    assert command_of({"intent": "softphone", "reset": "yes"}) == Softphone(reset=False)
    assert command_of({"intent": "softphone", "reset": True}) == Softphone(reset=True)
    assert command_of({"intent": ["softphone"]}).intent == "unknown"
