"""Call forwarding in the chat: storing the user's rules and confirming them."""

from __future__ import annotations

from bot.assistant import Context, Reply, Router
from bot.assistant.i18n import day_names, t
from nlu.commands import Forward, ForwardOff

router = Router("forwarding")


@router.intent(Forward)
def set_rule(ctx: Context, cmd: Forward) -> list[Reply]:
    """Store the rule of a parsed `forward` command (replacing one for the same callers)."""
    if not cmd.to:
        return [ctx.say("forward_need_number")]
    ctx.services.forwarding.set_rule(
        ctx.account.id,
        cmd.to,
        days=list(cmd.days) if cmd.days else None,
        start=cmd.start,
        end=cmd.end,
        caller=cmd.caller,
    )
    replies = [ctx.say("forward_saved", **describe(ctx.lang, cmd))]
    if ctx.services.dialer is None:
        # Incoming calls reach the rules only through the dialer.
        replies.append(ctx.say("forward_saved_no_dialer"))
    return replies


@router.intent(ForwardOff)
def turn_off(ctx: Context, _cmd: ForwardOff) -> list[Reply]:
    """Remove every forwarding rule of the account."""
    removed = ctx.services.forwarding.turn_off(ctx.account.id)
    return [ctx.say("forward_off_done" if removed else "forward_off_none")]


def describe(lang: str, cmd: Forward) -> dict[str, str]:
    """The parts of a rule's sentence: callers, to, days, hours."""
    callers = (
        t(lang, "forward_from_caller", caller=cmd.caller)
        if cmd.caller
        else t(lang, "forward_all_callers")
    )
    days = t(lang, "forward_days", days=day_names(lang, list(cmd.days))) if cmd.days else ""
    if cmd.start and cmd.end:
        hours = t(lang, "forward_hours", start=cmd.start, end=cmd.end)
    elif cmd.start:
        hours = t(lang, "forward_hours_from", start=cmd.start)
    elif cmd.end:
        hours = t(lang, "forward_hours_until", end=cmd.end)
    else:
        hours = ""
    return {"callers": callers, "to": cmd.to or "", "days": days, "hours": hours}
