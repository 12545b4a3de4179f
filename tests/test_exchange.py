"""The exchange against real engines: kamailio and rtpengine started by exchange.engines
from the configuration `serve` writes, baresip phones over TLS with SRTP, the tones
checked at the phones, the call records read from the database."""

from __future__ import annotations

import re
import socket
import stat
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta

import numpy as np
import pytest

from dialer.g711 import decode_ulaw
from exchange.config import MAX_AUTH_FAILURES
from exchange.control import ControlServer
from exchange.engines import Engine
from exchange.rpc import KamailioRpc, RpcError
from exchange.service import Exchange
from exchange.softphones import Softphones
from exchange.upkeep import live_call_ids
from storage import open_database
from storage.accounts import AccountStore
from storage.calls import CallStore
from testbed.exchange_lab import ExchangeLab, capture_udp, sip_attempt
from testbed.sip_lab import Phone, samples_tone_share, tone_share, wait_for

pytestmark = pytest.mark.sip


@pytest.fixture
def lab(db_url, tmp_path) -> Iterator[ExchangeLab]:
    lab = ExchangeLab(db_url, tmp_path).start()
    yield lab
    lab.stop()


def in_a_call(lab: ExchangeLab, **options) -> tuple[Phone, Phone]:
    """alice (440 Hz) called bob (1000 Hz); bob's phone reports the call established."""
    alice = lab.softphone("console:alice", tone_hz=440.0, **options)
    bob = lab.softphone("console:bob", tone_hz=1000.0, **options)
    lab.dial(alice, bob.user)
    bob.wait_event("CALL_ESTABLISHED")
    return alice, bob


def restart(lab: ExchangeLab, engine: Engine) -> None:
    """Stop one engine and start it again, as `Engines.watch` does after it exits."""
    lab.run(engine.stop())
    lab.run(engine.spawn())
    lab.run(engine.wait_ready())


def internal_records(lab: ExchangeLab, caller: str):
    account = lab.accounts.by_extension(caller)
    return [r for r in lab.calls.history(account.id, limit=20) if r.kind == "internal"]


def test_two_softphones_call_each_other_over_tls_and_srtp(lab):
    alice, bob = in_a_call(lab)
    alice.wait_event("CALL_ESTABLISHED")
    time.sleep(3)
    alice.command("hangup")
    alice.wait_event("CALL_CLOSED")
    bob.wait_event("CALL_CLOSED")
    assert tone_share(bob.heard(), 440.0) >= 0.99
    assert tone_share(alice.heard(), 1000.0) >= 0.99
    for phone in (alice, bob):  # each phone's media was SRTP (SDES, RFC 4568)
        assert [e["param"] for e in phone.calls_with("CALL_MENC")] == [
            "0,audio,AES_CM_128_HMAC_SHA1_80"
        ]
    [record] = internal_records(lab, alice.user)
    assert (record.a_number, record.b_number, record.state) == (alice.user, bob.user, "ended")
    assert record.bridged_at is not None and record.hangup_cause == "hangup_a"
    assert record.cost == 0  # calls between extensions are free


def test_an_extension_without_a_registered_phone_is_unavailable(lab):
    alice = lab.softphone("console:alice")
    carol, _password = lab.credentials("console:carol")  # an account, but no phone
    lab.dial(alice, carol)
    closed = alice.wait_event("CALL_CLOSED")
    assert "480" in str(closed.get("param", "")), closed
    [record] = internal_records(lab, alice.user)
    assert (record.state, record.hangup_cause, record.bridged_at) == ("ended", "no_answer", None)


def test_wrong_passwords_are_refused_and_a_flood_of_them_blocks_the_source(lab):
    user, password = lab.credentials("console:alice")
    port = lab.settings.PBX_SIP_PORT
    assert sip_attempt(port, "REGISTER", user, password) == 200
    assert sip_attempt(port, "REGISTER", user, "not-" + password) == 401
    assert sip_attempt(port, "REGISTER", "9999", "guess") == 401  # nobody: same answer
    for _ in range(MAX_AUTH_FAILURES):
        sip_attempt(port, "REGISTER", user, "guess")
    # Blocked for a while, whatever is tried: even the right password.
    assert sip_attempt(port, "REGISTER", user, password) == 403
    assert "failed authentication" in lab.log()


def test_a_strangers_invite_is_refused(lab):
    bob = lab.softphone("console:bob")
    port = lab.settings.PBX_SIP_PORT
    assert sip_attempt(port, "INVITE", "stranger", None, to_user=bob.user) == 407
    assert sip_attempt(port, "INVITE", "stranger", "secret", to_user=bob.user) == 407
    assert not bob.calls_with("CALL_INCOMING")


def test_a_new_password_stops_the_old_one_at_once(lab):
    user, old = lab.credentials("console:alice")
    port = lab.settings.PBX_SIP_PORT
    assert sip_attempt(port, "REGISTER", user, old) == 200  # kamailio now caches its HA1
    account = lab.accounts.by_extension(user)
    new = lab.softphones.credentials(account.id, reset=True).password
    assert new is not None and new != old
    assert sip_attempt(port, "REGISTER", user, old) == 401
    assert sip_attempt(port, "REGISTER", user, new) == 200


def test_a_new_password_unregisters_the_phones_of_the_old_one(lab):
    bob = lab.softphone("console:bob")
    alice = lab.softphone("console:alice")
    account = lab.accounts.by_extension(bob.user)
    lab.softphones.credentials(account.id, reset=True)  # bob's phone has the old password
    lab.dial(alice, bob.user)
    closed = alice.wait_event("CALL_CLOSED")
    assert "480" in str(closed.get("param", "")), closed
    assert not bob.calls_with("CALL_INCOMING")


@pytest.fixture
def mandatory_lab(db_url, tmp_path) -> Iterator[ExchangeLab]:
    lab = ExchangeLab(db_url, tmp_path, PBX_SRTP="mandatory").start()
    yield lab
    lab.stop()


def test_with_srtp_mandatory_a_call_without_encryption_is_refused(mandatory_lab):
    lab = mandatory_lab
    plain = lab.softphone("console:alice", mediaenc="")  # offers RTP/AVP without keys
    bob = lab.softphone("console:bob")
    lab.dial(plain, bob.user)
    closed = plain.wait_event("CALL_CLOSED")
    assert "488" in str(closed.get("param", "")), closed
    assert not bob.calls_with("CALL_INCOMING")
    [record] = internal_records(lab, plain.user)
    assert (record.state, record.bridged_at) == ("ended", None)
    # Encrypted, the same call goes through.
    alice = lab.softphone("console:carol")
    lab.dial(alice, bob.user)
    bob.wait_event("CALL_ESTABLISHED")
    alice.command("hangup")
    bob.wait_event("CALL_CLOSED")


def reconcile(lab: ExchangeLab) -> list[str]:
    """One round of the upkeep `serve` runs every minute, without its 30 s grace."""
    live = live_call_ids(KamailioRpc(lab.config.rpc_url, lab.token).call("dlg.list"))
    return lab.exchange.reconcile(live, grace=timedelta(0))


def test_a_call_that_ends_while_our_service_is_down_is_closed_once_when_it_is_back(lab):
    alice, bob = in_a_call(lab)
    assert reconcile(lab) == []  # live in kamailio: left alone
    lab.run(lab.control.stop())  # our service stops; the call goes on without it
    time.sleep(2)
    alice.command("hangup")
    bob.wait_event("CALL_CLOSED")
    assert tone_share(bob.heard(), 440.0) >= 0.99  # media never depended on us
    lab.run(lab.control.start())
    [record] = internal_records(lab, alice.user)
    assert record.state == "bridged"  # its end event was lost
    assert reconcile(lab) == [record.id]
    assert reconcile(lab) == []
    [record] = internal_records(lab, alice.user)
    assert (record.state, record.hangup_cause) == ("ended", "interrupted")
    ended = [e for e in lab.calls.events(record.id) if e.event == "ended"]
    assert len(ended) == 1


def test_kamailio_restarted_mid_call_leaves_the_call_record_closed_once(lab):
    alice, bob = in_a_call(lab)
    restart(lab, lab.engines.kamailio)
    [closed] = reconcile(lab)  # kamailio lost the dialog: the record is closed now
    for phone in (alice, bob):
        phone.command("hangup")
        phone.wait_event("CALL_CLOSED")
    assert reconcile(lab) == []
    ended = [e for e in lab.calls.events(closed) if e.event == "ended"]
    assert len(ended) == 1 and lab.calls.get(closed).hangup_cause == "interrupted"


def test_rtpengine_restarted_mid_call_leaves_the_call_record_closed_once(lab):
    alice, bob = in_a_call(lab)
    restart(lab, lab.engines.rtpengine)
    assert reconcile(lab) == []  # the call is still a dialog: its record stays open
    alice.command("hangup")
    bob.wait_event("CALL_CLOSED")
    [record] = internal_records(lab, alice.user)
    wait_for(lambda: lab.calls.get(record.id).state == "ended", 10, "the end event")
    assert reconcile(lab) == []
    ended = [e for e in lab.calls.events(record.id) if e.event == "ended"]
    assert len(ended) == 1 and lab.calls.get(record.id).hangup_cause == "hangup_a"


def media_stats(log: str) -> list[tuple[str, int]]:
    """(kind, packets) of every stream in rtpengine's final stats of its calls."""
    found = []
    kind = ""
    for line in log.splitlines():
        if m := re.search(r"Media #\d+ \((\w+) over", line):
            kind = m.group(1)
        elif kind and (m := re.search(r"Port .* SSRC \w+, (\d+) p,", line)) and "RTCP" not in line:
            found.append((kind, int(m.group(1))))
    return found


def test_video_crosses_end_to_end_untouched(lab):
    alice = lab.softphone("console:alice", video=True)
    bob = lab.softphone("console:bob", tone_hz=1000.0, video=True)
    lab.dial(alice, bob.user)
    bob.wait_event("CALL_ESTABLISHED")
    time.sleep(3)
    bob.command("hangup")  # the callee ends it this time
    alice.wait_event("CALL_CLOSED")
    assert tone_share(bob.heard(), 440.0) >= 0.99
    [record] = internal_records(lab, alice.user)
    wait_for(lambda: lab.calls.get(record.id).state == "ended", 10, "the end event")
    assert lab.calls.get(record.id).hangup_cause == "hangup_b"
    wait_for(lambda: "Final packet stats" in lab.log("rtpengine"), 10, "rtpengine's stats")
    video = [packets for kind, packets in media_stats(lab.log("rtpengine")) if kind == "video"]
    assert len(video) == 2 and min(video) > 10, video  # both directions carried VP8
    assert "VP8/90000" in lab.log("rtpengine")


def test_a_second_instance_on_the_same_database_serves_the_same_engines(lab, db_url):
    """Two instances answer kamailio on one port (SO_REUSEPORT); one stops, calls go on."""
    engine = open_database(db_url, migrate=False)
    accounts = AccountStore(engine)
    second = ControlServer(
        Exchange(accounts, CallStore(engine), Softphones(accounts, lab.settings)),
        lab.settings.PBX_CONTROL_PORT,
        lab.token,  # the instances of one machine share the run directory's token
    )
    lab.run(second.start())
    try:
        alice = lab.softphone("console:alice", tone_hz=440.0)
        bob = lab.softphone("console:bob", tone_hz=1000.0)
        lab.run(lab.control.stop())  # the first instance goes away
        for _ in range(2):
            established = len(bob.calls_with("CALL_ESTABLISHED"))
            lab.dial(alice, bob.user)
            bob.wait_event("CALL_ESTABLISHED", established + 1)
            time.sleep(1)
            alice.command("hangup")
            bob.wait_event("CALL_CLOSED", established + 1)
        records = internal_records(lab, alice.user)
        wait_for(lambda: all(lab.calls.get(r.id).state == "ended" for r in records), 10, "the ends")
        assert len(records) == 2 and {r.hangup_cause for r in internal_records(lab, alice.user)} \
            == {"hangup_a"}  # fmt: skip
    finally:
        lab.run(second.stop())
        lab.run(lab.control.start())
        engine.dispose()


def heard_on_the_wire(payloads: list[bytes], frequency: float) -> tuple[set[int], float]:
    """Sizes of the audio packets (RTP header, 160 bytes of PCMU, maybe an SRTP tag) and
    the share of `frequency` in their payload read as PCMU."""
    audio = [p for p in payloads if len(p) in (172, 182)]
    pcm = b"".join(decode_ulaw(p[12:172]) for p in audio)
    samples = np.frombuffer(pcm, dtype="<i2").astype(float)
    return {len(p) for p in audio}, samples_tone_share(samples, 8000, frequency)


def test_the_wire_carries_srtp_between_phones_and_the_exchange(lab):
    alice, bob = in_a_call(lab)
    time.sleep(0.5)
    try:
        payloads = capture_udp(lab.settings.pbx_rtp_port_range, 1.5)  # phones -> rtpengine
    except PermissionError:
        pytest.skip("capturing on lo needs CAP_NET_RAW")
    finally:
        alice.command("hangup")
        bob.wait_event("CALL_CLOSED")
    sizes, wire_share = heard_on_the_wire(payloads, 440.0)
    assert sizes == {182}, sizes  # 12 + 160 PCMU + the 10-byte HMAC-SHA1-80 tag
    # What crossed the wire is noise to a listener; the phone decrypted the tone.
    assert wire_share < 0.2 and tone_share(bob.heard(), 440.0) >= 0.99, wire_share


def test_no_request_is_relayed_outside_a_dialog_of_ours(lab):
    """A request with a To-tag and a Route to kamailio, but in no dialog it knows, is not
    relayed (else anyone could use the exchange as an open relay)."""
    target = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    target.bind(("127.0.0.1", 0))
    target.settimeout(1.0)
    port = lab.settings.PBX_SIP_PORT
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock, target:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(3)
        for method in ("MESSAGE", "INVITE", "BYE"):
            request = (
                f"{method} sip:victim@127.0.0.1:{target.getsockname()[1]} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP 127.0.0.1:{sock.getsockname()[1]};branch=z9hG4bK{method}\r\n"
                f"Route: <sip:127.0.0.1:{port};lr>\r\nMax-Forwards: 70\r\n"
                "From: <sip:a@example.org>;tag=1\r\nTo: <sip:victim@example.org>;tag=2\r\n"
                f"Call-ID: forged-{method}\r\nCSeq: 1 {method}\r\nContent-Length: 0\r\n\r\n"
            )
            sock.sendto(request.encode(), ("127.0.0.1", port))
            answer = sock.recv(4096).decode()
            assert answer.startswith("SIP/2.0 403"), answer
        with pytest.raises(TimeoutError):
            target.recv(4096)


def test_a_call_without_an_sdp_offer_is_refused(lab):
    user, password = lab.credentials("console:alice")
    bob = lab.softphone("console:bob")
    port = lab.settings.PBX_SIP_PORT
    assert sip_attempt(port, "INVITE", user, password, to_user=bob.user) == 488
    assert not bob.calls_with("CALL_INCOMING")


def test_hold_and_resume_keep_the_calls_media_flags(lab):
    alice, bob = in_a_call(lab)
    time.sleep(1)
    alice.command("hold")
    time.sleep(1)
    alice.command("resume")
    time.sleep(2)
    alice.command("hangup")
    bob.wait_event("CALL_CLOSED")
    assert tone_share(bob.heard(), 440.0) >= 0.99
    assert "Unknown flag" not in lab.log("rtpengine")
    assert lab.log("rtpengine").count("Received command 'offer'") >= 2  # the re-INVITE's


def test_the_loopback_apis_ask_for_the_run_directorys_token(lab):
    """Other local users reach loopback too: the control API (HA1s!) and kamailio's RPC
    answer only the token kept in the run directory (0600)."""
    url = f"http://127.0.0.1:{lab.settings.PBX_CONTROL_PORT}/auth?user=1001"

    def status(token: str | None) -> int:
        headers = {"X-Exchange-Token": token} if token else {}
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as answer:
                return answer.status
        except urllib.error.HTTPError as error:
            return error.code

    assert (status(None), status("wrong"), status(lab.token)) == (403, 403, 404)
    with pytest.raises(RpcError):
        KamailioRpc(lab.config.rpc_url, "wrong").call("core.version")
    assert KamailioRpc(lab.config.rpc_url, lab.token).call("core.version")
    for name in ("control-token", "kamailio.cfg"):
        assert stat.S_IMODE((lab.config.run_dir / name).stat().st_mode) == 0o600, name
