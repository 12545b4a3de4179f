"""Callback calls asked for in the chat: quote, confirmation, start, hang-up.

"call +X" is answered with the price and a confirmation button whose data carries
the whole request (`call:<nonce>:<from>:<to>:<flags>:<when>:<offered>`, at most 58 of
Telegram's 64 bytes), so a press works on any instance and after a restart, for
`OFFER_SECONDS`; every rule is checked again when it is pressed. The
call id is `<account>-<nonce>`: pressing twice places one call. The running call
itself is followed by `bot.call_runner`.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot.call_status import status_key, status_reply
from bot.i18n import t
from storage.calls import ENDED, SCHEDULED
from storage.models import Account, CallRecord
from wallet.fraud import CallRefused
from wallet.numbers import is_internal, normalize
from wallet.units import format_amount

if TYPE_CHECKING:
    from bot.core import Context, Reply, Services

log = logging.getLogger(__name__)

CONFIRM, HANGUP = "call", "hangup"  # button actions
OWN_NUMBER = "m"  # the first leg is the requester's verified number, checked again on press
# A time within this of now means "now"; later, the call is stored and placed then.
NOW_GRACE = timedelta(seconds=60)
REFUSED = "refused"
OFFER_SECONDS = 600  # how long a quote can be confirmed


def offer(ctx: Context, cmd: dict) -> list[Reply]:
    """Quote a parsed `call` command and ask for confirmation (the dialer is running)."""
    from bot.core import Button, Reply

    services = ctx.services
    to = normalize(cmd.get("to") or "")
    if not to:
        has_digits = any(ch.isdigit() for ch in ctx.text)
        return [ctx.say("call_invalid_number" if has_digits else "call_need_number")]
    first = first_leg(ctx, cmd.get("from"))
    if isinstance(first, list):
        return first
    when = ctx.moment(cmd.get("at"))
    if when is not None and when < ctx.now - NOW_GRACE:
        return [ctx.say("call_in_past", at=ctx.local_time(when))]
    if when is not None and when <= ctx.now + NOW_GRACE:
        when = None
    try:
        services.billing.rules.check(ctx.account, first, to)
        quote = services.billing.quote(ctx.account.id, first, to)
    except CallRefused as refusal:
        return [refusal_reply(ctx.lang, refusal)]
    if quote.asset is None:
        return [refusal_reply(ctx.lang, CallRefused("insufficient_funds", "", None), quote)]
    nonce = secrets.token_urlsafe(6)
    flags = ("a" if cmd.get("anonymous") else "") + ("r" if cmd.get("record") else "")
    leg = OWN_NUMBER if first == ctx.account.phone_number else first
    epoch = str(int(when.timestamp())) if when else ""
    offered = base36(int(ctx.now.timestamp()))
    data = f"{CONFIRM}:{nonce}:{leg}:{to}:{flags}:{epoch}:{offered}"
    lines = [
        t(
            ctx.lang,
            "call_offer",
            to=to,
            a=first,
            when=t(ctx.lang, "call_at", at=ctx.local_time(when)) if when else "",
        )
    ]
    if quote.free:
        lines.append(t(ctx.lang, "call_price_free"))
    else:
        lines.append(
            t(
                ctx.lang,
                "call_price",
                price=format_amount(quote.price_per_minute, "ETT"),
                minutes=quote.max_seconds // 60,
            )
        )
        if quote.asset != "ETT":
            lines.append(t(ctx.lang, "call_paid_in", asset=quote.asset))
    if cmd.get("anonymous"):
        lines.append(t(ctx.lang, "call_hidden_number"))
    if cmd.get("record"):
        lines.append(t(ctx.lang, "call_no_recording"))
    key = f"offer:{nonce}"
    buttons = (
        Button(t(ctx.lang, "button_call"), data, word=t(ctx.lang, "word_yes")),
        Button(t(ctx.lang, "button_cancel"), f"cancel:{key}", word=t(ctx.lang, "word_no")),
    )
    return [Reply("\n".join(lines), buttons=buttons, key=key, lang=ctx.lang)]


def first_leg(ctx: Context, source: str | None) -> str | list[Reply]:
    """The number to ring first: the requester's verified number or their own extension.

    Nobody can make the service ring a number they have not proven is theirs.
    """
    account = ctx.account
    if source in (None, "me", OWN_NUMBER):
        if not account.phone_number:
            return [ctx.say("call_need_own_number")]
        if not account.phone_verified:
            return [ctx.say("call_need_verified", number=account.phone_number)]
        return account.phone_number
    number = normalize(source)
    if number == account.phone_number and account.phone_verified:
        return number
    if is_internal(number) and number == account.extension:
        return number
    return [ctx.say("call_from_unverified", number=number)]


def confirm(ctx: Context, arg: str) -> list[Reply]:
    """The confirmation button of an offer: place (or schedule) the call."""
    parts = arg.split(":")
    if len(parts) != 6 or not parts[0] or not parts[2]:
        return [ctx.say("choice_expired")]
    nonce, leg, to, flags, epoch, offered = parts
    try:
        age = ctx.now.timestamp() - int(offered, 36)
    except ValueError:
        return [ctx.say("choice_expired")]
    if not 0 <= age <= OFFER_SECONDS:  # an old quote is not what the user agreed to now
        return [ctx.say("call_offer_expired")]
    services = ctx.services
    if services.dialer is None or not services.background.available:
        return [ctx.say("dialer_not_configured")]
    first = first_leg(ctx, leg)
    if isinstance(first, list):
        return first
    call_id = f"{ctx.account.id}-{nonce}"
    key = status_key(call_id)
    when = datetime.fromtimestamp(int(epoch), UTC) if epoch.isdigit() else None
    scheduled = when is not None and when > ctx.now + NOW_GRACE
    record = CallRecord(
        id=call_id,
        account_id=ctx.account.id,
        a_number=first,
        b_number=to,
        anonymous="a" in flags,
        record="r" in flags,
        state=SCHEDULED if scheduled else "created",
        scheduled_at=when if scheduled else None,
    )
    if not services.calls.create_once(record):
        return [replace(ctx.say("call_already"), key=key)]
    if scheduled:
        text = t(ctx.lang, "call_scheduled", to=to, at=ctx.local_time(when))
        return [_keyed(ctx.lang, text, key)]
    return [start(services, ctx.account, record, ctx.lang)]


def start(services: Services, account: Account, record: CallRecord, lang: str) -> Reply:
    """Authorise a created call and hand it to the call runner; the first status or a refusal."""
    from bot import call_runner

    try:
        auth = services.billing.authorize(account.id, record.id, record.a_number, record.b_number)
    except CallRefused as refusal:
        services.calls.record_event(record.id, ENDED, cause=f"{REFUSED}:{refusal.rule}"[:32])
        return replace(refusal_reply(lang, refusal), key=status_key(record.id))
    services.calls.set_max_seconds(record.id, auth.max_seconds)
    try:
        services.background.spawn(
            call_runner.run_call(services, record, auth, lang), name=f"call {record.id}"
        )
    except RuntimeError:
        services.billing.release(record.id)
        services.calls.end_unfinished(record.id)
        return _keyed(lang, t(lang, "dialer_not_configured"), status_key(record.id))
    return status_reply(lang, record, "dialing_a")


def hangup(ctx: Context, _cmd: dict) -> list[Reply]:
    """End the account's calls in progress and cancel its scheduled ones."""
    services = ctx.services
    active = services.calls.active(ctx.account.id)
    cancelled = services.calls.cancel_scheduled(ctx.account.id)
    if services.dialer is not None and services.background.available:
        for call in active:
            services.background.spawn(services.dialer.hangup(call.id), name=f"hangup {call.id}")
    replies = []
    if active:
        replies.append(ctx.say("hangup_done"))
    for call in cancelled:
        at = ctx.local_time(call.scheduled_at)
        replies.append(_keyed(ctx.lang, t(ctx.lang, "call_cancelled", to=call.b_number, at=at),
                              status_key(call.id)))  # fmt: skip
    return replies or [ctx.say("hangup_none")]


def press_hangup(ctx: Context, call_id: str) -> list[Reply]:
    """The hang-up button of a status message; only the call's own account may press it."""
    call = ctx.services.calls.get(call_id)
    if call is None or call.account_id != ctx.account.id:
        return [ctx.say("choice_expired")]
    if call.state == ENDED or ctx.services.dialer is None:
        return [ctx.say("hangup_none")]
    ctx.services.background.spawn(ctx.services.dialer.hangup(call_id), name=f"hangup {call_id}")
    return [ctx.say("hangup_done")]


def refusal_reply(lang: str, refusal: CallRefused, quote: object | None = None) -> Reply:
    """One sentence saying why a call is refused, in the user's language."""
    from bot.core import Reply

    values: dict[str, object] = {"number": refusal.number or ""}
    if refusal.rule == "insufficient_funds" and quote is not None:
        values["cost"] = format_amount(quote.first_minute, "ETT")
        return Reply(t(lang, "refused_insufficient_funds_quote", **values), lang=lang)
    return Reply(t(lang, f"refused_{refusal.rule}", **values), lang=lang)


def base36(number: int) -> str:
    """A non-negative integer in base 36 (`int(text, 36)` reads it back)."""
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while number:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
    return text or "0"


def _keyed(lang: str, text: str, key: str) -> Reply:
    from bot.core import Reply

    return Reply(text, key=key, lang=lang)
