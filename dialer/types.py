"""The dialer's public data: configuration, requests, events, results and its error."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from dialer.dialogs import LegDialog
from domain.clock import utcnow
from domain.numbers import is_dialable

DTMF_CHARACTERS = set("0123456789*#ABCDabcd,")

# Events (DialerEvent.event) are `domain.calls.LegEvent` members; causes
# (DialerEvent.cause, CallSummary.cause) are `domain.calls.HangupCause` members.


class DialerError(Exception):
    """The dialer cannot do what was asked; the message says why (no secrets)."""


def check_number(number: str) -> str:
    """Return `number` if it is E.164 with + or an extension of digits; else DialerError."""
    if not is_dialable(number):
        raise DialerError(
            f"bad number {number!r}: use E.164 with + (e.g. +33612345678) or extension digits"
        )
    return number


@dataclass(frozen=True)
class SipConfig:
    """How to reach the SIP server and where our side listens."""

    server: str
    user: str
    password: str = field(repr=False)
    port: int = 5060
    local_ip: str = "127.0.0.1"
    local_port: int = 5070
    rtp_ports: tuple[int, int] = (40000, 40999)
    strip_plus: bool = False
    dial_prefix: str = ""
    ring_timeout: int = 30
    register_seconds: int = 120
    start_timeout: float = 10.0

    @classmethod
    def from_settings(cls, settings: Any) -> SipConfig:
        """Build from `settings.Settings` (SIP_* names); DialerError when SIP is not set up."""
        missing = [
            name
            for name in ("SIP_SERVER", "SIP_USER", "SIP_PASSWORD")
            if not getattr(settings, name)
        ]
        if missing:
            raise DialerError(f"SIP is not configured: set {', '.join(missing)}")
        return cls(
            server=settings.SIP_SERVER,
            user=settings.SIP_USER,
            password=settings.SIP_PASSWORD.get_secret_value(),
            port=settings.SIP_PORT,
            local_ip=settings.SIP_LOCAL_IP,
            local_port=settings.SIP_LOCAL_PORT,
            rtp_ports=settings.rtp_port_range,
            strip_plus=settings.SIP_STRIP_PLUS,
            dial_prefix=settings.SIP_DIAL_PREFIX,
            ring_timeout=settings.SIP_RING_TIMEOUT,
        )

    def dial_uri(self, number: str) -> str:
        """The request URI for a number (E.164 or extension)."""
        check_number(number)
        user = number
        if number.startswith("+"):
            user = self.dial_prefix + (number[1:] if self.strip_plus else number)
        return f"sip:{user}@{self.host_port}"

    @property
    def host_port(self) -> str:
        """The server as it appears in URIs (port left out when it is 5060)."""
        return self.server if self.port == 5060 else f"{self.server}:{self.port}"


class AudioSink(Protocol):
    """Where a recorded call's audio goes (privacy.recordings.CallRecording)."""

    def feed(self, channel: int, pcm16: bytes) -> None:
        """Audio of one channel (0: leg a, 1: leg b), 8 kHz mono S16LE, as it arrives."""


@dataclass
class CallbackRequest:
    """Ring FROM (leg a), then TO (leg b), and connect them.

    ring_timeout: seconds each leg may ring; None: the dialer's SIP_RING_TIMEOUT.
    dtmf: digits to dial on leg b once it answers, before its media is bridged (an
    extension behind a switchboard: "456", "1,,2#"): 0-9, *, #, A-D, and "," for a
    pause of one second; sent as RFC 4733 telephone-events. Leg a waits in silence
    meanwhile, and the legs are bridged after the last digit.
    """

    call_id: str
    from_number: str
    to_number: str
    to_first: bool = False
    max_seconds: int | None = None
    anonymous: bool = False
    ring_timeout: int | None = None
    dtmf: str = ""
    # A recording of the bridged call: channel 0 hears leg a, channel 1 leg b.
    recording: AudioSink | None = None
    # 8 kHz mono S16LE played to both legs once both answered, before they are bridged
    # ("this call is recorded").
    notice_pcm: bytes = b""

    def validate(self) -> None:
        """Raise DialerError for a bad number, duration or timeout."""
        check_number(self.from_number)
        check_number(self.to_number)
        if not self.call_id or len(self.call_id) > 64:
            raise DialerError("call_id must be 1-64 characters")
        if self.max_seconds is not None and self.max_seconds <= 0:
            raise DialerError("max_seconds must be positive")
        if self.ring_timeout is not None and not 1 <= self.ring_timeout <= 600:
            raise DialerError("ring_timeout must be 1-600 seconds")
        if len(self.dtmf) > 64 or not set(self.dtmf) <= DTMF_CHARACTERS:
            raise DialerError("dtmf: up to 64 of 0-9 * # A-D and , (a one-second pause)")


@dataclass(frozen=True)
class DialerEvent:
    """One transition of a call. leg: "a" (FROM side), "b" (TO side) or None (whole call).

    dialog: on `ringing` and `answered`, the leg's SIP dialog as it stands, for a
    handler that keeps it so that another process can end the leg after a crash
    (dialer.records.CallRecorder); not part of `as_dict`.
    """

    call_id: str
    event: str
    leg: str | None = None
    cause: str | None = None
    digit: str | None = None
    detail: str | None = None
    at: datetime = field(default_factory=utcnow)
    dialog: LegDialog | None = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (time as ISO 8601)."""
        data = {k: v for k, v in self.__dict__.items() if v is not None and k != "dialog"}
        data["at"] = self.at.isoformat()
        return data


@dataclass
class CallSummary:
    """How a callback ended: cause, seconds each leg was answered, whether it was bridged."""

    call_id: str
    cause: str
    a_seconds: float = 0.0
    b_seconds: float = 0.0
    bridged: bool = False
    bridged_seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "call_id": self.call_id,
            "cause": self.cause,
            "a_seconds": round(self.a_seconds, 3),
            "b_seconds": round(self.b_seconds, 3),
            "bridged": self.bridged,
            "bridged_seconds": round(self.bridged_seconds, 3),
        }


@dataclass
class AnnounceResult:
    """How an announcement call went: answered or not, cause, digits collected."""

    call_id: str
    answered: bool
    cause: str
    digits: str = ""
    seconds: float = 0.0
