"""Bench: the exchange (kamailio + rtpengine + our control API) on 127.0.0.1.

    .venv/bin/python bench/exchange.py [--registrations 2000] [--calls 10 50 100]
                                       [--seconds 10] [--setups 20]

Prints, each beside a reference measured in the same run:
1. REGISTERs per second with digest authentication (4 clients, each REGISTER answered
   401 then 200), the HA1 asked of our control API (then cached by kamailio), against
   the same kamailio binary with the passwords in its own memory (deploy/kamailio).
2. CPU of our service per routing decision (`GET /route`, as kamailio asks it: one
   indexed read and one call record written), our control API alone in a child process,
   against a bare aiohttp handler answering the same JSON in the same way.
3. Set-up time of an internal call between two baresip phones over TLS with SRTP: from
   the dial command to the caller's CALL_ESTABLISHED (p50, p99), against two phones
   calling through a bare kamailio proxy (UDP, no media relay, no question to us).
4. rtpengine's CPU per bridged call at each `--calls` (PCMU, 50 packets/s each way,
   plain RTP on both legs: what a call between two SRTP phones costs, since rtpengine
   passes their SRTP through (exchange.md); offer/answer over its ng protocol); the goal
   is 0.1 % of a core per call. (Generating SRTP here would need an SRTP library.)
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import secrets
import socket
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from testbed.dbs import isolated_database
from testbed.exchange_lab import ExchangeLab, sip_attempt
from testbed.sip_lab import PORTS, Kamailio, Phone, SipLab

TICKS = os.sysconf("SC_CLK_TCK")
TOKEN = secrets.token_urlsafe(16)  # the control API's token in this bench


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (and its reaped children) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / TICKS


def group_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and of every process in its session (kamailio forks)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == pid or int(entry.name) == pid:  # fields[3]: session id
            total += (int(fields[11]) + int(fields[12])) / TICKS
    return total


# --- 1. registrations ------------------------------------------------------------------------


def registrations_per_second(port: int, users: dict[str, str], total: int) -> float:
    """REGISTERs (challenge answered) per second from 4 client threads."""
    names = list(users)

    def one(i: int) -> int:
        user = names[i % len(names)]
        return sip_attempt(port, "REGISTER", user, users[user])

    started = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        codes = list(pool.map(one, range(total)))
    elapsed = time.perf_counter() - started
    bad = sum(code != 200 for code in codes)
    if bad:
        print(f"   ({bad} of {total} not 200)")
    return total / elapsed


def bench_registrations(lab: ExchangeLab, total: int) -> None:
    users = dict(lab.credentials(f"console:user{i}") for i in range(50))
    ours = registrations_per_second(lab.settings.PBX_SIP_PORT, users, total)
    reference = Kamailio(users=users).start()
    try:
        theirs = registrations_per_second(reference.port, users, total)
    finally:
        reference.stop()
    print("1. REGISTER with digest, 4 clients")
    print(f"   exchange (HA1 from our control API, cached): {ours:8.0f}/s")
    print(f"   reference (kamailio, passwords in memory):   {theirs:8.0f}/s")
    print(f"   ratio {ours / theirs:.2f}")


# --- 2. routing decisions --------------------------------------------------------------------


def _serve_control(
    db_url: str, port: int, ready: multiprocessing.Event, bare: bool, token: str
) -> None:
    from aiohttp import web

    from exchange.control import ControlServer
    from exchange.service import Exchange
    from exchange.softphones import Softphones
    from settings import load_settings
    from storage import open_database
    from storage.accounts import AccountStore
    from storage.calls import CallStore

    async def main() -> None:
        if bare:
            decision = {"action": "local", "target": "1002", "max_sec": 3600, "offer": "x"}

            async def route(_request: web.Request) -> web.Response:
                return web.json_response(decision)

            app = web.Application()
            app.router.add_get("/route", route)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
        else:
            engine = open_database(db_url, migrate=False)
            accounts = AccountStore(engine)
            settings = load_settings(_env_file=None, PBX_ENABLED=False)
            exchange = Exchange(accounts, CallStore(engine), Softphones(accounts, settings))
            await ControlServer(exchange, port, token).start()
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


def route_cpu_ms(db_url: str, requests: int, bare: bool) -> float:
    """Server CPU milliseconds per GET /route."""
    port = PORTS.sip_port()
    ready = multiprocessing.get_context("spawn").Event()
    server = multiprocessing.get_context("spawn").Process(
        target=_serve_control, args=(db_url, port, ready, bare, TOKEN), daemon=True
    )
    server.start()
    ready.wait(60)
    url = f"http://127.0.0.1:{port}/route?caller=1001&callee=1002&call_id="
    headers = {"X-Exchange-Token": TOKEN}

    def get(call_id: str) -> None:
        urllib.request.urlopen(urllib.request.Request(url + call_id, headers=headers)).read()

    for i in range(50):  # warm up
        get(f"warm{i}")
    before = cpu_seconds(server.pid)
    for _ in range(requests):
        get(secrets.token_hex(8))
    used = cpu_seconds(server.pid) - before
    server.kill()
    return used / requests * 1000


def bench_routing(lab: ExchangeLab, db_url: str, requests: int) -> None:
    for name in ("alice", "bob"):  # extensions 1001 and 1002 exist
        lab.accounts.extension(lab.accounts.resolve("console", f"route-{name}").id)
    ours = route_cpu_ms(db_url, requests, bare=False)
    bare = route_cpu_ms(db_url, requests, bare=True)
    print(f"2. CPU per routing decision ({requests} GET /route, sequential)")
    print(f"   our control API (read + call record): {ours:6.3f} ms  (goal <= 1 ms)")
    print(f"   reference (bare aiohttp, static JSON): {bare:6.3f} ms")


# --- 3. call set-up ----------------------------------------------------------------------------


def setup_times(caller: Phone, callee: Phone, dial: str, count: int) -> list[float]:
    times = []
    for _ in range(count):
        established = len(caller.calls_with("CALL_ESTABLISHED"))
        closed = len(callee.calls_with("CALL_CLOSED"))
        started = time.perf_counter()
        caller.command("dial", dial)
        caller.wait_event("CALL_ESTABLISHED", established + 1)
        times.append((time.perf_counter() - started) * 1000)
        caller.command("hangup")
        callee.wait_event("CALL_CLOSED", closed + 1)
        time.sleep(0.2)
    return times


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def bench_setup(lab: ExchangeLab, count: int) -> None:
    alice = lab.softphone("console:setup-a")
    bob = lab.softphone("console:setup-b")
    ours = setup_times(alice, bob, f"sip:{bob.user}@127.0.0.1:{lab.config.tls_port}", count)
    proxy = SipLab()  # reference: the dialer's test kamailio, a bare proxy (UDP, no media)
    a, b = proxy.plan_phone("2001"), proxy.plan_phone("2002")
    proxy.start()
    try:
        direct = setup_times(a, b, f"sip:2002@127.0.0.1:{proxy.port}", count)
    finally:
        proxy.stop()
    print(f"3. internal call set-up, dial -> established ({count} calls, SRTP)")
    print(
        f"   through the exchange: p50 {statistics.median(ours):6.1f} ms, "
        f"p99 {percentile(ours, 0.99):6.1f} ms"
    )
    print(
        "   reference, bare kamailio proxy (UDP, no media relay): "
        f"p50 {statistics.median(direct):6.1f} ms, p99 {percentile(direct, 0.99):6.1f} ms"
    )


# --- 4. media --------------------------------------------------------------------------------


def bencode(value: object) -> bytes:
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, list):
        return b"l" + b"".join(bencode(v) for v in value) + b"e"
    if isinstance(value, dict):
        items = sorted(value.items())
        return b"d" + b"".join(bencode(k) + bencode(v) for k, v in items) + b"e"
    raise TypeError(type(value))


def sdp(port: int, srtp: bool) -> str:
    proto = "RTP/SAVP" if srtp else "RTP/AVP"
    crypto = (
        "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"
        + __import__("base64").b64encode(os.urandom(30)).decode()
        + "\r\n"
        if srtp
        else ""
    )
    return (
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        f"m=audio {port} {proto} 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n{crypto}"
    )


def ng(port: int, command: dict) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        cookie = secrets.token_hex(4).encode()
        sock.sendto(cookie + b" " + bencode(command), ("127.0.0.1", port))
        return sock.recv(65535)


def media_port(answer: bytes) -> int:
    text = answer.decode(errors="replace")
    return int(text.split("m=audio ", 1)[1].split(" ", 1)[0])


def _send(sockets: list, targets: list, stop: threading.Event) -> None:
    """One PCMU packet every 20 ms each way on every call, until `stop`."""
    payload = b"\x80\x00" + b"\x00" * 10 + b"\xff" * 160
    while not stop.is_set():
        for (a, b), (to_b, to_a) in zip(sockets, targets, strict=True):
            a.sendto(payload, ("127.0.0.1", to_b))
            b.sendto(payload, ("127.0.0.1", to_a))
        time.sleep(0.02)


def bench_media(lab: ExchangeLab, calls_list: list[int], seconds: float) -> None:
    rtpengine = lab.engines.rtpengine.process
    assert rtpengine is not None
    print(f"4. rtpengine CPU per bridged call ({seconds:.0f} s, PCMU both ways, plain RTP)")
    for calls in calls_list:
        sockets, targets = [], []
        for i in range(calls):
            a, b = (
                socket.socket(socket.AF_INET, socket.SOCK_DGRAM),
                socket.socket(socket.AF_INET, socket.SOCK_DGRAM),
            )
            a.bind(("127.0.0.1", 0))
            b.bind(("127.0.0.1", 0))
            call_id, from_tag, to_tag = f"bench-{calls}-{i}", "ft", "tt"
            offer = ng(lab.config.rtpengine_port, {
                "command": "offer", "call-id": call_id, "from-tag": from_tag,
                "sdp": sdp(a.getsockname()[1], srtp=False), "flags": [],
                "replace": ["origin", "session-connection"], "ICE": "remove",
                "transport-protocol": "RTP/AVP",
            })  # fmt: skip
            answer = ng(lab.config.rtpengine_port, {
                "command": "answer", "call-id": call_id, "from-tag": from_tag,
                "to-tag": to_tag, "sdp": sdp(b.getsockname()[1], srtp=False), "flags": [],
                "replace": ["origin", "session-connection"], "ICE": "remove",
            })  # fmt: skip
            sockets.append((a, b))
            targets.append((media_port(answer), media_port(offer)))
        stop = threading.Event()
        sender = threading.Thread(target=_send, args=(sockets, targets, stop), daemon=True)
        sender.start()
        time.sleep(1)
        before = cpu_seconds(rtpengine.pid)
        time.sleep(seconds)
        used = cpu_seconds(rtpengine.pid) - before
        stop.set()
        sender.join()
        for i, (a, b) in enumerate(sockets):
            ng(lab.config.rtpengine_port, {"command": "delete", "call-id": f"bench-{calls}-{i}"})
            a.close()
            b.close()
        per_call = used / seconds * 100 / calls
        print(
            f"   {calls:4d} calls: rtpengine {used / seconds * 100:5.1f} % of a core, "
            f"{per_call:.3f} % per call (goal <= 0.1 %)"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registrations", type=int, default=2000)
    parser.add_argument("--routes", type=int, default=2000)
    parser.add_argument("--setups", type=int, default=20)
    parser.add_argument("--calls", type=int, nargs="+", default=[10, 50, 100])
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-exchange-"))
    with isolated_database("sqlite", workdir) as db_url:
        low, high = PORTS.rtp_range(1200)  # 4 ports a call (RTP and RTCP, both legs)
        lab = ExchangeLab(db_url, workdir, PBX_RTP_PORTS=f"{low}-{high}").start()
        try:
            bench_registrations(lab, args.registrations)
            bench_routing(lab, db_url, args.routes)
            bench_setup(lab, args.setups)
            bench_media(lab, args.calls, args.seconds)
        finally:
            lab.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
