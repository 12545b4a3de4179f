"""One account on several networks: a one-time code from one, typed on the other."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.assistant import Button, Context, Reply, Router
from bot.assistant.buttons import ButtonData
from bot.assistant.i18n import LANGUAGES, money_text, number_text, t
from bot.assistant.router import CancelData
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

    When this chat's own account holds money or a number, ask first: they would stay behind.
    """
    if not arg:
        code = ctx.services.accounts.new_link_code(ctx.account.id)
        return [ctx.say("link_code", code=code)]
    code = re.sub(r"[\s-]", "", arg)
    if not CODE.match(code):
        return [ctx.say("link_invalid")]
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
    key = key_of(code)
    if not CODE.match(code):
        return [Reply(t(ctx.lang, "link_invalid"), key=key, lang=ctx.lang)]
    target = ctx.services.accounts.link(code, ctx.sender.network, ctx.sender.external_id)
    if target is None:
        return [Reply(t(ctx.lang, "link_invalid"), key=key, lang=ctx.lang)]
    if target.id == ctx.account.id:
        return [Reply(t(ctx.lang, "link_same"), key=key, lang=ctx.lang)]
    # From now on this chat speaks for the linked account: answer in its language,
    # unless the chat client tells its own.
    lang = ctx.sender.language if ctx.sender.language in LANGUAGES else target.language
    extension = ctx.services.accounts.extension(target.id)
    return [Reply(t(lang, "link_done", extension=extension), key=key, lang=lang)]


def _left_behind(ctx: Context) -> str:
    """What this chat's current account holds ('' when nothing would be lost)."""
    views = ctx.services.ledger.balances(account_book(ctx.account.id))
    parts = [
        money_text(v.amount, asset, ctx.lang) for asset, v in views.items() if v.amount or v.held
    ]
    if ctx.account.phone_number:
        parts.append(number_text(ctx.account.phone_number))
    return ", ".join(parts)
