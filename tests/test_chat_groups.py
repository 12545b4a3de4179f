"""Outside a private chat nothing private is answered: Telegram groups, supergroups and
channels get only a link to a private chat, and only when the message is for this bot."""

from __future__ import annotations

import time

import pytest

from bot.assistant.i18n import t
from storage import open_database
from storage.accounts import AccountStore
from tests.conftest_chat import telegram_settings

ANN, BOB = 801, 802
GROUP, SMALL_GROUP, CHANNEL = -1001234567890, -4567, -1009876543210
BOT = "EncryptoTelTestBot"
LINK = f"https://t.me/{BOT}?start=group"
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def settled(service, update_id: int, timeout: float = 30) -> None:
    """Wait until the service has taken every update up to `update_id` and finished them."""
    adapter = service.adapters["telegram"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (adapter.last_update_id or 0) >= update_id and not adapter._in_progress:
            return
        time.sleep(0.02)
    raise AssertionError(f"update {update_id} was not handled within {timeout} s")


def test_group_messages_get_only_a_link_to_a_private_chat(db_url, telegram_api, start_service):
    service = start_service(**telegram_settings(db_url, telegram_api))
    telegram_api.group(GROUP, "supergroup")
    telegram_api.send_text(ANN, f"/balance@{BOT}", chat_id=GROUP)
    [first] = telegram_api.wait_messages(GROUP, 1)
    assert first.text == t("en", "private_only", link=LINK)
    assert telegram_api.calls_of("getMe")  # the bot's username comes from getMe

    ignored = [
        "/balance@SomeOtherBot",  # another bot's command
        "/balance",  # a command addressed to no bot in particular
        "my number is +44 7911 123456",
        "deposit",
        "history",
        "hello",
    ]
    for text in ignored:
        telegram_api.send_text(ANN, text, chat_id=GROUP)
    # Addressed to the bot: a mention (any case), or a reply to one of its messages.
    telegram_api.send_text(ANN, f"@{BOT} history", chat_id=GROUP)
    telegram_api.send_text(ANN, "@encryptoteltestbot deposit", chat_id=GROUP)
    telegram_api.send_text(BOB, "mon numéro est le +33 6 12 34 56 78", "fr", chat_id=GROUP,
                           reply_to=first)  # fmt: skip
    last = telegram_api.send_text(BOB, f"/deposit@{BOT}", "ru", chat_id=GROUP)
    settled(service, last)
    # (Updates are handled concurrently: in any order.)
    assert sorted(m.text for m in telegram_api.messages(GROUP)) == sorted(
        [
            t("en", "private_only", link=LINK),
            t("en", "private_only", link=LINK),
            t("en", "private_only", link=LINK),
            t("fr", "private_only", link=LINK),  # the words are French
            t("ru", "private_only", link=LINK),  # a command tells none: the client's
        ]
    )
    # Nothing was read or stored for these people: no account, no number.
    store = AccountStore(service.assistant.services.engine)
    assert store.find_by_identity("telegram", str(ANN)) is None
    assert store.find_by_identity("telegram", str(BOB)) is None
    assert telegram_api.messages(ANN) == telegram_api.messages(BOB) == []

    # In the private chat, our own "/cmd@Bot" is ours; another bot's is not.
    telegram_api.send_text(ANN, "/balance@SomeOtherBot")
    telegram_api.send_text(ANN, f"/balance@{BOT}")
    [answer] = telegram_api.wait_messages(ANN, 1)
    assert answer.text == t("en", "balance", balances="0 ETT, 0 WAVES")
    time.sleep(0.3)
    assert len(telegram_api.messages(ANN)) == 1


@sqlite_only
def test_small_groups_channels_and_buttons_outside_private_chats(
    db_url, telegram_api, start_service
):
    service = start_service(**telegram_settings(db_url, telegram_api))
    telegram_api.group(SMALL_GROUP, "group")
    telegram_api.group(CHANNEL, "channel")
    telegram_api.send_text(ANN, f"/help@{BOT}", chat_id=SMALL_GROUP)
    assert telegram_api.wait_messages(SMALL_GROUP, 1)[0].text == t("en", "private_only", link=LINK)
    # A channel's posts are not asked for (allowed_updates), and never answered.
    post = telegram_api.send_text(ANN, f"/balance@{BOT}", chat_id=CHANNEL)
    # A button under a message in a group (none of ours is ever there) does nothing.
    from testbed.telegram_api import SentMessage

    foreign = SentMessage(SMALL_GROUP, 99, "Choose", {"inline_keyboard": [[
        {"text": "Paris", "callback_data": "tz:Europe/Paris"}]]})  # fmt: skip
    press = telegram_api.press_button(ANN, foreign, "tz:Europe/Paris")
    settled(service, max(post, press))
    assert telegram_api.messages(CHANNEL) == []
    assert [m.text for m in telegram_api.messages(SMALL_GROUP)] == [
        t("en", "private_only", link=LINK)
    ]
    assert telegram_api.messages(ANN) == []
    store = AccountStore(open_database(db_url, migrate=False))
    assert store.find_by_identity("telegram", str(ANN)) is None
    store.engine.dispose()
