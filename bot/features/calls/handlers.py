"""The calls feature's routes: "call …", "hang up", "history", and the call buttons."""

from __future__ import annotations

from bot.assistant import Context, Reply, Router
from bot.assistant.i18n import dialled_text, t
from bot.features.calls import offer
from bot.features.calls.status import (
    HangupData,
    connected_seconds,
    duration_text,
    money_text,
    number_text,
    state_text,
)
from nlu.commands import Call, Hangup, History

router = Router("calls")


@router.intent(Call)
def call(ctx: Context, cmd: Call) -> list[Reply]:
    """Quote the call and ask for confirmation; without a dialer, say what was understood."""
    if ctx.services.dialer is not None and ctx.services.background.available:
        return offer.offer(ctx, cmd)
    if not cmd.to:
        return [ctx.say("call_need_number")]
    source = cmd.source
    if source == "me" and not ctx.account.phone_number:
        return [ctx.say("call_need_own_number")]
    flags = ""
    if cmd.anonymous:
        flags += t(ctx.lang, "flag_anonymous")
    if cmd.record:
        flags += t(ctx.lang, "flag_record")
    # The parser gives `at` in the user's zone: shown without seconds.
    when = t(ctx.lang, "call_at", at=cmd.at.strftime("%Y-%m-%d %H:%M")) if cmd.at else ""
    understood = ctx.say(
        "call_understood",
        to=dialled_text(ctx.lang, cmd.to, cmd.dtmf),
        **{"from": t(ctx.lang, "call_me") if source == "me" else number_text(source)},
        when=when,
        flags=flags,
    )
    return [understood, ctx.say("dialer_not_configured")]


@router.action(offer.ConfirmCallData)
def confirm(ctx: Context, data: offer.ConfirmCallData) -> list[Reply]:
    """The Call button of a quote."""
    return offer.confirm(ctx, data)


@router.intent(Hangup)
def hangup(ctx: Context, _cmd: Hangup) -> list[Reply]:
    """End the calls in progress and cancel the scheduled ones."""
    return offer.hangup(ctx)


@router.action(HangupData)
def hangup_button(ctx: Context, data: HangupData) -> list[Reply]:
    """The hang-up button of a call's status message."""
    return offer.press_hangup(ctx, data.call_id)


@router.intent(History, menu=3)
def history(ctx: Context, _cmd: History) -> list[Reply]:
    """The account's last calls (callbacks, calls of its phones, calls to its direct
    numbers) with duration and cost (a call never connected has no duration: its outcome
    says why, once); a forwarded call shows where it went."""
    calls = ctx.services.calls.history(ctx.account.id, limit=10)
    if not calls:
        return [ctx.say("history_empty")]
    lang = ctx.lang
    lines = [t(lang, "history_header")]
    for record in calls:
        values = {
            "when": ctx.local_time(record.created_at),
            "a": number_text(record.a_number),
            "b": dialled_text(lang, record.b_number, record.dtmf)
            + (f" ↪ {number_text(record.forwarded_to)}" if record.forwarded_to else ""),
            "state": state_text(lang, record),
            "cost": money_text(record.cost, record.cost_asset or "ETT", lang),
        }
        if record.bridged_at:
            duration = duration_text(lang, connected_seconds(record))
            lines.append(t(lang, "history_line", duration=duration, **values))
        else:
            lines.append(t(lang, "history_line_unanswered", **values))
    return [Reply("\n".join(lines))]
