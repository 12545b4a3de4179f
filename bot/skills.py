"""What the assistant does for each intent the parser recognises.

Each skill takes the request context and the parsed command and returns the
replies. Skills call the stores and services; they never talk to a network.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bot import calls, forwarding, payments, reminders, verification
from bot.call_status import connected_seconds, duration_text, state_text
from bot.i18n import t
from storage.ledger_store import account_book
from wallet.units import ASSETS, format_amount

if TYPE_CHECKING:
    from bot.core import Context, Reply

Skill = Callable[["Context", dict], list["Reply"]]


def help_(ctx: Context, _cmd: dict) -> list[Reply]:
    """What the assistant can do."""
    return [ctx.say("help")]


def balance(ctx: Context, _cmd: dict) -> list[Reply]:
    """The account's balance in every asset, with what is reserved."""
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


def history(ctx: Context, _cmd: dict) -> list[Reply]:
    """The account's last calls with duration and cost."""
    calls = ctx.services.calls.history(ctx.account.id, limit=10)
    if not calls:
        return [ctx.say("history_empty")]
    lines = [t(ctx.lang, "history_header")]
    for call in calls:
        duration = (
            duration_text(ctx.lang, connected_seconds(call))
            if call.bridged_at
            else t(ctx.lang, "not_answered")
        )
        lines.append(
            t(
                ctx.lang,
                "history_line",
                when=ctx.local_time(call.created_at),
                a=call.a_number,
                b=call.b_number,
                state=state_text(ctx.lang, call),
                duration=duration,
                cost=format_amount(call.cost, call.cost_asset or "ETT"),
            )
        )
    return [ctx.reply("\n".join(lines))]


def set_number(ctx: Context, cmd: dict) -> list[Reply]:
    """Store the user's own number and call it to verify it (with a dialer)."""
    number = cmd.get("number")
    if not number:
        has_digits = any(ch.isdigit() for ch in ctx.text)
        return [ctx.say("number_invalid" if has_digits else "number_missing")]
    return verification.set_number(ctx, number)


def extension(ctx: Context, _cmd: dict) -> list[Reply]:
    """The account's free internal number."""
    return [ctx.say("extension", extension=ctx.services.accounts.extension(ctx.account.id))]


def call(ctx: Context, cmd: dict) -> list[Reply]:
    """Quote the call and ask for confirmation; without a dialer, say what was understood."""
    if ctx.services.dialer is not None and ctx.services.background.available:
        return calls.offer(ctx, cmd)
    if not cmd.get("to"):
        return [ctx.say("call_need_number")]
    source = cmd.get("from")
    if source == "me" and not ctx.account.phone_number:
        return [ctx.say("call_need_own_number")]
    flags = ""
    if cmd.get("anonymous"):
        flags += t(ctx.lang, "flag_anonymous")
    if cmd.get("record"):
        flags += t(ctx.lang, "flag_record")
    when = t(ctx.lang, "call_at", at=_local_iso(cmd["at"])) if cmd.get("at") else ""
    understood = ctx.say(
        "call_understood",
        to=cmd["to"],
        **{"from": t(ctx.lang, "call_me") if source == "me" else source},
        when=when,
        flags=flags,
    )
    return [understood, ctx.say("dialer_not_configured")]


def remind(ctx: Context, cmd: dict) -> list[Reply]:
    """Store a reminder for the scheduler to fire."""
    return reminders.schedule(ctx, cmd)


def forward(ctx: Context, cmd: dict) -> list[Reply]:
    """Store a call-forwarding rule (applied to incoming calls by the dialer)."""
    return forwarding.set_rule(ctx, cmd)


def forward_off(ctx: Context, cmd: dict) -> list[Reply]:
    """Remove the account's call-forwarding rules."""
    return forwarding.turn_off(ctx, cmd)


def deposit(ctx: Context, cmd: dict) -> list[Reply]:
    """Where and how to send a deposit (needs the Waves wallet)."""
    return payments.deposit(ctx, cmd)


def withdraw(ctx: Context, cmd: dict) -> list[Reply]:
    """Check a withdrawal and ask to confirm it (needs the Waves wallet)."""
    return payments.withdraw(ctx, cmd)


def hangup(ctx: Context, cmd: dict) -> list[Reply]:
    """End the calls in progress and cancel the scheduled ones."""
    return calls.hangup(ctx, cmd)


def unknown(ctx: Context, _cmd: dict) -> list[Reply]:
    """A message the parser did not understand."""
    return [ctx.say("unknown")]


SKILLS: dict[str, Skill] = {
    "help": help_,
    "balance": balance,
    "history": history,
    "set_number": set_number,
    "extension": extension,
    "call": call,
    "remind": remind,
    "forward": forward,
    "forward_off": forward_off,
    "deposit": deposit,
    "withdraw": withdraw,
    "hangup": hangup,
    "unknown": unknown,
}


# Skills that only read (no write, no lock): they may run on the event loop (see core).
READ_ONLY = frozenset({"help", "balance", "unknown"})


def dispatch(ctx: Context, cmd: dict) -> list[Reply]:
    """Run the skill of the parsed command's intent."""
    return SKILLS.get(cmd.get("intent", "unknown"), unknown)(ctx, cmd)


def _local_iso(at: str) -> str:
    # The parser already gives `at` in the user's zone: show it without seconds.
    return at[:16].replace("T", " ")
