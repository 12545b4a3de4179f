"""First contact (/start) and the user's time zone."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from bot.assistant import Button, Context, Reply, Router
from bot.assistant.buttons import ButtonData
from bot.assistant.i18n import t
from domain.clock import utcnow

router = Router("onboarding")

# The answer to a time zone button; it replaces the welcome that carried the button.
KEY = "onboarding"
SUGGESTED_ZONES = {
    "en": ("Europe/London", "America/New_York", "UTC"),
    "fr": ("Europe/Paris", "America/Toronto", "Africa/Dakar"),
    "ru": ("Europe/Moscow", "Asia/Yekaterinburg", "Asia/Novosibirsk"),
}


@dataclass(frozen=True)
class TimeZoneData(ButtonData, prefix="tz"):
    """A suggested time zone's button (an IANA name)."""

    zone: str


@router.command("start", menu=0)
def start(ctx: Context, _arg: str = "") -> list[Reply]:
    """Welcome, then ask for the time zone and the user's own number. In the request's
    language: a new account's is its chat client's (see `bot.assistant.core`)."""
    lang = ctx.lang
    zones = SUGGESTED_ZONES.get(lang, SUGGESTED_ZONES["en"])
    buttons = tuple(Button(zone.replace("_", " "), TimeZoneData(zone).pack()) for zone in zones)
    text = t(lang, "start", tz=ctx.account.timezone)
    # No key: a second /start is a new welcome, not an edit of the first one.
    return [Reply(text, buttons=buttons, lang=lang)]


@router.command(
    "hello",
    pattern=r"^(?:(?P<en>hello|hi|hey|good\s+(?:morning|afternoon|evening))"
    r"|(?P<fr>bonjour|salut|bonsoir|coucou)"
    r"|(?P<ru>привет|здравствуй(?:те)?|добрый\s+(?:день|вечер)|доброе\s+утро))"
    r"(?:[\s,]+\w+)?[\s!.,?)]*$",
    read_only=True,
)
def hello(ctx: Context, _arg: str = "") -> list[Reply]:
    """A greeting ("hello", "bonjour", "salut", "привет", optionally with a name) is
    answered with a greeting and the short help, in its own language."""
    return [ctx.say("greeting")]


@router.command(
    "tz",
    aliases=("timezone",),
    pattern=r"^(?:(?P<en>time\s*zone)|tz|(?P<fr>fuseau(?:\s+horaire)?)|(?P<ru>часовой\s+пояс))"
    r"(?:\s+(?P<arg>\S+))?$",
    menu=5,
)
def timezone_command(ctx: Context, name: str) -> list[Reply]:
    """ "/tz Europe/Paris", "timezone Europe/Paris", "fuseau horaire …", "часовой пояс …"."""
    return set_timezone(ctx, name)


@router.action(TimeZoneData)
def timezone_button(ctx: Context, data: TimeZoneData) -> list[Reply]:
    """A suggested zone pressed: the answer replaces the welcome that carried the button."""
    return set_timezone(ctx, data.zone, key=KEY)


def set_timezone(ctx: Context, name: str, *, key: str | None = None) -> list[Reply]:
    """Store the user's time zone (an IANA name such as Europe/Paris)."""
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
