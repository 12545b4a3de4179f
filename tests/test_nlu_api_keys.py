"""The `api_key` intent in the parser, in en, fr and ru: a key made (`action` "new", with
`scopes` and `name`), the keys listed ("list"), revoked ("revoke": by `key`, its id or the
start of it, or `all`); its neighbours (the recording key, leaving, reminders, calls) left
as they were; and the typed command (`nlu.commands.ApiKeys`)."""

from __future__ import annotations

from datetime import datetime

import pytest

from nlu import command_of, parse
from nlu.api_keys import FULL_SCOPES
from nlu.commands import ApiKeys, RecordingKey, Unknown
from storage.models import API_SCOPES

NOW = datetime.fromisoformat("2026-11-28T10:00:00")
DEFAULT, READ, FULL = ["read", "calls"], ["read"], ["read", "calls", "payments"]
TOKEN = "ett_3f2a1b2c3d4e_yGJdM1OeP-X4pmpNBOHKfv9NcSw2UdtWm1iD7aLk0Fk"


def ask(text: str) -> dict:
    return parse(text, NOW, "Europe/Paris", "FR")


@pytest.mark.parametrize(
    ("text", "lang", "scopes", "name"),
    [
        ("api key", "en", DEFAULT, None),
        ("new api key", "en", DEFAULT, None),
        ("API key please", "en", DEFAULT, None),
        ("make me an api key", "en", DEFAULT, None),
        ("I need an API token", "en", DEFAULT, None),
        ("create an api key for my CRM", "en", DEFAULT, "CRM"),
        ("api key read only", "en", READ, None),
        ("api key read only for my CRM", "en", READ, "CRM"),
        ("api key for my shop", "en", DEFAULT, "shop"),
        ("a read-only API key for Shopify", "en", READ, "Shopify"),
        ("api key with payments", "en", FULL, None),
        ("new api key with full access for billing", "en", FULL, "billing"),
        ("send me an api key for calls", "en", DEFAULT, None),
        ("clé api", "fr", DEFAULT, None),
        ("nouvelle clé d'api", "fr", DEFAULT, None),
        ("crée une clé API pour mon CRM en lecture seule", "fr", READ, "CRM"),
        ("une clé api avec paiements", "fr", FULL, None),
        ("ключ api", "ru", DEFAULT, None),
        ("новый ключ апи", "ru", DEFAULT, None),
        ("создай ключ api для CRM только для чтения", "ru", READ, "CRM"),
        ("ключ апи с платежами", "ru", FULL, None),
    ],
)
def test_a_key_made(text, lang, scopes, name):
    got = ask(text)
    assert (got["intent"], got["lang"], got["action"]) == ("api_key", lang, "new")
    assert (got["scopes"], got["name"], got["key"], got["all"]) == (scopes, name, None, False)


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("my api keys", "en"),
        ("list api keys", "en"),
        ("api keys", "en"),
        ("what is my api key", "en"),
        ("show my API tokens", "en"),
        ("mes clés api", "fr"),
        ("liste des clés d'api", "fr"),
        ("quelles sont mes clés api ?", "fr"),
        ("мои ключи api", "ru"),
        ("покажи ключи апи", "ru"),
        ("какие у меня ключи api", "ru"),
    ],
)
def test_the_keys_listed(text, lang):
    got = ask(text)
    assert (got["intent"], got["lang"], got["action"]) == ("api_key", lang, "list")
    assert (got["scopes"], got["name"], got["all"]) == (None, None, False)


@pytest.mark.parametrize(
    ("text", "lang", "key", "every"),
    [
        ("revoke api key 3f2a…", "en", "3f2a", False),
        ("revoke api key 3f2a...", "en", "3f2a", False),
        ("revoke api key 3f2a1b2c3d4e", "en", "3f2a1b2c3d4e", False),
        ("revoke api key abcd", "en", "abcd", False),
        ("please delete the API key 9F0C12", "en", "9f0c12", False),
        (f"revoke {TOKEN}", "en", "3f2a1b2c3d4e", False),
        ("revoke all api keys", "en", None, True),
        ("delete my api keys", "en", None, True),
        ("delete my api key", "en", None, False),
        ("révoque la clé api 3f2a1b", "fr", "3f2a1b", False),
        ("supprime mes clés api", "fr", None, True),
        ("révoque toutes mes clés api", "fr", None, True),
        ("supprime ma clé api", "fr", None, False),
        ("отзови ключ api 3f2a", "ru", "3f2a", False),
        ("удали ключи api", "ru", None, True),
        ("отзови все ключи api", "ru", None, True),
        ("удали ключ апи", "ru", None, False),
    ],
)
def test_keys_revoked(text, lang, key, every):
    got = ask(text)
    assert (got["intent"], got["lang"], got["action"]) == ("api_key", lang, "revoke")
    assert (got["key"], got["all"]) == (key, every)


@pytest.mark.parametrize(
    "text",
    ["don't revoke my api key", "ne supprime pas ma clé api", "не удаляй ключ api",
     "don't create an api key"],
)  # fmt: skip
def test_a_negated_request_does_nothing(text):
    got = ask(text)
    assert (got["intent"], got.get("negated"), got.get("negated_intent")) == (
        "unknown",
        True,
        "api_key",
    )


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        # the recording key is no API key, nor the other way round
        ("make me a recording key", "recording_key"),
        ("my recording key", "recording_key"),
        ("crée-moi une clé", "recording_key"),
        ("создай ключ для записей", "recording_key"),
        ("new key", "recording_key"),
        # leaving, data, reminders and calls stay theirs
        ("delete my account", "forget_me"),
        ("supprime mes données", "forget_me"),
        ("my data", "my_data"),
        ("remind me tomorrow at 9 to revoke my api key", "remind"),
        ("напомни завтра в 9 создать ключ api", "remind"),
        ("call +33 6 12 34 56 78", "call"),
        ("my sip account", "softphone"),
        ("balance", "balance"),
        ("apiculture", "unknown"),
    ],
)
def test_neighbours_keep_their_intent(text, intent):
    assert ask(text)["intent"] == intent


def test_the_parsers_scopes_are_the_stores():
    assert FULL_SCOPES == API_SCOPES


def test_the_typed_command():
    made = command_of(ask("create an api key for my CRM with payments"))
    assert made == ApiKeys("en", action="new", scopes=("read", "calls", "payments"), name="CRM")
    assert command_of(ask("revoke api key 3f2a…")) == ApiKeys("en", action="revoke", key="3f2a")
    assert command_of(ask("удали ключи api")) == ApiKeys("ru", action="revoke", all=True)
    assert command_of(ask("mes clés api")) == ApiKeys("fr", action="list")
    # Odd values read as absent, never raise.
    odd = command_of({"intent": "api_key", "action": "drop", "scopes": [3], "key": 5})
    assert odd == ApiKeys("en", action="list", scopes=("read", "calls"), key=None)
    assert command_of({"intent": "api_key", "scopes": "read"}) == ApiKeys("en")
    assert isinstance(command_of(ask("make me a recording key")), RecordingKey)
    assert isinstance(command_of(ask("don't revoke my api key")), Unknown)
