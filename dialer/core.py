"""The dialer: rings two parties through the SIP server and bridges their audio.

Each call runs as one coroutine that reacts to a queue of what happened to its
legs (SIP answers, DTMF, hang-up requests) and emits a DialerEvent for every
transition. It knows nothing of chats, money or storage.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import time
import wave
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dialer import sdp
from dialer import types as t
from dialer.dialogs import (
    CONFIRMED,
    LegDialog,
    ack_for_failure,
    ack_for_success,
    bye_request,
    cancel_request,
    owner_id,
    uri_of,
)
from dialer.rtp import MediaLeg, PortPool
from dialer.sdp import MediaOffer, SdpError, parse_audio
from dialer.sip_rfcvoip import Outgoing, SipMessage, SipSignalling, route_set
from dialer.types import (
    AnnounceResult,
    AudioSink,
    CallbackRequest,
    CallSummary,
    DialerError,
    DialerEvent,
    SipConfig,
)
from domain.calls import HangupCause, LegEvent
from domain.logcontext import in_call

log = logging.getLogger(__name__)

EventHandler = Callable[[DialerEvent], Awaitable[None] | None]
CANCEL_GRACE = 5.0  # seconds to wait for the 487 after a CANCEL
SIP_CAUSES = {
    404: HangupCause.NOT_FOUND,
    484: HangupCause.NOT_FOUND,
    604: HangupCause.NOT_FOUND,
    486: HangupCause.BUSY,
    600: HangupCause.BUSY,
    603: HangupCause.DECLINED,
    408: HangupCause.NO_ANSWER,
    480: HangupCause.NO_ANSWER,
}
DIALING, RINGING, ANSWERED, ENDED = "dialing", "ringing", "answered", "ended"
MIN_SESSION_EXPIRES = 90  # RFC 4028 §4: the smallest Session-Expires (Min-SE) allowed
T1, T2 = 0.5, 4.0  # RFC 3261 §17.1.1.1 timers: first retransmission, largest interval


def cause_of(status: int) -> str:
    """The dialer's cause for a final SIP answer of 300 or more."""
    return SIP_CAUSES.get(status, HangupCause.FAILED)


@dataclass
class _Leg:
    name: str  # "a" or "b"
    number: str
    call: _Call
    media: MediaLeg | None = None
    outgoing: Outgoing | None = None
    state: str = "new"
    seen: str = "new"  # the last state reported by an event
    cause: str | None = None
    cancel_cause: str | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    answer: SipMessage | None = None  # the 2xx that answered our INVITE
    sdp_session: tuple[str, str, int] | None = None  # o= of our SDP: user, id, version
    last_sdp: bytes = b""

    @property
    def live(self) -> bool:
        return self.state in (DIALING, RINGING, ANSWERED)

    def seconds(self) -> float:
        if self.answered_at is None:
            return 0.0
        return max(0.0, (self.ended_at or time.monotonic()) - self.answered_at)


@dataclass
class _Call:
    call_id: str
    on_event: EventHandler | None
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)
    legs: dict[str, _Leg] = field(default_factory=dict)
    cause: str | None = None
    bridged_at: float | None = None
    bridge_ended_at: float | None = None
    max_deadline: float | None = None
    max_seconds: int | None = None
    digits: list[str] = field(default_factory=list)

    def end_cause(self, cause: str) -> None:
        self.cause = self.cause or cause


class Dialer:
    """Places callbacks and announcements through one SIP account."""

    def __init__(self, config: SipConfig) -> None:
        self.config = config
        self.signalling = SipSignalling(config, self._on_sip)
        self.ports = PortPool(config.local_ip, *config.rtp_ports)
        self._legs: dict[str, _Leg] = {}  # by SIP Call-ID
        self._early: dict[str, list[SipMessage]] = {}
        self._calls: dict[str, _Call] = {}
        self._started = False
        self._unacked: dict[tuple[str, int], asyncio.Task] = {}  # our 2xx, until ACKed
        self._recovering: dict[str, _Ending] = {}  # by SIP Call-ID
        self.owner = owner_id()

    @property
    def registered(self) -> bool:
        """True while our registration with the SIP server is current."""
        return self._started and self.signalling.registered

    @property
    def active_calls(self) -> list[str]:
        """Ids of the calls in progress."""
        return list(self._calls)

    async def start(self) -> None:
        """Register with the SIP server; DialerError for wrong credentials or no server."""
        if self._started:
            return
        await self.signalling.start()
        self._started = True
        log.info("registered as %s at %s", self.config.user, self.config.host_port)

    async def stop(self) -> None:
        """Hang up every call in progress, unregister and close."""
        for call in list(self._calls.values()):
            call.queue.put_nowait(("hangup", None, HangupCause.SHUTDOWN))
        for _ in range(100):
            if not self._calls:
                break
            await asyncio.sleep(0.05)
        if self._started:
            self._started = False
            await self.signalling.stop()

    async def hangup(self, call_id: str) -> bool:
        """End a call in progress (the user said "hang up"); False if there is none."""
        call = self._calls.get(call_id)
        if call is None:
            return False
        call.queue.put_nowait(("hangup", None, HangupCause.HANGUP))
        return True

    # ---- callbacks -------------------------------------------------------------------

    @in_call("request.call_id")  # its log lines carry the call id (ops/logs.py)
    async def callback(
        self, request: CallbackRequest, on_event: EventHandler | None = None
    ) -> CallSummary:
        """Ring FROM, then TO (or the other way round with to_first), bridge, and wait
        until the call ends. Returns how it ended."""
        request.validate()
        self._require_started()
        call = self._new_call(request.call_id, on_event, request.max_seconds)
        call.legs["a"] = _Leg("a", request.from_number, call)
        call.legs["b"] = _Leg("b", request.to_number, call)
        ring = request.ring_timeout or self.config.ring_timeout
        first, second = (
            (call.legs["b"], call.legs["a"])
            if request.to_first
            else (
                call.legs["a"],
                call.legs["b"],
            )
        )
        try:
            if await self._ring(call, first, ring, anonymous=False, caller=None) and (
                await self._dial_digits(call, first, request.dtmf)
            ):
                caller = request.from_number
                if await self._ring(
                    call, second, ring, anonymous=request.anonymous, caller=caller
                ) and await self._dial_digits(call, second, request.dtmf):
                    if await self._notice(call, first, second, request.notice_pcm):
                        await self._bridge(call, first, second, request.recording)
            await self._end_all(call, call.cause or HangupCause.FAILED)
            return await self._finish(call)
        finally:
            self._release(call)

    @in_call("call_id")
    async def announce(
        self,
        number: str,
        wav_path: str | Path,
        *,
        collect_digits: int = 0,
        timeout: float = 60,
        call_id: str,
        on_event: EventHandler | None = None,
    ) -> AnnounceResult:
        """Ring `number`, play the WAV (8 kHz mono S16LE) when answered, collect up to
        `collect_digits` DTMF digits within `timeout` seconds, then hang up."""
        t.check_number(number)
        pcm = _read_pcm(wav_path)
        self._require_started()
        call = self._new_call(call_id, on_event, None)
        leg = call.legs["a"] = _Leg("a", number, call)
        deadline = time.monotonic() + timeout
        try:
            ring = min(self.config.ring_timeout, max(1, int(timeout)))
            if await self._ring(call, leg, ring, anonymous=False, caller=None):
                assert leg.media is not None
                player = leg.media.play(pcm)
                # Wake the call's loop when the playback ends (it waits on the queue).
                player.add_done_callback(lambda _task: call.queue.put_nowait(("played", leg, None)))
                if collect_digits <= 0:
                    await self._pump(call, deadline, until=lambda: player.done())
                    call.end_cause(
                        HangupCause.COMPLETED if player.done() else HangupCause.MAX_DURATION
                    )
                else:
                    await self._pump(
                        call, deadline, until=lambda: len(call.digits) >= collect_digits
                    )
                    call.end_cause(
                        HangupCause.COMPLETED
                        if len(call.digits) >= collect_digits
                        else HangupCause.NO_ANSWER
                    )
            await self._end_all(call, call.cause or HangupCause.FAILED)
            await self._drain(call)
            await self._emit(call, LegEvent.ENDED, cause=call.cause)
            return AnnounceResult(
                call_id=call_id,
                answered=leg.answered_at is not None,
                cause=call.cause or HangupCause.FAILED,
                digits="".join(call.digits[: collect_digits or None]),
                seconds=leg.seconds(),
            )
        finally:
            self._release(call)

    # ---- call steps ------------------------------------------------------------------

    def _require_started(self) -> None:
        if not self._started:
            raise DialerError("the dialer is not started")

    def _new_call(self, call_id: str, on_event: EventHandler | None, max_seconds: int | None):
        if call_id in self._calls:
            raise DialerError(f"call {call_id} is already in progress")
        call = _Call(call_id, on_event, max_seconds=max_seconds)
        self._calls[call_id] = call
        return call

    async def _ring(
        self, call: _Call, leg: _Leg, ring_timeout: float, *, anonymous: bool, caller: str | None
    ) -> bool:
        """Dial one leg and wait until it answers (True) or fails, or the call ends (False)."""
        try:
            leg.media = MediaLeg(
                asyncio.get_running_loop(),
                self.ports.bind(),
                on_digit=functools.partial(_queue_digit, call, leg),
            )
            leg.state = DIALING
            from_header, headers = self._identity(caller, anonymous)
            leg.outgoing = await self.signalling.invite(
                self.config.dial_uri(leg.number),
                leg.media.port,
                from_header=from_header,
                headers=headers,
            )
        except (OSError, TimeoutError, DialerError, RuntimeError) as error:
            log.warning("call %s: could not dial leg %s: %s", call.call_id, leg.name, error)
            leg.state, leg.cause = ENDED, HangupCause.FAILED
            await self._emit(
                call,
                LegEvent.ENDED,
                leg=leg.name,
                cause=HangupCause.FAILED,
                detail=str(error)[:200],
            )
            call.end_cause(HangupCause.FAILED)
            return False
        self._legs[leg.outgoing.call_id] = leg
        for message in self._early.pop(leg.outgoing.call_id, []):
            self._on_sip(message)
        ring_deadline = time.monotonic() + ring_timeout
        await self._pump(call, ring_deadline, until=lambda: leg.seen in (ANSWERED, ENDED))
        if leg.seen == ANSWERED and leg.state == ANSWERED and call.cause is None:
            return True
        if leg.live:
            cause = call.cause or (
                HangupCause.MAX_DURATION if self._past(call.max_deadline) else HangupCause.NO_ANSWER
            )
            await self._end_leg(call, leg, cause)
        call.end_cause(leg.cause or HangupCause.FAILED)
        return False

    def _identity(self, caller: str | None, anonymous: bool) -> tuple[str | None, list[str]]:
        """From and privacy headers for a leg: the requester's number as caller ID, or
        withheld (RFC 3323/3325) with the identity asserted only to the server."""
        if caller is None:
            return None, []
        asserted = f"<{self.config.dial_uri(caller)}>"
        if anonymous:
            return (
                '"Anonymous" <sip:anonymous@anonymous.invalid>',
                [f"P-Asserted-Identity: {asserted}", "Privacy: id"],
            )
        return asserted, [f"P-Asserted-Identity: {asserted}"]

    async def _dial_digits(self, call: _Call, leg: _Leg, digits: str) -> bool:
        """Send `digits` to leg b once it has answered, before it is bridged (an
        extension behind a switchboard); True when the call goes on."""
        if leg.name != "b" or not digits or leg.media is None:
            return True
        sender = asyncio.ensure_future(leg.media.send_digits(digits))
        sender.add_done_callback(lambda _task: call.queue.put_nowait(("played", leg, None)))
        try:
            await self._pump(call, None, until=sender.done)
        finally:
            sender.cancel()
        if sender.done() and not sender.cancelled() and sender.result() is False:
            log.warning("call %s: leg b takes no telephone-event: digits not sent", call.call_id)
        return call.cause is None and leg.state == ANSWERED

    async def _notice(self, call: _Call, first: _Leg, second: _Leg, pcm16: bytes) -> bool:
        """Play `pcm16` to both answered legs at once ("this call is recorded"); False if
        the call ended meanwhile."""
        if not pcm16:
            return True
        assert first.media is not None and second.media is not None
        players = [first.media.play(pcm16), second.media.play(pcm16)]
        for player in players:
            player.add_done_callback(lambda _task: call.queue.put_nowait(("played", None, None)))
        try:
            await self._pump(call, None, until=lambda: all(p.done() for p in players))
        finally:
            for player in players:
                player.cancel()
        return call.cause is None and first.live and second.live

    async def _bridge(
        self, call: _Call, first: _Leg, second: _Leg, recording: AudioSink | None = None
    ) -> None:
        assert first.media is not None and second.media is not None
        if recording is not None:
            # Channel 0 is leg a, whichever leg rang first.
            legs = (first, second) if first.name == "a" else (second, first)
            for channel, leg in enumerate(legs):
                assert leg.media is not None
                leg.media.tap = functools.partial(recording.feed, channel)
        first.media.bridge(second.media)
        call.bridged_at = time.monotonic()
        await self._emit(call, LegEvent.BRIDGED)
        try:
            await self._pump(call, None, until=lambda: not (first.live and second.live))
        finally:
            call.bridge_ended_at = time.monotonic()
            first.media.unbridge()
            first.media.tap = second.media.tap = None

    async def _pump(
        self, call: _Call, deadline: float | None, *, until: Callable[[], bool]
    ) -> None:
        """Handle what happens to the call until `until()` holds, the deadline (or the
        call's maximum duration) passes, or the call is asked to end."""
        while not until():
            limits = [d for d in (deadline, call.max_deadline) if d is not None]
            wait = None if not limits else min(limits) - time.monotonic()
            if wait is not None and wait <= 0:
                if self._past(call.max_deadline):
                    call.end_cause(HangupCause.MAX_DURATION)
                return
            try:
                item = await asyncio.wait_for(call.queue.get(), wait)
            except TimeoutError:
                continue
            if item[0] == "hangup":
                call.end_cause(item[2])
                return
            await self._handle(call, *item)
            if call.cause is not None:
                return

    async def _handle(self, call: _Call, kind: str, leg: _Leg, value: Any) -> None:
        """Report one thing that happened to a leg."""
        if kind == "played":
            return  # only wakes `_pump` to look at its condition again
        if kind == "dtmf":
            call.digits.append(value)
            await self._emit(call, LegEvent.DTMF, leg=leg.name, digit=value)
        elif kind == "ringing":
            leg.seen = RINGING
            await self._emit(call, LegEvent.RINGING, leg=leg.name, dialog=self._dialog(leg))
        elif kind == "answered":
            leg.seen = ANSWERED
            if call.max_seconds and call.max_deadline is None:
                call.max_deadline = time.monotonic() + call.max_seconds
            await self._emit(call, LegEvent.ANSWERED, leg=leg.name, dialog=self._dialog(leg))
        elif kind == "ended" and leg.seen != ENDED:
            leg.seen = ENDED
            await self._emit(call, LegEvent.ENDED, leg=leg.name, cause=leg.cause, detail=value)
            if leg.cause in (HangupCause.HANGUP_A, HangupCause.HANGUP_B):
                call.end_cause(leg.cause)

    def _dialog(self, leg: _Leg) -> LegDialog | None:
        """The leg's SIP dialog as it stands, for the event handler to keep."""
        if leg.outgoing is None:
            return None
        try:
            dialog = self.signalling.dialog(leg.outgoing, leg.call.call_id, leg.name, leg.answer)
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            log.warning(
                "call %s: dialog of leg %s unreadable: %s", leg.call.call_id, leg.name, error
            )
            return None
        dialog.owner = self.owner
        return dialog

    async def _drain(self, call: _Call) -> None:
        """Report what is still queued for the call."""
        while not call.queue.empty():
            item = call.queue.get_nowait()
            if item[0] != "hangup":
                await self._handle(call, *item)

    async def _end_leg(self, call: _Call, leg: _Leg, cause: str) -> None:
        """Hang up (BYE) or cancel one leg and report it ended."""
        if not leg.live or leg.outgoing is None:
            return
        if leg.state == ANSWERED:
            await self._drain(call)  # report the answer before the end
            leg.state, leg.cause, leg.ended_at = ENDED, cause, time.monotonic()
            try:
                self.signalling.bye(leg.outgoing)
            except (OSError, RuntimeError, KeyError) as error:
                log.warning("call %s: BYE for leg %s failed: %s", call.call_id, leg.name, error)
            leg.seen = ENDED
            await self._emit(call, LegEvent.ENDED, leg=leg.name, cause=cause)
            return
        leg.cancel_cause = cause
        try:
            self.signalling.cancel(leg.outgoing)
        except (OSError, RuntimeError, KeyError) as error:
            log.warning("call %s: CANCEL for leg %s failed: %s", call.call_id, leg.name, error)
        deadline = time.monotonic() + CANCEL_GRACE
        while leg.seen != ENDED and leg.state != ANSWERED and time.monotonic() < deadline:
            try:
                item = await asyncio.wait_for(call.queue.get(), deadline - time.monotonic())
            except TimeoutError:
                break
            if item[0] != "hangup":
                await self._handle(call, *item)
        if leg.state == ANSWERED:  # the answer crossed our CANCEL
            await self._end_leg(call, leg, cause)
            return
        if leg.seen != ENDED:
            leg.state, leg.cause, leg.seen = ENDED, leg.cause or cause, ENDED
            leg.ended_at = leg.ended_at or time.monotonic()
            await self._emit(call, LegEvent.ENDED, leg=leg.name, cause=leg.cause)

    async def _end_all(self, call: _Call, cause: str) -> None:
        call.end_cause(cause)
        for leg in call.legs.values():
            await self._end_leg(call, leg, call.cause or cause)

    async def _finish(self, call: _Call) -> CallSummary:
        a, b = call.legs["a"], call.legs["b"]
        bridged_seconds = 0.0
        if call.bridged_at is not None:
            bridged_seconds = (call.bridge_ended_at or time.monotonic()) - call.bridged_at
        summary = CallSummary(
            call_id=call.call_id,
            cause=call.cause or HangupCause.FAILED,
            a_seconds=a.seconds(),
            b_seconds=b.seconds(),
            bridged=call.bridged_at is not None,
            bridged_seconds=bridged_seconds,
        )
        await self._drain(call)
        await self._emit(call, LegEvent.ENDED, cause=summary.cause)
        return summary

    def _release(self, call: _Call) -> None:
        for leg in call.legs.values():
            if leg.media is not None:
                leg.media.close()
            if leg.outgoing is not None:
                self._legs.pop(leg.outgoing.call_id, None)
                self.signalling.forget(leg.outgoing)
                for key in [k for k in self._unacked if k[0] == leg.outgoing.call_id]:
                    self._unacked.pop(key).cancel()
        self._calls.pop(call.call_id, None)

    @staticmethod
    def _past(deadline: float | None) -> bool:
        return deadline is not None and time.monotonic() >= deadline

    async def _emit(self, call: _Call, event: str, **fields: Any) -> None:
        if call.on_event is None:
            return
        item = DialerEvent(call_id=call.call_id, event=event, **fields)
        try:
            result = call.on_event(item)
            if inspect.isawaitable(result):
                await result
        except Exception:  # a broken handler must not leave a call up
            log.exception("event handler failed for call %s (%s)", call.call_id, event)

    # ---- SIP messages (on the event loop) --------------------------------------------

    def _on_sip(self, message: SipMessage) -> None:
        leg = self._legs.get(message.call_id)
        if leg is None:
            self._on_other(message)
        elif message.is_response:
            if message.method == "INVITE":
                self._on_invite_response(leg, message)
        elif message.method == "BYE":
            if leg.state == ANSWERED:
                leg.state, leg.ended_at = ENDED, time.monotonic()
                leg.cause = HangupCause.HANGUP_A if leg.name == "a" else HangupCause.HANGUP_B
                leg.call.queue.put_nowait(("ended", leg, None))
        elif message.method == "INVITE":
            self._on_reinvite(leg, message)
        elif message.method == "ACK":
            task = self._unacked.pop((message.call_id, message.cseq), None)
            if task is not None:
                task.cancel()

    def _on_other(self, message: SipMessage) -> None:
        """A message of no current leg: an answer to a leg being ended after a restart,
        or an INVITE answer that came before `invite()` returned (kept a moment)."""
        ending = self._recovering.get(message.call_id)
        if ending is not None and message.is_response:
            self._on_ending_response(ending, message)
        elif message.is_response and message.method == "INVITE":
            early = self._early.setdefault(message.call_id, [])
            if len(early) < 20 and len(self._early) < 1000:
                early.append(message)

    # ---- re-INVITEs (RFC 3261 §14.2), session timers (RFC 4028), hold (RFC 3264 §8.4) ----

    def _on_reinvite(self, leg: _Leg, message: SipMessage) -> None:
        """Answer a re-INVITE of an answered leg with 200 and the leg's SDP (the answer to
        its offer, or our offer when it made none); follow hold and resume."""
        status, headers = session_timer(message)
        offer: MediaOffer | None = None
        if status == 200 and message.body.strip():
            try:
                offer = parse_audio(message.body)
            except SdpError:
                status, headers = 488, []  # RFC 3264 §6: nothing in the offer we can take
        if status == 200 and (leg.state != ANSWERED or leg.media is None):
            status, headers = (481 if leg.state == ENDED else 491), []
        if status != 200:
            self.signalling.respond(message, status, REASONS[status], headers=headers)
            return
        assert leg.media is not None
        if offer is not None:
            leg.media.set_remote(offer)
        log.info(
            "call %s: re-INVITE of leg %s answered (%s)",
            leg.call.call_id,
            leg.name,
            offer.direction if offer is not None else "no offer",
        )
        body = self._local_sdp(leg, offer)
        data = self.signalling.respond(
            message, 200, "OK", headers=["Supported: timer", *headers], body=body
        )
        key = (message.call_id, message.cseq)
        if key not in self._unacked:
            self._unacked[key] = asyncio.ensure_future(self._until_acked(message, data))

    def _local_sdp(self, leg: _Leg, offer: MediaOffer | None) -> bytes:
        """Our SDP for the leg: the same o= session as our INVITE's, its version one up
        whenever the content changes (RFC 3264 §8)."""
        assert leg.media is not None and leg.outgoing is not None
        if leg.sdp_session is None:
            leg.sdp_session = sdp.origin(self.signalling.offer(leg.outgoing)) or ("-", "1", 1)
        user, session_id, version = leg.sdp_session
        address, port = self.config.local_ip, leg.media.port
        body = sdp.answer(address, port, offer, session=(user, session_id, version))
        unversioned = body.split(b"\r\n", 2)[2]
        if unversioned != leg.last_sdp:
            leg.last_sdp = unversioned
            leg.sdp_session = (user, session_id, version + 1)
            body = sdp.answer(address, port, offer, session=leg.sdp_session)
        return body

    async def _until_acked(self, message: SipMessage, data: bytes) -> None:
        """Send our 2xx again until its ACK comes, T1 doubling up to T2, 64*T1 in all
        (RFC 3261 §13.3.1.4)."""
        interval, waited = T1, 0.0
        try:
            while waited < 64 * T1:
                await asyncio.sleep(interval)
                waited += interval
                self.signalling.resend(message, data)
                interval = min(2 * interval, T2)
        except OSError as error:
            log.debug("2xx retransmission stopped: %s", error)
        finally:
            self._unacked.pop((message.call_id, message.cseq), None)

    def _on_invite_response(self, leg: _Leg, message: SipMessage) -> None:
        status, queue = message.status, leg.call.queue
        assert leg.outgoing is not None
        if status < 200:
            if status in (180, 183) and leg.state == DIALING:
                leg.state = RINGING
                queue.put_nowait(("ringing", leg, None))
            return
        try:
            self.signalling.ack(leg.outgoing, message)
        except (OSError, RuntimeError, KeyError) as error:
            log.warning("ACK failed for %s: %s", message.call_id, error)
        if status >= 300:
            if leg.state in (DIALING, RINGING):
                leg.state, leg.ended_at = ENDED, time.monotonic()
                leg.cause = leg.cancel_cause or cause_of(status)
                queue.put_nowait(("ended", leg, f"SIP {status}"))
            return
        if leg.state not in (DIALING, RINGING):
            if leg.state == ENDED and leg.answered_at is None:
                # answered after we gave up on it: hang up at once
                leg.answered_at = time.monotonic()
                self.signalling.bye(leg.outgoing)
            return
        try:
            offer = parse_audio(message.body)
        except SdpError as error:
            leg.state, leg.cause, leg.ended_at = ENDED, HangupCause.FAILED, time.monotonic()
            self.signalling.bye(leg.outgoing)
            queue.put_nowait(("ended", leg, str(error)))
            return
        assert leg.media is not None
        leg.media.set_remote(offer)
        leg.answer = message
        leg.state, leg.answered_at = ANSWERED, time.monotonic()
        queue.put_nowait(("answered", leg, None))

    # ---- ending the legs a stopped process left up ------------------------------------------

    async def end_dialogs(self, dialogs: list[LegDialog], timeout: float = 4.0) -> dict[str, int]:
        """End legs that another (stopped) process placed: BYE a CONFIRMED dialog
        (RFC 3261 §15.1.1), CANCEL an EARLY one (§9.1; should its 2xx cross the CANCEL,
        ACK and BYE it), each request sent again at T1, 2*T1, ... (§17.1.2.2) until
        answered or `timeout` seconds pass. Returns the final status each dialog's BYE
        or INVITE got, by SIP Call-ID (0: no answer). DialerError when not started."""
        self._require_started()
        endings = {d.sip_call_id: _Ending(d) for d in dialogs if d.sip_call_id not in self._legs}
        self._recovering.update(endings)
        deadline, interval = time.monotonic() + timeout, T1
        try:
            while time.monotonic() < deadline:
                pending = [e for e in endings.values() if not e.done]
                if not pending:
                    break
                for ending in pending:
                    self._send_ending(ending)
                await asyncio.sleep(min(interval, max(0.0, deadline - time.monotonic())))
                interval = min(2 * interval, T2)
        finally:
            for sip_call_id in endings:
                self._recovering.pop(sip_call_id, None)
        return {sip_call_id: e.status for sip_call_id, e in endings.items()}

    def _send_ending(self, ending: _Ending) -> None:
        dialog, config = ending.dialog, self.config
        try:
            if dialog.state == CONFIRMED:
                data, target = bye_request(dialog, config.local_ip, config.local_port)
                self.signalling.send_raw(data, target)
            else:
                self.signalling.send_raw(cancel_request(dialog), (config.server, config.port))
        except (OSError, ValueError) as error:
            log.warning("leg %s not ended: %s", dialog.sip_call_id, error)
            ending.done = True

    def _on_ending_response(self, ending: _Ending, message: SipMessage) -> None:
        dialog, config = ending.dialog, self.config
        if message.status < 200:
            return
        if message.method == "INVITE":
            ending.status = message.status
            if message.status >= 300:
                ack = ack_for_failure(dialog, message.header("To"))
                self.signalling.send_raw(ack, (config.server, config.port))
                ending.done = True
                return
            dialog.state, dialog.to_header = CONFIRMED, message.header("To")
            dialog.remote_target = uri_of(message.header("Contact")) or dialog.request_uri
            dialog.route_set = route_set(message.handle)
            self.signalling.send_raw(*ack_for_success(dialog, config.local_ip, config.local_port))
            self._send_ending(ending)  # and its BYE
        elif message.method == "BYE" and dialog.state == CONFIRMED:
            ending.status, ending.done = message.status, True
        elif message.method == "CANCEL" and message.status >= 300:
            ending.status, ending.done = message.status, True  # nothing left to cancel


REASONS = {
    422: "Session Interval Too Small",
    481: "Call/Transaction Does Not Exist",
    488: "Not Acceptable Here",
    491: "Request Pending",
}


@dataclass
class _Ending:
    """A leg of another process being ended (Dialer.end_dialogs)."""

    dialog: LegDialog
    status: int = 0
    done: bool = False


def session_timer(message: SipMessage) -> tuple[int, list[str]]:
    """How to answer a re-INVITE's session timer (RFC 4028 §9): (200, the headers of
    the 2xx: Session-Expires echoed with its refresher, "uac" when it named none, and
    Require: timer when the peer supports timers and refreshes), or (422, [Min-SE])
    when the interval is under 90 s. (200, []) without Session-Expires."""
    value = message.header("Session-Expires") or message.header("x")
    seconds, _, params = value.partition(";")
    if not seconds.strip().isdigit():
        return 200, []
    if int(seconds) < MIN_SESSION_EXPIRES:
        return 422, [f"Min-SE: {MIN_SESSION_EXPIRES}"]
    refresher = "uas" if "refresher=uas" in params.replace(" ", "").lower() else "uac"
    headers = [f"Session-Expires: {int(seconds)};refresher={refresher}"]
    supported = (message.header("Supported") + "," + message.header("k")).lower()
    if refresher == "uac" and "timer" in supported:
        headers.append("Require: timer")
    return 200, headers


def _read_pcm(path: str | Path) -> bytes:
    """The samples of an 8 kHz mono 16-bit WAV file; DialerError for anything else."""
    try:
        with wave.open(str(path), "rb") as source:
            shape = (source.getframerate(), source.getnchannels(), source.getsampwidth())
            if shape != (8000, 1, 2):
                raise DialerError(
                    f"{path}: need 8000 Hz mono 16-bit WAV, got {shape[0]} Hz, "
                    f"{shape[1]} channel(s), {shape[2] * 8}-bit"
                )
            return source.readframes(source.getnframes())
    except (OSError, wave.Error, EOFError) as error:
        raise DialerError(f"cannot read {path}: {error}") from None


def _queue_digit(call: _Call, leg: _Leg, digit: str) -> None:
    """A DTMF digit received on `leg`, for the call's loop."""
    call.queue.put_nowait(("dtmf", leg, digit))
