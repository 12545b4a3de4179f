"""First contact (/start) and the user's time zone."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, available_timezones

from bot.i18n import LANGUAGES, t
from storage.clock import utcnow

if TYPE_CHECKING:
    from bot.core import Context, Reply

# The answer to a time zone button; it replaces the welcome that carried the button.
KEY = "onboarding"
SUGGESTED_ZONES = {
    "en": ("Europe/London", "America/New_York", "UTC"),
    "fr": ("Europe/Paris", "America/Toronto", "Africa/Dakar"),
    "ru": ("Europe/Moscow", "Asia/Yekaterinburg", "Asia/Novosibirsk"),
}


def start(ctx: Context) -> list[Reply]:
    """Greet in the client's language, then ask for the time zone and the user's own number."""
    from bot.core import Button, Reply

    lang = ctx.lang
    if ctx.sender.language in LANGUAGES and ctx.account.language != ctx.sender.language:
        ctx.services.accounts.update(ctx.account.id, language=ctx.sender.language)
    zones = SUGGESTED_ZONES.get(lang, SUGGESTED_ZONES["en"])
    buttons = tuple(Button(zone.replace("_", " "), f"tz:{zone}") for zone in zones)
    text = t(lang, "start", tz=ctx.account.timezone)
    # No key: a second /start is a new welcome, not an edit of the first one.
    return [Reply(text, buttons=buttons, lang=lang)]


def set_timezone(ctx: Context, name: str, *, key: str | None = None) -> list[Reply]:
    """Store the user's time zone (an IANA name such as Europe/Paris)."""
    from bot.core import Reply

    name = name.strip()
    if not name:
        return [ctx.say("timezone_missing", tz=ctx.account.timezone)]
    zone = find_zone(name)
    if zone is None:
        return [ctx.say("timezone_invalid", tz=name[:64])]
    account = ctx.services.accounts.update(ctx.account.id, timezone=zone)
    local = utcnow().astimezone(ZoneInfo(zone)).strftime("%H:%M")
    text = t(ctx.lang, "timezone_set", tz=zone, time=local)
    if not account.phone_number:
        text += "\n" + t(ctx.lang, "timezone_next_number")
    return [Reply(text, key=key, lang=ctx.lang)]


def find_zone(name: str) -> str | None:
    """The IANA zone `name` denotes, ignoring case; None if there is none."""
    return _zones_by_folded_name().get(name.casefold())


@cache
def _zones_by_folded_name() -> dict[str, str]:
    zones = {zone.casefold(): zone for zone in available_timezones()}
    zones["utc"] = "UTC"
    return zones
