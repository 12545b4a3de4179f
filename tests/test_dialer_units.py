"""Dialer pieces that need no SIP peer: numbers, SDP, causes, G.711 translation."""

from __future__ import annotations

import audioop

import pytest

from dialer import DialerError, SipConfig
from dialer.core import cause_of
from dialer.rtp import ALAW_TO_ULAW, ULAW_TO_ALAW
from dialer.sdp import SdpError, parse_audio
from settings import load_settings


def config(**changes) -> SipConfig:
    values = {"SIP_SERVER": "sip.example.org", "SIP_USER": "u", "SIP_PASSWORD": "p"}
    values.update(changes)
    return SipConfig.from_settings(load_settings(**values))


def test_numbers_are_dialled_as_uris():
    assert config().dial_uri("+33612345678") == "sip:+33612345678@sip.example.org"
    assert config().dial_uri("1001") == "sip:1001@sip.example.org"
    stripped = config(SIP_STRIP_PLUS=True, SIP_DIAL_PREFIX="00", SIP_PORT=5080)
    assert stripped.dial_uri("+33612345678") == "sip:0033612345678@sip.example.org:5080"
    assert stripped.dial_uri("1001") == "sip:1001@sip.example.org:5080"


@pytest.mark.parametrize("bad", ["", "+", "+0612", "12a4", "sip:1@x", "+1234567890123456"])
def test_bad_numbers_raise(bad):
    with pytest.raises(DialerError, match="bad number"):
        config().dial_uri(bad)


def test_missing_settings_are_named_without_values():
    with pytest.raises(DialerError, match="SIP_PASSWORD"):
        SipConfig.from_settings(load_settings(SIP_SERVER="x", SIP_USER="u"))
    assert "s3cret-value" not in repr(config(SIP_PASSWORD="s3cret-value"))


def test_sdp_answer_gives_address_codec_and_events():
    body = (
        "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
        "m=audio 4000 RTP/AVP 8 0 96\r\na=rtpmap:8 PCMA/8000\r\n"
        "a=rtpmap:96 telephone-event/8000\r\n"
    )
    offer = parse_audio(body.encode())
    assert (offer.address, offer.port, offer.codec, offer.payload_type) == (
        "10.0.0.1",
        4000,
        "PCMA",
        8,
    )
    assert offer.event_payload_type == 96


def test_sdp_without_g711_is_refused():
    body = b"v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 9\r\na=rtpmap:9 G722/8000\r\n"
    with pytest.raises(SdpError):
        parse_audio(body)


def test_sip_codes_map_to_causes():
    assert [cause_of(c) for c in (486, 600, 603, 404, 480, 408, 500)] == [
        "busy",
        "busy",
        "declined",
        "not_found",
        "no_answer",
        "no_answer",
        "failed",
    ]


def test_ulaw_alaw_translation_matches_audioop():
    ulaw = bytes(range(256))
    assert ulaw.translate(ULAW_TO_ALAW) == audioop.lin2alaw(audioop.ulaw2lin(ulaw, 2), 2)
    alaw = bytes(range(256))
    assert alaw.translate(ALAW_TO_ULAW) == audioop.lin2ulaw(audioop.alaw2lin(alaw, 2), 2)
