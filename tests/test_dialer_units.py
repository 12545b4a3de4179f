"""Dialer pieces that need no SIP peer: numbers, SDP, causes, G.711 translation."""

from __future__ import annotations

import struct
import subprocess
import sys
import warnings
from array import array

import pytest

from dialer import DialerError, SipConfig, g711
from dialer.core import cause_of
from dialer.rtp import ALAW_TO_ULAW, ENCODERS, ULAW_TO_ALAW
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


ALL_SAMPLES = array("h", range(-32768, 32768))
ALL_CODES = bytes(range(256))


def pcm(*samples: int) -> bytes:
    return array("h", samples).tobytes()


def samples(pcm16: bytes) -> list[int]:
    return array("h", pcm16).tolist()


def reference_ulaw(sample: int) -> int:
    """μ-law of one 16-bit sample, sample by sample as in Sun's g711.c (ITU-T G.711)."""
    value = sample >> 2
    value, mask = (-value, 0x7F) if value < 0 else (value, 0xFF)
    value += 33
    ends = [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF]
    segment = next((k for k, end in enumerate(ends) if value <= end), 8)
    if segment == 8:
        return 0x7F ^ mask
    return ((segment << 4) | ((value >> (segment + 1)) & 0x0F)) ^ mask


def reference_alaw(sample: int) -> int:
    """A-law of one 16-bit sample, sample by sample as in Sun's g711.c (ITU-T G.711)."""
    value = sample >> 3
    value, mask = (value, 0xD5) if value >= 0 else (-value - 1, 0x55)
    ends = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF]
    segment = next((k for k, end in enumerate(ends) if value <= end), 8)
    if segment == 8:
        return 0x7F ^ mask
    step = value >> 1 if segment < 2 else value >> segment
    return ((segment << 4) | (step & 0x0F)) ^ mask


def test_g711_known_vectors():
    # G.711 Tables 1/2: +0 is 0xFF in μ-law (0x7F is -0) and 0xD5 in A-law (decoding to
    # the middle of the first step, 1 on the 13-bit scale); the last steps decode to 8031
    # (μ-law, 14-bit) and 4032 (A-law, 13-bit), 32124 and 32256 on the 16-bit scale.
    ulaw = g711.encode_ulaw(pcm(0, -1, 8, -8, 32767, -32768, 32124, -32124))
    assert ulaw == bytes([0xFF, 0x7E, 0xFE, 0x7E, 0x80, 0x00, 0x80, 0x00])
    alaw = g711.encode_alaw(pcm(0, -1, 8, -8, 32767, -32768, 32256, -32256))
    assert alaw == bytes([0xD5, 0x55, 0xD5, 0x55, 0xAA, 0x2A, 0xAA, 0x2A])
    assert samples(g711.decode_ulaw(bytes([0xFF, 0x7F, 0x80, 0x00]))) == [0, 0, 32124, -32124]
    assert samples(g711.decode_alaw(bytes([0xD5, 0x55, 0xAA, 0x2A]))) == [8, -8, 32256, -32256]
    assert (g711.ULAW_SILENCE, g711.ALAW_SILENCE) == (0xFF, 0xD5)
    assert ULAW_TO_ALAW[0xFF] == 0xD5 and ULAW_TO_ALAW[0x80] == 0xAA
    assert ALAW_TO_ULAW[0x2A] == 0x00


def test_g711_tables_follow_the_per_sample_algorithm():
    all_pcm = ALL_SAMPLES.tobytes()
    for encode, table, reference in (
        (g711.encode_ulaw, g711.ULAW_ENCODE, reference_ulaw),
        (g711.encode_alaw, g711.ALAW_ENCODE, reference_alaw),
    ):
        expected = bytes(map(reference, ALL_SAMPLES))  # samples -32768..32767
        assert encode(all_pcm) == expected
        assert table == expected[32768:] + expected[:32768]  # indexed by sample & 0xFFFF


def test_g711_decoding_is_symmetric_and_round_trips():
    for table in (g711.ULAW_DECODE, g711.ALAW_DECODE):
        assert all(table[code ^ 0x80] == -table[code] for code in range(256))
    ulaw_round = g711.encode_ulaw(g711.decode_ulaw(ALL_CODES))
    assert ulaw_round == ALL_CODES.replace(b"\x7f", b"\xff")  # -0 comes back as +0
    assert g711.encode_alaw(g711.decode_alaw(ALL_CODES)) == ALL_CODES
    assert samples(g711.decode_ulaw(ALL_CODES)) == list(g711.ULAW_DECODE)
    assert samples(g711.decode_alaw(ALL_CODES)) == list(g711.ALAW_DECODE)
    assert ALL_CODES.translate(ULAW_TO_ALAW) == g711.encode_alaw(g711.decode_ulaw(ALL_CODES))
    assert ALL_CODES.translate(ALAW_TO_ULAW) == g711.encode_ulaw(g711.decode_alaw(ALL_CODES))


def test_g711_buffers():
    long_pcm = ALL_SAMPLES.tobytes() * 2  # several encoding chunks
    assert g711.encode_ulaw(long_pcm) == g711.encode_ulaw(ALL_SAMPLES.tobytes()) * 2
    assert g711.encode_alaw(bytearray(pcm(5))) == bytes([g711.ALAW_ENCODE[5]])
    assert g711.encode_ulaw(memoryview(pcm(-5, 7))) == g711.encode_ulaw(pcm(-5, 7))
    assert g711.encode_ulaw(b"") == g711.decode_alaw(b"") == b""
    assert ENCODERS["PCMU"](pcm(0)) == b"\xff" and ENCODERS["PCMA"](pcm(0)) == b"\xd5"
    with pytest.raises(ValueError, match="odd"):
        g711.encode_alaw(b"\x00\x01\x02")
    assert struct.unpack("=h", g711.decode_ulaw(b"\x80")) == (32124,)  # native byte order


def import_audioop():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return pytest.importorskip("audioop")  # removed in Python 3.13


def test_g711_is_bit_exact_with_audioop():
    audioop = import_audioop()
    all_pcm = ALL_SAMPLES.tobytes()
    assert g711.encode_ulaw(all_pcm) == audioop.lin2ulaw(all_pcm, 2)
    assert g711.encode_alaw(all_pcm) == audioop.lin2alaw(all_pcm, 2)
    assert g711.decode_ulaw(ALL_CODES) == audioop.ulaw2lin(ALL_CODES, 2)
    assert g711.decode_alaw(ALL_CODES) == audioop.alaw2lin(ALL_CODES, 2)


def test_ulaw_alaw_translation_matches_audioop():
    audioop = import_audioop()
    ulaw = bytes(range(256))
    assert ulaw.translate(ULAW_TO_ALAW) == audioop.lin2alaw(audioop.ulaw2lin(ulaw, 2), 2)
    alaw = bytes(range(256))
    assert alaw.translate(ALAW_TO_ULAW) == audioop.lin2ulaw(audioop.alaw2lin(alaw, 2), 2)


def test_dialer_does_not_import_audioop():
    # rfcvoip itself still imports audioop (audioop-lts on Python >= 3.13): load it first,
    # then make any further import of audioop fail and load the dialer.
    code = """
import sys, warnings
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import rfcvoip, rfcvoip.RTP, rfcvoip.SIP, rfcvoip.VoIP.VoIP
sys.modules["audioop"] = None
import dialer, dialer.rtp, dialer.g711
"""
    done = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


# ---- SIP robustness, dialogs, SDP offer/answer, media sources (no SIP peer) -----------

RAW_OPTIONS = (
    b"OPTIONS sip:d@127.0.0.1 SIP/2.0\r\nv: SIP/2.0/UDP 10.9.9.9:5060;branch=z9hG4bK1\r\n"
    b"f: <sip:x@y>;tag=1\r\nt: <sip:d@z>\r\ni: abc\r\nCSeq: 1 OPTIONS\r\n\r\n"
)


def test_bad_request_copies_the_request_and_names_the_problem():
    from dialer.sip_rfcvoip import bad_request

    answer = bad_request(RAW_OPTIONS, 'missing "x"\r\nInjected: 1', "T").decode()
    assert answer.startswith("SIP/2.0 400 Bad Request\r\nVia: SIP/2.0/UDP 10.9.9.9:5060")
    assert "To: <sip:d@z>;tag=T" in answer and "Call-ID: abc" in answer
    assert "\r\nInjected" not in answer and answer.endswith("Content-Length: 0\r\n\r\n")
    assert bad_request(RAW_OPTIONS.replace(b"SIP/2.0\r\n", b"SIP/3.0\r\n", 1), "v", "T").startswith(
        b"SIP/2.0 505"
    )
    assert bad_request(b"SIP/2.0 200 OK\r\n\r\n", "x", "T") is None  # responses: dropped
    assert bad_request(b"ACK sip:d@h SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n\r\n", "x", "T") is None
    assert bad_request(b"OPTIONS sip:d@h SIP/2.0\r\n\r\n", "x", "T") is None  # no Via


def test_session_timer_answers():
    from dialer.core import session_timer
    from dialer.sip_rfcvoip import SipMessage

    def message(*headers: str) -> SipMessage:
        raw = "INVITE sip:d@h SIP/2.0\r\n" + "".join(f"{h}\r\n" for h in headers) + "\r\n"
        return SipMessage("c", False, 0, "INVITE", b"", type("M", (), {"raw": raw.encode()})())

    assert session_timer(message()) == (200, [])
    assert session_timer(message("Session-Expires: 1800", "Supported: timer")) == (
        200,
        ["Session-Expires: 1800;refresher=uac", "Require: timer"],
    )
    assert session_timer(message("x: 600;refresher=uas")) == (
        200,
        ["Session-Expires: 600;refresher=uas"],
    )
    assert session_timer(message("Session-Expires: 89")) == (422, ["Min-SE: 90"])


def test_sdp_answers_follow_the_offer_direction():
    from dialer.sdp import answer

    offer = parse_audio(
        b"v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 8 0 18 96\r\n"
        b"a=rtpmap:96 telephone-event/8000\r\na=sendonly\r\n"
    )
    assert offer.direction == "sendonly" and not offer.wants_media
    assert offer.audio_types == {8: "PCMA", 0: "PCMU"}
    text = answer("127.0.0.1", 5000, offer, session=("-", "7", 3)).decode()
    assert "m=audio 5000 RTP/AVP 8 0 96\r\n" in text and "a=recvonly" in text
    assert "o=- 7 3 IN IP4 127.0.0.1" in text
    held = parse_audio(b"v=0\r\nc=IN IP4 0.0.0.0\r\nm=audio 4000 RTP/AVP 0\r\n")
    assert held.direction == "sendrecv" and not held.wants_media
    assert "m=audio 5000 RTP/AVP 0 8 101" in answer("127.0.0.1", 5000, None).decode()


def test_dialog_requests_follow_the_route_set():
    from dialer.dialogs import LegDialog, bye_request, cancel_request, target_of

    dialog = LegDialog(
        "cid@h",
        "call1",
        "b",
        "confirmed",
        "sip:1002@proxy:5062",
        "SIP/2.0/UDP me:5070;branch=z9hG4bKx",
        "<sip:dialer@proxy>;tag=ours",
        "<sip:1002@proxy>;tag=theirs",
        7,
        "sip:1002@10.1.1.1:5080",
    )
    bye, target = bye_request(dialog, "127.0.0.1", 5070)
    assert bye.startswith(b"BYE sip:1002@10.1.1.1:5080 SIP/2.0") and target == ("10.1.1.1", 5080)
    assert b"CSeq: 8 BYE" in bye and b";tag=theirs" in bye and b";tag=ours" in bye
    dialog.route_set = ["<sip:p1:5062;lr>", "<sip:p2;lr>"]
    bye, target = bye_request(dialog, "127.0.0.1", 5070)
    assert target == ("p1", 5062) and bye.index(b"Route: <sip:p1") < bye.index(b"Route: <sip:p2")
    dialog.route_set = ["<sip:strict:5099>"]
    bye, target = bye_request(dialog, "127.0.0.1", 5070)
    assert bye.startswith(b"BYE sip:strict:5099 SIP/2.0") and target == ("strict", 5099)
    assert b"Route: <sip:1002@10.1.1.1:5080>" in bye
    cancel = cancel_request(dialog)
    assert cancel.startswith(b"CANCEL sip:1002@proxy:5062 SIP/2.0")
    assert b"Via: SIP/2.0/UDP me:5070;branch=z9hG4bKx\r\n" in cancel and b"CSeq: 7 CANCEL" in cancel
    assert target_of("<sip:u@h:1;maddr=10.0.0.9>") == ("10.0.0.9", 1)


def test_owner_of_a_dialog_is_told_alive_or_gone():
    import os
    import socket as sockets

    from dialer.dialogs import owner_gone, owner_id

    assert not owner_gone(owner_id())
    host = sockets.gethostname()
    assert owner_gone(f"{host}:{os.getpid()}:1")  # a reused pid: other start time
    assert owner_gone(f"{host}:999999999:1")
    assert not owner_gone("another-host:1:1")  # cannot be told: not gone


def _rtp(pt: int, payload: bytes, seq: int = 0) -> bytes:
    return struct.pack("!BBHII", 0x80, pt, seq, seq * 160, 7) + payload


def test_media_only_from_the_negotiated_or_latched_source():
    import asyncio
    import socket as sockets

    from dialer.rtp import MediaLeg, PortPool
    from dialer.sdp import MediaOffer

    def udp() -> sockets.socket:
        sock = sockets.socket(sockets.AF_INET, sockets.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(0.3)
        return sock

    async def scenario():
        loop = asyncio.get_running_loop()
        pool = PortPool("127.0.0.1", 45000, 45999)
        party_a, party_b, nat_b, intruder = udp(), udp(), udp(), udp()
        a, b = MediaLeg(loop, pool.bind()), MediaLeg(loop, pool.bind())
        a.set_remote(
            MediaOffer(
                "127.0.0.1",
                party_a.getsockname()[1],
                "PCMU",
                0,
                payload_types={0: "PCMU", 8: "PCMA"},
            )
        )
        # b's SDP names a port nobody uses; it really sends from nat_b
        b.set_remote(MediaOffer("127.0.0.1", 9, "PCMA", 8, payload_types={8: "PCMA", 0: "PCMU"}))
        a.bridge(b)
        nat_b.sendto(_rtp(0, b"\xff" * 160), ("127.0.0.1", b.port))  # PCMU although PCMA first
        party_a.sendto(_rtp(8, b"\xd5" * 160), ("127.0.0.1", a.port))  # PCMA from a
        intruder.sendto(_rtp(0, b"\x00" * 160), ("127.0.0.1", a.port))
        intruder.sendto(_rtp(0, b"\x00" * 160), ("127.0.0.1", b.port))
        await asyncio.sleep(0.2)
        got_a = await asyncio.to_thread(party_a.recv, 2048)
        got_b = await asyncio.to_thread(nat_b.recv, 2048)
        assert got_a[1] & 0x7F == 0 and got_a[12:] == b"\xff" * 160  # PCMU kept for a
        assert got_b[1] & 0x7F == 8 and got_b[12:] == b"\xd5" * 160  # latched: b hears a
        # b latched to its NAT address and dropped the intruder's packet itself; a's
        # socket connected to its SDP address: the kernel drops it, or a did when it came
        # before the connect
        assert b.foreign == 1 and a.foreign in (0, 1)
        for sock in (party_a, nat_b):
            with pytest.raises(TimeoutError):
                await asyncio.to_thread(sock.recv, 2048)  # nothing of the intruder
        for sock in (party_a, party_b, nat_b, intruder):
            sock.close()
        a.close()
        b.close()

    asyncio.run(scenario())


def test_interrupted_dialogs_are_those_of_closed_calls_and_dead_owners(tmp_path):
    import os
    import socket as sockets

    from dialer.dialogs import LegDialog, owner_id
    from dialer.records import dialog_row, interrupted_dialogs, leg_dialog
    from storage import open_database
    from storage.dialogs import DialogStore

    engine = open_database(f"sqlite:///{tmp_path}/d.db")
    store = DialogStore(engine)
    gone = f"{sockets.gethostname()}:{os.getpid()}:0"

    def leg(sip_call_id: str, call_id: str, owner: str) -> LegDialog:
        return LegDialog(
            sip_call_id,
            call_id,
            "a",
            "confirmed",
            "sip:1@h",
            "v",
            "f;tag=1",
            "t;tag=2",
            3,
            "sip:1@10.0.0.1",
            ["<sip:p;lr>", "<sip:q;lr>"],
            owner,
        )

    for dialog in (
        leg("s1", "closed", owner_id()),
        leg("s2", "alive", owner_id()),
        leg("s3", "dead", gone),
        leg("s4", "remote", "elsewhere:1:1"),
    ):
        store.save(dialog_row(dialog))
    found = interrupted_dialogs(store, ["closed"])
    assert sorted(d.sip_call_id for d in found) == ["s1", "s3"]
    assert leg_dialog(store.for_calls(["dead"])[0]) == leg("s3", "dead", gone)  # round trip
    store.delete_leg("dead", "a")
    store.delete_call("closed")
    assert sorted(d.sip_call_id for d in store.all()) == ["s2", "s4"]
    engine.dispose()
