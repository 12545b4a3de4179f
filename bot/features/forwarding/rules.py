"""Call forwarding in the chat: storing the user's rules and confirming them.

A rule covers the calls to the account's direct numbers and to its extension; the
exchange applies it. With follow-me ("forward my calls to 1002 for 20 seconds then to
+33612345678") the targets are tried in turn, each ringing its ring time.
"""

from __future__ import annotations

from bot.assistant import Context, Refusal, Reply, Router, Services
from bot.assistant.i18n import day_names, t
from domain.numbers import is_internal
from nlu.commands import Forward, ForwardOff
from storage.forwarding import MAX_RING_SECONDS, MAX_TARGETS, MIN_RING_SECONDS, Target
from storage.models import ForwardingRule

router = Router("forwarding")


@router.intent(Forward)
def set_rule(ctx: Context, cmd: Forward) -> list[Reply]:
    """Store the rule of a parsed `forward` command (replacing one for the same callers),
    with its follow-me targets. Refuses (one sentence) a target that is not a valid
    number or not an extension of the exchange, and a rule the store refuses (a missing
    or out-of-range ring time, too many targets)."""
    if not cmd.to or any(number is None for number, _ in cmd.then):
        return [ctx.say("forward_need_number")]
    chain = [Target(cmd.to, cmd.ring), *(Target(n or "", s) for n, s in cmd.then)]
    save_rule(
        ctx.services,
        ctx.account.id,
        chain,
        days=list(cmd.days) if cmd.days else None,
        start=cmd.start,
        end=cmd.end,
        caller=cmd.caller,
    )
    replies = [ctx.say("forward_saved", **describe(ctx.lang, cmd))]
    if not ctx.services.settings.PBX_ENABLED:
        # The exchange applies the rules; it does not run on this server.
        replies.append(ctx.say("forward_saved_no_exchange"))
    return replies


def save_rule(
    services: Services,
    account_id: int,
    chain: list[Target],
    *,
    days: list[str] | None = None,
    start: str | None = None,
    end: str | None = None,
    caller: str | None = None,
) -> ForwardingRule:
    """Store a rule forwarding to `chain` (the targets in turn, at least one), replacing
    the account's rule for the same callers. Refusal "forward_unknown_extension" for an
    extension nobody has, else the store's refusal as a sentence (`_refusal`)."""
    for target in chain:
        if is_internal(target.number) and services.accounts.by_extension(target.number) is None:
            raise Refusal("forward_unknown_extension", number=target.number)
    try:
        return services.forwarding.set_rule(
            account_id,
            chain[0].number,
            days=days,
            start=start,
            end=end,
            caller=caller,
            ring_seconds=chain[0].ring_seconds,
            follow_me=chain[1:],
        )
    except ValueError:
        raise _refusal(chain) from None


@router.intent(ForwardOff)
def turn_off(ctx: Context, _cmd: ForwardOff) -> list[Reply]:
    """Remove every forwarding rule of the account."""
    removed = ctx.services.forwarding.turn_off(ctx.account.id)
    return [ctx.say("forward_off_done" if removed else "forward_off_none")]


def _refusal(chain: list[Target]) -> Refusal:
    """Why the store refused a rule with these targets, as a sentence of the catalogue."""
    if len(chain) > MAX_TARGETS:
        return Refusal("forward_too_many", limit=MAX_TARGETS)
    for target in chain[:-1]:
        if target.ring_seconds is None:
            return Refusal("forward_ring_needed", number=target.number)
    for target in chain:
        seconds = target.ring_seconds
        if seconds is not None and not MIN_RING_SECONDS <= seconds <= MAX_RING_SECONDS:
            return Refusal("forward_ring_range", min=MIN_RING_SECONDS, max=MAX_RING_SECONDS)
    return Refusal("forward_invalid")


def targets_text(lang: str, cmd: Forward) -> str:
    """The targets of a rule in turn, with their ring times: "1002 for 20 seconds, then
    to +33612345678" (fr "… pendant 20 secondes, puis vers le …", ru "1002 (20 с), затем
    на …")."""

    def one(number: str, seconds: int | None) -> str:
        return t(lang, "forward_ring", number=number, seconds=seconds) if seconds else number

    text = one(cmd.to or "", cmd.ring)
    for number, seconds in cmd.then:
        text = t(lang, "forward_then", previous=text, next=one(number or "", seconds))
    return text


def describe(lang: str, cmd: Forward) -> dict[str, str]:
    """The parts of a rule's sentence: callers, to (the targets in turn), days, hours."""
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
    return {"callers": callers, "to": targets_text(lang, cmd), "days": days, "hours": hours}
