"""SIP signalling through rfcvoip, driven from asyncio. The only module that imports rfcvoip.

rfcvoip registers, parses, authenticates and builds requests; this adapter fixes
what the dialer cannot live with:
- Call-IDs and branches are random (rfcvoip derives them from a counter that
  restarts with the process);
- the route set of a record-routing proxy is followed (Route headers on ACK and
  BYE, sent to the first hop), which rfcvoip ignores;
- registration failures are kept and reported, and registration is retried for
  ever (rfcvoip stops after three failures);
- its print() output goes to the `dialer.sip` logger at DEBUG level;
- media is not rfcvoip's: the SDP offers our own RTP port, and no RTP client of
  rfcvoip is created;
- nothing a peer sends stops the receive thread: a datagram that cannot be parsed,
  or a request without a mandatory header or with a bad CSeq (RFC 3261 §8.1.1), is
  answered 400 Bad Request when it is a request with a Via (RFC 3261 §8.2.2, §16.3,
  §18.3), else dropped; any other failure while handling one message is logged and
  the thread goes on with the next;
- requests within one of our dialogs (re-INVITE, ACK) reach the dialer, which answers
  them (RFC 3261 §14.2); a new INVITE is still refused with 486.
Messages reach the dialer as `SipMessage` values, on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import rfcvoip
import rfcvoip.RTP as rfc_rtp  # noqa: N811
import rfcvoip.SIP as rfc_sip  # noqa: N811
import rfcvoip.VoIP.VoIP as rfc_voip  # noqa: N813

from dialer.dialogs import CONFIRMED, EARLY, LegDialog, uri_of
from dialer.types import DialerError, SipConfig

log = logging.getLogger("dialer.sip")


def _log_debug(message: object, error: object = None) -> None:
    if log.isEnabledFor(logging.DEBUG):
        log.debug("%s", error if error is not None else message)


for _module in (rfcvoip, rfc_sip, rfc_rtp, rfc_voip):
    setattr(_module, "debug", _log_debug)  # noqa: B010 - replaces the library's print()

OFFER: dict[Any, Any] = {
    0: rfc_rtp.PayloadType.PCMU,
    8: rfc_rtp.PayloadType.PCMA,
    101: rfc_rtp.PayloadType.EVENT,
}
MANDATORY = ("Via", "From", "To", "Call-ID", "CSeq")  # RFC 3261 §8.1.1
COMPACT = {
    "v": "via",
    "f": "from",
    "t": "to",
    "i": "call-id",
    "m": "contact",
    "l": "content-length",
}
_UNSAFE = re.compile(r"[^\x20-\x7e\t]")


@dataclass
class SipMessage:
    """What the dialer needs of a SIP message."""

    call_id: str
    is_response: bool
    status: int  # 0 for a request
    method: str  # request method, or the CSeq method of a response
    body: bytes
    handle: Any  # rfcvoip's message, for ack/bye
    cseq: int = 0

    def header(self, name: str) -> str:
        """The first value of a header field of the raw message ("" when absent)."""
        head = bytes(getattr(self.handle, "raw", b"")).split(b"\r\n\r\n", 1)[0]
        for line in head.decode("utf-8", "replace").split("\r\n")[1:]:
            key, sep, value = line.partition(":")
            if sep and key.strip().lower() == name.lower():
                return value.strip()
        return ""


@dataclass
class Outgoing:
    """An INVITE we sent: the request as rfcvoip keeps it, and its dialog data."""

    call_id: str
    request: Any
    target_uri: str


def route_set(response: Any) -> list[str]:
    """The route set of a 2xx to our INVITE: its Record-Route values, reversed (RFC 3261
    §12.1.2)."""
    raw = response.raw.decode("utf-8", "replace").split("\r\n\r\n", 1)[0]
    routes: list[str] = []
    for line in raw.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "record-route":
            routes.extend(part.strip() for part in re.split(r",(?=\s*<)", value) if part.strip())
    return list(reversed(routes))  # a UAC uses the Record-Route list in reverse


class _Client(rfc_sip.SIPClient):
    """rfcvoip's SIP client with random ids, route sets, extra INVITE headers, steady REGISTER."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.route_sets: dict[str, list[str]] = {}
        self.invite_extras = threading.local()
        self.register_error: str | None = None
        self.register_done = threading.Event()
        self.retry_seconds = 10
        self.refused = 0  # malformed datagrams answered 400 or dropped
        self.last_refusal = ""

    # ---- whatever arrives, the receive thread lives on ---------------------------------

    def recv_loop(self) -> None:
        while self.NSD:
            try:
                super().recv_loop()
                return
            except Exception:  # never let one datagram end SIP handling
                log.exception("SIP receive loop failed; it goes on")
                time.sleep(0.01)

    def recv(self) -> None:
        try:
            super().recv()
        except OSError:  # BlockingIOError included: recv_loop's business
            raise
        except Exception as error:
            self._note_refusal(f"{type(error).__name__}: {error}")

    def _message_from_raw(self, raw: bytes) -> Any:
        try:
            message = super()._message_from_raw(raw)
        except rfc_sip.SIPParseError as error:
            problem: str | None = str(error)
        except Exception as error:
            problem = f"{type(error).__name__}: {error}"
        else:
            problem = defect(message)
            if problem is None:
                return message
        problem = problem or "unreadable"
        self._refuse(raw, problem)
        raise rfc_sip.SIPParseError(problem)

    def parse_message(self, message: Any) -> None:
        try:
            if _is_request(message, "ACK") and self.phone.has_call_id(_call_id(message)):
                self.phone.dispatch(message)  # ends the retransmission of our 2xx
                return
            super().parse_message(message)
        except Exception as error:
            self._note_refusal(f"{type(error).__name__}: {error}")

    def _refuse(self, raw: bytes, problem: str) -> None:
        """Answer a malformed request 400 at its source address (RFC 3261 §18.2.2), or
        drop it."""
        self._note_refusal(problem)
        source = getattr(self.connection, "last_recv_address", None)
        response = bad_request(raw, problem, self.gen_tag())
        if response is None or source is None:
            return
        try:
            self.send_raw(response, source)
        except Exception as error:
            log.debug("400 to %s not sent: %s", source, error)

    def _note_refusal(self, problem: str) -> None:
        self.refused += 1
        self.last_refusal = problem[:200]
        log.debug("SIP message refused: %s", self.last_refusal)

    def gen_call_id(self) -> str:
        return f"{secrets.token_hex(16)}@{self.myIP}"

    def gen_tag(self) -> str:
        return secrets.token_hex(6)

    def gen_invite(self, *args: Any, **kwargs: Any) -> str:
        message = super().gen_invite(*args, **kwargs)
        from_header = getattr(self.invite_extras, "from_header", None)
        if from_header:
            message = re.sub(
                r"^From: <[^>]*>", f"From: {from_header}", message, count=1, flags=re.M
            )
        headers = getattr(self.invite_extras, "headers", None) or []
        if headers:
            extra = "".join(f"{line}\r\n" for line in headers)
            message = message.replace("\r\nContent-Type:", f"\r\n{extra}Content-Type:", 1)
        return message

    def _with_routes(self, message: str, call_id: str) -> str:
        routes = self.route_sets.get(call_id)
        if not routes:
            return message
        first_line, _, rest = message.partition("\r\n")
        lines = "".join(f"Route: {route}\r\n" for route in routes)
        return f"{first_line}\r\n{lines}{rest}"

    def gen_ack(self, request: Any, request_uri: str | None = None) -> str:
        message = super().gen_ack(request, request_uri=request_uri)
        if request.type == rfc_sip.SIPMessageType.RESPONSE and 200 <= int(request.status) < 300:
            message = self._with_routes(message, request.headers["Call-ID"])
        return message

    def gen_bye(self, request: Any) -> str:
        return self._with_routes(super().gen_bye(request), request.headers["Call-ID"])

    def _route_target(self, call_id: str) -> tuple[str, int] | None:
        routes = self.route_sets.get(call_id)
        if not routes:
            return None
        return self._sip_target_from_uri(self._extract_uri(routes[0]), self.port)

    def ack_target(self, request: Any) -> tuple[str, int]:
        return self._route_target(request.headers["Call-ID"]) or super().ack_target(request)

    def dialog_target(self, request: Any) -> tuple[str, int]:
        return self._route_target(request.headers["Call-ID"]) or super().dialog_target(request)

    def register(self) -> bool:
        ok = False
        try:
            with self.recvLock:
                ok = bool(getattr(self, "_SIPClient__register")())  # noqa: B009 - name-mangled
            self.register_error = None if ok else "the server did not accept the registration"
        except rfc_sip.InvalidAccountInfoError:
            self.register_error = "credentials"
        except Exception as error:
            self.register_error = f"{type(error).__name__}: {error}"
        self.phone._status = (
            rfc_voip.PhoneStatus.REGISTERED if ok else rfc_voip.PhoneStatus.REGISTERING
        )
        if not ok:
            log.warning("SIP registration failed: %s", self.register_error)
        self.register_done.set()
        if self.NSD:
            delay = self.default_expires - 5 if ok else self.retry_seconds
            getattr(self, "_SIPClient__start_register_timer")(delay=max(1, delay))  # noqa: B009
        return ok


class _Phone(rfc_voip.VoIPPhone):
    """rfcvoip's phone with every call-related message handed to `dispatch`."""

    sip: _Client

    def __init__(self, config: SipConfig, dispatch: Callable[[Any], None]) -> None:
        super().__init__(
            config.server,
            config.port,
            config.user,
            config.password,
            myIP=config.local_ip,
            sipPort=config.local_port,
            rtpPortLow=config.rtp_ports[0],
            rtpPortHigh=config.rtp_ports[1],
            audio_bit_depth=16,
            audio_sample_rate=8000,
            audio_channels=1,
            audio_output_mode="realtime",
        )
        self.sip = _Client(
            config.server,
            config.port,
            config.user,
            config.password,
            phone=self,
            myIP=config.local_ip,
            myPort=config.local_port,
            callCallback=self.callback,
            fatalCallback=self.fatal,
        )
        self.sip.default_expires = config.register_seconds
        self.sip.register_timeout = max(2, int(config.start_timeout))
        self.sip.invite_timeout = 8
        self.dispatch = dispatch
        self.active_call_ids: set[str] = set()

    def has_call_id(self, call_id: Any) -> bool:
        return call_id in self.active_call_ids

    def callback(self, request: Any) -> None:
        if _is_request(request, "INVITE") and not self._in_our_dialog(request):
            # Incoming calls are not handled by the dialer (yet): busy.
            self.sip.send_response(request, self.sip.gen_busy(request))
            return
        self.dispatch(request)

    def _in_our_dialog(self, request: Any) -> bool:
        """A request within one of our dialogs: our Call-ID and a To tag (RFC 3261 §12.2)."""
        to = request.headers.get("To")
        return self.has_call_id(_call_id(request)) and isinstance(to, dict) and bool(to.get("tag"))


class SipSignalling:
    """Register with the server and send and receive call signalling, from asyncio."""

    def __init__(self, config: SipConfig, on_message: Callable[[SipMessage], None]) -> None:
        self.config = config
        self.on_message = on_message
        self.loop: asyncio.AbstractEventLoop | None = None
        self.phone = _Phone(config, self._from_thread)

    def _from_thread(self, request: Any) -> None:
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        message = _view(request)
        if message is None:
            return
        try:
            loop.call_soon_threadsafe(self.on_message, message)
        except RuntimeError:  # the loop closed meanwhile
            pass

    @property
    def registered(self) -> bool:
        """True while the last registration attempt succeeded."""
        return self.phone.sip.register_error is None and self.phone.sip.register_done.is_set()

    async def start(self) -> None:
        """Open the SIP socket and register; DialerError when that fails."""
        self.loop = asyncio.get_running_loop()
        where = f"{self.config.server}:{self.config.port}"
        try:
            await asyncio.to_thread(self.phone.start)
        except OSError as error:
            raise DialerError(
                f"cannot open SIP port {self.config.local_ip}:{self.config.local_port}: "
                f"{error.strerror or error}"
            ) from None
        refusal = self.phone.sip.register_error
        if refusal is None:
            return
        await self.stop()
        if refusal == "credentials":
            raise DialerError(
                f"SIP server {where} rejected the credentials of user {self.config.user!r}: "
                "check SIP_USER and SIP_PASSWORD"
            )
        raise DialerError(f"SIP registration with {where} failed: {refusal}")

    async def stop(self) -> None:
        """Unregister and close the socket."""
        await asyncio.to_thread(self.phone.stop)

    async def invite(
        self,
        uri: str,
        rtp_port: int,
        *,
        from_header: str | None = None,
        headers: list[str] | None = None,
    ) -> Outgoing:
        """Send an INVITE offering PCMU/PCMA/telephone-event on our RTP port."""
        return await asyncio.to_thread(self._invite, uri, rtp_port, from_header, headers or [])

    def _invite(self, uri: str, rtp_port: int, from_header: str | None, headers: list[str]):
        client = self.phone.sip
        client.invite_extras.from_header = from_header
        client.invite_extras.headers = headers
        try:
            request, call_id, _session = client.invite(
                uri, {rtp_port: dict(OFFER)}, rfc_rtp.TransmitType.SENDRECV
            )
        finally:
            client.invite_extras.from_header = None
            client.invite_extras.headers = None
        self.phone.active_call_ids.add(call_id)
        pending = client.pop_pending_invite_response(call_id)
        if pending is not None:
            self._from_thread(pending)
        return Outgoing(call_id=call_id, request=request, target_uri=uri)

    def ack(self, outgoing: Outgoing, message: SipMessage) -> None:
        """Acknowledge a final answer to our INVITE (follows the route set of a 2xx)."""
        response = message.handle
        if 200 <= message.status < 300:
            routes = route_set(response)
            if routes:
                self.phone.sip.route_sets[outgoing.call_id] = routes
            outgoing.request.headers["Contact"] = response.headers.get("Contact")
            outgoing.request.headers["To"]["tag"] = response.headers["To"]["tag"]
        response._rfcvoip_invite_request_uri = outgoing.target_uri
        self.phone._send_ack(response)

    def cancel(self, outgoing: Outgoing) -> None:
        """Cancel our INVITE that was not answered yet."""
        self.phone.sip.cancel(outgoing.request)

    def bye(self, outgoing: Outgoing) -> None:
        """End an answered call."""
        self.phone.sip.bye(outgoing.request)

    def respond(
        self,
        message: SipMessage,
        status: int,
        reason: str,
        *,
        headers: list[str] | None = None,
        body: bytes = b"",
    ) -> bytes:
        """Answer a request of a peer within one of our dialogs (RFC 3261 §8.2.6: Via,
        From, To, Call-ID and CSeq copied; our Contact on a 2xx, §12.1.1). Returns the
        datagram sent, so that a 2xx can be retransmitted until its ACK (§13.3.1.4)."""
        lines = [f"SIP/2.0 {status} {reason}"]
        lines += [f"{name}: {value}" for name, value in request_lines(message.handle.raw)]
        if 200 <= status < 300:
            lines.append(
                f"Contact: <sip:{self.config.user}@{self.config.local_ip}:{self.config.local_port}>"
            )
        lines += list(headers or [])
        if body:
            lines.append("Content-Type: application/sdp")
        lines.append(f"Content-Length: {len(body)}")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
        self.resend(message, data)
        return data

    def resend(self, message: SipMessage, data: bytes) -> None:
        """Send a response (again) to where the request came from (RFC 3261 §18.2.2)."""
        client = self.phone.sip
        client.send_raw(data, client.response_target(message.handle))

    def send_raw(self, data: bytes, target: tuple[str, int]) -> None:
        """Send one datagram from our SIP port."""
        self.phone.sip.send_raw(data, target)

    @property
    def refused(self) -> int:
        """How many malformed datagrams were answered 400 or dropped so far."""
        return self.phone.sip.refused

    def offer(self, outgoing: Outgoing) -> bytes:
        """The SDP body of our INVITE."""
        return bytes(outgoing.request.raw).split(b"\r\n\r\n", 1)[-1]

    def dialog(
        self, outgoing: Outgoing, call_id: str, leg: str, answer: SipMessage | None = None
    ) -> LegDialog:
        """The dialog of our INVITE: EARLY, or CONFIRMED by `answer` (its 2xx)."""
        sent = dict(request_lines(outgoing.request.raw, first_only=True))
        dialog = LegDialog(
            sip_call_id=outgoing.call_id,
            call_id=call_id,
            leg=leg,
            state=EARLY,
            request_uri=outgoing.target_uri,
            via=sent.get("Via", ""),
            from_header=sent.get("From", ""),
            to_header=sent.get("To", ""),
            cseq=int((sent.get("CSeq", "1").split() or ["1"])[0]),
        )
        if answer is not None:
            got = dict(request_lines(answer.handle.raw, first_only=True))
            dialog.state = CONFIRMED
            dialog.to_header = got.get("To", dialog.to_header)
            dialog.remote_target = uri_of(got.get("Contact", "")) or outgoing.target_uri
            dialog.route_set = route_set(answer.handle)
        return dialog

    def forget(self, outgoing: Outgoing) -> None:
        """Drop what is kept for a finished call."""
        self.phone.active_call_ids.discard(outgoing.call_id)
        self.phone.sip.route_sets.pop(outgoing.call_id, None)
        self.phone.sip.tagLibrary.pop(outgoing.call_id, None)


def _is_request(message: Any, method: str) -> bool:
    return message.type == rfc_sip.SIPMessageType.MESSAGE and message.method == method


def _call_id(message: Any) -> str:
    return str(message.headers.get("Call-ID", ""))


def defect(message: Any) -> str | None:
    """Why a parsed message must not be handled, or None: a mandatory header missing
    (RFC 3261 §8.1.1), or a CSeq that is not `number method` with a 31-bit number and,
    in a request, the request's method (§8.1.1.5, §20.16)."""
    missing = [name for name in MANDATORY if not message.headers.get(name)]
    if missing:
        return f"missing {', '.join(missing)}"
    length = message.headers.get("Content-Length")
    if isinstance(length, int) and length < 0:
        return "negative Content-Length"
    cseq = message.headers["CSeq"]
    number = str(cseq.get("check", "")) if isinstance(cseq, dict) else ""
    if not number.isdigit() or int(number) >= 2**31 or not isinstance(message.headers["To"], dict):
        return "bad CSeq or To"
    if message.type == rfc_sip.SIPMessageType.MESSAGE and cseq.get("method") != message.method:
        return "CSeq method differs from the request method"
    return None


def request_lines(raw: bytes, *, first_only: bool = False) -> list[tuple[str, str]]:
    """The Via (all, or the first), From, To, Call-ID and CSeq lines of a raw message,
    compact forms expanded (RFC 3261 §7.3.3), control characters removed, each value
    cut at 1000 characters: what a response copies from its request (§8.2.6.2)."""
    head = raw.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    names = {
        "via": "Via",
        "from": "From",
        "to": "To",
        "call-id": "Call-ID",
        "cseq": "CSeq",
        "contact": "Contact",
    }
    found: list[tuple[str, str]] = []
    for line in head.split("\r\n")[1:]:
        name, sep, value = line.partition(":")
        key = COMPACT.get(name.strip().lower(), name.strip().lower())
        if not sep or key not in names:
            continue
        if key != "via" and any(n == names[key] for n, _ in found):
            continue
        if key == "via" and first_only and any(n == "Via" for n, _ in found):
            continue
        found.append((names[key], _UNSAFE.sub("", value.strip())[:1000]))
    return [(n, v) for n, v in found if n != "Contact" or first_only]


def bad_request(raw: bytes, problem: str, tag: str) -> bytes | None:
    """A 400 Bad Request for a raw request that cannot be handled (RFC 3261 §8.2.2,
    §21.4.1), or 505 for another SIP version than 2.0 (§21.5.6), with the
    problem in a Warning (§20.43); None for a response, an ACK (never answered,
    §17.2.1) or a request without a Via to answer along."""
    first = raw.split(b"\r\n", 1)[0].decode("utf-8", "replace").split(" ")
    if len(first) < 3 or not first[-1].upper().startswith("SIP/") or first[0] == "ACK":
        return None
    status = "400 Bad Request" if first[-1] == "SIP/2.0" else "505 Version Not Supported"
    copied = request_lines(raw)
    if not any(name == "Via" for name, _ in copied):
        return None
    lines = [f"SIP/2.0 {status}"]
    for name, value in copied:
        if name == "To" and ";tag=" not in value.lower():
            value = f"{value};tag={tag}"
        lines.append(f"{name}: {value}")
    reason = _UNSAFE.sub("", problem).replace('"', "'")[:120]
    lines += [f'Warning: 399 dialer "{reason}"', "Content-Length: 0"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _view(request: Any) -> SipMessage | None:
    try:
        is_response = request.type == rfc_sip.SIPMessageType.RESPONSE
        cseq = request.headers.get("CSeq", {})
        method = cseq.get("method", "") if is_response and isinstance(cseq, dict) else ""
        number = str(cseq.get("check", "0")) if isinstance(cseq, dict) else "0"
        return SipMessage(
            call_id=str(request.headers.get("Call-ID", "")),
            is_response=is_response,
            status=int(request.status) if is_response else 0,
            method=method if is_response else str(request.method),
            body=bytes(getattr(request, "body_raw", b"") or b""),
            handle=request,
            cseq=int(number) if number.isdigit() else 0,
        )
    except (AttributeError, KeyError, TypeError, ValueError):
        log.debug("unusable SIP message dropped")
        return None
