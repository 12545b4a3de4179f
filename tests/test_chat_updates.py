"""Each Telegram update is handled once: delivered again by webhook or long polling, or to
two instances behind a load balancer; and a webhook body that is no update gets 400."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta

import aiohttp
import pytest
from sqlalchemy import insert

from bot.assistant.i18n import t
from domain.clock import utcnow
from storage import open_database
from storage.accounts import AccountStore
from storage.reminders import ReminderStore
from storage.updates import KEEP, SeenUpdates, _update
from testbed.prosody_lab import free_port
from tests.conftest_chat import telegram_settings
from tests.test_chat_groups import settled

ANN = 901
SECRET = "s3cret-Hook_value"
REMIND = "remind me in 2 hours to call mum"


def _pending_reminders(db_url: str, user: int) -> int:
    engine = open_database(db_url, migrate=False)
    try:
        account = AccountStore(engine).find_by_identity("telegram", str(user))
        return len(ReminderStore(engine).pending(account.id))
    finally:
        engine.dispose()


def _webhook(telegram_api, port: int) -> dict:
    hook = f"http://127.0.0.1:{port}/telegram/hook"
    return telegram_settings(
        "",
        telegram_api,
        TELEGRAM_WEBHOOK_URL=hook,
        TELEGRAM_WEBHOOK_LISTEN=f"127.0.0.1:{port}",
        TELEGRAM_WEBHOOK_SECRET=SECRET,
    )


async def _post(url: str, body: bytes | dict, secret: str | None = SECRET) -> int:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
    async with aiohttp.ClientSession() as session:
        if isinstance(body, dict):
            request = session.post(url, json=body, headers=headers)
        else:
            request = session.post(url, data=body, headers=headers)
        async with request as response:
            return response.status


def test_a_webhook_update_delivered_again_or_to_two_instances_is_handled_once(
    db_url, telegram_api, start_service
):
    first_port, second_port = free_port(), free_port()
    second = start_service(**_webhook(telegram_api, second_port))
    second.wait_ready("telegram")
    first = start_service(**_webhook(telegram_api, first_port))  # the webhook is now here
    first.wait_ready("telegram")
    update_id = telegram_api.send_text(ANN, REMIND)
    [answer] = telegram_api.wait_messages(ANN, 1)
    assert answer.text.startswith("I'll remind you on ")

    # Telegram sends it again (a late or failed answer), twice; and a load balancer hands
    # the same update to the other instance, twice.
    telegram_api.redeliver(update_id, 2)
    telegram_api.wait_for(lambda: telegram_api.webhook_deliveries == 3, what="3 deliveries")
    other = f"http://127.0.0.1:{second_port}/telegram/hook"
    for _ in range(2):
        assert asyncio.run(_post(other, telegram_api.update(update_id))) == 200
    settled(first, update_id)
    settled(second, update_id)
    time.sleep(0.3)
    assert [m.text for m in telegram_api.messages(ANN)] == [answer.text]
    assert _pending_reminders(db_url, ANN) == 1


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_webhook_bodies_that_are_no_update_get_400(db_url, telegram_api, start_service, caplog):
    port = free_port()
    service = start_service(**_webhook(telegram_api, port))
    service.wait_ready("telegram")
    hook = f"http://127.0.0.1:{port}/telegram/hook"
    bodies = [b"", b"{not json", b"\xff\xfe", b"[1, 2]", b'{"no_update_id": 1}', b'"text"']
    assert [asyncio.run(_post(hook, body)) for body in bodies] == [400] * len(bodies)
    assert asyncio.run(_post(hook, b"{not json", secret=None)) == 401  # the secret first
    assert asyncio.run(_post(hook, b"{not json", secret="wrong")) == 401
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    # A real update still goes through.
    telegram_api.send_text(ANN, "/help")
    assert telegram_api.wait_messages(ANN, 1)[0].text == t("en", "help")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_long_polling_update_delivered_again_is_handled_once(db_url, telegram_api, start_service):
    service = start_service(**telegram_settings(db_url, telegram_api))
    update_id = telegram_api.send_text(ANN, REMIND)
    [answer] = telegram_api.wait_messages(ANN, 1)
    # Three more copies in the next getUpdates answer (handled concurrently).
    telegram_api.redeliver(update_id, 3)
    polls = len(telegram_api.calls_of("getUpdates"))
    telegram_api.wait_calls("getUpdates", polls + 1)  # the copies were fetched
    settled(service, update_id)
    time.sleep(0.3)
    assert [m.text for m in telegram_api.messages(ANN)] == [answer.text]
    assert _pending_reminders(db_url, ANN) == 1


def test_claims_are_shared_and_pruned_after_a_day(db_url):
    first, second = open_database(db_url, migrate=False), open_database(db_url, migrate=False)
    try:
        here, there = SeenUpdates(first), SeenUpdates(second)
        assert here.claim("telegram:1", 10) is True
        assert there.claim("telegram:1", 10) is False  # another instance sees the claim
        assert there.claim("telegram:2", 10) is True  # another bot's update 10
        with first.begin() as connection:
            connection.execute(
                insert(_update),
                [{"source": "telegram:1", "update_id": 9, "seen_at": utcnow() - KEEP * 2}],
            )
        assert here.prune() == 1
        assert here.claim("telegram:1", 9) is True  # forgotten after a day
        assert here.claim("telegram:1", 10) is False
        assert KEEP == timedelta(days=1)
    finally:
        first.dispose()
        second.dispose()
