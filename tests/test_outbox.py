"""Messages the assistant starts itself, pushed to every identity of an account."""

from __future__ import annotations

import asyncio

import pytest

from bot.assistant import Button, Reply, Sender
from bot.assistant.i18n import t
from bot.assistant.outbox import Outbox
from storage.accounts import AccountStore
from tests.conftest_chat import telegram_settings, xmpp_settings

TG_USER = 900


@pytest.mark.xmpp
def test_notify_reaches_telegram_and_xmpp_and_edits_by_key(
    db_url, prosody, telegram_api, start_service, xmpp_user
):
    jid, password = prosody.register()
    service = start_service(
        **xmpp_settings(prosody, jid, password), **telegram_settings(db_url, telegram_api)
    )
    service.wait_ready("xmpp")
    telegram_api.send_text(TG_USER, "link")
    code = telegram_api.wait_messages(TG_USER, 1)[0].text.split()[4].rstrip(".")
    user = xmpp_user(prosody)
    assert user.ask(jid, f"link {code}") == t("en", "link_done", extension="1001")
    store = AccountStore(service.assistant.services.engine)
    account = store.find_by_identity("telegram", str(TG_USER))
    outbox = service.assistant.services.outbox
    assert outbox.networks >= {"telegram", "xmpp"}

    # A call's progress: one Telegram message edited in place, new XMPP messages.
    assert service.run(outbox.notify(account.id, Reply("Calling +44 20 7946 0000…", key="c1"))) == 2
    assert service.run(outbox.notify(account.id, Reply("Connected.", key="c1"))) == 2
    telegram_api.wait_for(lambda: bool(telegram_api.messages(TG_USER)[1].edits), what="an edit")
    messages = telegram_api.messages(TG_USER)
    assert [(m.text, m.edits) for m in messages[1:]] == [
        ("Connected.", ["Calling +44 20 7946 0000…"])
    ]
    assert user.wait_messages(3)[1:] == ["Calling +44 20 7946 0000…", "Connected."]

    # A question with buttons: a keyboard on Telegram, a "reply …" line on XMPP.
    question = Reply(
        "Credit 10 ETT?",
        buttons=(Button("Credit", "cancel:", word="yes"), Button("Refuse", "cancel:")),
        lang="en",
    )
    assert service.run(outbox.notify(account.id, question)) == 2
    assert telegram_api.wait_messages(TG_USER, 3)[2].buttons == [
        ("Credit", "cancel:"),
        ("Refuse", "cancel:"),
    ]
    assert user.wait_messages(4)[3] == "Credit 10 ETT?\n" + t(
        "en", "choices_hint", choices='"yes" for Credit, "2" for Refuse'
    )

    # A failure on one network does not stop the other; 429 is waited out.
    telegram_api.fail_next("sendMessage", 1, status=403)
    assert service.run(outbox.notify(account.id, Reply("Deposit credited."))) == 1
    assert user.wait_messages(5)[4] == "Deposit credited."
    telegram_api.fail_next("sendMessage", 1, status=429, retry_after=1)
    assert service.run(outbox.notify(account.id, Reply("Reminder: pay the rent."))) == 2
    assert telegram_api.wait_messages(TG_USER, 4)[3].text == "Reminder: pay the rent."


def test_notify_counts_only_reachable_identities(engine):
    accounts = AccountStore(engine)
    account = accounts.resolve("telegram", "1")
    code = accounts.new_link_code(account.id)
    accounts.link(code, "xmpp", "ann@pbx.test")
    outbox = Outbox(accounts)
    received: list[tuple[str, str]] = []

    async def send(external_id: str, reply: Reply) -> None:
        received.append((external_id, reply.text))

    async def broken(_external_id: str, _reply: Reply) -> None:
        raise ConnectionError("down")

    outbox.register("xmpp", send)
    assert asyncio.run(outbox.notify(account.id, Reply("hello"))) == 1
    assert received == [("ann@pbx.test", "hello")]
    outbox.register("telegram", broken)
    assert asyncio.run(outbox.notify(account.id, Reply("again"))) == 1
    outbox.unregister("xmpp")
    assert asyncio.run(outbox.notify(account.id, Reply("none"))) == 0
    assert asyncio.run(outbox.notify(account.id + 1000, Reply("nobody"))) == 0


def test_progress_updates_reach_only_networks_that_edit_messages(engine):
    accounts = AccountStore(engine)
    account = accounts.resolve("telegram", "1")
    accounts.link(accounts.new_link_code(account.id), "xmpp", "ann@pbx.test")
    outbox = Outbox(accounts)
    received: list[tuple[str, str]] = []

    async def send(external_id: str, reply: Reply) -> None:
        received.append((external_id, reply.text))

    outbox.register("telegram", send, edits=True)
    outbox.register("xmpp", send)
    tick = Reply("Connected 0:15", key="call:1", progress=True)
    assert asyncio.run(outbox.notify(account.id, tick)) == 1
    assert received == [("1", "Connected 0:15")]
    assert asyncio.run(outbox.notify(account.id, Reply("Ended", key="call:1"))) == 2


def test_typed_word_presses_the_last_button(engine):
    """The console and XMPP answer questions by typing the button's word or number."""
    from bot.app import build_assistant, build_services
    from settings import load_settings

    services = build_services(load_settings(_env_file=None), engine=engine)
    assistant = build_assistant(services)
    sender = Sender("console", "desk", "fr")
    [welcome] = assistant.handle_sync(sender, "/start")
    assert welcome.buttons[0].data == "tz:Europe/Paris"
    [answer] = assistant.handle_sync(sender, "1")
    assert answer.text.startswith("Votre fuseau horaire est maintenant Europe/Paris")
    # The offer was used: "1" is an ordinary message again.
    [again] = assistant.handle_sync(sender, "1")
    assert not again.text.startswith("Votre fuseau horaire")
