"""API keys in the chat, through the Assistant, against the real API (`api.app.create_app`
on the same services): a key made in en/fr/ru works at once and, once revoked, gives 401;
its token is shown once and never listed nor logged; "revoke all" asks first; another
account never revokes this one's keys; linked identities share the account's keys; a group
chat gets no token."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.app import create_app
from bot.app import build_assistant, build_services
from bot.assistant import Assistant, Reply, Sender
from bot.assistant.context import Context
from bot.assistant.i18n import t
from bot.features.api_keys.keys import MAX_KEYS, RevokeAllData, RevokeKeyData
from nlu.commands import ApiKeys
from privacy.logs import PrivacyFilter
from storage import open_database
from storage.models import ApiKey
from tests.conftest_chat import service_settings, telegram_settings

ANN = Sender("telegram", "4711", "en")
BOB = Sender("telegram", "4712", "en")
ANN_XMPP = Sender("xmpp", "ann@pbx.test", "en")
TOKEN = re.compile(r"ett_[0-9a-f]{12}_[A-Za-z0-9_-]{40,}")
LOCAL_URL = "http://127.0.0.1:8080"


class Chat:
    """An assistant and the API of the same services (one isolated database)."""

    def __init__(self, db_url: str, **overrides: Any) -> None:
        self.engine = open_database(db_url, migrate=False)
        # (tests/conftest.py turns the API's listener off: here it names the API's URL)
        settings = service_settings(db_url, **{"API_LISTEN": "127.0.0.1:8080", **overrides})
        self.assistant: Assistant = build_assistant(build_services(settings, engine=self.engine))
        self.services = self.assistant.services
        self.http = TestClient(create_app(self.services), raise_server_exceptions=False)

    def say(self, sender: Sender, text: str) -> Reply:
        [reply] = self.assistant.handle_sync(sender, text)
        return reply

    def make(self, sender: Sender, text: str = "api key") -> tuple[Reply, str, str]:
        """(the reply, the token, the key's id) of a key made by `text`."""
        reply = self.say(sender, text)
        [token] = set(TOKEN.findall(reply.text))  # (the token, and in the curl line)
        return reply, token, token[4:16]

    def status(self, token: str) -> int:
        """The API's status for a read of a call that does not exist: 404 with a live
        key, 401 without."""
        answer = self.http.get("/v1/callbacks/x", headers={"Authorization": f"Bearer {token}"})
        return answer.status_code

    def account_id(self, sender: Sender) -> int:
        account = self.services.accounts.find_by_identity(sender.network, sender.external_id)
        assert account is not None
        return account.id

    def close(self) -> None:
        self.http.close()
        self.engine.dispose()


@pytest.fixture
def chat(db_url: str) -> Iterator[Chat]:
    made = Chat(db_url)
    yield made
    made.close()


def curl(token: str, url: str = LOCAL_URL) -> str:
    return f'curl -H "Authorization: Bearer {token}" {url}/v1/balance'


@pytest.mark.parametrize(
    ("make", "revoke", "lang"),
    [
        ("api key", "revoke api key {id}", "en"),
        ("clé api", "révoque la clé api {id}", "fr"),
        ("ключ api", "отзови ключ api {id}", "ru"),
    ],
)
def test_a_key_made_in_the_chat_works_until_it_is_revoked(chat, make, revoke, lang):
    reply, token, key_id = chat.make(ANN, make)
    expected = t(lang, "apikeys_new", id=key_id, name="", scopes="read, calls", token=token,
                 example=curl(token))  # fmt: skip
    assert reply.text == expected
    assert chat.status(token) == 404  # a live key: the call is not found, not unauthorized
    [key] = chat.services.api_keys.of_account(chat.account_id(ANN))
    assert (key.id, key.scopes) == (key_id, "read,calls")
    assert token not in (key.token_hash, key.id)  # only its hash is kept

    prefix = key_id[:6]  # the start of an id names the key
    done = chat.say(ANN, revoke.format(id=prefix))
    assert done.text == t(lang, "apikeys_revoked", id=key_id)
    assert chat.status(token) == 401  # at once: the API looks the key up on every request
    assert chat.services.api_keys.of_account(chat.account_id(ANN)) == []


def test_scopes_and_name_asked_in_words(chat):
    _reply, read_token, read_id = chat.make(ANN, "api key read only")
    _reply, full_token, full_id = chat.make(ANN, "create an api key for my CRM with payments")
    _reply, _token, ru_id = chat.make(ANN, "создай ключ api для CRM только для чтения")
    keys = {k.id: k for k in chat.services.api_keys.of_account(chat.account_id(ANN))}
    assert (keys[read_id].scopes, keys[read_id].name) == ("read", "")
    assert (keys[full_id].scopes, keys[full_id].name) == ("read,calls,payments", "CRM")
    assert (keys[ru_id].scopes, keys[ru_id].name) == ("read", "CRM")
    call = {"to": "+447911123456"}
    read_only = chat.http.post(
        "/v1/callbacks", json=call, headers={"Authorization": f"Bearer {read_token}"}
    )
    assert read_only.status_code == 403  # placing a call needs the "calls" scope
    assert chat.status(full_token) == 404


def test_the_list_shows_ids_and_use_never_tokens(chat):
    _reply, used_token, used_id = chat.make(ANN, "new api key")
    _reply, idle_token, idle_id = chat.make(ANN, "api key for shop")
    assert chat.status(used_token) == 404  # (marks the key used)
    for words, lang in (("my api keys", "en"), ("mes clés api", "fr"), ("мои ключи api", "ru")):
        listing = chat.say(ANN, words).text
        lines = listing.splitlines()
        assert lines[0] == t(lang, "apikeys_list_header", count=2)
        assert lines[-1] == t(lang, "apikeys_list_footer")
        assert used_id in lines[1] and idle_id in lines[2] and "(shop)" in lines[2]
        assert t(lang, "apikeys_never_used") in lines[2]
        assert t(lang, "apikeys_never_used") not in lines[1]
        assert used_token not in listing and idle_token not in listing
        assert "ett_" not in listing


def test_no_keys_then_nothing_to_list_or_revoke(chat):
    assert chat.say(ANN, "list api keys").text == t("en", "apikeys_none")
    assert chat.say(ANN, "revoke all api keys").text == t("en", "apikeys_none_to_revoke")
    assert chat.say(ANN, "revoke api key 3f2a").text == t("en", "apikeys_not_found", start="3f2a")
    account = chat.services.accounts.find_by_identity(ANN.network, ANN.external_id)
    ctx = Context(account, "en", chat.services, ANN, "")
    [short] = chat.assistant.dispatcher.dispatch(ctx, ApiKeys("en", action="revoke", key="3f2"))
    assert short.text == t("en", "apikeys_id_short", digits=4)


def test_revoke_all_asks_first_and_touches_only_this_account(chat):
    _reply, first, _id = chat.make(ANN)
    _reply, second, newest = chat.make(ANN)
    _reply, bobs, bob_id = chat.make(BOB)
    question = chat.say(ANN, "revoke all api keys")
    assert question.text == t("en", "apikeys_revoke_all_ask", count=2)
    yes, cancel = question.buttons
    assert yes.data == RevokeAllData(newest).pack()
    assert chat.assistant.press_sync(ANN, cancel.data)[0].text == t("en", "cancelled")
    assert chat.status(first) == chat.status(second) == 404

    # Bob's press of Ann's button, and Bob naming Ann's key: nothing of Ann's is revoked.
    assert chat.assistant.press_sync(BOB, yes.data)[0].text == t("en", "choice_expired")
    refused = chat.say(BOB, f"revoke api key {newest}")
    assert refused.text == t("en", "apikeys_not_found", start=newest)
    stolen = RevokeKeyData(newest).pack()
    assert chat.assistant.press_sync(BOB, stolen)[0].text == t("en", "choice_expired")
    assert chat.status(first) == chat.status(second) == 404

    [done] = chat.assistant.press_sync(ANN, yes.data)
    assert done.text == t("en", "apikeys_revoked_all", count=2)
    assert chat.status(first) == chat.status(second) == 401
    assert chat.assistant.press_sync(ANN, yes.data)[0].text == t("en", "choice_expired")
    assert chat.status(bobs) == 404  # Bob's key still works
    assert [k.id for k in chat.services.api_keys.of_account(chat.account_id(BOB))] == [bob_id]


def test_a_key_made_after_the_question_expires_it(chat):
    chat.make(ANN)
    question = chat.say(ANN, "supprime mes clés api")
    assert question.text == t("fr", "apikeys_revoke_all_ask", count=1)
    _reply, later, _id = chat.make(ANN)
    assert chat.assistant.press_sync(ANN, question.buttons[0].data)[0].text == t(
        "fr", "choice_expired"
    )
    assert chat.status(later) == 404


def test_delete_my_api_key_asks_which_or_confirms_the_only_one(chat):
    _reply, token, key_id = chat.make(ANN_XMPP)
    question = chat.say(ANN_XMPP, "delete my api key")
    assert question.text == t("en", "apikeys_revoke_ask", id=key_id, name="")
    # On a text-only network the word of the button presses it.
    [done] = chat.assistant.handle_sync(ANN_XMPP, t("en", "word_yes"))
    assert done.text == t("en", "apikeys_revoked", id=key_id)
    assert chat.status(token) == 401

    _reply, one, one_id = chat.make(ANN_XMPP)
    _reply, two, two_id = chat.make(ANN_XMPP)
    which = chat.say(ANN_XMPP, "удали ключ api")
    assert which.buttons == ()
    assert which.text.splitlines()[0] == t("ru", "apikeys_which", count=2)
    assert one_id in which.text and two_id in which.text
    assert chat.status(one) == chat.status(two) == 404


def test_linked_identities_share_the_accounts_keys(chat):
    _reply, token, key_id = chat.make(ANN)
    accounts = chat.services.accounts
    code = accounts.new_link_code(chat.account_id(ANN))
    accounts.link(code, ANN_XMPP.network, ANN_XMPP.external_id)
    assert chat.account_id(ANN_XMPP) == chat.account_id(ANN)
    assert key_id in chat.say(ANN_XMPP, "my api keys").text
    assert chat.say(ANN_XMPP, f"revoke api key {key_id}").text == t(
        "en", "apikeys_revoked", id=key_id
    )
    assert chat.status(token) == 401
    assert chat.say(ANN, "my api keys").text == t("en", "apikeys_none")


def test_a_key_limit_per_account(chat):
    chat.say(ANN, "help")
    account_id = chat.account_id(ANN)
    for _ in range(MAX_KEYS):
        chat.services.api_keys.create(account_id, ("read",))
    assert chat.say(ANN, "new api key").text == t("en", "apikeys_too_many", limit=MAX_KEYS)
    assert len(chat.services.api_keys.of_account(account_id)) == MAX_KEYS


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_public_url_and_no_url(db_url):
    public = Chat(db_url, API_PUBLIC_URL="https://pbx.example.org/api/")
    try:
        reply, token, key_id = public.make(ANN)
        assert curl(token, "https://pbx.example.org/api") in reply.text
    finally:
        public.close()
    off = Chat(db_url, API_LISTEN="off")
    try:
        reply, token, key_id = off.make(BOB)
        assert reply.text == t("en", "apikeys_new_no_url", id=key_id, name="",
                               scopes="read, calls", token=token)  # fmt: skip
    finally:
        off.close()


def test_the_token_never_reaches_a_log(chat, caplog):
    reply, token, key_id = chat.make(ANN)
    secret = token[len("ett_") + 13 :]
    for level in (logging.DEBUG, logging.INFO):
        cleaned = PrivacyFilter().clean(f"sent to 4711: {reply.text}", level)
        assert secret not in cleaned and f"ett_{key_id}_***" in cleaned
    caplog.set_level(logging.DEBUG)
    chat.say(ANN, "my api keys")
    chat.say(ANN, f"revoke api key {key_id}")
    assert secret not in caplog.text


def test_a_group_chat_gets_no_token(db_url, telegram_api, start_service):
    group, bot = -1001234567890, "EncryptoTelTestBot"
    start_service(**telegram_settings(db_url, telegram_api), API_LISTEN="off")
    telegram_api.group(group, "supergroup")
    telegram_api.send_text(801, f"@{bot} api key", chat_id=group)
    [answer] = telegram_api.wait_messages(group, 1)
    assert answer.text == t("en", "private_only", link=f"https://t.me/{bot}?start=group")
    assert "ett_" not in answer.text
    engine = open_database(db_url, migrate=False)
    try:
        with Session(engine) as session:
            assert list(session.exec(select(ApiKey))) == []
    finally:
        engine.dispose()
