"""Bench: the exchange (kamailio + rtpengine + our control API) on 127.0.0.1.

    .venv/bin/python bench/exchange.py [--registrations 2000] [--calls 10 50 100]
                                       [--seconds 10] [--setups 20]
                                       [--decisions 300] [--inbound 2000] [--accounts 1000]
                                       [--backend sqlite postgresql] [--only decisions ...]

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
   Then the same calls recorded: both parties forked to our recorder (exchange.recording)
   and sealed; rtpengine's CPU, and ours above the unrecorded run's.
5. Our service's CPU per decision (time.process_time, in this process, no HTTP, on a
   fresh database per `--backend`), run before the lab starts:
   a. authorising an outside call (`Exchange.route` from a phone's extension to a French
      mobile: tariff, fraud rules, hold placed, record opened), against the routing of a
      call between two extensions and a bare `Billing.quote`; goal <= 1 ms;
   b. inbound routing from the trunk to direct numbers (`source=CARRIER`), `--accounts`
      accounts each holding a DID and 5 forwarding rules (4 by caller, some by weekday and
      hours, 1 general by weekday and hours), random DIDs, callers and moments of the
      week, against the same call to a DID whose owner has no rule; goals >= 1,000
      decisions/s and <= 1 ms. Each call is failed (487) after its decision, outside the
      timing, as kamailio would report it. A missed goal prints a cProfile of a rerun.
`--only` runs some parts (registrations routing setup media decisions; default all).
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

from privacy.keys import encode_key, public_key_of_seed
from storage.models import CallRecord
from testbed.dbs import isolated_database
from testbed.exchange_lab import ExchangeLab, sip_attempt
from testbed.sip_lab import PORTS, Kamailio, Phone, SipLab

TICKS = os.sysconf("SC_CLK_TCK")
TOKEN = secrets.token_urlsafe(16)  # the control API's token in this bench
PARTS = ("registrations", "routing", "setup", "media", "decisions")


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
    print("   recorded: each party forked to our recorder (subscribe), sealed as it comes;")
    print("   'ours' is this process's CPU above the unrecorded run's (the RTP generator)")
    owner = _recording_owner(lab)
    for calls in calls_list:
        plain = _media_run(lab, rtpengine.pid, calls, seconds, None)
        recorded = _media_run(lab, rtpengine.pid, calls, seconds, owner)
        for label, (engine_cpu, ours) in (("plain", plain), ("recorded", recorded)):
            extra = f", ours {(ours - plain[1]) / calls:.3f} % per call" if label != "plain" else ""
            print(
                f"   {calls:4d} calls {label:8}: rtpengine {engine_cpu:5.1f} % of a core, "
                f"{engine_cpu / calls:.3f} % per call (goal <= 0.1 %){extra}"
            )
        print(f"   {len(lab.recorded)} recordings sealed so far")


def _recording_owner(lab: ExchangeLab) -> CallRecord:
    """An account that records every call, and a record of one of its calls as the
    exchange would have made it (the bench's calls have no SIP signalling)."""
    account = lab.accounts.resolve("console", "bench-recorder")
    seed = "bench recorder seed of words nobody keeps since the files are deleted anyway"
    lab.accounts.update(
        account.id, record_calls=True, recording_key=encode_key(public_key_of_seed(seed))
    )
    lab.desk.notice = lab.taps.notice = None  # type: ignore[assignment]
    return CallRecord(
        id="bench", account_id=account.id, kind="internal", a_number="1", b_number="2"
    )


def _media_run(
    lab: ExchangeLab, pid: int, calls: int, seconds: float, owner: CallRecord | None
) -> tuple[float, float]:
    """(rtpengine's CPU, this process's CPU) in % of a core over `seconds` of `calls`
    bridged calls, each recorded when `owner` is given."""
    sockets, targets, ids = [], [], []
    for i in range(calls):
        a, b = (
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM),
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM),
        )
        a.bind(("127.0.0.1", 0))
        b.bind(("127.0.0.1", 0))
        call_id, from_tag, to_tag = f"bench-{calls}-{i}-{owner is not None}", "ft", "tt"
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
        if owner is not None:
            record = owner.model_copy(update={"id": f"b{calls}{i}"})
            lab.run(lab.taps.answered(call_id, [record], from_tag, to_tag))
        sockets.append((a, b))
        targets.append((media_port(answer), media_port(offer)))
        ids.append(call_id)
    stop = threading.Event()
    sender = threading.Thread(target=_send, args=(sockets, targets, stop), daemon=True)
    sender.start()
    time.sleep(1)
    before, ours = cpu_seconds(pid), time.process_time()
    time.sleep(seconds)
    used, ours = cpu_seconds(pid) - before, time.process_time() - ours
    stop.set()
    sender.join()
    for call_id, (a, b) in zip(ids, sockets, strict=True):
        ng(lab.config.rtpengine_port, {"command": "delete", "call-id": call_id})
        lab.run(lab.taps.ended(call_id))
        a.close()
        b.close()
    return used / seconds * 100, ours / seconds * 100


# --- 5. outside-call authorisation and inbound routing, in-process -------------------------

DECISION_GOAL_US = 1000.0  # <= 1 ms of our CPU per decision
INBOUND_GOAL_PER_S = 1000.0
DID_BASE = 33199000000  # DID_POOL from +33199000000: --accounts owners, 1 reference, 5a's callers
MOBILES = 33612000000  # forwarding targets and outside destinations: French mobiles
CALLERS = 33140000000  # callers named in the rules: Paris numbers
OUT_CALLERS = 50  # callers of 5a, each with a DID (its caller ID)
TIMEZONES = ("Europe/Paris", "America/New_York", "Asia/Tokyo", "UTC")


class Decisions:
    """An exchange over a fresh database, as `build_exchange` makes it with a trunk."""

    def __init__(self, db_url: str, workdir: Path, pool: int) -> None:
        from exchange.runtime import build_exchange
        from settings import load_settings
        from storage import open_database
        from storage.accounts import AccountStore
        from storage.calls import CallStore
        from wallet.billing import Billing

        self.pool = pool
        self.engine = open_database(db_url, migrate=False)
        self.settings = load_settings(
            _env_file=None,
            PBX_ENABLED=False,
            PBX_RUN_DIR=str(workdir / "decisions"),
            SIP_TRUNK_HOST="127.0.0.1",
            DID_POOL=f"+{DID_BASE}-+{DID_BASE + pool - 1}",
            PBX_DEFAULT_REGION="FR",
        )
        self.accounts, calls = AccountStore(self.engine), CallStore(self.engine)
        self.billing = Billing.from_settings(self.engine, self.settings)
        self.exchange = build_exchange(self.accounts, calls, self.settings, billing=self.billing)

    def account(self, name: str, did: str | None, timezone: str = "UTC") -> tuple[int, str]:
        """A funded account (100 ETT) with an extension and, given one, a DID."""
        from domain.books import DEPOSITS
        from domain.money import to_units
        from storage.ledger_store import LedgerStore, account_book

        account = self.accounts.resolve("console", name, timezone=timezone)
        extension = self.accounts.extension(account.id)
        if did:
            self.exchange.dids.assign(did, account.id)
        LedgerStore(self.engine).transfer(
            key=f"bench-fund:{name}", kind="deposit", asset="ETT",
            amount=to_units("100", "ETT"), debit=DEPOSITS, credit=account_book(account.id),
            reason="bench funding",
        )  # fmt: skip
        return account.id, extension

    def timed(self, decide, end, count: int, warm: int = 30) -> tuple[float, float, dict]:
        """(µs of process CPU, µs of wall clock) per `decide(i)` over `count` calls after
        `warm` unmeasured ones, and how many of each outcome; `end(i, result)` (untimed)
        reports the call's end."""
        outcomes: dict[str, int] = {}
        for i in range(-warm, 0):
            end(i, decide(i))
        cpu = wall = 0.0
        for i in range(count):
            c0, w0 = time.process_time(), time.perf_counter()
            result = decide(i)
            cpu += time.process_time() - c0
            wall += time.perf_counter() - w0
            key = getattr(result, "action", "quote")
            if key == "refuse":
                key = f"refuse {result.code} {result.reason}"
            outcomes[key] = outcomes.get(key, 0) + 1
            end(i, result)
        return cpu / count * 1e6, wall / count * 1e6, outcomes


def profile_top(engine, decide, end, count: int, limit: int = 12) -> None:
    """cProfile of `count` more decisions: our functions by cumulative CPU per decision,
    then the SQL statements each decision runs, by the code that runs them."""
    import cProfile
    import io
    import pstats
    from collections import Counter

    from sqlalchemy import event

    root = str(Path(__file__).resolve().parent.parent) + "/"
    ours = tuple(root + d for d in ("exchange/", "storage/", "wallet/", "domain/"))
    origins: Counter = Counter()
    commits = [0]

    def where() -> str:
        frames, frame = [], sys._getframe(2)
        while frame is not None and len(frames) < 2:
            name = frame.f_code.co_filename
            if name.startswith(ours) and not name.endswith("storage/db.py"):
                frames.append(f"{name[len(root) :]}:{frame.f_lineno} {frame.f_code.co_name}")
            frame = frame.f_back
        return " <- ".join(frames)

    def statement(_conn, _cursor, sql, *_args) -> None:
        origins[(where(), " ".join(sql.split())[:60])] += 1

    def commit(_conn) -> None:
        commits[0] += 1

    profiler = cProfile.Profile()
    for i in range(count):
        event.listen(engine, "before_cursor_execute", statement)
        event.listen(engine, "commit", commit)
        profiler.enable()
        result = decide(10**6 + i)
        profiler.disable()
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "commit", commit)
        end(10**6 + i, result)
    stats = pstats.Stats(profiler, stream=io.StringIO())
    width = len(root)
    rows = sorted(
        ((cum / count * 1e3, calls / count, f"{file[width:]}:{line} {name}")
         for (file, line, name), (_cc, calls, _tt, cum, _callers) in stats.stats.items()
         if file.startswith(ours)),
        reverse=True,
    )  # fmt: skip
    print(f"   profile of {count} more: our functions, ms CPU (profiled) and calls per decision")
    for ms, calls, name in rows[:limit]:
        print(f"      {ms:6.2f} ms  {calls:5.2f}x  {name}")
    total = sum(origins.values())
    print(
        f"   SQL per decision: {total / count:.1f} statements, {commits[0] / count:.1f} "
        "commits; by origin:"
    )
    for (origin, sql), n in origins.most_common(limit):
        print(f"      {n / count:5.2f}x  {origin}\n               {sql}")


def outcome_text(outcomes: dict) -> str:
    return ", ".join(f"{n} {kind}" for kind, n in sorted(outcomes.items()))


def bench_authorisation(world: Decisions, count: int, profile: bool) -> None:
    import random

    rng = random.Random(1)
    first = DID_BASE + world.pool - OUT_CALLERS  # the last numbers of the pool
    callers = [world.account(f"bench-out-{i}", f"+{first + i}") for i in range(OUT_CALLERS)]
    internal = [world.account(f"bench-int-{i}", None) for i in range(2)]
    exchange = world.exchange

    def outside(i: int):  # a new number each time: fraud's same-number rule never refuses
        number = f"+{MOBILES + rng.randrange(10**6)}"
        return exchange.route(callers[i % len(callers)][1], number, f"out-{i}")

    def internal_call(i: int):
        return exchange.route(internal[0][1], internal[1][1], f"int-{i}")

    def quote(i: int):
        account, extension = callers[i % len(callers)]
        return world.billing.quote(account, extension, f"+{MOBILES + rng.randrange(10**6)}")

    def hang_up(prefix: str):
        return lambda i, _route: exchange.failed(f"{prefix}-{i}", 487)

    ours, ours_wall, outcomes = world.timed(outside, hang_up("out"), count)
    ref, _, _ = world.timed(internal_call, hang_up("int"), count)
    bare, _, _ = world.timed(quote, lambda i, q: None, count)
    print(
        f"5a. outside call authorisation ({count} decisions, {len(callers)} callers): "
        f"{outcome_text(outcomes)}"
    )
    print(
        f"   ours (tariff, fraud rules, hold, record): {ours:7.0f} µs CPU "
        f"({ours_wall:.0f} µs wall)  goal <= {DECISION_GOAL_US:.0f} µs: "
        f"{'met' if ours <= DECISION_GOAL_US else 'MISSED'}"
    )
    print(f"   reference, call between extensions:      {ref:7.0f} µs CPU")
    print(f"   reference, bare Billing.quote:           {bare:7.0f} µs CPU")
    if profile or ours > DECISION_GOAL_US:
        profile_top(world.engine, outside, hang_up("out"), 200)


def bench_inbound(world: Decisions, count: int, accounts: int, profile: bool) -> None:
    import random
    from datetime import timedelta

    from domain.clock import utcnow
    from exchange.service import CARRIER
    from storage.forwarding import ForwardingStore, Target

    rng = random.Random(2)
    rules = ForwardingStore(world.engine)
    started = time.perf_counter()
    owners = [
        world.account(f"bench-in-{i}", f"+{DID_BASE + i}", TIMEZONES[i % len(TIMEZONES)])
        for i in range(accounts)
    ]
    for i, (owner, _extension) in enumerate(owners):
        colleague = owners[(i + 1) % accounts][1]
        mobile, other = f"+{MOBILES + 2 * i}", f"+{MOBILES + 2 * i + 1}"
        caller = [f"+{CALLERS + 4 * i + k}" for k in range(4)]
        rules.set_rule(owner, colleague, caller=caller[0])  # a caller, always
        rules.set_rule(owner, mobile, days=["mon", "tue", "wed", "thu", "fri"],
                       start="09:00", end="18:00", caller=caller[1])  # fmt: skip
        rules.set_rule(owner, mobile, start="22:00", end="06:00", caller=caller[2],
                       ring_seconds=20, follow_me=[Target(colleague, None)])  # fmt: skip
        rules.set_rule(owner, other, days=["sat", "sun"], caller=caller[3])
        rules.set_rule(owner, mobile, days=["mon", "tue", "wed", "thu", "fri"], start="08:00",
                       end="20:00", ring_seconds=25, follow_me=[Target(other, None)])  # fmt: skip
    world.account("bench-in-plain", f"+{DID_BASE + accounts}")
    setup = time.perf_counter() - started
    exchange, now = world.exchange, utcnow()
    moments = [now - timedelta(seconds=rng.randrange(7 * 86400)) for _ in range(count + 500)]

    def pick_caller(i: int) -> str:
        roll = rng.random()
        if roll < 0.5:  # one named in the owner's rules
            return f"+{CALLERS + 4 * i + rng.randrange(4)}"
        return "anonymous" if roll < 0.6 else f"+{CALLERS + 10**6 + rng.randrange(10**6)}"

    def inbound(i: int):
        n = rng.randrange(accounts)
        return exchange.route(pick_caller(n), f"+{DID_BASE + n}", f"in-{i}", source=CARRIER,
                              at=moments[i % len(moments)])  # fmt: skip

    def no_rule(i: int):  # reference: a DID whose owner has no rule (its phones)
        return exchange.route(pick_caller(0), f"+{DID_BASE + accounts}", f"plain-{i}",
                              source=CARRIER, at=moments[i % len(moments)])  # fmt: skip

    def hang_up(prefix: str):
        return lambda i, route: exchange.failed(f"{prefix}-{i}", 487, leg=route.leg)

    ours, ours_wall, outcomes = world.timed(inbound, hang_up("in"), count)
    ref, ref_wall, _ = world.timed(no_rule, hang_up("plain"), count)
    per_s = 1e6 / ours_wall
    met = per_s >= INBOUND_GOAL_PER_S and ours <= DECISION_GOAL_US
    print(
        f"5b. inbound routing, {accounts} accounts x (DID + 5 rules) (set up in {setup:.0f} s),"
        f" {count} decisions: {outcome_text(outcomes)}"
    )
    print(
        f"   ours (DID owner, rules matched):   {per_s:7.0f} decisions/s, {ours:6.0f} µs CPU"
        f"  goal >= {INBOUND_GOAL_PER_S:.0f}/s and <= {DECISION_GOAL_US:.0f} µs: "
        f"{'met' if met else 'MISSED'}"
    )
    print(
        f"   reference, DID whose owner has no rule: {1e6 / ref_wall:7.0f} decisions/s, "
        f"{ref:6.0f} µs CPU"
    )
    if profile or not met:
        profile_top(world.engine, inbound, hang_up("in"), 300)


def bench_decisions(workdir: Path, args: argparse.Namespace) -> None:
    for backend in args.backend:
        directory = workdir / f"decisions-{backend}"
        directory.mkdir()
        with isolated_database(backend, directory) as db_url:
            print(f"5. decisions in-process, {backend} (fresh database)")
            world = Decisions(db_url, directory, args.accounts + 1 + OUT_CALLERS)
            bench_authorisation(world, args.decisions, args.profile)
            bench_inbound(world, args.inbound, args.accounts, args.profile)
            world.engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registrations", type=int, default=2000)
    parser.add_argument("--routes", type=int, default=2000)
    parser.add_argument("--setups", type=int, default=20)
    parser.add_argument("--calls", type=int, nargs="+", default=[10, 50, 100])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--decisions", type=int, default=300, help="outside calls authorised")
    parser.add_argument("--inbound", type=int, default=2000, help="inbound routing decisions")
    parser.add_argument("--accounts", type=int, default=1000, help="accounts with DID and rules")
    parser.add_argument("--backend", nargs="+", choices=("sqlite", "postgresql"),
                        default=["sqlite"], help="databases of part 5")  # fmt: skip
    parser.add_argument("--profile", action="store_true", help="profile part 5 even if met")
    parser.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS))
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-exchange-"))
    if "decisions" in args.only:  # in this process: before the lab's control API starts
        bench_decisions(workdir, args)
    if not set(args.only) & set(PARTS[:4]):
        return 0
    with isolated_database("sqlite", workdir) as db_url:
        low, high = PORTS.rtp_range(1200)  # 4 ports a call (RTP and RTCP, both legs)
        lab = ExchangeLab(db_url, workdir, PBX_RTP_PORTS=f"{low}-{high}").start()
        try:
            if "registrations" in args.only:
                bench_registrations(lab, args.registrations)
            if "routing" in args.only:
                bench_routing(lab, db_url, args.routes)
            if "setup" in args.only:
                bench_setup(lab, args.setups)
            if "media" in args.only:
                bench_media(lab, args.calls, args.seconds)
        finally:
            lab.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
