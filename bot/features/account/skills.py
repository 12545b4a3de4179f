"""The account at a glance: what the assistant can do, the balance, the extension."""

from __future__ import annotations

from bot.assistant import Context, Reply, Router
from bot.assistant.i18n import t
from domain.money import ASSETS, format_amount
from nlu.commands import Balance, Extension, Help
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
        amount = format_amount(view.amount if view else 0, asset)
        if view and view.held:
            amount = t(
                ctx.lang, "balance_held", amount=amount, held=format_amount(view.held, asset)
            )
        parts.append(amount)
    return [ctx.say("balance", balances=", ".join(parts))]


@router.intent(Extension, menu=4)
def extension(ctx: Context, _cmd: Extension) -> list[Reply]:
    """The account's free internal number."""
    return [ctx.say("extension", extension=ctx.services.accounts.extension(ctx.account.id))]
