"""RTP media for the dialer, in asyncio: one UDP socket per call leg.

A bridged pair forwards each packet as it is (no decoding, no jitter buffer, so
no added loss or delay). Each packet is taken by its own payload type: a party may
send any G.711 codec it listed in its SDP, and may change from packet to packet;
PCMU<->PCMA is translated byte by byte when it is not the codec the other party
receives (the first one it listed), and the payload type byte rewritten. Packets
that arrive while a leg is not bridged are read and dropped, so nothing queues up
while the other leg rings. RFC 4733 telephone-events are reported as digits, and a
leg can send digits and play 16-bit audio.

Media is taken only from where the leg negotiated it (its SDP c=/m=). A party
behind NAT sends from elsewhere: the first packet that comes within LATCH_SECONDS of
the answer is then taken as the party's address ("latching", as rtpengine and
kamailio's nathelper do with symmetric RTP), and from then on no other source is
accepted (the SDP address still wins if it speaks later). Every packet from anywhere
else — another host injecting audio or DTMF — is dropped and counted. Once the
source is the SDP address, the socket is connected to it, so the kernel drops the
strangers' packets. A leg on hold (it asked for sendonly/inactive, or c=0.0.0.0,
RFC 3264 §8.4) is sent nothing until it resumes.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import struct
import time
from collections.abc import Callable

from dialer.g711 import (
    ALAW_SILENCE,
    ALAW_TO_ULAW,
    ULAW_SILENCE,
    ULAW_TO_ALAW,
    decode_alaw,
    decode_ulaw,
    encode_alaw,
    encode_ulaw,
)
from dialer.sdp import MediaOffer

log = logging.getLogger(__name__)

FRAME_SAMPLES = 160  # 20 ms at 8000 Hz
DTMF_DIGITS = "0123456789*#ABCD"
_BUFFER_SIZE = 2048
LATCH_SECONDS = 5.0  # after the answer, a NAT'd party's first packet may set its address
DIGIT_SECONDS = 0.12  # tone of one sent digit (RFC 4733 events), then a gap as long
PAUSE_SECONDS = 1.0  # "," in a digit string
TAIL_SECONDS = 0.3  # after the last digit, before anything else is sent

# PCM16 (native order, 2 bytes a sample) -> code words (1 byte a sample), by codec name
ENCODERS: dict[str, Callable[[bytes], bytes]] = {"PCMU": encode_ulaw, "PCMA": encode_alaw}
SILENCE = {"PCMU": bytes([ULAW_SILENCE]), "PCMA": bytes([ALAW_SILENCE])}
# code words -> PCM16, by codec name
DECODERS: dict[str, Callable[[bytes | bytearray | memoryview], bytes]] = {
    "PCMU": decode_ulaw,
    "PCMA": decode_alaw,
}
# What a tap receives: the party's audio of one packet as 8 kHz mono PCM16.
AudioTap = Callable[[bytes], None]


class PortPool:
    """Binds UDP sockets on even ports of a range, round robin."""

    def __init__(self, ip: str, low: int, high: int) -> None:
        self.ip = ip
        self.low = low + (low % 2)
        self.high = high
        self._next = self.low

    def bind(self) -> socket.socket:
        """A non-blocking UDP socket on a free even port; OSError when the range is full."""
        count = max(1, (self.high - self.low) // 2 + 1)
        for _ in range(count):
            port = self._next
            self._next = port + 2 if port + 2 <= self.high else self.low
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                sock.bind((self.ip, port))
            except OSError:
                sock.close()
                continue
            sock.setblocking(False)
            return sock
        raise OSError(f"no free RTP port in {self.low}-{self.high}")


class MediaLeg:
    """The RTP socket of one call leg, its remote party and, when bridged, its peer."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        on_digit: Callable[[str], None] | None = None,
    ) -> None:
        self.loop = loop
        self.sock = sock
        self.port: int = sock.getsockname()[1]
        self.on_digit = on_digit
        self.remote: tuple[str, int] | None = None  # where we send
        self.expected: tuple[str, int] | None = None  # where its SDP says it is
        self.source: tuple[str, int] | None = None  # where we take its packets from
        self.latch_until = 0.0
        self.sending = True  # False while the party holds the call
        self.codec = "PCMU"
        self.payload_type = 0
        self.audio_types: dict[int, str] = {0: "PCMU"}
        self.event_payload_type: int | None = None
        self.peer: MediaLeg | None = None
        # While set, the party's bridged audio is also handed here (a recording).
        self.tap: AudioTap | None = None
        self.packets_in = 0
        self.packets_out = 0
        self.foreign = 0  # packets dropped because of where they came from
        self._connected = False
        self._target: tuple[str, int] | None = None  # remote, unless held or closed
        self._buffer = bytearray(_BUFFER_SIZE)
        self._view = memoryview(self._buffer)
        self._last_event_ts: int | None = None
        self._player: asyncio.Task | None = None
        self._closed = False
        loop.add_reader(sock.fileno(), self._readable)

    def set_remote(self, offer: MediaOffer) -> None:
        """Take the party's SDP (its answer, or a later offer of a re-INVITE): send to its
        address in its first codec, accept every G.711 codec it listed, stop sending
        while it holds the call. A new address restarts the source check."""
        where = (offer.address, offer.port)
        if where != self.expected and offer.address != "0.0.0.0":
            self.expected, self.remote = where, where
            self.latch_until = time.monotonic() + LATCH_SECONDS
            if self._connected:
                self._connect(where)
            else:
                self.source = None
        self.codec = offer.codec
        self.payload_type = offer.payload_type
        self.audio_types = offer.audio_types or {offer.payload_type: offer.codec}
        self.event_payload_type = offer.event_payload_type
        self.sending = offer.wants_media
        self._retarget()

    def _retarget(self) -> None:
        self._target = self.remote if self.sending and not self._closed else None

    def _connect(self, where: tuple[str, int]) -> None:
        try:
            self.sock.connect(where)
        except OSError as error:
            log.debug("RTP socket not connected to %s: %s", where, error)
            return
        self.source, self.remote, self._connected = where, where, True
        self._retarget()

    def _accept(self, source: tuple[str, int]) -> bool:
        """Whether a packet from `source` is the party's (see the module's docstring)."""
        if source == self.source:
            return True
        if self.expected is None:
            return False  # not answered: nobody's media yet
        if source == self.expected:
            self._connect(source)
            return True
        if self.source is None and time.monotonic() < self.latch_until:
            log.debug(  # the party's IP address: not at INFO (issue 14)
                "RTP port %s: party sends from %s, not %s: latched",
                self.port,
                source,
                self.expected,
            )
            self.source = self.remote = source
            self._retarget()
            return True
        self.foreign += 1
        return False

    def bridge(self, other: MediaLeg) -> None:
        """Forward packets both ways between this leg and `other` from now on."""
        self.peer, other.peer = other, self

    def unbridge(self) -> None:
        """Stop forwarding (both directions)."""
        if self.peer is not None:
            self.peer.peer = None
        self.peer = None

    def _readable(self) -> None:
        sock, buffer = self.sock, self._buffer
        # Datagrams queued before connect() are still to check: the whole batch that
        # connects goes through recvfrom.
        connected = self._connected
        while True:
            try:
                if connected:
                    size = sock.recv_into(buffer)
                else:
                    size, source = sock.recvfrom_into(buffer)
                    if not self._accept(source):
                        continue
            except OSError:  # BlockingIOError (all read) included
                return
            self.packets_in += 1
            if size < 12 or buffer[0] >> 6 != 2:
                continue
            payload_type = buffer[1] & 0x7F
            if payload_type == self.event_payload_type:
                self._take_event(size)
                continue
            self._take_audio(payload_type, size)

    def _take_audio(self, payload_type: int, size: int) -> None:
        """Forward an audio packet to the bridged party (translating G.711 when the two
        use different laws) and hand it to the tap; by this packet's own payload type,
        among those the party listed."""
        buffer, view = self._buffer, self._view
        peer, codec = self.peer, self.audio_types.get(payload_type)
        if peer is None or codec is None:
            return  # not bridged (yet), or not audio it offered: drop
        header = _header_length(view, size)
        tap = self.tap
        if tap is not None:  # decoded before the payload type is rewritten below
            audio = DECODERS[codec](view[header:size])
        if peer.payload_type != payload_type:
            buffer[1] = (buffer[1] & 0x80) | peer.payload_type
        if peer.codec == codec:
            peer._send(view[:size])
        else:
            table = ULAW_TO_ALAW if codec == "PCMU" else ALAW_TO_ULAW
            peer._send(bytes(view[:header]) + bytes(view[header:size]).translate(table))
        if tap is not None:
            self._feed(tap, audio)

    def _feed(self, tap: AudioTap, audio: bytes) -> None:
        """Hand audio to the tap; a tap that fails (a recording's disk is full) is
        detached, once logged: the call goes on."""
        try:
            tap(audio)
        except Exception as error:
            self.tap = None
            log.error("RTP port %s: recording stopped: %s", self.port, error)

    def _take_event(self, size: int) -> None:
        """Report an RFC 4733 event packet and forward it to the bridged party."""
        buffer, view, peer = self._buffer, self._view, self.peer
        self._telephone_event(view[:size])
        if peer is not None and peer.event_payload_type is not None:
            buffer[1] = (buffer[1] & 0x80) | peer.event_payload_type
            peer._send(view[:size])

    def _send(self, packet: bytes | memoryview) -> None:
        target = self._target
        if target is None:
            return
        try:
            self.sock.sendto(packet, target)
            self.packets_out += 1
        except (BlockingIOError, InterruptedError):
            pass  # socket buffer full: drop this packet, like the network would
        except OSError as error:
            log.debug("RTP send to %s failed: %s", self.remote, error)

    def _telephone_event(self, packet: memoryview) -> None:
        header = _header_length(packet, len(packet))
        if len(packet) < header + 4:
            return
        timestamp = struct.unpack_from("!I", packet, 4)[0]
        if timestamp == self._last_event_ts:
            return  # the same key press, repeated and ended
        self._last_event_ts = timestamp
        event = packet[header]
        if event < len(DTMF_DIGITS) and self.on_digit is not None:
            self.on_digit(DTMF_DIGITS[event])

    async def send_digits(self, digits: str) -> bool:
        """Send `digits` (0-9, *, #, A-D; "," pauses PAUSE_SECONDS) to the party as
        RFC 4733 telephone-events, in real time. False (nothing sent) when the party
        accepted no telephone-event in its SDP."""
        if self.event_payload_type is None:
            return False
        ssrc, sequence = random.getrandbits(32), random.getrandbits(16)
        timestamp = random.getrandbits(32)
        for digit in digits:
            if digit == ",":
                await asyncio.sleep(PAUSE_SECONDS)
                timestamp += int(PAUSE_SECONDS * 8000)
                continue
            for packet in _event_packets(
                DTMF_DIGITS.index(digit.upper()), self.event_payload_type, ssrc, sequence, timestamp
            ):
                self._send(packet)
                sequence += 1
                await asyncio.sleep(0.02)
            timestamp += int(2 * DIGIT_SECONDS * 8000)
            await asyncio.sleep(DIGIT_SECONDS)
        # Phones flush their jitter buffer when another stream (the bridged party's)
        # takes over: push the last end packets out with silence of the same stream.
        silence = SILENCE[self.codec] * FRAME_SAMPLES
        for index in range(int(TAIL_SECONDS / 0.02)):
            header = struct.pack(
                "!BBHII",
                0x80,
                self.payload_type,
                (sequence + index) & 0xFFFF,
                (timestamp + index * FRAME_SAMPLES) & 0xFFFFFFFF,
                ssrc,
            )
            self._send(header + silence)
            await asyncio.sleep(0.02)
        return True

    def play(self, pcm16: bytes) -> asyncio.Task:
        """Send 8 kHz mono S16LE audio to the party in real time; the task ends with it."""
        if self._player is not None:
            self._player.cancel()
        self._player = self.loop.create_task(self._play(pcm16))
        return self._player

    async def _play(self, pcm16: bytes) -> None:
        encoded = ENCODERS[self.codec](pcm16)
        ssrc = random.getrandbits(32)
        sequence = random.getrandbits(16)
        timestamp = random.getrandbits(32)
        start = time.monotonic()
        for index, offset in enumerate(range(0, len(encoded), FRAME_SAMPLES)):
            chunk = encoded[offset : offset + FRAME_SAMPLES]
            if len(chunk) < FRAME_SAMPLES:
                chunk += SILENCE[self.codec] * (FRAME_SAMPLES - len(chunk))
            marker = 0x80 if index == 0 else 0
            header = struct.pack(
                "!BBHII",
                0x80,
                marker | self.payload_type,
                (sequence + index) & 0xFFFF,
                (timestamp + index * FRAME_SAMPLES) & 0xFFFFFFFF,
                ssrc,
            )
            self._send(header + chunk)
            delay = start + (index + 1) * 0.02 - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)

    def close(self) -> None:
        """Stop reading, playing and forwarding; release the port."""
        if self._closed:
            return
        self._closed = True
        self._retarget()
        self.unbridge()
        if self._player is not None:
            self._player.cancel()
        try:
            self.loop.remove_reader(self.sock.fileno())
        except (ValueError, OSError):
            pass
        self.sock.close()


def _event_packets(event: int, payload_type: int, ssrc: int, sequence: int, timestamp: int):
    """The RTP packets of one key press (RFC 4733 §2.3): updates every 20 ms with a
    growing duration, the first with the marker bit, then the end packet three times."""
    steps = max(1, int(DIGIT_SECONDS / 0.02))
    for index in range(steps + 3):
        end = index >= steps
        duration = FRAME_SAMPLES * min(index + 1, steps)
        header = struct.pack(
            "!BBHII",
            0x80,
            (0x80 if index == 0 else 0) | payload_type,
            (sequence + index) & 0xFFFF,
            timestamp & 0xFFFFFFFF,
            ssrc,
        )
        yield header + struct.pack("!BBH", event, (0x80 if end else 0) | 10, duration)


def _header_length(packet: memoryview, size: int) -> int:
    length = 12 + 4 * (packet[0] & 0x0F)
    if packet[0] & 0x10 and size >= length + 4:  # header extension
        length += 4 + 4 * struct.unpack_from("!H", packet, length + 2)[0]
    return min(length, size)
