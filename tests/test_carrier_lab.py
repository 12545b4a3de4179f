"""The carrier emulator (testbed/carrier_lab.py) behaves as a carrier's SIP trunk: its
outside phones call each other with audio, INVITEs from the trunk user are challenged
(407, qop=auth) and routed, wrong passwords refused, every INVITE recorded; calls to the
direct numbers go to the exchange address from the carrier's own socket."""

from __future__ import annotations

import hashlib
import re
import socket
import time
import uuid
from collections.abc import Iterator

import pytest

from testbed.carrier_lab import CarrierLab, did_pattern
from testbed.exchange_lab import sip_attempt
from testbed.sip_lab import ANSWER, tone_share
from testbed.sip_peer import header, sip_parse

pytestmark = pytest.mark.sip

CALLER = "+14155550100"  # outside phone, 440 Hz
CALLEE = "+33612345678"  # outside phone, 1000 Hz
DID = "+33199000100"  # a direct number of our exchange
BUSY_NUMBER = "+33600000486"
RINGING_NUMBER = "+33600000180"  # rings until cancelled


@pytest.fixture
def carrier() -> Iterator[CarrierLab]:
    lab = CarrierLab(
        password=uuid.uuid4().hex,
        dids=[DID, "+3319900020*"],
        fixed_answers={BUSY_NUMBER: 486, RINGING_NUMBER: 180},
    )
    lab.plan_phone(CALLER, ANSWER, 440.0)
    lab.plan_phone(CALLEE, ANSWER, 1000.0)
    lab.start()
    yield lab
    lab.stop()


class TrunkClient:
    """Our exchange's side of the trunk, reduced to one UDP socket and one call."""

    def __init__(self, carrier: CarrierLab, number: str, from_header: str) -> None:
        self.carrier = carrier
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(5)
        self.port = self.sock.getsockname()[1]
        self.call_id, self.tag = uuid.uuid4().hex, uuid.uuid4().hex[:8]
        self.uri = f"sip:{number}@{carrier.host}:{carrier.port}"
        self.from_header = from_header
        self.dialog: tuple[str, str, list[str]] = ("", "", [])  # contact, To, route set

    def request(
        self,
        method: str,
        uri: str,
        cseq: int,
        to: str,
        extra: str = "",
        *,
        branch: str = "",
        body: bytes = b"",
    ) -> str:
        """Send a request to the carrier; return its Via branch (a new one unless given)."""
        branch = branch or "z9hG4bK" + uuid.uuid4().hex
        text = (
            f"{method} {uri} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch={branch};rport\r\n"
            f"From: {self.from_header};tag={self.tag}\r\nTo: {to}\r\n"
            f"Call-ID: {self.call_id}\r\nCSeq: {cseq} {method}\r\nMax-Forwards: 70\r\n"
            f"Contact: <sip:pbx@127.0.0.1:{self.port}>\r\n{extra}"
            + ("Content-Type: application/sdp\r\n" if body else "")
            + f"Content-Length: {len(body)}\r\n\r\n"
        )
        self.sock.sendto(text.encode() + body, (self.carrier.host, self.carrier.port))
        return branch

    def answer(self, final: bool = True) -> tuple[int, list[tuple[str, str]]]:
        """The next answer (with `final`, the next final one)."""
        while True:
            start, headers, _ = sip_parse(self.sock.recv(65535))
            code = int(start.split()[1])
            if code >= 200 or not final:
                return code, headers

    def send_invite(self, password: str, extra: str = "") -> str:
        """INVITE with an SDP offer, answer the 407 with `password`; return the branch."""
        rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # the phone's RTP lands here
        rtp.bind(("127.0.0.1", 0))
        self.rtp = rtp
        sdp = (
            "v=0\r\no=pbx 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            f"m=audio {rtp.getsockname()[1]} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
        ).encode()
        branch = self.request("INVITE", self.uri, 1, f"<{self.uri}>", extra, body=sdp)
        code, headers = self.answer()
        assert code == 407, code
        self.request("ACK", self.uri, 1, header(headers, "To"), branch=branch)
        challenge = dict(re.findall(r'(\w+)="?([^",]*)"?', header(headers, "Proxy-Authenticate")))
        assert challenge["realm"] == self.carrier.realm and challenge["qop"] == "auth"
        ha1 = _md5(f"{self.carrier.user}:{challenge['realm']}:{password}")
        ha2 = _md5(f"INVITE:{self.uri}")
        response = _md5(f"{ha1}:{challenge['nonce']}:00000001:c0ffee:auth:{ha2}")
        credentials = (
            f'Proxy-Authorization: Digest username="{self.carrier.user}", '
            f'realm="{challenge["realm"]}", nonce="{challenge["nonce"]}", uri="{self.uri}", '
            f'qop=auth, nc=00000001, cnonce="c0ffee", response="{response}", algorithm=MD5\r\n'
        )
        return self.request("INVITE", self.uri, 2, f"<{self.uri}>", extra + credentials, body=sdp)

    def call(self, password: str, extra: str = "") -> int:
        """Authenticated INVITE; ACK its final answer (a 2xx through the route set)."""
        branch = self.send_invite(password, extra)
        code, headers = self.answer()
        if code == 200:  # ACK and BYE follow the record-routed path through the carrier
            contact = re.sub(r"^.*<(.*)>.*$", r"\1", header(headers, "Contact"))
            routes = [value for name, value in headers if name.lower() == "record-route"]
            self.dialog = (contact, header(headers, "To"), routes[::-1])
            self.in_dialog("ACK", 2)
        else:
            self.request("ACK", self.uri, 2, header(headers, "To"), branch=branch)
        return code

    def in_dialog(self, method: str, cseq: int) -> None:
        contact, to, routes = self.dialog
        self.request(method, contact, cseq, to, "".join(f"Route: {r}\r\n" for r in routes))

    def close(self) -> None:
        self.sock.close()
        if hasattr(self, "rtp"):
            self.rtp.close()


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def test_an_outside_phone_calls_another_with_audio_both_ways(carrier):
    caller, callee = carrier.phones[CALLER], carrier.phones[CALLEE]
    carrier.dial(caller, CALLEE)
    callee.wait_event("CALL_ESTABLISHED", timeout=10)
    caller.wait_event("CALL_ESTABLISHED", timeout=10)
    time.sleep(2.5)
    caller.command("hangup")
    callee.wait_event("CALL_CLOSED", timeout=10)
    caller.wait_event("CALL_CLOSED", timeout=10)
    assert tone_share(callee.heard(), 440.0) >= 0.99
    assert tone_share(caller.heard(), 1000.0) >= 0.99
    # the phones' own INVITEs are listed only on request, authenticated by the phone's user
    assert carrier.invites() == []
    assert [i["user"] for i in carrier.invites(include_phones=True)] == [None, CALLER]


def test_the_trunk_user_is_challenged_and_then_routed_with_its_headers(carrier):
    assert sip_attempt(carrier.port, "INVITE", carrier.user, None, to_user=CALLEE) == 407
    assert sip_attempt(carrier.port, "INVITE", carrier.user, "wrong", to_user=CALLEE) == 403
    assert sip_attempt(carrier.port, "INVITE", "nobody", "guess", to_user=CALLEE) == 403
    assert (
        sip_attempt(carrier.port, "INVITE", carrier.user, carrier.password, to_user=BUSY_NUMBER)
        == 486
    )
    assert (
        sip_attempt(carrier.port, "INVITE", carrier.user, carrier.password, to_user="+999") == 404
    )

    callee = carrier.phones[CALLEE]
    client = TrunkClient(carrier, CALLEE, '"Anonymous" <sip:anonymous@anonymous.invalid>')
    try:
        withheld = "P-Asserted-Identity: <sip:+3319900010@pbx.test>\r\nPrivacy: id\r\n"
        assert client.call(carrier.password, withheld) == 200
        established = callee.wait_event("CALL_ESTABLISHED", timeout=5)  # ACK via the carrier
        client.in_dialog("BYE", 3)
        assert client.answer()[0] == 200
        callee.wait_event("CALL_CLOSED", timeout=5)
    finally:
        client.close()
    assert established["peeruri"] == "sip:anonymous@anonymous.invalid"

    mine = [i for i in carrier.invites() if i["call_id"] == client.call_id]
    assert [i["auth"] for i in mine] == ["none", "ok"]
    assert mine[1] == mine[0] | {"auth": "ok", "user": carrier.user}
    assert mine[1]["ruri"] == f"sip:{CALLEE}@127.0.0.1:{carrier.port}"
    assert mine[1]["from"].startswith('"Anonymous" <sip:anonymous@anonymous.invalid>;tag=')
    assert mine[1]["to"] == f"<sip:{CALLEE}@127.0.0.1:{carrier.port}>"
    assert mine[1]["pai"] == "<sip:+3319900010@pbx.test>"
    assert mine[1]["privacy"] == "id" and mine[1]["diversion"] is None
    assert mine[1]["source"] == f"127.0.0.1:{client.port}"
    # the sip_attempt INVITEs above were recorded too: 5 challenged, 4 answered
    others = [i["auth"] for i in carrier.invites() if i["call_id"] != client.call_id]
    assert sorted(others) == sorted(["none"] * 5 + ["bad", "bad", "ok", "ok"])


def test_a_ringing_number_rings_until_cancelled(carrier):
    client = TrunkClient(carrier, RINGING_NUMBER, "<sip:+3319900010@pbx.test>")
    try:
        branch = client.send_invite(carrier.password)
        assert client.answer(final=False)[0] == 180
        time.sleep(1)
        client.request("CANCEL", client.uri, 2, f"<{client.uri}>", branch=branch)
        codes = sorted(client.answer()[0] for _ in range(2))
        assert codes == [200, 487]  # the CANCEL's and the INVITE's
    finally:
        client.close()


def wait_invite(sock: socket.socket) -> tuple[bytes, tuple[str, int]]:
    while True:
        data, source = sock.recvfrom(65535)
        if data.startswith(b"INVITE "):
            return data, source


def refuse(sock: socket.socket, headers: list[tuple[str, str]], carrier: tuple[str, int]) -> None:
    """Answer the INVITE with `headers` 486 Busy Here, as the exchange would."""
    vias = "".join(f"Via: {value}\r\n" for name, value in headers if name.lower() == "via")
    busy = (
        f"SIP/2.0 486 Busy Here\r\n{vias}From: {header(headers, 'From')}\r\n"
        f"To: {header(headers, 'To')};tag=exch1\r\nCall-ID: {header(headers, 'Call-ID')}\r\n"
        f"CSeq: {header(headers, 'CSeq')}\r\nContent-Length: 0\r\n\r\n"
    )
    sock.sendto(busy.encode(), carrier)


def test_a_call_to_a_direct_number_goes_to_the_exchange_from_the_carrier_port(carrier):
    caller = carrier.phones[CALLER]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as exchange:
        exchange.bind(("127.0.0.1", 0))
        exchange.settimeout(10)
        carrier.route_dids_to("127.0.0.1", exchange.getsockname()[1])  # while running
        carrier.dial(caller, DID)
        data, source = wait_invite(exchange)
        start, headers, body = sip_parse(data)
        assert source == ("127.0.0.1", carrier.port)
        assert start == f"INVITE sip:{DID}@127.0.0.1:{exchange.getsockname()[1]} SIP/2.0"
        assert f"<sip:{CALLER}@127.0.0.1:{carrier.port}>" in header(headers, "From")
        assert header(headers, "P-Asserted-Identity") == f"<sip:{CALLER}@carrier.test>"
        assert header(headers, "Proxy-Authorization") == ""  # unauthenticated toward us
        assert f"127.0.0.1:{carrier.port}" in header(headers, "Record-Route")
        assert b"m=audio" in body and b"RTP/AVP" in body  # plain RTP offer
        refuse(exchange, headers, source)  # back through the carrier to the phone
        closed = caller.wait_event("CALL_CLOSED", timeout=10)
        assert "486" in str(closed.get("param", "")), closed
        # a prefix entry of `dids` routes a whole range
        carrier.dial(caller, "+33199000205")
        data, source = wait_invite(exchange)
        assert data.startswith(b"INVITE sip:+33199000205@")
        refuse(exchange, sip_parse(data)[1], source)
        caller.wait_event("CALL_CLOSED", count=2, timeout=10)
    assert carrier.invites() == []  # nothing came from the exchange


def test_direct_numbers_are_validated():
    assert did_pattern(["+33199000100", "+331990002*"]) == "^([+]33199000100|[+]331990002[0-9]*)$"
    with pytest.raises(ValueError):
        did_pattern(["+33 1 99"])
    with pytest.raises(ValueError):
        CarrierLab(dids=["sip:x"])


def test_an_exchange_set_before_start_and_a_phone_added_after_it():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as exchange:
        exchange.bind(("127.0.0.1", 0))
        exchange.settimeout(10)
        lab = CarrierLab(dids=[DID], exchange=exchange.getsockname())
        try:
            lab.start()
            phone = lab.add_phone("+442079460000")  # registers with its own new password
            assert lab.phones["+442079460000"] is phone
            lab.dial(phone, "33199000100")  # national digits are read as E.164
            data, source = wait_invite(exchange)
            assert data.startswith(f"INVITE sip:{DID}@".encode()) and b"+442079460000" in data
            refuse(exchange, sip_parse(data)[1], source)
            phone.wait_event("CALL_CLOSED", timeout=10)
        finally:
            lab.stop()
