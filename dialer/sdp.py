"""The little SDP the dialer needs: where a phone wants its RTP and in which payload types."""

from __future__ import annotations

from dataclasses import dataclass, field

AUDIO_CODECS = ("PCMU", "PCMA")  # G.711, relayed as they are
STATIC_TYPES = {0: "PCMU", 8: "PCMA"}


class SdpError(ValueError):
    """An SDP body without a usable audio stream."""


@dataclass
class MediaOffer:
    """The audio stream a party offered or accepted."""

    address: str
    port: int
    codec: str  # PCMU or PCMA: the first usable one
    payload_type: int
    event_payload_type: int | None = None  # RFC 2833 telephone-event
    payload_types: dict[int, str] = field(default_factory=dict)


def parse_audio(body: bytes | str) -> MediaOffer:
    """The first audio stream of an SDP body (RFC 4566) with a G.711 codec; SdpError
    otherwise."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    session_address, streams = _read_streams(text)
    for stream in streams:
        offer = _audio_offer(stream, session_address)
        if offer is not None:
            return offer
    raise SdpError("no audio stream with PCMU or PCMA in the SDP")


def _read_streams(text: str) -> tuple[str | None, list[dict]]:
    """The session-level connection address and each media section: its type, port,
    formats, rtpmap names by payload type, and its own connection address."""
    session_address = None
    media: list[dict] = []
    for line in text.splitlines():
        kind, _, value = line.strip().partition("=")
        if kind == "c":
            address = value.split()[-1] if value.split() else None
            if media:
                media[-1]["address"] = address
            else:
                session_address = address
        elif kind == "m":
            parts = value.split()
            if len(parts) < 4:
                continue
            port = int(parts[1].split("/")[0]) if parts[1].split("/")[0].isdigit() else 0
            media.append({"type": parts[0], "port": port, "formats": parts[3:], "maps": {}})
        elif kind == "a" and media and value.startswith("rtpmap:"):
            pt, _, mapping = value[7:].partition(" ")
            if pt.isdigit():
                media[-1]["maps"][int(pt)] = mapping.split("/")[0]
    return session_address, media


def _audio_offer(stream: dict, session_address: str | None) -> MediaOffer | None:
    """The offer of one media section when it is audio with a G.711 codec, else None."""
    if stream["type"] != "audio" or stream["port"] == 0:
        return None
    types: dict[int, str] = {}
    for fmt in stream["formats"]:
        if fmt.isdigit():
            pt = int(fmt)
            types[pt] = stream["maps"].get(pt, STATIC_TYPES.get(pt, "?"))
    audio = [(pt, name.upper()) for pt, name in types.items() if name.upper() in AUDIO_CODECS]
    address = stream.get("address") or session_address
    if not audio or not address:
        return None
    events = [pt for pt, name in types.items() if name.lower() == "telephone-event"]
    return MediaOffer(
        address=address,
        port=stream["port"],
        codec=audio[0][1],
        payload_type=audio[0][0],
        event_payload_type=events[0] if events else None,
        payload_types=types,
    )
