"""One account on several networks: a one-time code from one, typed on the other."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from bot.assistant import Button, Context, Reply, Router
from bot.assistant.buttons import ButtonData
from bot.assistant.i18n import money_text, number_text, t
from bot.assistant.router import CancelData
from storage.accounts import LinkCheck, LinkOutcome
from storage.ledger_store import account_book

router = Router("linking")


@dataclass(frozen=True)
class LinkData(ButtonData, prefix="link"):
    """The confirmation of joining this chat to the account that issued `code`."""

    code: str


def key_of(code: str) -> str:
    """The key of a link question and its outcome: the outcome replaces the question."""
    return f"link:{code}"


CODE = re.compile(r"^\d{8}$")


@router.command(
    "link",
    pattern=r"^(?:(?P<en>link)|(?P<fr>lier|relier)|(?P<ru>связать|привязать))"
    r"(?:\s+(?P<arg>[\d\s-]+))?$",
    menu=6,
)
def link(ctx: Context, arg: str) -> list[Reply]:
    """'link' gives a code; 'link CODE' from another network joins this chat to that account.

    The code is checked first (a wrong one counts against this chat and every live code:
    see `storage.accounts`); when this chat's own account holds money or a number, ask
    before linking: they would stay behind.
    """
    if not arg:
        code = ctx.services.accounts.new_link_code(ctx.account.id)
        return [ctx.say("link_code", code=code)]
    code = re.sub(r"[\s-]", "", arg)
    if not CODE.match(code):
        return [ctx.say("link_invalid")]
    check = ctx.services.accounts.check_link_code(code, ctx.sender.network, ctx.sender.external_id)
    if check.outcome is not LinkOutcome.VALID:
        return [replace(_outcome(ctx, check, code), key=None)]  # a new message each time
    left_behind = _left_behind(ctx)
    if not left_behind:
        return confirm(ctx, code)
    buttons = (
        Button(t(ctx.lang, "button_link"), LinkData(code).pack(), word=t(ctx.lang, "word_yes")),
        Button(
            t(ctx.lang, "button_cancel"),
            CancelData(key_of(code)).pack(),
            word=t(ctx.lang, "word_no"),
        ),
    )
    text = t(ctx.lang, "link_confirm", what=left_behind)
    return [Reply(text, buttons=buttons, key=key_of(code), lang=ctx.lang)]


@router.action(LinkData)
def confirm_button(ctx: Context, data: LinkData) -> list[Reply]:
    """The confirmation button of a link question."""
    return confirm(ctx, data.code)


def confirm(ctx: Context, code: str) -> list[Reply]:
    """Link this chat to the account that issued `code`."""
    if not CODE.match(code):
        return [Reply(t(ctx.lang, "link_invalid"), key=key_of(code), lang=ctx.lang)]
    check = ctx.services.accounts.use_link_code(code, ctx.sender.network, ctx.sender.external_id)
    return [_outcome(ctx, check, code)]


def _outcome(ctx: Context, check: LinkCheck, code: str) -> Reply:
    """What writing `code` came to, in one sentence (it replaces a link question)."""
    key, lang = key_of(code), ctx.lang
    outcome = check.outcome
    if outcome is LinkOutcome.LINKED and check.account is not None:
        # From now on this chat speaks for the linked account, in the request's language.
        extension = ctx.services.accounts.extension(check.account.id)
        return Reply(t(lang, "link_done", extension=extension), key=key, lang=lang)
    if outcome is LinkOutcome.TOO_MANY and check.retry_at is not None:
        at = ctx.local_time(check.retry_at)
        return Reply(t(lang, "link_too_many", at=at), key=key, lang=lang)
    sentence = {LinkOutcome.OWN: "link_own_code", LinkOutcome.LOCKED: "link_locked"}
    text = t(lang, sentence.get(outcome, "link_invalid"), code=code)
    return Reply(text, key=key, lang=lang)


def _left_behind(ctx: Context) -> str:
    """What this chat's current account holds ('' when nothing would be lost)."""
    views = ctx.services.ledger.balances(account_book(ctx.account.id))
    parts = [
        money_text(v.amount, asset, ctx.lang) for asset, v in views.items() if v.amount or v.held
    ]
    if ctx.account.phone_number:
        parts.append(number_text(ctx.account.phone_number))
    return ", ".join(parts)
