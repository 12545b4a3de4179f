"""The parsed command as a typed value: one frozen class per intent of the parse contract.

`nlu.parse` returns the contract's JSON object (nlu/SCHEMA.md), which the `parse`
command prints and the scorer reads; the assistant works with `command_of(parse(...))`,
so a slot's name or type is checked where it is read, not guessed from a dict key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import ClassVar, Literal, NamedTuple

from nlu.api_keys import DEFAULT_SCOPES, FULL_SCOPES

Channel = Literal["message", "call"]
ApiKeyAction = Literal["new", "list", "revoke"]
PlanAction = Literal["list", "subscribe", "cancel", "usage"]
PollAction = Literal["list", "vote", "results", "export"]
RemindersAction = Literal["list", "cancel"]
CalendarAction = Literal["connect", "list", "disconnect", "export", "defaults"]


@dataclass(frozen=True)
class Command:
    """What a message asks for. `lang`: the language the reply is written in (en/fr/ru)."""

    intent: ClassVar[str] = "unknown"
    lang: str = "en"


@dataclass(frozen=True)
class Unknown(Command):
    """Anything the parser did not understand (`error` says why, when it knows), or a
    request the message asks not to carry out ("don't call +X": `negated`, and the
    intent it names in `negated_intent`): nothing is to be done."""

    intent: ClassVar[str] = "unknown"
    error: str | None = None
    negated: bool = False
    negated_intent: str | None = None


@dataclass(frozen=True)
class Help(Command):
    """What the assistant can do."""

    intent: ClassVar[str] = "help"


@dataclass(frozen=True)
class Balance(Command):
    """The wallet balance."""

    intent: ClassVar[str] = "balance"


@dataclass(frozen=True)
class History(Command):
    """Recent calls."""

    intent: ClassVar[str] = "history"


@dataclass(frozen=True)
class Extension(Command):
    """The user's free internal number."""

    intent: ClassVar[str] = "extension"


@dataclass(frozen=True)
class Hangup(Command):
    """End the call in progress (and cancel scheduled ones)."""

    intent: ClassVar[str] = "hangup"


@dataclass(frozen=True)
class ForwardOff(Command):
    """Remove every forwarding rule."""

    intent: ClassVar[str] = "forward_off"


@dataclass(frozen=True)
class Call(Command):
    """A callback: ring `source` (E.164, or "me": the requester's own number), then `to`.

    `to`/`source` are None when absent or not a valid number. `dtmf`: the digits to dial
    once `to` answers (its extension, "ext. 456"), "" for none. `at`: when to place it
    (aware, in the user's zone), None for now.
    """

    intent: ClassVar[str] = "call"
    to: str | None = None
    source: str | None = "me"
    dtmf: str = ""
    anonymous: bool = False
    record: bool = False
    at: datetime | None = None


@dataclass(frozen=True)
class Remind(Command):
    """A reminder at `at` (aware; None when no time was understood) by `channel`.

    `repeat`: an RFC 5545 RECUR value without "RRULE:" ("FREQ=WEEKLY;BYDAY=MO"), read on
    the user's wall clock from DTSTART = `at` (its first occurrence); None: said once.
    `error`: why no time could be read ("no such time"), `repeat_error`: the code of a
    repeat no rule can state ("zero", "too_often", "no_such_day", "no_such_time",
    "ended"; see nlu/SCHEMA.md); then `at` and `repeat` are None and the user is asked again.
    """

    intent: ClassVar[str] = "remind"
    at: datetime | None = None
    channel: Channel = "message"
    text: str = ""
    repeat: str | None = None
    error: str | None = None
    repeat_error: str | None = None


@dataclass(frozen=True)
class Reminders(Command):
    """The user's reminders: listed (`action` "list"), or cancelled ("cancel"): the one at
    position `number` of the list, the one(s) whose words match `about` (as written), or
    every one (`all`); with none of them, the user is asked which."""

    intent: ClassVar[str] = "reminders"
    action: RemindersAction = "list"
    number: int | None = None
    about: str | None = None
    all: bool = False


@dataclass(frozen=True)
class Calendar(Command):
    """The user's own calendars: one connected (`action` "connect": its `url` as written,
    http, https or webcal, with `username` and `password` for a CalDAV account), listed
    ("list"), disconnected ("disconnect": the one at position `number`, None: ask), the
    reminders exported as an .ics file ("export"), or the events' default reminder set
    ("defaults": `minutes` before an event, by `channel`; None: not said).

    `password` and `url` are secrets: never log them."""

    intent: ClassVar[str] = "calendar"
    action: CalendarAction = "list"
    url: str | None = None
    username: str | None = None
    password: str | None = None
    minutes: int | None = None
    channel: Channel | None = None
    number: int | None = None


class FollowTarget(NamedTuple):
    """A follow-me target of a forwarding rule: the number (E.164 or an extension's
    digits; None when not a valid number) and how long it rings before the next one is
    tried (seconds; None: not said)."""

    number: str | None
    ring: int | None


@dataclass(frozen=True)
class Forward(Command):
    """A forwarding rule: calls (from `caller`, or all) go to `to` on `days` between hours.

    `days`: weekday codes (`mon`…`sun`), None for every day; `start`/`end`: "HH:MM" or None.
    Follow-me: `to` rings `ring` seconds (None: not said), then each of `then` in turn.
    """

    intent: ClassVar[str] = "forward"
    to: str | None = None
    days: tuple[str, ...] | None = None
    start: str | None = None
    end: str | None = None
    caller: str | None = None
    ring: int | None = None
    then: tuple[FollowTarget, ...] = ()


@dataclass(frozen=True)
class Deposit(Command):
    """Top up: `amount` in whole units of `asset` (None: any amount; asset None: ETT)."""

    intent: ClassVar[str] = "deposit"
    amount: Decimal | None = None
    asset: str | None = None


@dataclass(frozen=True)
class Withdraw(Command):
    """Send `amount` (whole units of `asset`) to the Waves `address` as written."""

    intent: ClassVar[str] = "withdraw"
    amount: Decimal | None = None
    asset: str | None = None
    address: str | None = None


@dataclass(frozen=True)
class SetNumber(Command):
    """The user's own number (E.164; None when the message held none that is valid)."""

    intent: ClassVar[str] = "set_number"
    number: str | None = None


@dataclass(frozen=True)
class Softphone(Command):
    """The softphone (SIP) credentials; `reset`: with a new password (the old one ends)."""

    intent: ClassVar[str] = "softphone"
    reset: bool = False


@dataclass(frozen=True)
class Numbers(Command):
    """The account's numbers: its direct numbers, extension and caller-ID setting."""

    intent: ClassVar[str] = "numbers"


@dataclass(frozen=True)
class CallerId(Command):
    """The caller ID of the account's outside calls: hidden (`hide`) or shown."""

    intent: ClassVar[str] = "caller_id"
    hide: bool = False


@dataclass(frozen=True)
class RecordCalls(Command):
    """The account's default: every call recorded (`on`) or only those asked with
    "record" ("record all my calls", "stop recording my calls")."""

    intent: ClassVar[str] = "record_calls"
    on: bool = True


@dataclass(frozen=True)
class Recordings(Command):
    """The account's recordings: listed, or all deleted from the server (`delete`)."""

    intent: ClassVar[str] = "recordings"
    delete: bool = False


@dataclass(frozen=True)
class RecordingKey(Command):
    """The key recordings are sealed to: shown, or a new key pair made (`new`) whose
    secret words are shown once."""

    intent: ClassVar[str] = "recording_key"
    new: bool = False


@dataclass(frozen=True)
class LinkWallet(Command):
    """Prove the ownership of a Waves address ("link my wallet 3P…"): `address` starts a
    proof; `signature` and `public_key` (base58) answer its challenge."""

    intent: ClassVar[str] = "link_wallet"
    address: str | None = None
    signature: str | None = None
    public_key: str | None = None


@dataclass(frozen=True)
class MyData(Command):
    """A JSON export of everything kept about the user."""

    intent: ClassVar[str] = "my_data"


@dataclass(frozen=True)
class ForgetMe(Command):
    """Delete the user's personal data and leave (asked to confirm first)."""

    intent: ClassVar[str] = "forget_me"


@dataclass(frozen=True)
class ApiKeys(Command):
    """The account's keys of the HTTP API: a key made (`action` "new") with `scopes` and
    a `name` ("" for none), the keys listed ("list"), or revoked ("revoke"): the one whose
    id starts with `key` (4 to 12 hexadecimal digits), every key (`all`), or, with
    neither, the one the user is asked to choose."""

    intent: ClassVar[str] = "api_key"
    action: ApiKeyAction = "list"
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    name: str = ""
    key: str | None = None
    all: bool = False


@dataclass(frozen=True)
class Plans(Command):
    """Monthly plans: the plans on offer listed (`action` "list"), one subscribed to or
    switched to ("subscribe", `name` as written), the account's plan cancelled ("cancel"),
    or its included minutes left shown ("usage")."""

    intent: ClassVar[str] = "plan"
    action: PlanAction = "list"
    name: str | None = None


@dataclass(frozen=True)
class PollRequest(Command):
    """ETT holders' votes (nlu.polls): the open ones listed (`action` "list"), option
    `option` (from 1) of vote `poll` voted ("vote"), a closed vote's results ("results")
    or export ("export"); `poll` None: the last closed vote."""

    intent: ClassVar[str] = "poll"
    action: PollAction = "list"
    poll: int | None = None
    option: int | None = None


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _digits(value: object) -> str:
    return value if isinstance(value, str) and value.isdigit() and value.isascii() else ""


def _amount(value: object) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _seconds(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _follow_me(value: object) -> tuple[FollowTarget, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(
        FollowTarget(_text(item.get("to")), _seconds(item.get("ring")))
        for item in value
        if isinstance(item, dict)
    )


def _set_number(lang: str, parsed: dict) -> Command:
    return SetNumber(lang, _text(parsed.get("number")))


def _softphone(lang: str, parsed: dict) -> Command:
    return Softphone(lang, reset=parsed.get("reset") is True)


def _caller_id(lang: str, parsed: dict) -> Command:
    return CallerId(lang, hide=parsed.get("hide") is True)


def _record_calls(lang: str, parsed: dict) -> Command:
    return RecordCalls(lang, on=parsed.get("on") is not False)


def _recordings(lang: str, parsed: dict) -> Command:
    return Recordings(lang, delete=parsed.get("delete") is True)


def _recording_key(lang: str, parsed: dict) -> Command:
    return RecordingKey(lang, new=parsed.get("new") is True)


def _link_wallet(lang: str, parsed: dict) -> Command:
    return LinkWallet(
        lang,
        _text(parsed.get("address")),
        _text(parsed.get("signature")),
        _text(parsed.get("public_key")),
    )


def _api_key(lang: str, parsed: dict) -> Command:
    action = parsed.get("action")
    raw_scopes = parsed.get("scopes")
    scopes = (
        tuple(s for s in FULL_SCOPES if isinstance(raw_scopes, list) and s in raw_scopes)
        or DEFAULT_SCOPES
    )
    return ApiKeys(
        lang,
        action=action if action in ("new", "list", "revoke") else "list",
        scopes=scopes,
        name=_text(parsed.get("name")) or "",
        key=_text(parsed.get("key")),
        all=parsed.get("all") is True,
    )


def _plan(lang: str, parsed: dict) -> Command:
    action = parsed.get("action")
    return Plans(
        lang,
        action=action if action in ("list", "subscribe", "cancel", "usage") else "list",
        name=_text(parsed.get("name")),
    )


def _poll(lang: str, parsed: dict) -> Command:
    action = parsed.get("action")
    return PollRequest(
        lang,
        action=action if action in ("list", "vote", "results", "export") else "list",
        poll=_seconds(parsed.get("poll")),
        option=_seconds(parsed.get("option")),
    )


def _reminders(lang: str, parsed: dict) -> Command:
    action = parsed.get("action")
    return Reminders(
        lang,
        action="cancel" if action == "cancel" else "list",
        number=_seconds(parsed.get("number")),
        about=_text(parsed.get("about")),
        all=parsed.get("all") is True,
    )


def _calendar(lang: str, parsed: dict) -> Command:
    action = parsed.get("action")
    channel = parsed.get("channel")
    return Calendar(
        lang,
        action=action
        if action in ("connect", "list", "disconnect", "export", "defaults")
        else "list",
        url=_text(parsed.get("url")),
        username=_text(parsed.get("username")),
        password=_text(parsed.get("password")),
        minutes=_seconds(parsed.get("minutes")),
        channel=channel if channel in ("call", "message") else None,
        number=_seconds(parsed.get("number")),
    )


# Intents of one slot, each read by its function.
_ONE_SLOT: dict[str, Callable[[str, dict], Command]] = {
    "set_number": _set_number,
    "softphone": _softphone,
    "caller_id": _caller_id,
    "record_calls": _record_calls,
    "recordings": _recordings,
    "recording_key": _recording_key,
    "link_wallet": _link_wallet,
    "api_key": _api_key,
    "plan": _plan,
    "poll": _poll,
    "reminders": _reminders,
    "calendar": _calendar,
}


def command_of(parsed: dict) -> Command:
    """The typed command of a parse result (the SCHEMA.md object); unknown keys are ignored.

    Never raises: a result of an unknown intent, or with slots of the wrong type, reads
    as `Unknown` or as the slot being absent.
    """
    intent = parsed.get("intent")
    raw_lang = parsed.get("lang")
    lang = raw_lang if isinstance(raw_lang, str) else "en"
    match intent:
        case "call":
            return Call(
                lang=lang,
                to=_text(parsed.get("to")),
                source=_text(parsed.get("from")),
                dtmf=_digits(parsed.get("dtmf")),
                anonymous=bool(parsed.get("anonymous")),
                record=bool(parsed.get("record")),
                at=_moment(parsed.get("at")),
            )
        case "remind":
            channel: Channel = "call" if parsed.get("channel") == "call" else "message"
            raw_text = parsed.get("text")
            text = raw_text if isinstance(raw_text, str) else ""
            return Remind(
                lang=lang,
                at=_moment(parsed.get("at")),
                channel=channel,
                text=text,
                repeat=_text(parsed.get("repeat")),
                error=_text(parsed.get("error")),
                repeat_error=_text(parsed.get("repeat_error")),
            )
        case "forward":
            days = parsed.get("days")
            return Forward(
                lang=lang,
                to=_text(parsed.get("to")),
                days=tuple(days) if isinstance(days, list) and days else None,
                start=_text(parsed.get("start")),
                end=_text(parsed.get("end")),
                caller=_text(parsed.get("caller")),
                ring=_seconds(parsed.get("ring")),
                then=_follow_me(parsed.get("then")),
            )
        case "deposit":
            return Deposit(lang, _amount(parsed.get("amount")), _text(parsed.get("asset")))
        case "withdraw":
            return Withdraw(
                lang,
                _amount(parsed.get("amount")),
                _text(parsed.get("asset")),
                _text(parsed.get("address")),
            )
    if not isinstance(intent, str):  # never hashed: a list or a dict is no intent
        intent = "unknown"
    if intent in _ONE_SLOT:
        return _ONE_SLOT[intent](lang, parsed)
    simple = {
        cls.intent: cls
        for cls in (
            Help,
            Balance,
            History,
            Extension,
            Hangup,
            ForwardOff,
            Numbers,
            MyData,
            ForgetMe,
        )
    }
    if intent in simple:
        return simple[intent](lang)
    return Unknown(
        lang,
        _text(parsed.get("error")),
        negated=parsed.get("negated") is True,
        negated_intent=_text(parsed.get("negated_intent")),
    )
