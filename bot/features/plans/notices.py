"""The renewal duty's notices (wallet.plan_renewal) as chat messages to the account, in
its language, through the outbox: "ahead" (the balance will not pay the renewal in
NOTICE_DAYS days) and "lapsed" (it did not: calls are paid by the minute now)."""

from __future__ import annotations

import asyncio
import logging
from zoneinfo import ZoneInfo

from bot.assistant import Reply
from bot.assistant.i18n import DEFAULT_LANGUAGE, t
from bot.assistant.outbox import Outbox
from bot.features.plans.desk import price_text
from storage.accounts import AccountStore
from wallet.plan_renewal import AHEAD, Notify, PlanNoticeDue
from wallet.subscriptions import Subscriptions

log = logging.getLogger(__name__)


def notice_reply(accounts: AccountStore, subs: Subscriptions, notice: PlanNoticeDue) -> Reply:
    """The message of a notice, in the account's language and time zone."""
    account = accounts.get(notice.account_id)
    lang = account.language if account else DEFAULT_LANGUAGE
    zone = ZoneInfo(account.timezone if account else "UTC")
    end = notice.period_end.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    key = "plans_notice_ahead" if notice.kind == AHEAD else "plans_notice_lapsed"
    price = price_text(lang, subs, notice.price)
    return Reply(t(lang, key, plan=notice.plan, end=end, price=price), lang=lang)


def plan_notifier(accounts: AccountStore, subs: Subscriptions, outbox: Outbox) -> Notify:
    """The duty's `notify(notice)`: the notice's message to every chat of the account;
    False when none could be reached (an API-only instance, every chat down): the duty
    tries again later."""

    async def notify(notice: PlanNoticeDue) -> bool:
        reply = await asyncio.to_thread(notice_reply, accounts, subs, notice)
        delivered = await outbox.notify(notice.account_id, reply)
        log.info(
            "plan notice %s to account %s: %d chats", notice.kind, notice.account_id, delivered
        )
        return delivered > 0

    return notify
