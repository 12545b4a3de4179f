"""Call forwarding in the chat: storing the user's rules and confirming them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.i18n import day_names, t
from storage.forwarding import ForwardingStore

if TYPE_CHECKING:
    from bot.core import Context, Reply


def set_rule(ctx: Context, cmd: dict) -> list[Reply]:
    """Store the rule of a parsed `forward` command (replacing one for the same callers)."""
    if not cmd.get("to"):
        return [ctx.say("forward_need_number")]
    ForwardingStore(ctx.services.engine).set_rule(
        ctx.account.id,
        cmd["to"],
        days=cmd.get("days"),
        start=cmd.get("start"),
        end=cmd.get("end"),
        caller=cmd.get("caller"),
    )
    replies = [ctx.say("forward_saved", **describe(ctx.lang, cmd))]
    if ctx.services.dialer is None:
        # Incoming calls reach the rules only through the dialer.
        replies.append(ctx.say("forward_saved_no_dialer"))
    return replies


def turn_off(ctx: Context, _cmd: dict) -> list[Reply]:
    """Remove every forwarding rule of the account."""
    removed = ForwardingStore(ctx.services.engine).turn_off(ctx.account.id)
    return [ctx.say("forward_off_done" if removed else "forward_off_none")]


def describe(lang: str, cmd: dict) -> dict[str, str]:
    """The parts of a rule's sentence: callers, to, days, hours."""
    callers = (
        t(lang, "forward_from_caller", caller=cmd["caller"])
        if cmd.get("caller")
        else t(lang, "forward_all_callers")
    )
    days = t(lang, "forward_days", days=day_names(lang, cmd["days"])) if cmd.get("days") else ""
    if cmd.get("start") and cmd.get("end"):
        hours = t(lang, "forward_hours", start=cmd["start"], end=cmd["end"])
    elif cmd.get("start"):
        hours = t(lang, "forward_hours_from", start=cmd["start"])
    elif cmd.get("end"):
        hours = t(lang, "forward_hours_until", end=cmd["end"])
    else:
        hours = ""
    return {"callers": callers, "to": cmd["to"], "days": days, "hours": hours}
