"""A scripted SIP peer on 127.0.0.1: registrar, proxy and phones in one UDP socket.

Tests point the dialer at it (SIP_SERVER/SIP_PORT) instead of kamailio when they need
a peer that does what real peers do but baresip will not do on request: answer with
several codecs in its own order and send another one, give an SDP address that is not
where its packets come from (NAT), put a call on hold or refresh the session timer
with a re-INVITE, hang up at a chosen moment. It registers anyone (no digest), answers
INVITEs for the users it is told about, sends a tone as RTP and keeps every RTP packet
it receives (source, payload type, payload), so tests can tell what it heard.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import socket
import struct
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from dialer.g711 import decode_alaw, decode_ulaw, encode_alaw, encode_ulaw

SAMPLE_RATE = 8000
CODEC_NAMES = {0: "PCMU", 8: "PCMA"}
ENCODE = {0: encode_ulaw, 8: encode_alaw}
DECODE = {0: decode_ulaw, 8: decode_alaw}


def sip_parse(data: bytes) -> tuple[str, list[tuple[str, str]], bytes]:
    """Start line, headers as (name, value) in order, and body of one SIP datagram."""
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("utf-8", "replace").split("\r\n")
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    return lines[0], headers, body


def header(headers: list[tuple[str, str]], name: str, default: str = "") -> str:
    """The first value of a header (case-insensitive name)."""
    for key, value in headers:
        if key.lower() == name.lower():
            return value
    return default


def uri_target(value: str) -> tuple[str, int]:
    """host and port of the SIP URI in a header value or URI (`<sip:u@h:p;x>`)."""
    match = re.search(r"sips?:(?:[^@>;]*@)?([^:;>]+)(?::(\d+))?", value)
    if match is None:
        raise ValueError(f"no SIP URI in {value!r}")
    return match.group(1), int(match.group(2) or 5060)


def tone_pcm(frequency: float, seconds: float, level: float = 0.3) -> bytes:
    """A sine tone as 8 kHz S16 native-order PCM."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (np.sin(2 * np.pi * frequency * t) * level * 32767).astype("=i2").tobytes()


def share_at(samples: np.ndarray, frequency: float, tolerance: float = 15.0) -> float:
    """Share (0..1) of the energy of `samples` (8 kHz) within `tolerance` Hz of `frequency`."""
    if samples.size < SAMPLE_RATE // 10:
        return 0.0
    samples = samples - samples.mean()
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size))) ** 2
    freqs = np.fft.rfftfreq(samples.size, 1 / SAMPLE_RATE)
    total = spectrum[freqs > 20].sum()
    if total <= 0:
        return 0.0
    band = spectrum[(freqs >= frequency - tolerance) & (freqs <= frequency + tolerance)].sum()
    return float(band / total)


@dataclass
class Script:
    """How the peer answers an INVITE for one user.

    codecs: payload types of the SDP answer, in order (101 = telephone-event);
    send_pt: the payload type its tone is sent with (default: the first audio one);
    sdp_address: the c= address of its answer (default 127.0.0.1: where it really is);
    status: a final status other than 200 to refuse the call with.
    """

    tone_hz: float = 440.0
    codecs: tuple[int, ...] = (0, 8, 101)
    send_pt: int | tuple[int, ...] | None = None
    sdp_address: str = "127.0.0.1"
    sdp_port: int | None = None
    ring_seconds: float = 0.1
    status: int = 200


@dataclass
class RtpPacket:
    """One RTP packet the peer received."""

    source: tuple[str, int]
    payload_type: int
    marker: bool
    timestamp: int
    payload: bytes
    at: float


@dataclass
class PeerCall:
    """One call the peer answered (the dialer is the caller)."""

    peer: ScriptedPeer
    call_id: str
    user: str
    script: Script
    invite_headers: list[tuple[str, str]]
    offer: bytes
    tag: str = field(default_factory=lambda: secrets.token_hex(4))
    rtp: socket.socket | None = None
    received: list[RtpPacket] = field(default_factory=list)
    ended: threading.Event = field(default_factory=threading.Event)
    acked: threading.Event = field(default_factory=threading.Event)
    sending: threading.Event = field(default_factory=threading.Event)
    cseq: int = 100
    sdp_version: int = 1
    bye_from_dialer: bool = False

    @property
    def dialer_rtp(self) -> tuple[str, int]:
        """Where the dialer's offer asks for RTP."""
        text = self.offer.decode()
        address = re.search(r"^c=IN IP4 (\S+)", text, re.M)
        port = re.search(r"^m=audio (\d+)", text, re.M)
        assert address and port, text
        return address.group(1), int(port.group(1))

    @property
    def dialer_contact(self) -> tuple[str, int]:
        """Where in-dialog requests to the dialer go (the Contact of its INVITE)."""
        return uri_target(header(self.invite_headers, "Contact"))

    def answer_sdp(self, direction: str = "sendrecv", address: str | None = None) -> bytes:
        """The peer's SDP: its codecs in its order, its (scripted) address, a direction."""
        assert self.rtp is not None
        port = self.script.sdp_port or self.rtp.getsockname()[1]
        names = {0: "PCMU/8000", 8: "PCMA/8000", 101: "telephone-event/8000"}
        lines = [
            "v=0",
            f"o=peer 1 {self.sdp_version} IN IP4 127.0.0.1",
            "s=-",
            f"c=IN IP4 {address or self.script.sdp_address}",
            "t=0 0",
            f"m=audio {port} RTP/AVP {' '.join(str(pt) for pt in self.script.codecs)}",
            *(f"a=rtpmap:{pt} {names[pt]}" for pt in self.script.codecs),
            f"a={direction}",
        ]
        return ("\r\n".join(lines) + "\r\n").encode()

    # ---- media -----------------------------------------------------------------------

    def start_media(self) -> None:
        """Receive RTP in the background, and send the tone while `sending` is set."""
        assert self.rtp is not None
        self.sending.set()
        threading.Thread(target=self._receive, daemon=True).start()
        threading.Thread(target=self._send_tone, daemon=True).start()

    def _receive(self) -> None:
        sock = self.rtp
        assert sock is not None
        sock.settimeout(0.2)
        while not self.ended.is_set() and not self.peer.stopped.is_set():
            try:
                data, source = sock.recvfrom(2048)
            except TimeoutError:
                continue
            except OSError:
                return
            if len(data) < 12:
                continue
            self.received.append(
                RtpPacket(
                    source,
                    data[1] & 0x7F,
                    bool(data[1] & 0x80),
                    struct.unpack_from("!I", data, 4)[0],
                    data[12:],
                    time.monotonic(),
                )
            )

    def _send_tone(self) -> None:
        audio = [pt for pt in self.script.codecs if pt in CODEC_NAMES]
        send = self.script.send_pt if self.script.send_pt is not None else audio[0]
        types = send if isinstance(send, tuple) else (send,)
        pcm = tone_pcm(self.script.tone_hz, 1.0)
        encoded_by_type = {pt: ENCODE[pt](pcm) for pt in types}
        ssrc, began = secrets.randbits(32), time.monotonic()
        index = 0
        while not self.ended.is_set() and not self.peer.stopped.is_set():
            if self.sending.is_set():
                pt = types[index % len(types)]  # several: a new codec every packet
                encoded = encoded_by_type[pt]
                offset = (index * 160) % len(encoded)
                packet = struct.pack("!BBHII", 0x80, pt, index & 0xFFFF, index * 160, ssrc)
                try:
                    self.rtp.sendto(packet + encoded[offset : offset + 160], self.dialer_rtp)
                except OSError:
                    pass
            index += 1
            delay = began + index * 0.02 - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    def send_digits(self, digits: str, sock: socket.socket | None = None, pt: int = 101) -> None:
        """Send RFC 4733 events to the dialer, from the call's RTP socket or from `sock`
        (another host injecting them)."""
        sock = sock or self.rtp
        assert sock is not None
        ssrc, sequence = secrets.randbits(32), 0
        for number, digit in enumerate(digits):
            event, timestamp = "0123456789*#ABCD".index(digit), 80000 + number * 8000
            for index in range(8):
                end = index >= 5
                payload = struct.pack(
                    "!BBH", event, (0x80 if end else 0) | 10, 160 * min(index + 1, 5)
                )
                header = struct.pack(
                    "!BBHII", 0x80, (0x80 if index == 0 else 0) | pt, sequence, timestamp, ssrc
                )
                sock.sendto(header + payload, self.dialer_rtp)
                sequence += 1
                time.sleep(0.02)
            time.sleep(0.1)

    def heard(self, since: float = 0.0) -> np.ndarray:
        """The audio received (decoded packet by packet by its payload type), as floats."""
        chunks = [
            DECODE[p.payload_type](p.payload)
            for p in self.received
            if p.payload_type in DECODE and p.at >= since
        ]
        return np.frombuffer(b"".join(chunks), dtype="=i2").astype(float)

    def events(self, event_pt: int = 101) -> str:
        """The RFC 4733 digits received, one per event (by timestamp)."""
        digits, seen = [], set()
        for p in self.received:
            if p.payload_type == event_pt and p.payload and p.timestamp not in seen:
                seen.add(p.timestamp)
                digits.append("0123456789*#ABCD"[p.payload[0]] if p.payload[0] < 16 else "?")
        return "".join(digits)

    # ---- in-dialog requests from the peer -------------------------------------------------

    def request(self, method: str, body: bytes = b"", extra: list[str] | None = None) -> str:
        """Send an in-dialog request to the dialer; return the final response's start line
        and headers as text (TimeoutError after 5 s without one). ACKs an INVITE's answer."""
        self.cseq += 1
        host, port = self.dialer_contact
        branch = "z9hG4bK" + secrets.token_hex(8)
        lines = [
            f"{method} sip:{host}:{port} SIP/2.0",
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.peer.port};branch={branch};rport",
            "Max-Forwards: 70",
            f"From: {header(self.invite_headers, 'To')};tag={self.tag}",
            f"To: {header(self.invite_headers, 'From')}",
            f"Call-ID: {self.call_id}",
            f"CSeq: {self.cseq} {method}",
            f"Contact: <sip:{self.user}@127.0.0.1:{self.peer.port}>",
            *(extra or []),
        ]
        if body:
            lines.append("Content-Type: application/sdp")
        lines.append(f"Content-Length: {len(body)}")
        message = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
        key = (self.call_id, self.cseq)
        response = self.peer.transact(key, message, (host, port))
        if method == "INVITE":
            ack = message.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")
            ack[0] = f"ACK sip:{host}:{port} SIP/2.0"
            ack = [
                line.replace(branch, branch + "a")
                if line.startswith("Via")
                else f"CSeq: {self.cseq} ACK"
                if line.startswith("CSeq")
                else line
                for line in ack
                if not line.startswith(("Content-", "Session-Expires", "Supported"))
            ]
            to_line = re.search(r"^To: .*$", response, re.M)
            ack = [to_line.group(0) if line.startswith("To:") and to_line else line for line in ack]
            self.peer.send(
                ("\r\n".join(ack) + "\r\nContent-Length: 0\r\n\r\n").encode(), (host, port)
            )
        return response

    def reinvite(
        self,
        direction: str = "sendrecv",
        extra: list[str] | None = None,
        address: str | None = None,
    ) -> str:
        """A re-INVITE with the peer's SDP in `direction` (hold: sendonly or inactive)."""
        self.sdp_version += 1
        return self.request("INVITE", self.answer_sdp(direction, address), extra)

    def hang_up(self) -> str:
        """BYE from the peer."""
        response = self.request("BYE")
        self.ended.set()
        return response


class ScriptedPeer:
    """Registrar and answering phones on one UDP socket at 127.0.0.1:`port`."""

    def __init__(
        self, scripts: dict[str, Script] | None = None, password: str | None = None
    ) -> None:
        self.scripts = dict(scripts or {})
        self.password = password  # when set, REGISTER is challenged (digest, RFC 2617 without qop)
        self.registered: list[str] = []  # users whose REGISTER was accepted
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port: int = self.sock.getsockname()[1]
        self.calls: dict[str, PeerCall] = {}
        self.requests: list[tuple[str, list[tuple[str, str]], bytes, tuple[str, int]]] = []
        self.stopped = threading.Event()
        self._responses: dict[tuple[str, int], str] = {}
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> ScriptedPeer:
        """Start answering."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop answering and close every socket."""
        self.stopped.set()
        self._thread.join(5)
        for call in self.calls.values():
            call.ended.set()
            if call.rtp is not None:
                call.rtp.close()
        self.sock.close()

    def settings(self, **extra: object) -> dict[str, object]:
        """SIP_* settings that point a dialer at this peer (fresh local SIP and RTP ports)."""
        from testbed.sip_lab import PORTS

        low, high = PORTS.rtp_range(40)
        values: dict[str, object] = {
            "SIP_SERVER": "127.0.0.1",
            "SIP_PORT": self.port,
            "SIP_USER": "dialer",
            "SIP_PASSWORD": "unused",
            "SIP_LOCAL_PORT": PORTS.sip_port(),
            "SIP_RTP_PORTS": f"{low}-{high}",
        }
        values.update(extra)
        return values

    def send(self, data: bytes, target: tuple[str, int]) -> None:
        """Send one datagram from the peer's SIP socket."""
        self.sock.sendto(data, target)

    def transact(self, key: tuple[str, int], message: bytes, target: tuple[str, int]) -> str:
        """Send a request and wait for its final response (retransmitted every 0.5 s)."""
        deadline = time.monotonic() + 5
        with self._changed:
            while key not in self._responses:
                self.send(message, target)
                self._changed.wait(0.5)
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no final response to {message.splitlines()[0]!r}")
            return self._responses[key]

    def wait_call(self, user: str, count: int = 1, timeout: float = 10.0) -> PeerCall:
        """The `count`-th call to `user`, once it is answered and acknowledged."""
        deadline = time.monotonic() + timeout
        while True:
            calls = [c for c in self.calls.values() if c.user == user and c.acked.is_set()]
            if len(calls) >= count:
                return calls[count - 1]
            if time.monotonic() > deadline:
                raise TimeoutError(f"no call #{count} to {user}")
            time.sleep(0.02)

    # ---- receiving ---------------------------------------------------------------------

    def _run(self) -> None:
        while not self.stopped.is_set():
            try:
                data, source = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                self._handle(data, source)
            except (ValueError, IndexError, KeyError) as error:  # a test bug, not the dialer's
                print(f"scripted peer: {error!r} on {data[:80]!r}")

    def _handle(self, data: bytes, source: tuple[str, int]) -> None:
        start, headers, body = sip_parse(data)
        if start.startswith("SIP/2.0 "):
            self._on_response(start, headers, body)
            return
        method = start.split(" ", 1)[0]
        self.requests.append((start, headers, body, source))
        call = self.calls.get(header(headers, "Call-ID"))
        if method == "INVITE" and call is None:
            self._on_invite(start, headers, body, source)
        elif method == "ACK" and call is not None:
            call.acked.set()
        elif method == "BYE" and call is not None:
            call.bye_from_dialer = True
            call.ended.set()
            self._reply(headers, source, 200)
        elif method == "CANCEL" and call is not None:
            self._reply(headers, source, 200)
            call.ended.set()
            self._reply(call.invite_headers, source, 487, tag=call.tag)
        elif method == "REGISTER":
            self._on_register(start, headers, source)
        elif method != "ACK":
            self._reply(headers, source, 200)

    def _on_register(self, start, headers, source) -> None:
        user = re.sub(r".*<sips?:([^@>]*)@.*", r"\1", header(headers, "To"))
        if self.password is not None:
            auth = header(headers, "Authorization")
            fields = dict(re.findall(r'(\w+)="?([^",]*)"?', auth))
            ha1 = hashlib.md5(f"{fields.get('username')}:peer:{self.password}".encode()).hexdigest()
            ha2 = hashlib.md5(f"REGISTER:{fields.get('uri')}".encode()).hexdigest()
            expected = hashlib.md5(f"{ha1}:{fields.get('nonce')}:{ha2}".encode()).hexdigest()
            if fields.get("response") != expected:
                challenge = 'WWW-Authenticate: Digest realm="peer", nonce="%s", algorithm=MD5'
                self._reply(headers, source, 401, extra=[challenge % secrets.token_hex(8)])
                return
        self.registered.append(user)
        contact = header(headers, "Contact")
        self._reply(headers, source, 200, extra=[f"Contact: {contact};expires=600"])

    def _on_response(self, start: str, headers: list[tuple[str, str]], body: bytes) -> None:
        status = int(start.split()[1])
        if status < 200:
            return
        cseq = header(headers, "CSeq").split()
        text = "\r\n".join([start, *(f"{k}: {v}" for k, v in headers)])
        with self._changed:
            self._responses[(header(headers, "Call-ID"), int(cseq[0]))] = (
                text + "\r\n\r\n" + body.decode("utf-8", "replace")
            )
            self._changed.notify_all()

    def _on_invite(self, start, headers, body, source) -> None:
        user = start.split()[1].split(":", 1)[1].split("@", 1)[0]
        script = self.scripts.get(user)
        if script is None:
            self._reply(headers, source, 404)
            return
        call = PeerCall(self, header(headers, "Call-ID"), user, script, headers, body)
        self.calls[call.call_id] = call
        self._reply(headers, source, 100)
        if script.status != 200:
            self._reply(headers, source, script.status, tag=call.tag)
            return
        call.rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        call.rtp.bind(("127.0.0.1", 0))
        self._reply(headers, source, 180, tag=call.tag)

        def answer() -> None:
            time.sleep(script.ring_seconds)
            if call.ended.is_set():
                return
            contact = f"Contact: <sip:{user}@127.0.0.1:{self.port}>"
            self._reply(headers, source, 200, tag=call.tag, body=call.answer_sdp(), extra=[contact])
            call.start_media()

        threading.Thread(target=answer, daemon=True).start()

    def _reply(self, headers, source, status, *, tag=None, body=b"", extra=None) -> None:
        reasons = {
            100: "Trying",
            180: "Ringing",
            200: "OK",
            404: "Not Found",
            487: "Request Terminated",
        }
        lines = [f"SIP/2.0 {status} {reasons.get(status, 'Scripted')}"]
        lines += [f"Via: {v}" for k, v in headers if k.lower() == "via"]
        to = header(headers, "To")
        if tag and ";tag=" not in to:
            to += f";tag={tag}"
        lines += [f"From: {header(headers, 'From')}", f"To: {to}"]
        lines += [f"Call-ID: {header(headers, 'Call-ID')}", f"CSeq: {header(headers, 'CSeq')}"]
        lines += list(extra or [])
        if body:
            lines.append("Content-Type: application/sdp")
        lines.append(f"Content-Length: {len(body)}")
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode() + body, source)
