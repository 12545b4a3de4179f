"""The dialer against a scripted SIP peer that behaves as real peers do (testbed/sip_peer.py).

No kamailio nor baresip: the peer is registrar and phones at once, so these run in the
fast suite. They cover what baresip will not do on request: strangers injecting RTP
and DTMF, a party behind NAT, re-INVITEs (session timers, hold), answers listing
several codecs, the SIP_* settings as they reach the wire, DTMF dialled on leg b.
"""

from __future__ import annotations

import asyncio
import re
import socket
import struct
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from dialer import CallbackRequest, Dialer, DialerError, SipConfig
from dialer.g711 import encode_ulaw
from settings import load_settings
from testbed.sip_lab import write_tone
from testbed.sip_peer import Script, ScriptedPeer, share_at, tone_pcm

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.fixture
def peer() -> Iterator[ScriptedPeer]:
    peer = ScriptedPeer(
        {
            "1001": Script(440.0),
            "1002": Script(1000.0),
            "1004": Script(620.0, ring_seconds=60.0),  # rings for a minute
            "1010": Script(1000.0, codecs=(8, 0, 101), send_pt=0),  # lists PCMA, sends PCMU
            "1011": Script(1000.0, codecs=(0, 8, 101), send_pt=(0, 8)),  # changes every packet
            "1012": Script(440.0, codecs=(8, 101)),  # PCMA only
            "1020": Script(1000.0, sdp_address="127.0.0.254", sdp_port=9),  # behind NAT
            "1030": Script(1000.0, codecs=(0, 8)),  # no telephone-event
        }
    ).start()
    yield peer
    peer.stop()


def config_for(peer: ScriptedPeer, **settings: object) -> SipConfig:
    return SipConfig.from_settings(load_settings(_env_file=None, **peer.settings(**settings)))


def run(config: SipConfig, scenario, timeout: float = 40.0):
    async def main():
        dialer = Dialer(config)
        await dialer.start()
        try:
            return await asyncio.wait_for(scenario(dialer), timeout)
        finally:
            await dialer.stop()

    return asyncio.run(main())


def place(config, request, during=None, timeout: float = 40.0):
    """One callback; `during(dialer, events)` runs beside it. Returns (summary, events)."""
    events = []

    async def scenario(dialer):
        task = asyncio.create_task(dialer.callback(request, events.append))
        if during is not None:
            await during(dialer, events)
        return await task

    return run(config, scenario, timeout), events


async def until(condition, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def bridged(events) -> bool:
    return any(e.event == "bridged" for e in events)


def stranger() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    return sock


def inject_tone(sock: socket.socket, target, frequency: float, seconds: float) -> None:
    encoded = encode_ulaw(tone_pcm(frequency, seconds))
    for index in range(len(encoded) // 160):
        header = struct.pack("!BBHII", 0x80, 0, index, index * 160, 0x1234)
        sock.sendto(header + encoded[index * 160 : (index + 1) * 160], target)
        time.sleep(0.02)


# ---- item 2: media only from where the leg negotiated it -------------------------------


def test_injected_audio_is_not_heard(peer):
    async def inject(dialer, events):
        await until(lambda: bridged(events))
        leg_a = peer.wait_call("1001")
        sock = stranger()
        await asyncio.to_thread(inject_tone, sock, leg_a.dialer_rtp, 3000.0, 1.5)
        sock.close()

    summary, _ = place(
        config_for(peer), CallbackRequest("inj1", "1001", "1002", max_seconds=3), inject
    )
    assert summary.bridged
    heard_by_b = peer.wait_call("1002").heard()
    assert share_at(heard_by_b, 440.0) >= 0.99
    assert share_at(heard_by_b, 3000.0) < 0.001


def test_injected_dtmf_does_not_complete_a_verification(peer, tmp_path):
    prompt = write_tone(tmp_path / "prompt.wav", 700, seconds=0.5)

    async def scenario(dialer):
        async def inject_then_wait():
            call = await asyncio.to_thread(peer.wait_call, "1001")
            await asyncio.sleep(0.5)  # the phone's own packets came first
            sock = stranger()
            await asyncio.to_thread(call.send_digits, "4711", sock)
            sock.close()

        injected = asyncio.create_task(inject_then_wait())
        fooled = await dialer.announce("1001", prompt, collect_digits=4, timeout=6, call_id="ver1")
        await injected

        async def press():
            call = await asyncio.to_thread(peer.wait_call, "1001", 2)
            await asyncio.sleep(0.5)
            await asyncio.to_thread(call.send_digits, "4711")

        pressing = asyncio.create_task(press())
        verified = await dialer.announce(
            "1001", prompt, collect_digits=4, timeout=10, call_id="ver2"
        )
        await pressing
        return fooled, verified

    fooled, verified = run(config_for(peer), scenario)
    assert fooled.answered and fooled.digits == "" and fooled.cause == "no_answer"
    assert verified.digits == "4711" and verified.cause == "completed"


def test_leg_behind_nat_hears_the_other_side_and_nobody_else(peer):
    async def inject(dialer, events):
        await until(lambda: bridged(events))
        await asyncio.sleep(0.5)
        sock = stranger()
        await asyncio.to_thread(inject_tone, sock, peer.wait_call("1020").dialer_rtp, 3000, 1)
        sock.close()

    summary, _ = place(
        config_for(peer), CallbackRequest("nat1", "1001", "1020", max_seconds=3), inject
    )
    assert summary.bridged
    behind_nat, other = peer.wait_call("1020"), peer.wait_call("1001")
    assert share_at(behind_nat.heard(), 440.0) >= 0.99  # no one-way audio
    assert share_at(other.heard(), 1000.0) >= 0.99
    assert share_at(other.heard(), 3000.0) < 0.001  # latched once, then no one else


# ---- item 3: re-INVITEs: session refresh and hold ------------------------------------


def packets_between(call, start: float, end: float) -> int:
    return sum(1 for p in call.received if start <= p.at < end)


def test_reinvite_refreshes_the_session_and_holds_and_resumes(peer):
    seen = {}

    async def reinvites(dialer, events):
        await until(lambda: bridged(events))
        b, a = peer.wait_call("1002"), peer.wait_call("1001")
        timer = ["Session-Expires: 90;refresher=uac", "Supported: timer"]
        seen["refresh"] = await asyncio.to_thread(b.reinvite, "sendrecv", timer)
        seen["hold"] = await asyncio.to_thread(b.reinvite, "sendonly")
        held_at = time.monotonic()
        await asyncio.sleep(1.2)
        seen["held"] = packets_between(b, held_at + 0.2, held_at + 1.2)
        seen["moh"] = packets_between(a, held_at + 0.2, held_at + 1.2)
        seen["resume"] = await asyncio.to_thread(b.reinvite, "sendrecv")
        resumed_at = time.monotonic()
        await asyncio.sleep(0.8)
        seen["resumed"] = packets_between(b, resumed_at + 0.2, resumed_at + 0.8)
        seen["old_hold"] = await asyncio.to_thread(b.reinvite, "sendrecv", None, "0.0.0.0")
        old_at = time.monotonic()
        await asyncio.sleep(0.8)
        seen["old_held"] = packets_between(b, old_at + 0.2, old_at + 0.8)
        seen["no_offer"] = await asyncio.to_thread(b.request, "INVITE")
        seen["short"] = await asyncio.to_thread(b.reinvite, "sendrecv", ["Session-Expires: 30"])

    summary, _ = place(
        config_for(peer), CallbackRequest("reinv1", "1001", "1002", max_seconds=9), reinvites
    )
    assert summary.cause == "max_duration" and summary.bridged  # nobody hung up
    refresh = seen["refresh"]
    assert refresh.startswith("SIP/2.0 200")
    assert "Session-Expires: 90;refresher=uac" in refresh and "Require: timer" in refresh
    assert re.search(r"^m=audio \d+ RTP/AVP", refresh, re.M) and "a=sendrecv" in refresh
    assert seen["hold"].startswith("SIP/2.0 200") and "a=recvonly" in seen["hold"]
    assert seen["held"] == 0 and seen["moh"] > 30  # not sent to the held leg; its music is
    assert seen["resume"].startswith("SIP/2.0 200") and seen["resumed"] > 20
    assert seen["old_hold"].startswith("SIP/2.0 200") and seen["old_held"] == 0
    assert seen["no_offer"].startswith("SIP/2.0 200") and "m=audio" in seen["no_offer"]
    assert seen["short"].startswith("SIP/2.0 422") and "Min-SE: 90" in seen["short"]
    versions = [
        int(re.search(r"^o=\S+ \S+ (\d+)", seen[k], re.M).group(1))
        for k in ("refresh", "hold", "resume")
    ]
    assert versions[0] < versions[1] < versions[2]  # RFC 3264 §8: changed SDP, new version


def test_reinvite_with_unusable_sdp_is_refused_and_the_call_goes_on(peer):
    seen = {}

    async def bad_offer(dialer, events):
        await until(lambda: bridged(events))
        b = peer.wait_call("1002")
        b.script = Script(1000.0, codecs=(9,))  # G.722 only
        try:
            seen["answer"] = await asyncio.to_thread(
                b.request, "INVITE", b"v=0\r\nm=audio 4 RTP/AVP 9\r\n"
            )
        finally:
            b.script = Script(1000.0)

    summary, _ = place(
        config_for(peer), CallbackRequest("reinv2", "1001", "1002", max_seconds=3), bad_offer
    )
    assert seen["answer"].startswith("SIP/2.0 488")
    assert summary.cause == "max_duration"
    assert share_at(peer.wait_call("1001").heard(), 1000.0) >= 0.99


# ---- item 4: every codec a leg listed, packet by packet ---------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [("1001", "1010"), ("1012", "1011"), ("1010", "1012")],
    ids=["answers-8-0-sends-0", "pcma-only-vs-switching", "both-reordered"],
)
def test_audio_crosses_whatever_codec_each_packet_uses(peer, a, b):
    summary, _ = place(config_for(peer), CallbackRequest(f"codec{a}{b}", a, b, max_seconds=3))
    assert summary.bridged
    leg_a, leg_b = peer.wait_call(a), peer.wait_call(b)
    assert share_at(leg_a.heard(), leg_b.script.tone_hz) >= 0.99
    assert share_at(leg_b.heard(), leg_a.script.tone_hz) >= 0.99
    # each is sent the first codec it listed
    for leg in (leg_a, leg_b):
        sent = {p.payload_type for p in leg.received}
        assert sent == {leg.script.codecs[0]}, (leg.user, sent)


# ---- item 6: every SIP_* setting changes what the dialer does -------------------------


def test_settings_reach_the_wire(peer):
    peer.scripts["0033612345678"] = Script(440.0)
    config = config_for(
        peer,
        SIP_USER="trunk7",
        SIP_LOCAL_IP="127.0.0.2",
        SIP_STRIP_PLUS=True,
        SIP_DIAL_PREFIX="00",
    )
    summary, _ = place(config, CallbackRequest("set1", "1001", "+33612345678", max_seconds=1))
    assert summary.bridged
    register = next(r for r in peer.requests if r[0].startswith("REGISTER"))
    assert register[3] == ("127.0.0.2", config.local_port)  # SIP_LOCAL_IP, SIP_LOCAL_PORT
    assert "trunk7" in dict(register[1])["From"] and "trunk7" in peer.registered  # SIP_USER
    invites = [r for r in peer.requests if r[0].startswith("INVITE")]
    assert invites[1][0].startswith("INVITE sip:0033612345678@")  # strip plus, prefix
    low, high = config.rtp_ports
    for _start, _headers, body, _source in invites:
        port = int(re.search(rb"^m=audio (\d+)", body, re.M).group(1))
        assert low <= port <= high  # SIP_RTP_PORTS
        assert b"c=IN IP4 127.0.0.2" in body  # SIP_LOCAL_IP in SDP


def test_plus_is_kept_without_strip_plus(peer):
    peer.scripts["+33612345678"] = Script(440.0)
    summary, _ = place(
        config_for(peer, SIP_DIAL_PREFIX="9"),
        CallbackRequest("set2", "1001", "+33612345678", max_seconds=1),
    )
    assert summary.bridged is False  # "9+336..." is nobody: the prefix is applied
    assert any(r[0].startswith("INVITE sip:9+33612345678@") for r in peer.requests)


def test_ring_timeout_setting_bounds_the_ringing(peer):
    began = time.monotonic()
    summary, events = place(
        config_for(peer, SIP_RING_TIMEOUT=2), CallbackRequest("ring1", "1001", "1004")
    )
    took = time.monotonic() - began
    assert summary.cause == "no_answer" and took < 8, took
    assert ("ended", "b", "no_answer") in [(e.event, e.leg, e.cause) for e in events]
    assert any(r[0].startswith("CANCEL") for r in peer.requests)


def test_request_ring_timeout_still_wins_over_the_setting(peer):
    began = time.monotonic()
    summary, _ = place(
        config_for(peer, SIP_RING_TIMEOUT=30),
        CallbackRequest("ring2", "1001", "1004", ring_timeout=1),
    )
    assert summary.cause == "no_answer" and time.monotonic() - began < 6


def test_password_setting_is_used_for_digest(peer):
    peer.password = "s3cret"
    summary, _ = place(
        config_for(peer, SIP_PASSWORD="s3cret"),
        CallbackRequest("pw1", "1001", "1002", max_seconds=1),
    )
    assert summary.bridged
    with pytest.raises(DialerError, match="rejected the credentials"):
        run(config_for(peer, SIP_PASSWORD="wrong"), lambda dialer: asyncio.sleep(0))


def test_server_and_port_settings_pick_the_registrar(peer):
    other = ScriptedPeer().start()
    try:
        run(config_for(peer, SIP_PORT=other.port), lambda dialer: asyncio.sleep(0))
        assert set(other.registered) == {"dialer"} and peer.registered == []
        config = replace(config_for(peer, SIP_SERVER="127.0.0.3"), start_timeout=2)
        with pytest.raises(DialerError, match="registration with 127.0.0.3"):
            run(config, lambda dialer: asyncio.sleep(0))
    finally:
        other.stop()


COVERED = {
    "SIP_SERVER": test_server_and_port_settings_pick_the_registrar,
    "SIP_PORT": test_server_and_port_settings_pick_the_registrar,
    "SIP_USER": test_settings_reach_the_wire,
    "SIP_PASSWORD": test_password_setting_is_used_for_digest,
    "SIP_LOCAL_IP": test_settings_reach_the_wire,
    "SIP_LOCAL_PORT": test_settings_reach_the_wire,
    "SIP_RTP_PORTS": test_settings_reach_the_wire,
    "SIP_STRIP_PLUS": test_settings_reach_the_wire,
    "SIP_DIAL_PREFIX": test_plus_is_kept_without_strip_plus,
    "SIP_RING_TIMEOUT": test_ring_timeout_setting_bounds_the_ringing,
}


def test_every_documented_sip_setting_has_a_behaviour_test():
    documented = set(re.findall(r"^\| `(SIP_[A-Z_]+)`", README.read_text(), re.M))
    # The exchange's trunk settings are the carrier's: its calls in test_exchange_trunk.py.
    trunk = {name for name in documented if name.startswith("SIP_TRUNK_")}
    assert trunk == {"SIP_TRUNK_HOST", "SIP_TRUNK_PORT", "SIP_TRUNK_USER", "SIP_TRUNK_PASSWORD"}
    trunk_tests = (README.parent / "tests" / "test_exchange_trunk.py").read_text()
    assert all(f"{name}=" in trunk_tests for name in trunk)
    assert documented - trunk == set(COVERED)


# ---- item 7: digits dialled on leg b ---------------------------------------------------


def test_dtmf_is_dialled_on_leg_b_before_the_bridge(peer):
    summary, events = place(
        config_for(peer),
        CallbackRequest("ext1", "1001", "1002", max_seconds=4, dtmf="45,6#"),
    )
    assert summary.bridged
    b, a = peer.wait_call("1002"), peer.wait_call("1001")
    assert b.events() == "456#" and a.events() == ""
    answered_b = next(e.at for e in events if e.event == "answered" and e.leg == "b")
    bridged_at = next(e.at for e in events if e.event == "bridged")
    assert (bridged_at - answered_b).total_seconds() >= 1.5  # 4 digits and a 1 s pause
    heard = b.heard()
    assert share_at(heard[-8000:], 440.0) >= 0.99  # then bridged


def test_dtmf_to_a_leg_without_telephone_event_still_bridges(peer):
    summary, _ = place(
        config_for(peer), CallbackRequest("ext2", "1001", "1030", max_seconds=2, dtmf="1")
    )
    assert summary.bridged and peer.wait_call("1030").events() == ""


@pytest.mark.parametrize("bad", ["12x", "1;2", "9" * 65])
def test_bad_dtmf_is_refused(bad):
    with pytest.raises(DialerError, match="dtmf"):
        CallbackRequest("x", "1001", "1002", dtmf=bad).validate()
