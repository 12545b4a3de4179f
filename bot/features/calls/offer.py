"""Callback calls asked for in the chat: quote, confirmation, start, hang-up.

"call +X" is answered with the price and a confirmation button whose data carries
the whole request (`ConfirmCallData`:
`call:<nonce>:<from>:<to>:<flags>:<when>:<offered>:<dtmf>`, at most Telegram's 64
bytes: hence an extension of at most `MAX_DTMF` digits), so a press works on any
instance and after a restart, for `OFFER_SECONDS`; every rule is checked again when it
is pressed. The call id is `<account>-<nonce>`: pressing twice places one call. The
running call itself is followed by `runner`.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.assistant import Button, Context, Refusal, Reply
from bot.assistant.buttons import ButtonData
from bot.assistant.i18n import dialled_text, money_text, number_text, t
from bot.assistant.router import CancelData
from bot.features.calls import placing
from bot.features.calls.placing import MAX_DTMF, NOW_GRACE, OWN_NUMBER
from bot.features.calls.runner import start
from bot.features.calls.status import refusal_reply, status_key
from domain.calls import CallState
from nlu.commands import Call
from storage.models import CallRecord
from wallet.billing import Quote
from wallet.fraud import CallRefused

log = logging.getLogger(__name__)

OFFER_SECONDS = 600  # how long a quote can be confirmed


@dataclass(frozen=True)
class ConfirmCallData(ButtonData, prefix="call"):
    """The Call button of a quote: the whole request, so any instance can place it.

    `leg`: the first leg (`OWN_NUMBER` or a number); `flags`: "a" anonymous, "r" record;
    `epoch`: when to place it (Unix seconds, base 36, "" for now); `offered`: when it was
    quoted (Unix seconds, base 36); `dtmf`: the extension dialled once `to` answers.
    """

    nonce: str
    leg: str
    to: str
    flags: str
    epoch: str
    offered: str
    dtmf: str = ""


def offer(ctx: Context, cmd: Call) -> list[Reply]:
    """Quote a parsed call and ask for confirmation (the dialer is running)."""
    try:
        checked = placing.check(
            ctx.services,
            ctx.account,
            to=cmd.to,
            source=cmd.source,
            dtmf=cmd.dtmf,
            record=cmd.record,
            at=cmd.at,
            now=ctx.now,
            has_digits=any(ch.isdigit() for ch in ctx.text),
        )
    except CallRefused as refusal:
        return [refusal_reply(ctx.lang, refusal)]
    first, to, when, quote = checked.first, checked.to, checked.when, checked.quote
    if quote.asset is None:
        return [refusal_reply(ctx.lang, CallRefused("insufficient_funds", "", None), quote)]
    data = ConfirmCallData(
        nonce=secrets.token_urlsafe(6),
        leg=OWN_NUMBER if first == ctx.account.phone_number else first,
        to=to,
        flags=("a" if cmd.anonymous else "") + ("r" if cmd.record else ""),
        epoch=base36(int(when.timestamp())) if when else "",
        offered=base36(int(ctx.received.timestamp())),  # a late message: quoted now
        dtmf=cmd.dtmf,
    )
    key = f"offer:{data.nonce}"
    buttons = (
        Button(t(ctx.lang, "button_call"), data.pack(), word=t(ctx.lang, "word_yes")),
        Button(t(ctx.lang, "button_cancel"), CancelData(key).pack(), word=t(ctx.lang, "word_no")),
    )
    text = "\n".join(_quote_lines(ctx, cmd, first, to, when, quote))
    return [Reply(text, buttons=buttons, key=key, lang=ctx.lang)]


def _quote_lines(
    ctx: Context, cmd: Call, first: str, to: str, when: datetime | None, quote: Quote
) -> list[str]:
    lang = ctx.lang
    at = t(lang, "call_at", at=ctx.local_time(when)) if when else ""
    lines = [
        t(lang, "call_offer", to=dialled_text(lang, to, cmd.dtmf), a=number_text(first), when=at)
    ]
    if cmd.dtmf:
        lines.append(t(lang, "call_extension_dialled", to=number_text(to), digits=cmd.dtmf))
    if quote.free:
        lines.append(t(lang, "call_price_free"))
    else:
        price = money_text(quote.price_per_minute, "ETT", lang)
        lines.append(t(lang, "call_price", price=price, minutes=quote.max_seconds // 60))
        lines.append(_billing_line(ctx, to))
        if quote.asset != "ETT":
            lines.append(t(lang, "call_paid_in", asset=quote.asset))
    if cmd.anonymous:
        lines.append(t(lang, "call_hidden_number"))
    recordings = ctx.services.recordings
    if recordings.wants(ctx.account.id, cmd.record) and recordings.key_of(ctx.account.id):
        lines.append(t(lang, "rec_call_recorded"))
    return lines


def _billing_line(ctx: Context, to: str) -> str:
    """How the call is billed: each answered leg at least the minimum of the settings, and
    the first leg also when the other party does not answer."""
    minimum = ctx.services.settings.WALLET_MIN_BILLED_SECONDS
    if minimum <= 0:
        return t(ctx.lang, "call_billing_unanswered", b=number_text(to))
    return t(ctx.lang, "call_billing", seconds=minimum, b=number_text(to))


def confirm(ctx: Context, data: ConfirmCallData) -> list[Reply]:
    """The confirmation button of an offer: place (or schedule) the call."""
    if not data.nonce or not data.to:
        raise Refusal("choice_expired")
    try:
        age = ctx.now.timestamp() - int(data.offered, 36)
    except ValueError:
        raise Refusal("choice_expired") from None
    if not 0 <= age <= OFFER_SECONDS:  # an old quote is not what the user agreed to now
        raise Refusal("call_offer_expired")
    services = ctx.services
    if services.dialer is None or not services.background.available:
        raise Refusal("dialer_not_configured")
    first = placing.first_leg(ctx.account, data.leg)
    placing.check_recording(
        ctx.services, ctx.account.id, "r" in data.flags
    )  # the key may be gone since the quote
    call_id = f"{ctx.account.id}-{data.nonce}"
    key = status_key(call_id)
    if not re.fullmatch(f"[0-9]{{0,{MAX_DTMF}}}", data.dtmf):
        raise Refusal("choice_expired")
    when = _moment(data.epoch)
    scheduled = when is not None and when > ctx.now + NOW_GRACE
    record = CallRecord(
        id=call_id,
        account_id=ctx.account.id,
        a_number=first,
        b_number=data.to,
        dtmf=data.dtmf,
        anonymous="a" in data.flags,
        record="r" in data.flags,
        state=(CallState.SCHEDULED if scheduled else CallState.CREATED).value,
        scheduled_at=when if scheduled else None,
    )
    if not services.calls.create_once(record):
        return [ctx.keyed(key, "call_already")]
    if scheduled:
        assert when is not None
        to = dialled_text(ctx.lang, data.to, data.dtmf)
        text = t(ctx.lang, "call_scheduled", to=to, at=ctx.local_time(when))
        return [Reply(text, key=key, lang=ctx.lang)]
    return [start(services, ctx.account, record, ctx.lang)]


def hangup(ctx: Context) -> list[Reply]:
    """End the account's calls in progress and cancel its scheduled ones."""
    services = ctx.services
    active = services.calls.active(ctx.account.id)
    cancelled = services.calls.cancel_scheduled(ctx.account.id)
    dialer = services.dialer
    if dialer is not None and services.background.available:
        for call in active:
            services.background.spawn(dialer.hangup(call.id), name=f"hangup {call.id}")
    replies = []
    if active:
        replies.append(ctx.say("hangup_done"))
    for call in cancelled:
        at = ctx.local_time(call.scheduled_at or call.created_at)
        to = dialled_text(ctx.lang, call.b_number, call.dtmf)
        text = t(ctx.lang, "call_cancelled", to=to, at=at)
        replies.append(Reply(text, key=status_key(call.id), lang=ctx.lang))
    return replies or [ctx.say("hangup_none")]


def press_hangup(ctx: Context, call_id: str) -> list[Reply]:
    """The hang-up button of a status message; only the call's own account may press it."""
    call = ctx.services.calls.get(call_id)
    if call is None or call.account_id != ctx.account.id:
        raise Refusal("choice_expired")
    dialer = ctx.services.dialer
    if call.state == CallState.ENDED or dialer is None:
        raise Refusal("hangup_none")
    ctx.services.background.spawn(dialer.hangup(call_id), name=f"hangup {call_id}")
    return [ctx.say("hangup_done")]


def _moment(epoch: str) -> datetime | None:
    """A button's `epoch` (Unix seconds, base 36; "" for now) as a UTC time."""
    if not epoch:
        return None
    try:
        return datetime.fromtimestamp(int(epoch, 36), UTC)
    except (ValueError, OverflowError, OSError):
        raise Refusal("choice_expired") from None


def base36(number: int) -> str:
    """A non-negative integer in base 36 (`int(text, 36)` reads it back)."""
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while number:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
    return text or "0"
