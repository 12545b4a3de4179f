"""Commands understood before the parser: menu commands, onboarding, time zone, linking.

They read the same on every network ("/tz Europe/Paris" or "timezone Europe/Paris",
"/link" or "link 12345678") and answer in the user's language, whatever language
the command word itself is in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from bot import calls, linking, onboarding, payments, skills

if TYPE_CHECKING:
    from bot.core import Context, Reply

# Menu commands that run an intent's skill directly (the parser would guess English).
MENU_INTENTS = ("help", "balance", "history", "extension")
# The bot menu (setMyCommands), in this order; descriptions are `menu_<name>` in the catalogue.
MENU = ("start", "help", "balance", "history", "extension", "tz", "link")

_SLASH = re.compile(r"^/(?P<name>[a-z_]+)(?:@\w+)?(?:\s+(?P<arg>.*))?$", re.IGNORECASE | re.DOTALL)
_LINK = re.compile(
    r"^(?:(?P<en>link)|(?P<fr>lier|relier)|(?P<ru>связать|привязать))(?:\s+(?P<arg>[\d\s-]+))?$",
    re.IGNORECASE,
)
_TIMEZONE = re.compile(
    r"^(?:(?P<en>time\s*zone)|tz|(?P<fr>fuseau(?:\s+horaire)?)|(?P<ru>часовой\s+пояс))"
    r"(?:\s+(?P<arg>\S+))?$",
    re.IGNORECASE,
)
_SLASH_ALIASES = {"timezone": "tz", "start": "start", "link": "link", "tz": "tz"}


@dataclass(frozen=True)
class Command:
    """A recognised command and its argument ('' when none)."""

    name: str
    arg: str = ""
    lang: str | None = None  # the language of the command word, when it tells one


def match(text: str) -> Command | None:
    """The command `text` is, or None for a message the parser should read."""
    text = text.strip()
    if slash := _SLASH.match(text):
        name = slash["name"].lower()
        arg = (slash["arg"] or "").strip()
        if name in MENU_INTENTS:
            return Command(name, arg)
        if name in _SLASH_ALIASES:
            return Command(_SLASH_ALIASES[name], arg)
        return None
    if link := _LINK.match(text):
        return Command("link", (link["arg"] or "").strip(), _word_language(link))
    if zone := _TIMEZONE.match(text):
        return Command("tz", zone["arg"] or "", _word_language(zone))
    return None


def _word_language(found: re.Match) -> str | None:
    return next((lang for lang in ("en", "fr", "ru") if found[lang]), None)


def run(ctx: Context, command: Command) -> list[Reply]:
    """Answer a recognised command."""
    if command.name in MENU_INTENTS:
        return skills.dispatch(ctx, {"intent": command.name})
    if command.name == "start":
        return onboarding.start(ctx)
    if command.name == "tz":
        return onboarding.set_timezone(ctx, command.arg)
    if command.name == "link":
        return linking.link(ctx, command.arg)
    raise ValueError(f"unknown command {command.name!r}")


def press(ctx: Context, data: str) -> list[Reply]:
    """Answer a button press; `data` is `action:argument` as the button was built."""
    action, _, arg = data.partition(":")
    if action == "tz":
        return onboarding.set_timezone(ctx, arg, key=onboarding.KEY)
    if action == "link":
        return linking.confirm(ctx, arg)
    if action == calls.CONFIRM:
        return calls.confirm(ctx, arg)
    if action == calls.HANGUP:
        return calls.press_hangup(ctx, arg)
    if action == "withdraw":
        return payments.press(ctx, arg)
    if action == "cancel":
        # `arg` is the key of the question, so the cancellation replaces it.
        return [replace(ctx.say("cancelled"), key=arg or None)]
    return [ctx.say("choice_expired")]
