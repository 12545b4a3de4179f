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
  rfcvoip is created.
Messages reach the dialer as `SipMessage` values, on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import rfcvoip
import rfcvoip.RTP as rfc_rtp  # noqa: N811
import rfcvoip.SIP as rfc_sip  # noqa: N811
import rfcvoip.VoIP.VoIP as rfc_voip  # noqa: N813

from dialer.types import DialerError, SipConfig

log = logging.getLogger("dialer.sip")


def _log_debug(message: object, error: object = None) -> None:
    if log.isEnabledFor(logging.DEBUG):
        log.debug("%s", error if error is not None else message)


for _module in (rfcvoip, rfc_sip, rfc_rtp, rfc_voip):
    _module.debug = _log_debug

OFFER = {0: rfc_rtp.PayloadType.PCMU, 8: rfc_rtp.PayloadType.PCMA, 101: rfc_rtp.PayloadType.EVENT}


@dataclass
class SipMessage:
    """What the dialer needs of a SIP message."""

    call_id: str
    is_response: bool
    status: int  # 0 for a request
    method: str  # request method, or the CSeq method of a response
    body: bytes
    handle: Any  # rfcvoip's message, for ack/bye


@dataclass
class Outgoing:
    """An INVITE we sent: the request as rfcvoip keeps it, and its dialog data."""

    call_id: str
    request: Any
    target_uri: str


def _route_set(response: Any) -> list[str]:
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
                ok = bool(self._SIPClient__register())
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
            self._SIPClient__start_register_timer(delay=max(1, delay))
        return ok


class _Phone(rfc_voip.VoIPPhone):
    """rfcvoip's phone with every call-related message handed to `dispatch`."""

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
        if request.type == rfc_sip.SIPMessageType.MESSAGE and request.method == "INVITE":
            # Incoming calls are not handled by the dialer (yet): busy.
            self.sip.send_response(request, self.sip.gen_busy(request))
            return
        self.dispatch(request)


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
        if message is not None:
            loop.call_soon_threadsafe(self.on_message, message)

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
        error = self.phone.sip.register_error
        if error is None:
            return
        await self.stop()
        if error == "credentials":
            raise DialerError(
                f"SIP server {where} rejected the credentials of user {self.config.user!r}: "
                "check SIP_USER and SIP_PASSWORD"
            )
        raise DialerError(f"SIP registration with {where} failed: {error}")

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
            routes = _route_set(response)
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

    def forget(self, outgoing: Outgoing) -> None:
        """Drop what is kept for a finished call."""
        self.phone.active_call_ids.discard(outgoing.call_id)
        self.phone.sip.route_sets.pop(outgoing.call_id, None)
        self.phone.sip.tagLibrary.pop(outgoing.call_id, None)


def _view(request: Any) -> SipMessage | None:
    try:
        is_response = request.type == rfc_sip.SIPMessageType.RESPONSE
        cseq = request.headers.get("CSeq", {})
        method = cseq.get("method", "") if is_response and isinstance(cseq, dict) else ""
        return SipMessage(
            call_id=str(request.headers.get("Call-ID", "")),
            is_response=is_response,
            status=int(request.status) if is_response else 0,
            method=method if is_response else str(request.method),
            body=bytes(getattr(request, "body_raw", b"") or b""),
            handle=request,
        )
    except (AttributeError, KeyError, TypeError, ValueError):
        log.debug("unusable SIP message dropped")
        return None
