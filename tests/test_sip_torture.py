"""Nothing a peer sends stops the dialer's SIP handling (RFC 3261 §8.2.2, §16.3, §18.3).

A selection of RFC 4475's torture messages (bad and missing headers, huge and negative
Content-Length, bad CSeq, non-UTF-8, bare request line, unknown version, ...), plus
empty and garbage datagrams, is sent to the dialer's SIP port in the middle of a
bridged call between baresip phones: each request with a Via gets its 400 (or 505),
OPTIONS keep being answered, the call's audio keeps crossing and the party's hang-up
is seen at once. A hypothesis fuzz test does the same with mutated messages against
the scripted peer.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialer import CallbackRequest, Dialer, SipConfig
from settings import load_settings
from testbed.sip_lab import options_ping, tone_share
from testbed.sip_peer import Script, ScriptedPeer, share_at

HEAD = (
    "Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{n};rport\r\n"
    "Max-Forwards: 70\r\n"
    "From: <sip:torture@127.0.0.1>;tag=t{n}\r\n"
    "To: <sip:dialer@127.0.0.1>\r\n"
    "Call-ID: torture-{n}@127.0.0.1\r\n"
    "CSeq: {n} {method}\r\n"
)


def request(
    method: str = "OPTIONS",
    *,
    drop: str = "",
    replace=None,
    body: bytes = b"",
    length: str | None = None,
    start: str | None = None,
) -> bytes:
    """A request from the torture sender, with a header dropped or replaced."""
    lines = HEAD.replace("{method}", method).split("\r\n")[:-1]
    lines = [line for line in lines if not drop or not line.startswith(drop + ":")]
    for old, new in (replace or {}).items():
        lines = [new if line.startswith(old + ":") else line for line in lines]
    text = "\r\n".join([start or f"{method} sip:dialer@127.0.0.1 SIP/2.0", *lines])
    text += f"\r\nContent-Length: {len(body) if length is None else length}\r\n\r\n"
    return text.encode() + body


# (name, datagram, answer expected: a status code, or None for silence)
TORTURE: list[tuple[str, bytes, int | None]] = [
    ("no Call-ID (INVITE)", request("INVITE", drop="Call-ID"), 400),
    ("no CSeq", request(drop="CSeq"), 400),
    ("no From", request(drop="From"), 400),
    ("no To (INVITE)", request("INVITE", drop="To"), 400),
    ("no Via", request(drop="Via"), None),
    ("bare request line", b"OPTIONS sip:dialer@127.0.0.1 SIP/2.0\r\n\r\n", None),
    ("bare INVITE line", b"INVITE sip:dialer@127.0.0.1 SIP/2.0", None),
    ("empty datagram", b"", None),
    ("garbage", os.urandom(300), None),
    ("CRLF keep-alive", b"\r\n\r\n", None),
    ("huge Content-Length (4475 3.1.2.6)", request(length="9999999999"), 400),
    ("negative Content-Length (4475 3.1.2.7)", request(length="-999"), 400),
    ("CSeq not a number (4475 3.1.2.8)", request(replace={"CSeq": "CSeq: 1x OPTIONS"}), 400),
    (
        "CSeq past 2**31 (4475 3.1.2.9)",
        request(replace={"CSeq": "CSeq: 36893488147419103232 OPTIONS"}),
        400,
    ),
    ("CSeq method mismatch (4475 3.1.2.16)", request(replace={"CSeq": "CSeq: 1 INVITE"}), 400),
    ("non-UTF-8 display name", request(replace={"From": 'From: "\xff\xfe" <sip:x@y>;tag=9'}), None),
    (
        "raw 0xFF bytes in headers",
        request().replace(b"Max-Forwards: 70", b"Max-Forwards: \xff\xfe"),
        None,
    ),
    (
        "unterminated To (4475 3.1.2.10-ish)",
        request(replace={"To": "To: <sip:dialer@127.0.0.1"}),
        None,
    ),
    ("Via garbage", request(replace={"Via": "Via: garbage"}), None),
    (
        "unknown version (4475 3.1.2.13 badvers)",
        request(start="OPTIONS sip:dialer@127.0.0.1 SIP/7.0"),
        505,
    ),
    ("no spaces in request line", b"OPTIONSsip:dialer@127.0.0.1SIP/2.0\r\n\r\n", None),
    ("response without headers", b"SIP/2.0 200 OK\r\n\r\n", None),
    ("response with a bad status", b"SIP/2.0 2xx OK\r\nCSeq: 1 INVITE\r\n\r\n", None),
    ("huge header", request(replace={"Max-Forwards": "Subject: " + "x" * 60000}), None),
    ("INVITE with a garbage SDP", request("INVITE", body=b"v=0\r\nm=audio x\r\n\xff"), None),
    ("unknown method", request("FOO"), None),
]


def answers(datagrams: list[tuple[str, bytes, int | None]], port: int) -> dict[str, int | None]:
    """Send each datagram from its own socket; the status each got (None: no answer)."""
    got: dict[str, int | None] = {}
    for index, (name, template, _expected) in enumerate(datagrams):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", 0))
            sock.settimeout(0.5)
            data = _fill(template, sock.getsockname()[1], index + 1)
            sock.sendto(data, ("127.0.0.1", port))
            try:
                reply = sock.recv(65535)
                got[name] = int(reply.split(b" ", 2)[1])
            except (TimeoutError, ValueError, IndexError):
                got[name] = None
    return got


def _fill(data: bytes, port: int, n: int) -> bytes:
    return data.replace(b"{port}", str(port).encode()).replace(b"{n}", str(n).encode())


@pytest.mark.sip
def test_torture_messages_during_a_call_stop_nothing(sip_lab, lab_dialer_config):
    a, b = sip_lab.phones["1001"], sip_lab.phones["1006"]
    found: dict = {}

    async def scenario(dialer: Dialer):
        events = []
        task = asyncio.create_task(
            dialer.callback(
                CallbackRequest("torture1", "1001", "1006", max_seconds=40), events.append
            )
        )
        while not any(e.event == "bridged" for e in events):
            await asyncio.sleep(0.05)
        port = lab_dialer_config.local_port
        found["answers"] = await asyncio.to_thread(answers, TORTURE, port)
        found["options"] = await asyncio.to_thread(options_ping, "127.0.0.1", port, 1.0)
        found["threads"] = [t.name for t in threading.enumerate()]
        await asyncio.sleep(1.5)
        hung_up = time.monotonic()
        b.command("hangup")
        summary = await task
        return summary, time.monotonic() - hung_up

    async def main():
        dialer = Dialer(lab_dialer_config)
        await dialer.start()
        try:
            return await asyncio.wait_for(scenario(dialer), 90)
        finally:
            await dialer.stop()

    closed_a = len(a.calls_with("CALL_CLOSED"))
    summary, noticed_after = asyncio.run(main())
    expected = {name: status for name, _data, status in TORTURE if status is not None}
    assert {name: found["answers"][name] for name in expected} == expected
    for name, _data, status in TORTURE:
        if status is None:
            assert found["answers"][name] in (None, 400, 200, 501, 486, 481), name
    assert found["options"] and "SIP Receive" in found["threads"]
    assert summary.cause == "hangup_b" and summary.bridged and noticed_after < 3
    a.wait_event("CALL_CLOSED", closed_a + 1)
    assert tone_share(b.heard(), 440) >= 0.99 and tone_share(a.heard(), 1300) >= 0.99


# ---- hypothesis: mutated messages against the scripted peer ------------------------------

LINES = [line for line in HEAD.split("\r\n") if line]


@st.composite
def mutated(draw) -> bytes:
    """A request with headers dropped, duplicated, truncated or replaced by random text."""
    method = draw(st.sampled_from(["INVITE", "OPTIONS", "BYE", "ACK", "CANCEL", "REGISTER", "X"]))
    lines = list(LINES)
    for _ in range(draw(st.integers(0, 4))):
        index = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["drop", "cut", "junk", "dup"]))
        if action == "drop" and len(lines) > 1:
            lines.pop(index)
        elif action == "cut":
            lines[index] = lines[index][: draw(st.integers(0, len(lines[index])))]
        elif action == "junk":
            lines[index] = lines[index].split(":")[0] + ":" + draw(st.text(max_size=40))
        else:
            lines.insert(index, lines[index])
    body = draw(st.binary(max_size=200))
    length = draw(st.one_of(st.just(str(len(body))), st.integers(-10, 10**12).map(str)))
    start = f"{method} sip:dialer@127.0.0.1 SIP/2.0"
    text = "\r\n".join([start, *lines, f"Content-Length: {length}"]).replace("{method}", method)
    return text.encode("utf-8", "surrogatepass") + b"\r\n\r\n" + body


@pytest.fixture
def peer_dialer() -> Iterator[tuple[ScriptedPeer, SipConfig, Dialer, asyncio.AbstractEventLoop]]:
    peer = ScriptedPeer({"1001": Script(440.0), "1002": Script(1000.0)}).start()
    config = SipConfig.from_settings(load_settings(_env_file=None, **peer.settings()))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    dialer = Dialer(config)
    asyncio.run_coroutine_threadsafe(dialer.start(), loop).result(20)
    yield peer, config, dialer, loop
    asyncio.run_coroutine_threadsafe(dialer.stop(), loop).result(20)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    peer.stop()


def test_fuzzed_datagrams_never_stop_sip_handling(peer_dialer):
    peer, config, dialer, loop = peer_dialer
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.bind(("127.0.0.1", 0))
    port = sender.getsockname()[1]

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.one_of(mutated(), st.binary(max_size=1500)))
    def send(datagram: bytes) -> None:
        sender.sendto(_fill(datagram, port, 7), ("127.0.0.1", config.local_port))

    try:
        send()
        assert options_ping("127.0.0.1", config.local_port, timeout=2.0)
        assert dialer.signalling.refused > 0
        summary = asyncio.run_coroutine_threadsafe(
            dialer.callback(CallbackRequest("fuzz1", "1001", "1002", max_seconds=2)), loop
        ).result(30)
    finally:
        sender.close()
    assert summary.bridged
    assert share_at(peer.wait_call("1002").heard(), 440.0) >= 0.99
    assert share_at(peer.wait_call("1001").heard(), 1000.0) >= 0.99
