"""Recording the exchange's calls: rtpengine forks each party's audio to us and we seal it.

When a call is answered (kamailio's dialog:start), the accounts of the call that record
every call (`account.record_calls`) and have a recording key each get a recording
(privacy.recordings). rtpengine is asked for a copy of each party's media
(`subscribe request` for the caller's tag, then the callee's; `subscribe answer` with our
receiving port on loopback): it sends plain RTP, decrypted from SRTP if need be, to two
UDP sockets of ours, and each packet's G.711 audio goes, decoded, to the recorders,
which encrypt it before anything touches the disk. Both parties first hear "this call is
recorded" (RECORDING_NOTICE) in the other party's language (`play media`).

The recordings end with the call (dialog:end), or when the upkeep finds the call gone
from kamailio (`sweep`): the instance that got the answer may not be the one that gets
the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from dialer.g711 import decode_alaw, decode_ulaw
from domain.calls import CallKind
from domain.languages import language_of_number
from exchange.ng import NgClient, NgError
from privacy.recordings import CallRecording, RecordingDesk
from storage.accounts import AccountStore
from storage.models import CallRecord

log = logging.getLogger(__name__)

# The notice spoken in a language ("en", "fr", "ru"): a WAV of 8 kHz mono S16LE, or None
# when it cannot be made.
NoticeFile = Callable[[str], Awaitable[Path | None]]
DECODERS = {0: decode_ulaw, 8: decode_alaw}  # static payload types (RFC 3551)
# What we accept from rtpengine: G.711 only; it transcodes whatever the party sends.
ANSWER_MEDIA = (
    "RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\na=recvonly"
)
# The copy comes to us on loopback as plain RTP, whatever the party's leg uses.
PLAIN_RTP_TO_US = {"transport-protocol": "RTP/AVP", "SDES": ["off"], "DTLS": "off", "ICE": "remove"}


class _Tap(asyncio.DatagramProtocol):
    """One party's forked RTP: each audio packet decoded and handed to the recorders.

    Only packets from the first source are taken (rtpengine's media port: another local
    program cannot slip audio into a recording). A recorder that fails (its disk is
    full) stops this tap, once logged."""

    def __init__(self, channel: int, recordings: list[CallRecording]) -> None:
        self.channel, self.recordings = channel, recordings
        self.source: tuple[str, int] | None = None
        self.packets = 0
        self.failed = False

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.source is None:
            self.source = addr
        if addr != self.source or self.failed or len(data) < 12 or data[0] >> 6 != 2:
            return
        decode = DECODERS.get(data[1] & 0x7F)
        if decode is None:
            return  # telephone-event or comfort noise: no audio to keep
        header = 12 + 4 * (data[0] & 0x0F)
        if data[0] & 0x10 and len(data) >= header + 4:  # header extension (RFC 3550 §5.3.1)
            header += 4 + 4 * int.from_bytes(data[header + 2 : header + 4], "big")
        pcm16 = decode(data[header:])
        self.packets += 1
        try:
            for recording in self.recordings:
                recording.feed(self.channel, pcm16)
        except Exception as error:
            self.failed = True
            log.error("recording stopped on channel %d: %s", self.channel, error)


@dataclass
class _Recorded:
    """A call being recorded: its recordings and the sockets rtpengine sends to."""

    recordings: list[CallRecording]
    transports: list[asyncio.DatagramTransport] = field(default_factory=list)
    taps: list[_Tap] = field(default_factory=list)


class CallRecordings:
    """Start and end the recordings of the exchange's answered calls."""

    def __init__(
        self,
        desk: RecordingDesk,
        accounts: AccountStore,
        ng: NgClient,
        *,
        notice: NoticeFile | None = None,
        listen_ip: str = "127.0.0.1",
    ) -> None:
        self.desk, self.accounts, self.ng = desk, accounts, ng
        self.notice = notice if desk.notice else None
        self.listen_ip = listen_ip
        self._calls: dict[str, _Recorded] = {}

    @property
    def recording(self) -> list[str]:
        """The Call-IDs being recorded here."""
        return list(self._calls)

    async def answered(
        self, sip_call_id: str, records: list[CallRecord], from_tag: str, to_tag: str
    ) -> None:
        """Record the answered call `sip_call_id` (its records: whose it is) for each of
        its accounts that records every call; nothing when none does. rtpengine's
        refusals are logged: the call goes on unrecorded."""
        if sip_call_id in self._calls or not records or not from_tag or not to_tag:
            return
        owners = await asyncio.to_thread(self._owners, records)
        started = []
        for account_id, other in owners:
            recording = await asyncio.to_thread(
                self.desk.start, account_id, records[0].id, parties=_parties(records)
            )
            if recording is not None:
                started.append((recording, other))
        if not started:
            return
        call = self._calls[sip_call_id] = _Recorded([r for r, _ in started])
        try:
            for channel, tag in enumerate((from_tag, to_tag)):
                await self._subscribe(sip_call_id, call, channel, tag)
        except (NgError, OSError) as error:
            log.warning("call %s: rtpengine gives no copy of its media: %s", sip_call_id, error)
            await self.ended(sip_call_id)
            return
        if self.notice is not None:
            lang = await asyncio.to_thread(self._language, started[0][1])
            if not await self._play_notice(sip_call_id, lang, (from_tag, to_tag)):
                await self.abandon(sip_call_id)

    async def ended(self, sip_call_id: str) -> None:
        """The call ended: its sockets closed, its recordings finished (and delivered)."""
        for recording in self._stop(sip_call_id):
            try:
                await self.desk.finish(recording)
            except Exception:
                log.exception("call %s: its recording could not be finished", sip_call_id)

    async def abandon(self, sip_call_id: str) -> None:
        """Stop recording the call and drop what was recorded (its notice could not be
        played: the operator asks for one before any recording)."""
        for recording in self._stop(sip_call_id):
            await asyncio.to_thread(self.desk.abandon, recording)
            log.warning("call %s: not recorded, its notice could not be played", sip_call_id)

    def _stop(self, sip_call_id: str) -> list[CallRecording]:
        """Forget the call and close the sockets rtpengine sends its media to; its
        recordings (none when it was not being recorded here)."""
        call = self._calls.pop(sip_call_id, None)
        if call is None:
            return []
        for transport in call.transports:
            transport.close()
        return call.recordings

    async def sweep(self, live_sip_call_ids: list[str]) -> int:
        """End the recordings of calls kamailio no longer has; how many."""
        gone = [call_id for call_id in self._calls if call_id not in set(live_sip_call_ids)]
        for call_id in gone:
            await self.ended(call_id)
        return len(gone)

    async def close(self) -> None:
        """Finish every recording (the service stops)."""
        for call_id in list(self._calls):
            await self.ended(call_id)

    async def _subscribe(self, sip_call_id: str, call: _Recorded, channel: int, tag: str) -> None:
        loop = asyncio.get_running_loop()
        tap = _Tap(channel, call.recordings)
        transport, _ = await loop.create_datagram_endpoint(
            lambda: tap, local_addr=(self.listen_ip, 0)
        )
        call.transports.append(transport)
        call.taps.append(tap)
        port = transport.get_extra_info("sockname")[1]
        offer = await self.ng.ask(
            "subscribe request",
            **{"call-id": sip_call_id, "from-tag": tag, **PLAIN_RTP_TO_US},
        )
        sdp = (
            f"v=0\r\no=- 1 1 IN IP4 {self.listen_ip}\r\ns=-\r\nc=IN IP4 {self.listen_ip}\r\n"
            f"t=0 0\r\nm=audio {port} {ANSWER_MEDIA}\r\n"
        )
        await self.ng.ask(
            "subscribe answer", **{"call-id": sip_call_id, "to-tag": offer["to-tag"], "sdp": sdp}
        )

    async def _play_notice(self, sip_call_id: str, lang: str, tags: tuple[str, str]) -> bool:
        """Play the notice to both parties; False when it could not be played. rtpengine
        adds played media beside the other party's instead of replacing it, so each
        party's own media is blocked meanwhile (`block media`, then `unblock media` when
        the longer playback ends)."""
        assert self.notice is not None
        path = await self.notice(lang)
        if path is None:
            return False
        call = {"call-id": sip_call_id}
        try:
            for tag in tags:
                await self.ng.ask("block media", **call, **{"from-tag": tag})
            played = [
                await self.ng.ask("play media", **call, **{"from-tag": tag, "file": str(path)})
                for tag in tags
            ]
            await asyncio.sleep(max(int(p.get("duration", 0)) for p in played) / 1000)
        except NgError as error:
            log.warning("call %s: the recording notice was not played: %s", sip_call_id, error)
            return False
        finally:
            for tag in tags:
                with contextlib.suppress(NgError):  # the call may have ended meanwhile
                    await self.ng.ask("unblock media", **call, **{"from-tag": tag})
        return True

    def _owners(self, records: list[CallRecord]) -> list[tuple[int, str]]:
        """(account, the other party's number) of each account of the call that records
        every call: the caller's for calls out, the called account's for calls in, both
        for calls between extensions."""
        owners: dict[int, str] = {}
        for record in records:
            if record.account_id is None:
                continue
            mine_is_a = record.kind != CallKind.INBOUND.value
            owners.setdefault(record.account_id, record.b_number if mine_is_a else record.a_number)
            if record.kind == CallKind.INTERNAL.value:
                callee = self.accounts.by_extension(record.b_number)
                if callee is not None:
                    owners.setdefault(callee.id, record.a_number)
        return [(owner, other) for owner, other in owners.items() if self.desk.wants(owner, False)]

    def _language(self, number: str) -> str:
        """The language of the party at `number`: its country's for an outside number, its
        account's for an extension."""
        if number.startswith("+"):
            return language_of_number(number)
        account = self.accounts.by_extension(number)
        return account.language if account is not None else "en"


def _parties(records: list[CallRecord]) -> tuple[str, str]:
    first = records[0]
    return (first.a_number, first.b_number)
