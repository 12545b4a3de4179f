"""Calls: their kinds, states, leg events and hang-up causes.

String enums: each member equals its value, which is what the call records store
(`call_records.kind`, `.state`, `.hangup_cause`, `call_events.event`) and what the
dialer reports, so a member can be compared with a stored string either way.
"""

from __future__ import annotations

from enum import StrEnum


class CallKind(StrEnum):
    """Why a call exists (who asked for it, who pays)."""

    CALLBACK = "callback"  # asked for in the chat: two legs bridged, billed
    VERIFICATION = "verification"  # own-number verification by DTMF, free
    REMINDER = "reminder"  # a reminder spoken on the user's phone, free
    INTERNAL = "internal"  # between two extensions of the exchange, free
    OUTBOUND = "outbound"  # from a phone of the exchange to an outside number, billed
    INBOUND = "inbound"  # from the trunk to a direct number; billed when forwarded outside
    TWO_FACTOR = "two_factor"  # a 2FA code of the API (POST /verify), paid per verification


class CallState(StrEnum):
    """Where a call record is in its life (`call_records.state`)."""

    CREATED = "created"  # authorised or about to be, not ringing yet
    SCHEDULED = "scheduled"  # stored to be placed at `scheduled_at`
    RINGING = "ringing"
    ANSWERED = "answered"
    BRIDGED = "bridged"
    ENDED = "ended"  # final: `hangup_cause` says why


class LegEvent(StrEnum):
    """What happens to one leg (`DialerEvent.event`, `call_events.event`)."""

    RINGING = "ringing"
    ANSWERED = "answered"
    BRIDGED = "bridged"
    DTMF = "dtmf"
    ENDED = "ended"


class HangupCause(StrEnum):
    """Why a call or a leg ended (SIP status codes per RFC 3261 §21)."""

    BUSY = "busy"  # 486, 600
    DECLINED = "declined"  # 603
    NOT_FOUND = "not_found"  # 404, 604, 484
    NO_ANSWER = "no_answer"  # ring timeout, 408, 480
    FAILED = "failed"  # any other failure of a leg or of the SIP server
    HANGUP_A = "hangup_a"  # the A side hung up
    HANGUP_B = "hangup_b"  # the B side hung up
    HANGUP = "hangup"  # the user asked to end the call
    MAX_DURATION = "max_duration"  # the hard limit of the call was reached
    COMPLETED = "completed"  # an announcement finished normally
    SHUTDOWN = "shutdown"  # the service stopped while the call was up
    INTERRUPTED = "interrupted"  # the instance running it died: closed at its last heartbeat
    CANCELLED = "cancelled"  # a scheduled call cancelled before its time


# A call refused when it was to start is ended with the cause "refused:<fraud rule>".
REFUSED_PREFIX = "refused:"


def refused_cause(rule: str) -> str:
    """The hang-up cause of a call refused by `rule` (at most 32 characters, the column)."""
    return f"{REFUSED_PREFIX}{rule}"[:32]
