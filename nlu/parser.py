"""`parse`: one chat message to one command (the SCHEMA.md object). No I/O."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from nlu import api_keys, calendars, plans, privacy, reminders, slots
from nlu import intents as cues
from nlu.fallback import dateparser_time
from nlu.lang import detect
from nlu.message import Message, prepare
from nlu.money import find_amount, find_asset
from nlu.negation import negated, negated_at
from nlu.polls import request_of as poll_request
from nlu.recurrence import ERRORS, NO_SUCH_TIME, find_repeat, first_at, impossible_time
from nlu.schedule import find_days, find_hours
from nlu.times import TimeResult, find_time


def _mdy(lang: str, tzname: str) -> bool:
    """Whether "3/4" is March 4th: English in an American zone."""
    return lang == "en" and tzname.startswith("America/")


@lru_cache(maxsize=512)
def zone(name: str | None) -> tzinfo:
    """The tzinfo for an IANA name; raises ValueError when unknown."""
    if name is None or name == "":
        return UTC
    if not isinstance(name, str) or len(name) > 64 or "\x00" in name:
        raise ValueError(f"unknown time zone: {name!r}")
    if name.upper() in ("UTC", "Z", "GMT"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(f"unknown time zone: {name!r}") from exc


def resolve_now(now: datetime | str | None, tz: tzinfo) -> datetime:
    """`now` as an aware datetime in `tz` (naive means local time in `tz`)."""
    if now is None:
        return datetime.now(tz).replace(microsecond=0)
    if isinstance(now, str):
        s = now.strip()
        if s.endswith(("Z", "z")):
            s = s[:-1] + "+00:00"
        now = datetime.fromisoformat(s)
    if not isinstance(now, datetime):
        raise ValueError(f"bad moment: {now!r}")
    if now.tzinfo is None:
        return now.replace(tzinfo=tz)
    return now.astimezone(tz)


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.isoformat()


def _when(msg: Message, c: str, now: datetime, lang: str, tzname: str) -> TimeResult:
    res = find_time(c, now, lang, _mdy(lang, tzname), msg.original)
    if res.at is None:
        res = dateparser_time(c, now, lang) or res
    return res


def parse(
    text: str, now: datetime | None = None, tz: str = "UTC", region: str | None = None
) -> dict:
    """Parse one chat message into the SCHEMA.md command object; never raises."""
    try:
        return _parse(text, now, tz, region)
    except ValueError as exc:
        return {"intent": "unknown", "lang": "en", "error": str(exc)}
    except Exception as exc:
        return {"intent": "unknown", "lang": "en", "error": f"internal error: {type(exc).__name__}"}


@dataclass
class _Request:
    """One message being parsed: the message, its language, moment and time zone name."""

    msg: Message
    lang: str
    moment: datetime
    tzname: str
    _when: TimeResult | None = None

    def when(self) -> TimeResult:
        """The time read from the message (read once, on first use)."""
        if self._when is None:
            self._when = _when(self.msg, self.msg.c, self.moment, self.lang, self.tzname)
        return self._when


def _call_slots(req: _Request) -> dict:
    msg, c = req.msg, req.msg.c
    to, frm = slots.call_parties(msg)
    out = {
        "to": to,
        "from": frm,
        "dtmf": slots.extension_of(msg, to),
        "anonymous": slots.flag(c, cues.ANON),
        "record": slots.flag(c, cues.RECORD),
        "at": _iso(req.when().at),
    }
    if to is None:
        bad = any(p.e164 is None for p in msg.phones)
        out["error"] = "the number is not valid" if bad else "no number to call"
    return out


def _remind_slots(req: _Request) -> dict:
    msg, c = req.msg, req.msg.c
    channel = "message"
    if (cues.CALL_ME.search(c) or cues.WAKE.search(c)) and not cues.BY_MESSAGE.search(c):
        channel = "call"
    mdy = _mdy(req.lang, req.tzname)
    rep = find_repeat(
        c, req.moment, lambda t: find_time(t, req.moment, req.lang, mdy, msg.original)
    )
    if rep is None:
        w = req.when()
        bad = impossible_time(_blanked(c, w.spans))
        text = slots.reminder_text(msg, [*w.spans, *([bad] if bad else [])])
        if bad is not None:  # "tomorrow at 25:00": asked again, never stored at 09:00
            out = {"at": None, "channel": channel, "text": text, "repeat": None}
            return {**out, "error": ERRORS[NO_SUCH_TIME]}
        return {"at": _iso(w.at), "channel": channel, "text": text, "repeat": None}
    # The rule's words are blanked (same length) before the time reader reads the rest.
    w = _when(msg, rep.blank(c), req.moment, req.lang, req.tzname)
    if rep.error is None and (bad := impossible_time(_blanked(rep.blank(c), w.spans))):
        rep.error = NO_SUCH_TIME
        rep.spans.append(bad)
    spans = [*w.spans, *rep.spans, *((s, e) for s, e, _ in rep.hints)]
    text = slots.reminder_text(msg, spans)
    at = first_at(rep, w, req.moment) if rep.error is None else None
    if rep.error is not None:  # read, or found by `first_at` (the end has passed)
        out = {"at": None, "channel": channel, "text": text, "repeat": None}
        return {**out, "error": ERRORS[rep.error], "repeat_error": rep.error}
    return {"at": _iso(at), "channel": channel, "text": text, "repeat": rep.rule}


def _blanked(c: str, spans: list[tuple[int, int]]) -> str:
    """`c` with the `spans` blanked (same length)."""
    for s, e in spans:
        c = c[:s] + " " * (e - s) + c[e:]
    return c


def _forward_slots(req: _Request) -> dict:
    chain = slots.forward_chain(req.msg)
    c = slots.without_durations(req.msg.c)
    start, end = find_hours(c)
    return {
        "to": chain.to,
        "days": find_days(c),
        "start": start,
        "end": end,
        "caller": chain.caller,
        "ring": chain.ring,
        "then": [{"to": number, "ring": seconds} for number, seconds in chain.then],
    }


def _deposit_slots(req: _Request) -> dict:
    low = req.msg.low_no_phones()
    asset, pos = find_asset(low)
    return {"amount": find_amount(low, req.lang, pos), "asset": asset}


def _withdraw_slots(req: _Request) -> dict:
    return {**_deposit_slots(req), "address": req.msg.address}


def _set_number_slots(req: _Request) -> dict:
    return {"number": req.msg.phones[0].e164 if req.msg.phones else None}


def _softphone_slots(req: _Request) -> dict:
    c = req.msg.c
    reset = bool(cues.PASSWORD_RESET.search(c)) and not negated(c, (cues.PASSWORD_RESET,))
    return {"reset": reset}


# "Stop hiding my number", "arrête de masquer mon numéro", "перестань скрывать номер":
# the words before a hiding verb that undo it (with nlu.negation's "don't", "ne pas", "не").
_UNDONE = re.compile(
    r"\b(?:no\s+longer|quit|arret\w*\s+de|cess\w*\s+de|перестан\w*|хватит|прекрат\w*)\s+$"
)


def _caller_id_slots(req: _Request) -> dict:
    c = req.msg.c

    def done(m: re.Match[str]) -> bool:
        undone = _UNDONE.search(c[max(0, m.start() - 30) : m.start()])
        return not undone and not negated_at(c, m.start(), m.end())

    hide = any(done(m) for m in cues.ANON.finditer(c))
    # "ne pas afficher mon numéro", "don't display my number": not showing it is hiding it
    if not cues.ANON.search(c):
        hide = any(not done(m) for m in cues.SHOW_NUMBER.finditer(c))
    return {"hide": hide}


def _record_calls_slots(req: _Request) -> dict:
    return {"on": privacy.recording_on(req.msg.c)}


def _recordings_slots(req: _Request) -> dict:
    return {"delete": privacy.delete_asked(req.msg.c)}


def _recording_key_slots(req: _Request) -> dict:
    return {"new": privacy.new_key_asked(req.msg.c)}


def _link_wallet_slots(req: _Request) -> dict:
    msg = req.msg
    signature, public_key = privacy.proof(msg.blobs)
    address = msg.address
    if address is None and signature is None and public_key is None:
        address = privacy.address_tried(msg.raw)
    return {"address": address, "signature": signature, "public_key": public_key}


def _api_key_slots(req: _Request) -> dict:
    msg, c = req.msg, req.msg.c
    low = msg.low_no_urls()
    span = api_keys.key_id_span(low)
    key = low[span[0] : span[1]] if span else None
    action = api_keys.action_of(c, key)
    out: dict = {
        "action": action,
        "scopes": list(api_keys.scopes_of(c)) if action == "new" else None,
        "name": api_keys.name_of(msg.raw, low) if action == "new" else None,
        "key": key,
        "all": action == "revoke" and key is None and api_keys.all_asked(c),
    }
    if span is not None:  # the id's letters are no words: the language of the others
        rest = prepare(msg.raw[: span[0]] + " " + msg.raw[span[1] :], None)
        out["lang"] = detect(rest.raw, rest.words)[0]
    return out


def _plan_slots(req: _Request) -> dict:
    action = plans.action_of(req.msg.c)
    return {"action": action, "name": plans.name_of(req.msg.raw) if action == "subscribe" else None}


def _reminders_slots(req: _Request) -> dict:
    c = req.msg.c
    action = reminders.action_of(c) or "list"
    if action == "list":
        return {"action": "list", "number": None, "about": None, "all": False}
    low = req.msg.low_no_urls()
    number = reminders.number_of(low)
    about = reminders.about_of(req.msg, low, number)
    everything = reminders.all_asked(c, about, number)
    return {"action": action, "number": number, "about": about, "all": everything}


def _calendar_slots(req: _Request) -> dict:
    msg, c = req.msg, req.msg.c
    action = calendars.action_of(msg) or "list"
    user, password = calendars.credentials_of(msg)
    return {
        "action": action,
        "url": calendars.url_of(msg),
        "username": user,
        "password": password,
        "minutes": calendars.minutes_of(c),
        "channel": calendars.channel_of(c),
        "number": calendars.number_of(c) if action == "disconnect" else None,
    }


def _unknown_slots(req: _Request) -> dict:
    return {"error": "not understood"}


# The slots of each intent that has any, in the order SCHEMA.md lists them.
_SLOTS: dict[str, Callable[[_Request], dict]] = {
    "call": _call_slots,
    "remind": _remind_slots,
    "forward": _forward_slots,
    "deposit": _deposit_slots,
    "withdraw": _withdraw_slots,
    "set_number": _set_number_slots,
    "softphone": _softphone_slots,
    "caller_id": _caller_id_slots,
    "record_calls": _record_calls_slots,
    "recordings": _recordings_slots,
    "recording_key": _recording_key_slots,
    "link_wallet": _link_wallet_slots,
    "api_key": _api_key_slots,
    "plan": _plan_slots,
    "reminders": _reminders_slots,
    "calendar": _calendar_slots,
    "unknown": _unknown_slots,
}


def _reply_without_words(c: str, lang: str) -> dict:
    """The answer to a message with neither words nor phone numbers ("?" asks for help)."""
    if c.strip().strip("?").strip() == "" and "?" in c:
        return {"intent": "help", "lang": lang}
    err = "empty message" if not c.strip() else "no words in the message"
    return {"intent": "unknown", "lang": lang, "error": err}


def _intent(req: _Request) -> tuple[str, str | None]:
    """The intent of the message, and the intent it asks not to be done when it does so
    ("don't call +X": ("unknown", "call")); a negated intent is never the intent."""
    c = req.msg.c
    has_time = bool(cues.TIME_CUES.search(c)) and req.when().at is not None
    n_phones = len(req.msg.phones)
    intent = cues.classify(c, n_phones, has_time, msg=req.msg)
    refused: list[str] = []
    while intent in cues.NEGATABLE and negated(c, cues.NEGATABLE[intent]):
        refused.append(intent)
        intent = cues.classify(c, n_phones, has_time, frozenset(refused), req.msg)
    return intent, (refused[0] if refused and intent == "unknown" else None)


def _parse(text: str, now: datetime | None, tz: str, region: str | None) -> dict:
    tzi = zone(tz)
    moment = resolve_now(now, tzi)
    if region is not None and not isinstance(region, str):
        region = None
    msg = prepare(text, region)
    lang, _ = detect(msg.raw, msg.words)
    c = msg.c
    if not msg.words and not msg.phones and not msg.blob_spans and not msg.url_spans:
        return _reply_without_words(c, lang)
    # The votes' words are the chat's commands (bot.features.polls): matched as written.
    if (poll := poll_request(text)) is not None:
        return {"intent": "poll", **poll}
    req = _Request(msg, lang, moment, str(tz or "UTC"))
    intent, refused = _intent(req)
    out: dict = {"intent": intent, "lang": lang}
    if refused is not None:
        return {**out, "negated": True, "negated_intent": refused, "error": "negated request"}
    if intent in _SLOTS:
        out.update(_SLOTS[intent](req))
    return out
