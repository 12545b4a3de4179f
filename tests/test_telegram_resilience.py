"""Telegram under trouble: 429 and 502 answers, restarts, shutdown, webhook mode, logs."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from bot.assistant.i18n import t
from testbed.prosody_lab import free_port
from tests.conftest_chat import telegram_settings

ROOT = Path(__file__).resolve().parent.parent
ANN = 601
# These tests exercise the transport, not the storage: one backend is enough.
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@sqlite_only
def test_429_retry_after_is_honoured(db_url, telegram_api, start_service):
    start_service(**telegram_settings(db_url, telegram_api))
    telegram_api.fail_next("sendMessage", 1, status=429, retry_after=2)
    telegram_api.send_text(ANN, "/balance")
    [message] = telegram_api.wait_messages(ANN, 1)
    assert message.text == t("en", "balance", balances="0 ETT, 0 WAVES")
    refused, accepted = telegram_api.calls_of("sendMessage")
    assert (refused.status, accepted.status) == (429, 200)
    assert accepted.at - refused.at >= 1.9  # waited retry_after before sending again


@sqlite_only
def test_502_on_send_is_retried(db_url, telegram_api, start_service):
    start_service(**telegram_settings(db_url, telegram_api))
    telegram_api.fail_next("sendMessage", 2, status=502)
    telegram_api.send_text(ANN, "/help")
    assert telegram_api.wait_messages(ANN, 1)[0].text == t("en", "help")
    assert [c.status for c in telegram_api.calls_of("sendMessage")] == [502, 502, 200]


@sqlite_only
def test_502_on_get_updates_is_survived_and_token_never_logged(
    db_url, telegram_api, start_service, caplog
):
    caplog.set_level(logging.DEBUG)
    telegram_api.fail_next("getUpdates", 2, status=502)
    start_service(**telegram_settings(db_url, telegram_api, LOG_LEVEL="DEBUG"))
    telegram_api.send_text(ANN, "/help")
    assert telegram_api.wait_messages(ANN, 1, timeout=60)[0].text == t("en", "help")
    statuses = [c.status for c in telegram_api.calls_of("getUpdates")]
    assert statuses[:2] == [502, 502] and 200 in statuses
    assert "Failed to fetch updates" in caplog.text
    assert telegram_api.token not in caplog.text
    assert telegram_api.token.split(":")[1] not in caplog.text


@sqlite_only
def test_network_error_logs_do_not_show_the_token(db_url, start_service, caplog):
    """aiohttp errors can quote the request URL, which holds the token."""
    caplog.set_level(logging.DEBUG)
    token = "987654321:AAH-secret-token-which-must-not-leak-12345"
    port = free_port()  # nothing listens: every request fails
    service = start_service(TELEGRAM_BOT_TOKEN=token, TELEGRAM_API_URL=f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 20
    while "Telegram polling failed" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "Telegram polling failed" in caplog.text
    assert token not in caplog.text and token.split(":")[1] not in caplog.text
    assert service.stop() < 5


@sqlite_only
def test_offset_confirmed_at_shutdown_nothing_handled_twice(db_url, telegram_api, start_service):
    first = start_service(**telegram_settings(db_url, telegram_api))
    balance_update = telegram_api.send_text(ANN, "/balance")
    telegram_api.wait_messages(ANN, 1)
    assert first.stop() < 5
    assert telegram_api.confirmed_offset == balance_update + 1
    assert telegram_api.pending_updates == []

    start_service(**telegram_settings(db_url, telegram_api))
    polls = len(telegram_api.calls_of("getUpdates"))
    telegram_api.wait_calls("getUpdates", polls + 1)
    help_update = telegram_api.send_text(ANN, "/help")
    telegram_api.wait_messages(ANN, 2)
    # Once the next poll confirms /help, anything delivered again would already be handled.
    telegram_api.wait_for(lambda: telegram_api.confirmed_offset > help_update, what="confirm")
    assert [m.text for m in telegram_api.messages(ANN)] == [
        t("en", "balance", balances="0 ETT, 0 WAVES"),
        t("en", "help"),
    ]


def test_overlapping_get_updates_conflict(telegram_api):
    """The emulator ends an older getUpdates with 409 when a newer one arrives (as Telegram)."""
    import asyncio

    async def poll(session: aiohttp.ClientSession, timeout: int) -> int:
        url = f"{telegram_api.url}/bot{telegram_api.token}/getUpdates"
        async with session.post(url, data={"timeout": str(timeout)}) as response:
            return response.status

    async def main() -> tuple[int, int]:
        async with aiohttp.ClientSession() as session:
            older = asyncio.create_task(poll(session, 10))
            await asyncio.to_thread(telegram_api.wait_calls, "getUpdates", 1, 10)
            newer = asyncio.create_task(poll(session, 0))
            return await older, await newer

    assert asyncio.run(main()) == (409, 200)


@sqlite_only
def test_webhook_mode(db_url, telegram_api, start_service):
    port = free_port()
    hook = f"http://127.0.0.1:{port}/telegram/hook"
    service = start_service(
        **telegram_settings(
            db_url,
            telegram_api,
            TELEGRAM_WEBHOOK_URL=hook,
            TELEGRAM_WEBHOOK_LISTEN=f"127.0.0.1:{port}",
            TELEGRAM_WEBHOOK_SECRET="s3cret-Hook_value",
        )
    )
    service.wait_ready("telegram")
    webhook = telegram_api.webhook
    assert (webhook["url"], webhook["secret_token"]) == (hook, "s3cret-Hook_value")
    assert sorted(webhook["allowed_updates"]) == ["callback_query", "message"]
    telegram_api.send_text(ANN, "/extension", language_code="fr")
    assert telegram_api.wait_messages(ANN, 1)[0].text == t("fr", "extension", extension="1001")
    assert telegram_api.webhook_deliveries == 1
    assert telegram_api.calls_of("getUpdates") == []

    # A request without the secret is refused.
    import asyncio

    async def forged() -> int:
        async with aiohttp.ClientSession() as session:
            update = {"update_id": 99, "message": {"message_id": 1, "date": 0,
                      "chat": {"id": ANN, "type": "private"}, "text": "/help"}}  # fmt: skip
            async with session.post(hook, json=update) as response:
                return response.status

    assert asyncio.run(forged()) == 401
    assert len(telegram_api.messages(ANN)) == 1


@sqlite_only
def test_main_serve_stops_within_5_s_on_sigterm(db_url, telegram_api, tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "TELEGRAM_BOT_TOKEN": telegram_api.token,
        "TELEGRAM_API_URL": telegram_api.url,
        "LOG_LEVEL": "INFO",
    }
    for name in ("XMPP_JID", "SIP_SERVER", "WAVES_NODE_URL", "TELEGRAM_WEBHOOK_URL"):
        env.pop(name, None)
    log = open(tmp_path / "serve.log", "wb")
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "serve"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        telegram_api.wait_calls("getUpdates", 1, timeout=60)
        update = telegram_api.send_text(ANN, "/help", language_code="ru")
        assert telegram_api.wait_messages(ANN, 1)[0].text == t("ru", "help")
        time.sleep(0.2)  # let the next long poll begin: SIGTERM must cut it short
        began = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
        assert time.monotonic() - began < 5
        assert telegram_api.confirmed_offset == update + 1
    finally:
        if process.poll() is None:
            process.kill()
        log.close()
    output = (tmp_path / "serve.log").read_text()
    assert telegram_api.token not in output


@sqlite_only
def test_blocked_user_and_long_replies(db_url, telegram_api, start_service, caplog):
    service = start_service(**telegram_settings(db_url, telegram_api))
    telegram_api.fail_next("sendMessage", 1, status=403)
    telegram_api.send_text(ANN, "/help")
    telegram_api.wait_calls("sendMessage", 1)
    telegram_api.send_text(ANN, "/balance")
    [message] = telegram_api.wait_messages(ANN, 1)
    assert message.text == t("en", "balance", balances="0 ETT, 0 WAVES")
    assert "could not answer on Telegram: TelegramForbiddenError" in caplog.text

    # A reply longer than one Telegram message arrives in parts cut at line ends.
    from bot.assistant import Reply

    account = service.assistant.services.accounts.find_by_identity("telegram", str(ANN))
    lines = [f"line {i:04d} " + "x" * 90 for i in range(100)]
    text = "\n".join(lines)
    outbox = service.assistant.services.outbox
    assert service.run(outbox.notify(account.id, Reply(text))) == 1
    parts = [m.text for m in telegram_api.wait_messages(ANN, 4)[1:]]
    assert all(len(part) <= 4096 for part in parts)
    assert "\n".join(parts) == text


def test_emulator_reads_form_multipart_and_json_bodies(telegram_api):
    """The encodings bot libraries use; reply_markup arrives as a JSON string in forms."""
    import asyncio
    import json

    telegram_api.user(ANN)
    markup = {"inline_keyboard": [[{"text": "Yes", "callback_data": "y"}]]}
    url = f"{telegram_api.url}/bot{telegram_api.token}/sendMessage"

    async def post_all() -> list[dict]:
        form = {"chat_id": str(ANN), "text": "form", "reply_markup": json.dumps(markup)}
        multipart = aiohttp.FormData(quote_fields=False)
        for name, value in {**form, "text": "multipart"}.items():
            multipart.add_field(name, value)
        multipart.add_field("document", b"x", filename="x.txt")  # forces multipart encoding
        async with aiohttp.ClientSession() as session:
            answers = []
            for body in (
                {"data": form},
                {"data": multipart},
                {"json": {"chat_id": ANN, "text": "json", "reply_markup": markup}},
                {"data": {"chat_id": str(ANN), "text": ""}},
            ):
                async with session.post(url, **body) as response:
                    answers.append(await response.json())
            async with session.post(url.replace("sendMessage", "noSuchMethod")) as response:
                answers.append(await response.json())
            return answers

    *sent, empty, unknown = asyncio.run(post_all())
    assert [a["result"]["text"] for a in sent] == ["form", "multipart", "json"]
    assert all(a["result"]["reply_markup"] == markup for a in sent)
    assert empty == {"ok": False, "error_code": 400,
                     "description": "Bad Request: message text is empty"}  # fmt: skip
    assert unknown == {"ok": False, "error_code": 404, "description": "Not Found"}
    assert [m.buttons for m in telegram_api.messages(ANN)] == [[("Yes", "y")]] * 3


@sqlite_only
def test_malformed_token_stops_the_service_with_a_clear_error(db_url, caplog):
    from tests.conftest_chat import RunningService, service_settings

    service = RunningService(service_settings(db_url, TELEGRAM_BOT_TOKEN="bad-value xyz"))
    service.start()
    assert service.stop() < 5
    assert service.exit_code == 2
    assert "TELEGRAM_BOT_TOKEN is not a bot token" in caplog.text
    assert "bad-value xyz" not in caplog.text
