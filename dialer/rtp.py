"""RTP media for the dialer, in asyncio: one UDP socket per call leg.

A bridged pair forwards each packet as it is (no decoding, no jitter buffer, so
no added loss or delay); only the payload type byte is rewritten when the legs
numbered the codec differently, and PCMU<->PCMA is translated byte by byte when
they chose different codecs. Packets that arrive while a leg is not bridged are
read and dropped, so nothing queues up while the other leg rings. RFC 2833
telephone-events are reported as digits. A leg can also play 16-bit audio.
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
    encode_alaw,
    encode_ulaw,
)
from dialer.sdp import MediaOffer

log = logging.getLogger(__name__)

FRAME_SAMPLES = 160  # 20 ms at 8000 Hz
DTMF_DIGITS = "0123456789*#ABCD"
_BUFFER_SIZE = 2048

# PCM16 (native order, 2 bytes a sample) -> code words (1 byte a sample), by codec name
ENCODERS: dict[str, Callable[[bytes], bytes]] = {"PCMU": encode_ulaw, "PCMA": encode_alaw}
SILENCE = {"PCMU": bytes([ULAW_SILENCE]), "PCMA": bytes([ALAW_SILENCE])}


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
        self.remote: tuple[str, int] | None = None
        self.codec = "PCMU"
        self.payload_type = 0
        self.event_payload_type: int | None = None
        self.peer: MediaLeg | None = None
        self.packets_in = 0
        self.packets_out = 0
        self._buffer = bytearray(_BUFFER_SIZE)
        self._view = memoryview(self._buffer)
        self._last_event_ts: int | None = None
        self._player: asyncio.Task | None = None
        self._closed = False
        loop.add_reader(sock.fileno(), self._readable)

    def set_remote(self, offer: MediaOffer) -> None:
        """Send to the address, port and codec the party chose in its SDP."""
        self.remote = (offer.address, offer.port)
        self.codec = offer.codec
        self.payload_type = offer.payload_type
        self.event_payload_type = offer.event_payload_type

    def bridge(self, other: MediaLeg) -> None:
        """Forward packets both ways between this leg and `other` from now on."""
        self.peer, other.peer = other, self

    def unbridge(self) -> None:
        """Stop forwarding (both directions)."""
        if self.peer is not None:
            self.peer.peer = None
        self.peer = None

    def _readable(self) -> None:
        sock, view, buffer = self.sock, self._view, self._buffer
        while True:
            try:
                size = sock.recv_into(buffer)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            self.packets_in += 1
            if size < 12 or buffer[0] >> 6 != 2:
                continue
            payload_type = buffer[1] & 0x7F
            peer = self.peer
            if payload_type == self.event_payload_type and self.event_payload_type is not None:
                self._telephone_event(view[:size])
                if peer is not None and peer.event_payload_type is not None:
                    buffer[1] = (buffer[1] & 0x80) | peer.event_payload_type
                    peer._send(view[:size])
                continue
            if peer is None or payload_type != self.payload_type:
                continue  # not bridged (yet): drop, so nothing builds up
            if peer.payload_type != payload_type:
                buffer[1] = (buffer[1] & 0x80) | peer.payload_type
            if peer.codec != self.codec:
                header = _header_length(view, size)
                table = ULAW_TO_ALAW if self.codec == "PCMU" else ALAW_TO_ULAW
                packet = bytes(view[:header]) + bytes(view[header:size]).translate(table)
                peer._send(packet)
            else:
                peer._send(view[:size])

    def _send(self, packet: bytes | memoryview) -> None:
        if self.remote is None or self._closed:
            return
        try:
            self.sock.sendto(packet, self.remote)
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
        self.unbridge()
        if self._player is not None:
            self._player.cancel()
        try:
            self.loop.remove_reader(self.sock.fileno())
        except (ValueError, OSError):
            pass
        self.sock.close()


def _header_length(packet: memoryview, size: int) -> int:
    length = 12 + 4 * (packet[0] & 0x0F)
    if packet[0] & 0x10 and size >= length + 4:  # header extension
        length += 4 + 4 * struct.unpack_from("!H", packet, length + 2)[0]
    return min(length, size)
