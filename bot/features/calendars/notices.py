"""Telling a calendar's owner that it cannot be read any more (once, when it starts)."""

from __future__ import annotations

import asyncio

from bot.assistant.i18n import catalogue, t
from bot.assistant.outbox import Outbox
from bot.assistant.replies import Reply
from calendars.sync import Notify
from storage.accounts import AccountStore
from storage.models import CalendarSource


def reason(lang: str, code: str) -> str:
    """Why a calendar cannot be read, in words (`calendars.sync.CalendarUnreadable` codes)."""
    key = f"calendar_error_{code}"
    return t(lang, key if key in catalogue("en") else "calendar_error_network")


def calendar_notifier(accounts: AccountStore, outbox: Outbox) -> Notify:
    """`calendars.sync.Notify`: a chat message to the calendar's owner, saying which
    calendar (its host) and why, and that its reminders already known still come."""

    async def notify(source: CalendarSource, code: str) -> None:
        account = await asyncio.to_thread(accounts.get, source.account_id)
        if account is None:
            return
        lang = account.language
        text = t(lang, "calendar_failing", label=source.label, reason=reason(lang, code))
        await outbox.notify(account.id, Reply(text, lang=lang))

    return notify
