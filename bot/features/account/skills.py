"""The account at a glance: what the assistant can do, the balance, the extension; and
the answer to what was not understood, or asked not to be done."""

from __future__ import annotations

from bot.assistant import Context, Reply, Router
from bot.assistant.i18n import money_text, t
from domain.money import ASSETS
from nlu.commands import Balance, Extension, Help, Unknown
from storage.ledger_store import account_book

router = Router("account")


@router.intent(Help, read_only=True, menu=1)
def help_(ctx: Context, _cmd: Help) -> list[Reply]:
    """What the assistant can do."""
    return [ctx.say("help")]


@router.intent(Balance, read_only=True, menu=2)
def balance(ctx: Context, _cmd: Balance) -> list[Reply]:
    """The account's balance in every asset (smallest units shown as decimals), with what
    is reserved by holds."""
    views = ctx.services.ledger.balances(account_book(ctx.account.id))
    parts = []
    for asset in ASSETS:
        view = views.get(asset)
        amount = money_text(view.amount if view else 0, asset, ctx.lang)
        if view and view.held:
            held = money_text(view.held, asset, ctx.lang)
            amount = t(ctx.lang, "balance_held", amount=amount, held=held)
        parts.append(amount)
    return [ctx.say("balance", balances=", ".join(parts))]


@router.intent(Extension, menu=4)
def extension(ctx: Context, _cmd: Extension) -> list[Reply]:
    """The account's free internal number."""
    return [ctx.say("extension", extension=ctx.services.accounts.extension(ctx.account.id))]


@router.intent(Unknown, read_only=True)
def unknown(ctx: Context, cmd: Unknown) -> list[Reply]:
    """A message not understood; or one asking for something not to be done ("don't call
    +X"), answered in its own language: nothing was done."""
    if cmd.negated:
        return [Reply(t(cmd.lang, "negated_nothing_done"), lang=cmd.lang)]
    return [ctx.say("unknown")]
