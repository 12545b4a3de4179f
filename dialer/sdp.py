"""The little SDP the dialer needs: where a phone wants its RTP and in which payload types."""

from __future__ import annotations

from dataclasses import dataclass, field

AUDIO_CODECS = ("PCMU", "PCMA")  # G.711, relayed as they are
STATIC_TYPES = {0: "PCMU", 8: "PCMA"}
DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")  # RFC 3264 §5.1
# The direction an answer gives for each direction of the offer (RFC 3264 §6.1)
ANSWER_DIRECTION = {
    "sendrecv": "sendrecv",
    "sendonly": "recvonly",
    "recvonly": "sendonly",
    "inactive": "inactive",
}
OUR_FORMATS = {0: "PCMU/8000", 8: "PCMA/8000", 101: "telephone-event/8000"}


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
    direction: str = "sendrecv"  # a=sendrecv/sendonly/recvonly/inactive (RFC 3264 §5.1)

    @property
    def audio_types(self) -> dict[int, str]:
        """Every G.711 payload type the party listed, and its codec: it may send any."""
        return {
            pt: name.upper()
            for pt, name in self.payload_types.items()
            if name.upper() in AUDIO_CODECS
        }

    @property
    def wants_media(self) -> bool:
        """False when the party asked to receive nothing: on hold (RFC 3264 §8.4: sendonly
        or inactive; the older c=0.0.0.0 of RFC 2543)."""
        return self.direction in ("sendrecv", "recvonly") and self.address != "0.0.0.0"


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
    session_direction = "sendrecv"
    media: list[dict] = []
    for line in text.splitlines():
        kind, _, value = line.strip().partition("=")
        if kind == "a" and value in DIRECTIONS:
            if media:
                media[-1]["direction"] = value
            else:
                session_direction = value
        elif kind == "c":
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
            media.append(
                {
                    "type": parts[0],
                    "port": port,
                    "formats": parts[3:],
                    "maps": {},
                    "direction": session_direction,
                }
            )
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
        direction=stream["direction"],
    )


def origin(body: bytes | str) -> tuple[str, str, int] | None:
    """The o= line's user, session id and version (RFC 4566 §5.2), or None."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    for line in text.splitlines():
        if line.startswith("o="):
            parts = line[2:].split()
            if len(parts) >= 3 and parts[2].isdigit():
                return parts[0], parts[1], int(parts[2])
    return None


def answer(
    address: str,
    port: int,
    offer: MediaOffer | None,
    *,
    session: tuple[str, str, int] = ("-", "0", 0),
) -> bytes:
    """Our SDP for an offer of the peer (RFC 3264 §6): the offer's G.711 and
    telephone-event formats we take, in its order and numbering, and the direction that
    answers its own (sendonly -> recvonly, inactive -> inactive); without an offer (an
    INVITE without SDP, §5) our own offer of PCMU, PCMA and telephone-event/101.
    session: o= user, id and version (the version goes up whenever the SDP changes)."""
    formats = dict(OUR_FORMATS)
    direction = "sendrecv"
    if offer is not None:
        formats = {pt: f"{name}/8000" for pt, name in offer.audio_types.items()}
        if offer.event_payload_type is not None:
            formats[offer.event_payload_type] = "telephone-event/8000"
        direction = ANSWER_DIRECTION.get(offer.direction, "sendrecv")
    user, session_id, version = session
    lines = [
        "v=0",
        f"o={user} {session_id} {version} IN IP4 {address}",
        "s=-",
        f"c=IN IP4 {address}",
        "t=0 0",
        f"m=audio {port} RTP/AVP {' '.join(str(pt) for pt in formats)}",
        *(f"a=rtpmap:{pt} {name}" for pt, name in formats.items()),
        *([f"a=fmtp:{pt} 0-16" for pt, name in formats.items() if name.startswith("telephone")]),
        "a=ptime:20",
        f"a={direction}",
    ]
    return ("\r\n".join(lines) + "\r\n").encode()
