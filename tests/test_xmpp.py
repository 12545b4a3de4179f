"""The XMPP adapter against a real prosody over TLS verified with the lab's CA file."""

from __future__ import annotations

import logging
import time

import pytest

from bot.assistant import Sender
from bot.assistant.i18n import t
from storage import open_database
from storage.accounts import AccountStore
from testbed.prosody_lab import ProsodyLab
from tests.conftest_chat import telegram_settings, xmpp_settings

pytestmark = pytest.mark.xmpp
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _start_bot(start_service, lab: ProsodyLab, **more):
    jid, password = lab.register()
    service = start_service(**xmpp_settings(lab, jid, password), **more)
    service.wait_ready("xmpp")
    return service, jid


def test_answers_in_the_language_written(db_url, prosody, start_service, xmpp_user, caplog):
    caplog.set_level(logging.DEBUG, logger="slixmpp")
    jid, password = prosody.register()
    service = start_service(**xmpp_settings(prosody, jid, password))
    service.wait_ready("xmpp")
    bot = jid
    user = xmpp_user(prosody)
    assert user.ask(bot, "help") == t("en", "help")
    assert user.ask(bot, "solde") == t("fr", "balance", balances="0 ETT, 0 WAVES")
    assert user.ask(bot, "мои звонки") == t("ru", "history_empty")
    assert user.ask(bot, "/extension") == t("ru", "extension", extension="1001")
    # The language a client declares (xml:lang) counts only for a new account: a command
    # tells none, so it is answered in the account's, that of the last sure message.
    assert user.ask(bot, "/balance", lang="fr") == t("ru", "balance", balances="0 ETT, 0 WAVES")
    assert user.ask(bot, "my number is +44 7911 123456") == t(
        "en", "number_saved", number="+447911123456"
    )
    assert user.ask(bot, "timezone Europe/London").startswith("Your time zone is now Europe/London")
    store = AccountStore(service.assistant.services.engine)
    account = store.find_by_identity("xmpp", user.jid)
    assert (account.phone_number, account.timezone) == ("+447911123456", "Europe/London")
    assert "SEND: <auth" in caplog.text or "SEND: <response" in caplog.text
    assert password not in caplog.text


def test_confirmation_in_plain_text(db_url, prosody, start_service, xmpp_user):
    service, bot = _start_bot(start_service, prosody)
    [code_reply] = service.assistant.handle_sync(Sender("console", "desk"), "link")
    code = code_reply.text.split()[4].rstrip(".")
    user = xmpp_user(prosody)
    user.ask(bot, "my number is +44 7911 123456")
    question = user.ask(bot, f"link {code}")
    assert question == (
        t("en", "link_confirm", what="+44 7911 123456")
        + "\n"
        + t("en", "choices_hint", choices='"yes" for Link, "no" for Cancel')
    )
    assert user.ask(bot, "Yes") == t("en", "link_done", extension="1001")
    store = AccountStore(service.assistant.services.engine)
    assert (
        store.find_by_identity("xmpp", user.jid).id == store.find_by_identity("console", "desk").id
    )


def test_link_telegram_and_xmpp_to_one_account(
    db_url, prosody, telegram_api, start_service, xmpp_user
):
    jid, password = prosody.register()
    service = start_service(
        **xmpp_settings(prosody, jid, password), **telegram_settings(db_url, telegram_api)
    )
    service.wait_ready("xmpp")
    telegram_api.send_text(700, "/link", language_code="fr")
    [code_message] = telegram_api.wait_messages(700, 1)
    code = code_message.text.split()[5].rstrip(".")
    assert code_message.text == t("fr", "link_code", code=code)

    user = xmpp_user(prosody)
    assert user.ask(jid, f"lier {code}") == t("fr", "link_done", extension="1001")
    # One account: the number given on XMPP is the one Telegram sees.
    user.ask(jid, "mon numéro est le +33 6 12 34 56 78")
    store = AccountStore(open_database(db_url, migrate=False))
    telegram_account = store.find_by_identity("telegram", "700")
    assert telegram_account.id == store.find_by_identity("xmpp", user.jid).id
    assert telegram_account.phone_number == "+33612345678"
    store.engine.dispose()


@sqlite_only
def test_reconnects_after_prosody_restart(db_url, own_prosody, start_service, xmpp_user):
    service, bot = _start_bot(start_service, own_prosody)
    adapter = service.adapters["xmpp"]
    assert adapter.sessions == 1
    own_prosody.restart(down_for=0.5)
    deadline = time.monotonic() + 30
    while adapter.sessions < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert adapter.sessions == 2, own_prosody.logs()
    service.wait_ready("xmpp")
    user = xmpp_user(own_prosody)
    assert user.ask(bot, "balance") == t("en", "balance", balances="0 ETT, 0 WAVES")


@sqlite_only
def test_tls_is_verified_against_the_ca_file(db_url, prosody, start_service, tmp_path, caplog):
    """With another CA the bot must not log in (verification is on), and says why."""
    other = ProsodyLab(tmp_path / "other")
    other._make_certificate()
    jid, password = prosody.register()
    service = start_service(
        **xmpp_settings(prosody, jid, password, XMPP_CA_FILE=str(other.cert_file))
    )
    deadline = time.monotonic() + 30
    while caplog.text.count("certificate is not trusted") < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "certificate verify failed" in caplog.text  # it tried again, and failed again
    assert caplog.text.count("certificate is not trusted") >= 2
    assert service.adapters["xmpp"].sessions == 0
    assert password not in caplog.text
    assert service.stop() < 5
