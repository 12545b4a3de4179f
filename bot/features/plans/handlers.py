"""The plans feature's routes: the parser's `plan` intent and the button that confirms a
subscription or a switch."""

from __future__ import annotations

from bot.assistant import Context, Reply, Router
from bot.features.plans import desk
from nlu.commands import Plans

router = Router("plans")


@router.intent(Plans)
def plans(ctx: Context, cmd: Plans) -> list[Reply]:
    """ "plans" / "subscribe to Business" / "cancel my plan" / "how many minutes are left"."""
    if cmd.action == "subscribe" and not cmd.name:
        return [desk.ask_which(ctx)]
    if cmd.action == "subscribe":
        return [desk.ask_subscribe(ctx, cmd.name or "")]
    if cmd.action == "cancel":
        return [desk.cancel(ctx)]
    if cmd.action == "usage":
        return [desk.usage(ctx)]
    return [desk.listing(ctx)]


@router.action(desk.SubscribeData)
def confirm_subscribe(ctx: Context, data: desk.SubscribeData) -> list[Reply]:
    """The button subscribing to (or switching to) a plan."""
    return [desk.confirm_subscribe(ctx, data)]
