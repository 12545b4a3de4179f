"""What the exchange tells an account on its own (exchange.notices): a missed call to its
direct number or extension, a call from its phone (or forwarded by its rule) that was
refused, worded in the account's language and pushed to its networks; and to its webhooks,
those missed calls and every call of its that ended."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from bot.assistant import Reply
from bot.assistant.i18n import number_text, t
from bot.assistant.services import Services
from bot.features.calls.status import refusal_reply
from exchange.notices import EndedCall, MissedCall, Notice, Notify, RefusedCall
from wallet.fraud import CallRefused
from webhooks.events import CALL_ENDED

log = logging.getLogger(__name__)


def exchange_notifier(services: Services) -> Notify:
    """The exchange's `notify`: called from its worker threads, it words the notice and
    hands the delivery to the service loop (Background)."""

    def notify(notice: Notice) -> None:
        if isinstance(notice, EndedCall):  # for webhooks only: the chat has its history
            if services.webhooks is not None:
                services.webhooks.call_of(CALL_ENDED, notice.account_id, notice.call_id)
            return
        account = services.accounts.get(notice.account_id)
        if account is None:
            return
        if isinstance(notice, MissedCall) and services.webhooks is not None:
            services.webhooks.missed(
                notice.account_id, notice.caller, notice.dialled, notice.at, notice.call_id
            )
        reply = wording(notice, account.language, account.timezone)
        services.background.spawn(
            services.outbox.notify(notice.account_id, reply), name="exchange notice"
        )

    return notify


def wording(notice: MissedCall | RefusedCall, lang: str, timezone: str) -> Reply:
    """The chat message of a notice in `lang`, times in `timezone` (IANA)."""
    if isinstance(notice, MissedCall):
        local = notice.at.astimezone(ZoneInfo(timezone))
        caller = (
            t(lang, "caller_anonymous")
            if notice.caller == "anonymous"
            else number_text(notice.caller)
        )
        return Reply(
            t(
                lang,
                "missed_call",
                caller=caller,
                number=number_text(notice.dialled),
                time=local.strftime("%H:%M"),
                date=local.strftime("%Y-%m-%d"),
            ),
            lang=lang,
        )
    assert isinstance(notice, RefusedCall)
    if notice.rule == "not_a_number":
        return Reply(t(lang, "refused_not_a_number", number=notice.number), lang=lang)
    sentence = refusal_reply(lang, CallRefused(notice.rule, "", notice.number)).text
    if notice.forwarded:
        sentence = (
            t(lang, "forward_leg_refused", number=number_text(notice.number)) + " " + sentence
        )
    return Reply(sentence, lang=lang)
