"""The status message of a call, edited in place as the call goes on.

Phases: dialing_a (ringing the requester) → dialing_b (they answered, ringing the
other party) → connected → ended (duration, cost, or why it did not connect).

Also how the calls feature shows what the user reads: amounts in the number format of
their language (`money_text`), phone numbers as people write them (`number_text`).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.assistant import Button, Reply
from bot.assistant.buttons import ButtonData
from bot.assistant.i18n import dialled_text, money_text, number_text, t
from domain.calls import REFUSED_PREFIX, HangupCause
from storage.calls import leg_seconds
from storage.models import CallRecord
from wallet.billing import Quote
from wallet.fraud import CallRefused

LIVE_PHASES = ("dialing_a", "dialing_b", "connected")
# The causes the catalogue words (`cause_<cause>`); any other reads as "failed".
KNOWN_CAUSES = frozenset(HangupCause) - {HangupCause.COMPLETED}


@dataclass(frozen=True)
class HangupData(ButtonData, prefix="hangup"):
    """The hang-up button of a call's status message."""

    call_id: str


def status_key(call_id: str) -> str:
    """The reply key of a call's status message."""
    return f"call:{call_id}"


def cause_text(lang: str, cause: str | None) -> str:
    """A call's hang-up cause in words ("the line was busy")."""
    if cause and cause.startswith(REFUSED_PREFIX):
        return t(lang, "cause_refused")
    return t(lang, f"cause_{cause}" if cause in KNOWN_CAUSES else "cause_failed")


def duration_text(lang: str, seconds: float) -> str:
    """m:ss"""
    whole = int(seconds)
    return t(lang, "duration", minutes=whole // 60, seconds=whole % 60)


def connected_seconds(call: CallRecord) -> float:
    """How long the two parties were connected (0 for a call never bridged)."""
    if call.bridged_at is None:
        return 0.0
    if call.ended_at is None:
        return max(leg_seconds(call, "a"), leg_seconds(call, "b"))
    return max(0.0, (call.ended_at - call.bridged_at).total_seconds())


def state_text(lang: str, call: CallRecord) -> str:
    """A call's outcome in words, or "in progress" while it lasts."""
    return cause_text(lang, call.hangup_cause) if call.ended_at else t(lang, "call_in_progress")


def status_reply(lang: str, call: CallRecord, phase: str, elapsed: float = 0.0) -> Reply:
    """The status message of `call` in `phase`; live phases carry a hang-up button.

    `elapsed` > 0 makes a progress update of a connected call (its running time), sent
    only where messages are edited; the first "connected" line has no running time, so
    networks that cannot edit it never show a time that stays at 0:00. The word that
    hangs up is the same in the text and on the button ("hang up", "raccroche").
    """
    if phase not in LIVE_PHASES:
        return Reply(ended_text(lang, call), key=status_key(call.id), lang=lang)
    word = t(lang, "word_hangup")
    key = f"call_status_{phase}"
    if phase == "connected" and elapsed > 0:
        key += "_time"  # "Connected with +X — 0:15"
    text = t(
        lang,
        key,
        a=number_text(call.a_number),
        b=dialled_text(lang, call.b_number, call.dtmf),
        elapsed=duration_text(lang, elapsed),
        word=word,
    )
    hang_up = Button(t(lang, "button_hangup"), HangupData(call.id).pack(), word=word)
    return Reply(text, buttons=(hang_up,), key=status_key(call.id), lang=lang, progress=elapsed > 0)


def ended_text(lang: str, call: CallRecord) -> str:
    """How an ended call went: its duration and cost, or why it did not connect."""
    cost = money_text(call.cost, call.cost_asset or "ETT", lang)
    cause = cause_text(lang, call.hangup_cause)
    if call.bridged_at is not None:
        seconds = connected_seconds(call)
        return t(
            lang,
            "call_status_ended",
            b=dialled_text(lang, call.b_number, call.dtmf),
            duration=duration_text(lang, seconds),
            cost=cost,
            cause=cause,
        )
    who = "a" if call.a_answered_at is None else "b"
    a, b = number_text(call.a_number), dialled_text(lang, call.b_number, call.dtmf)
    return t(lang, f"call_status_failed_{who}", a=a, b=b, cause=cause, cost=cost)


def refusal_reply(lang: str, refusal: CallRefused, quote: Quote | None = None) -> Reply:
    """One sentence saying why a call is refused, in the user's language."""
    values: dict[str, object] = {"number": number_text(refusal.number)}
    if refusal.rule == "insufficient_funds" and quote is not None:
        values["cost"] = money_text(quote.first_minute, "ETT", lang)
        return Reply(t(lang, "refused_insufficient_funds_quote", **values), lang=lang)
    return Reply(t(lang, f"refused_{refusal.rule}", **values), lang=lang)
