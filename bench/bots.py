"""Chat adapter benchmark: messages per second, reply latency and bot CPU per message,
ours against bare echo bots, in alternating rounds.

    .venv/bin/python bench/bots.py [--rounds 5] [--turns 6] [--seconds 1.5] [--warm-up 0.5]
                                   [--users 50] [--database URL] [--only telegram|xmpp]
                                   [--diagnose] [--no-pin]

Telegram: the service (`main.py serve`, its own process) answers messages that the
Bot API emulator (testbed/telegram_api.py) hands out by long polling. XMPP: the same
through a prosody started for the run (testbed/prosody_lab.py). Each of `--users`
simulated people keeps one message in flight (the next is sent when the reply
arrives); messages cycle through balance, help and parse-only texts (no calls), in
English, French and Russian, so accounts switch language as they go. Every person
writes once before the rounds (first contact creates the account: onboarding, not the
steady state measured), for the references too.

References from the same run: a bare aiogram echo bot and a bare slixmpp echo bot, each
in its own process too, driven the same way (for XMPP by the very same clients). All
bots of a network run side by side for the whole run, idle when not driven. A round
gives each bot `--turns` turns, alternating (ref, ours, ours, ref, ref, ours, ...), so
that whatever else runs on the machine meanwhile weighs on both alike; a turn drives one
bot for `--warm-up` seconds (not counted), counts its replies for `--seconds` seconds,
then lets the messages in flight come back. Reported per round and bot: msg/s, p50/p99
reply latency, CPU milliseconds per message of the bot process (user + system, all
threads) and of the load side (the emulator, or prosody, and the simulated people); then
ours/reference by round, the median and the worst round, and beside them the reference's
bot CPU per message over ours (the ratio the bots' own cost allows: steadier than rates
when other work shares the CPUs).

With 2 CPUs or more the load side (this process and prosody) is pinned to one CPU and
the bots to another (`--no-pin`: not pinned), so that a bot never competes with its own
load. `--diagnose` adds, to show where the time goes, our adapter around an assistant
that only echoes (same thread hop, no parsing, no database).
BENCH_PROFILE=FILE runs our service under cProfile (all threads): FILE.telegram/.xmpp.
Exit status 1 when ours is below 90 % of the reference in some round.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from testbed.prosody_lab import ProsodyLab, close_loop  # noqa: E402
from testbed.telegram_api import BotAPIEmulator  # noqa: E402

# What each simulated person writes, by their (Telegram client's) language.
TEXTS_BY_LANGUAGE = {
    "en": ("balance", "help", "/balance", "what a lovely day it is"),
    "fr": ("solde", "aide", "/help", "quelle belle journée"),
    "ru": ("баланс", "помощь", "/balance", "какой хороший день"),
}
LANGUAGES = tuple(TEXTS_BY_LANGUAGE)
TEXTS = TEXTS_BY_LANGUAGE["en"]
WARM_UP = 30  # messages a freshly started bot answers before anything is measured
START_TIMEOUT = 120.0  # seconds a bot may take to start and answer its first messages
DRAIN_TIMEOUT = 60.0  # seconds the messages in flight may take to come back after a round
GOAL = 0.90  # ours / reference, in every round
# BENCH_PROFILE=FILE runs our service under cProfile, every thread (the assistant works in
# worker threads), for a look inside: FILE.telegram / FILE.xmpp (read them with pstats).
PROFILE = os.getenv("BENCH_PROFILE")
ADAPTER_ONLY = "our adapter, echo assistant"


class Load:
    """A closed loop: each of `users` people keeps one message in flight.

    `send(user, text, lang)` writes one message (on the thread that calls `replied`);
    `replied(user)` is called with each reply. Replies are counted all along; latencies
    only while `measuring`. Once `stopping`, nothing more is sent and `drained` is set
    when the last reply in flight has come back.
    """

    def __init__(self, users: int, send: Callable[[int, str, str], None]) -> None:
        self.users = users
        self.send = send
        self.lock = threading.Lock()
        self.in_flight: dict[int, float] = {}  # user → when their message was sent
        self.written = [0] * users
        self.replies = 0
        self.latencies: list[float] = []
        self.measuring = False
        self.stopping = False
        self.drained = threading.Event()

    def start(self) -> None:
        for user in range(self.users):
            self._next(user)

    def _next(self, user: int) -> None:
        lang = LANGUAGES[user % len(LANGUAGES)]
        texts = TEXTS_BY_LANGUAGE[lang]
        with self.lock:
            text = texts[self.written[user] % len(texts)]
            self.written[user] += 1
            self.in_flight[user] = time.perf_counter()
        self.send(user, text, lang)

    def replied(self, user: int) -> None:
        now = time.perf_counter()
        with self.lock:
            sent = self.in_flight.pop(user, None)
            if sent is None:
                return  # not one of ours (warm-up, first contact)
            self.replies += 1
            if self.measuring:
                self.latencies.append(now - sent)
            if self.stopping:
                if not self.in_flight:
                    self.drained.set()
                return
        self._next(user)

    def snapshot(self, *, measuring: bool) -> int:
        """The replies so far; starts (or ends, and stops the load) the measured window."""
        with self.lock:
            self.measuring = measuring
            if not measuring:
                self.stopping = True
                if not self.in_flight:
                    self.drained.set()
            return self.replies


@dataclass
class Bot:
    """One bot process under test and how to drive it."""

    name: str
    process: subprocess.Popen
    # Starts a `Load` on this bot; returns a function that detaches it once drained.
    drive: Callable[[Load], Callable[[], None]]
    results: list[dict] = field(default_factory=list)


@dataclass
class Pinning:
    """The CPUs of the load side and of the bots; None: not pinned."""

    load: set[int] | None = None
    bots: set[int] | None = None

    @classmethod
    def choose(cls, wanted: bool) -> Pinning:
        cpus = sorted(os.sched_getaffinity(0))
        if not wanted or len(cpus) < 2 or not hasattr(os, "sched_setaffinity"):
            return cls()
        return cls({cpus[0]}, {cpus[1]})

    def describe(self) -> str:
        if self.load is None:
            return "not pinned"
        return f"load side on CPU {_cpus(self.load)}, bots on CPU {_cpus(self.bots)}"

    def pin_load(self, pid: int) -> None:
        _pin(pid, self.load)

    def pin_bot(self, pid: int) -> None:
        _pin(pid, self.bots)


def _cpus(cpus: set[int] | None) -> str:
    return ",".join(map(str, sorted(cpus or ())))


def _pin(pid: int, cpus: set[int] | None) -> None:
    """Pin every thread of process `pid` (0: this one) to `cpus`."""
    if cpus is None:
        return
    tasks = Path(f"/proc/{pid or os.getpid()}/task")
    for tid in [int(t.name) for t in tasks.iterdir()] if tasks.exists() else [pid]:
        try:
            os.sched_setaffinity(tid, cpus)
        except (ProcessLookupError, PermissionError):
            pass  # a thread that just ended


def measure(bot: Bot, load_cpu: Callable[[], float], args: argparse.Namespace) -> dict:
    """One turn of one bot: `--warm-up` seconds, `--seconds` counted, then the drain."""
    load = Load(args.users, lambda *_: None)
    detach = bot.drive(load)
    try:
        _sleep_alive(bot, args.warm_up)
        pid = bot.process.pid
        began, bot_cpu, side_cpu = time.perf_counter(), cpu_seconds(pid), load_cpu()
        first = load.snapshot(measuring=True)
        _sleep_alive(bot, args.seconds)
        last = load.snapshot(measuring=False)
        ended = time.perf_counter()
        bot_cpu, side_cpu = cpu_seconds(pid) - bot_cpu, load_cpu() - side_cpu
        deadline = time.monotonic() + DRAIN_TIMEOUT
        while not load.drained.wait(0.5):
            _alive(bot)
            if time.monotonic() > deadline:
                raise SystemExit(f"{bot.name}: {len(load.in_flight)} replies never came")
    finally:
        detach()
    if last == first:
        raise SystemExit(f"{bot.name}: no reply in {args.seconds} s")
    return {
        "count": last - first,
        "seconds": ended - began,
        "cpu": bot_cpu,
        "load_cpu": side_cpu,
        "latencies": load.latencies,
    }


def run_rounds(bots: list[Bot], load_cpu: Callable[[], float], args, pinning: Pinning) -> None:
    """`args.rounds` rounds; each drives every bot `args.turns` times, in turn, the order
    reversed every other time (A B, B A, A B, ...), and sums each bot's turns."""
    for round_ in range(1, args.rounds + 1):
        turns: dict[str, list[dict]] = {bot.name: [] for bot in bots}
        for turn in range(args.turns):
            for bot in bots if (turn + round_) % 2 else bots[::-1]:
                pinning.pin_bot(bot.process.pid)  # threads started since spawning too
                turns[bot.name].append(measure(bot, load_cpu, args))
        for bot in bots:
            result = _total(turns[bot.name])
            bot.results.append(result)
            print(
                f"  {round_:>2} {bot.name:<28} {result['rate']:6.0f} msg/s"
                f"   p50 {result['p50']:6.1f} ms   p99 {result['p99']:6.1f} ms"
                f"   bot CPU {result['cpu']:5.2f} ms/msg   load CPU {result['load_cpu']:5.2f}",
                flush=True,
            )


def _total(turns: list[dict]) -> dict:
    """One round of one bot: its turns summed."""
    count = sum(s["count"] for s in turns)
    lat = sorted(latency for s in turns for latency in s["latencies"])
    return {
        "rate": count / sum(s["seconds"] for s in turns),
        "p50": statistics.median(lat) * 1000,
        "p99": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000,
        "cpu": sum(s["cpu"] for s in turns) / count * 1000,
        "load_cpu": sum(s["load_cpu"] for s in turns) / count * 1000,
    }


def summarise(ours: Bot, reference: Bot, diagnostic: Bot | None) -> float:
    """Print ours/reference by round, median and worst; return the worst ratio of rates.

    Beside the rates, the reference's bot CPU per message over ours: what the ratio of
    rates would be if the bot alone set the pace (steadier when the machine is busy)."""
    pairs = list(zip(ours.results, reference.results, strict=True))
    ratios = [o["rate"] / r["rate"] for o, r in pairs]
    cpu_ratios = [r["cpu"] / o["cpu"] for o, r in pairs]
    print(f"  {'round':<8}{reference.name:>30}{ours.name:>30}   ours/ref   CPU ref/ours")
    rows = zip(pairs, ratios, cpu_ratios, strict=True)
    for round_, ((o, r), ratio, cpu) in enumerate(rows, start=1):
        print(
            f"  {round_:<8}{_cell(r):>30}{_cell(o):>30}   {ratio:7.0%}   {cpu:11.0%}"
            f"{'' if ratio >= GOAL else '   < goal'}"
        )
    median = {b.name: _medians(b) for b in (reference, ours)}
    print(
        f"  {'median':<8}{_cell(median[reference.name]):>30}{_cell(median[ours.name]):>30}"
        f"   {statistics.median(ratios):7.0%}   {statistics.median(cpu_ratios):11.0%}"
    )
    print(
        f"  ours / reference: median {statistics.median(ratios):.0%}, worst {min(ratios):.0%}"
        f" (goal: {GOAL:.0%} in every round); bot CPU per message: median"
        f" {median[ours.name]['cpu']:.2f} ms ours, {median[reference.name]['cpu']:.2f} ms"
        " reference"
    )
    if diagnostic is not None:
        d = _medians(diagnostic)
        print(
            f"  {diagnostic.name}: median {d['rate'] / median[reference.name]['rate']:.0%}"
            f" of the reference, bot CPU {d['cpu']:.2f} ms/msg"
        )
    return min(ratios)


def _cell(result: dict) -> str:
    return f"{result['rate']:6.0f} msg/s {result['cpu']:5.2f} ms/msg"


def _medians(bot: Bot) -> dict:
    return {key: statistics.median(r[key] for r in bot.results) for key in ("rate", "cpu")}


def _alive(bot: Bot) -> None:
    if bot.process.poll() is not None:
        raise SystemExit(f"{bot.name} exited with status {bot.process.returncode}")


def _sleep_alive(bot: Bot, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, 0.5))
        _alive(bot)


def _wait_until(bot: Bot, condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not condition():
        _alive(bot)
        if time.monotonic() > deadline:
            raise SystemExit(f"{bot.name}: timed out waiting for {what}")
        time.sleep(0.05)


def this_process_cpu() -> float:
    times = os.times()
    return times.user + times.system


# -- Telegram --------------------------------------------------------------------------------


FIRST_USER = 10_000  # the Telegram ids of the simulated people


def drive_telegram(api: BotAPIEmulator) -> Callable[[Load], Callable[[], None]]:
    def drive(load: Load) -> Callable[[], None]:
        load.send = lambda user, text, lang: api.send_text(
            FIRST_USER + user, text, language_code=lang
        )
        api.on_send = lambda chat_id, _message: load.replied(chat_id - FIRST_USER)
        load.start()

        def detach() -> None:
            api.on_send = None

        return detach

    return drive


def warm_up_telegram(bot: Bot, api: BotAPIEmulator, users: int) -> None:
    """Warm the bot up, then let each simulated person write once (first contact creates
    their account: onboarding, not the steady state the rounds measure)."""

    def sent(chat_id: int, count: int) -> Callable[[], bool]:
        return lambda: len(api.messages(chat_id)) >= count

    for i in range(WARM_UP):
        api.send_text(1, TEXTS[i % len(TEXTS)])
    _wait_until(bot, sent(1, WARM_UP), "answers to the warm-up")
    for user in range(FIRST_USER, FIRST_USER + users):
        lang = LANGUAGES[(user - FIRST_USER) % len(LANGUAGES)]
        api.send_text(user, "help", language_code=lang)
    for user in range(FIRST_USER, FIRST_USER + users):
        _wait_until(bot, sent(user, 1), "answers to first contacts")


def bench_telegram(args: argparse.Namespace, env: dict, pinning: Pinning) -> float:
    contenders = [("aiogram echo bot", [sys.executable, __file__, "--echo-telegram"])]
    if args.diagnose:
        contenders.append((ADAPTER_ONLY, [sys.executable, __file__, "--adapter-echo"]))
    contenders.append(("EncryptoTel (Telegram)", _service_command("telegram")))
    bots: list[Bot] = []
    apis: list[BotAPIEmulator] = []
    with tempfile.TemporaryDirectory() as workdir:
        try:
            for name, command in contenders:
                api = BotAPIEmulator().start()
                apis.append(api)
                bot_env = {**env, "TELEGRAM_BOT_TOKEN": api.token, "TELEGRAM_API_URL": api.url}
                process = _spawn(command, bot_env, workdir, args.database)
                pinning.pin_bot(process.pid)
                bots.append(Bot(name, process, drive_telegram(api)))
            for bot, api in zip(bots, apis, strict=True):
                warm_up_telegram(bot, api, args.users)
            run_rounds(bots, this_process_cpu, args, pinning)
        finally:
            for bot in bots:
                _stop(bot.process)
            for api in apis:
                _quietly(api.stop)
    return summarise(bots[-1], bots[0], bots[1] if args.diagnose else None)


async def echo_telegram() -> None:
    """The reference: aiogram answering each text with itself, one task per update."""
    from aiogram import Bot, Dispatcher, F
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.types import Message

    api = TelegramAPIServer.from_base(os.environ["TELEGRAM_API_URL"])
    bot = Bot(os.environ["TELEGRAM_BOT_TOKEN"], session=AiohttpSession(api=api))
    dispatcher = Dispatcher()

    @dispatcher.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(message.text)

    await dispatcher.start_polling(bot, handle_signals=True)


# -- XMPP ------------------------------------------------------------------------------------


class XMPPDriver:
    """`users` XMPP clients in one event loop; they write to one bot at a time."""

    def __init__(self, lab: ProsodyLab, users: int) -> None:
        self.lab = lab
        self.bot = ""  # the JID the clients write to
        self.accounts = [lab.register() for _ in range(users)]
        self.clients: list = []
        self.load: Load | None = None
        self.probe = threading.Event()
        self.answered: set[int] = set()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._connect(), self.loop).result(120)

    async def _connect(self) -> None:
        from slixmpp import ClientXMPP

        started = []
        for index, (jid, password) in enumerate(self.accounts):
            client = ClientXMPP(jid, password)
            client.enable_direct_tls = False
            client.use_aiodns = False
            client.ca_certs = self.lab.cert_file
            ready = asyncio.get_running_loop().create_future()

            def on_session(_event, client=client, ready=ready) -> None:
                client.send_presence()
                if not ready.done():
                    ready.set_result(True)

            def on_message(message, index=index) -> None:
                if message["type"] in ("chat", "normal") and message["body"]:
                    if message["from"].bare == self.bot:
                        self._reply(index)

            client.add_event_handler("session_start", on_session)
            client.add_event_handler("message", on_message)
            client.connect("127.0.0.1", self.lab.port)
            self.clients.append(client)
            started.append(ready)
        await asyncio.wait_for(asyncio.gather(*started), 60)

    def _reply(self, index: int) -> None:
        if self.load is None:
            self.answered.add(index)
            self.probe.set()
        else:
            self.load.replied(index)

    def _send(self, index: int, text: str, _lang: str = "") -> None:
        self.clients[index].send_message(mto=self.bot, mbody=text, mtype="chat")

    def write(self, index: int, text: str) -> None:
        """Send from any thread."""
        self.loop.call_soon_threadsafe(self._send, index, text)

    def greet(self, bot: Bot, jid: str) -> None:
        """Probe until the bot answers (messages to it bounce until it is online), warm it
        up, then let each person write once (first contact creates their account)."""
        self.bot = jid
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            _alive(bot)
            if time.monotonic() > deadline:
                raise SystemExit(f"{bot.name}: never answered")
            self.probe.clear()
            self.write(0, "help")
            if self.probe.wait(1):
                break
        for i in range(WARM_UP):
            self.probe.clear()
            self.write(0, TEXTS[i % len(TEXTS)])
            self.probe.wait(10)
        self.answered.clear()
        for index in range(len(self.clients)):
            self.write(index, "help")
        _wait_until(bot, lambda: len(self.answered) == len(self.clients), "first contacts")
        time.sleep(0.5)  # let stray replies of the warm-up arrive

    def driver_for(self, jid: str) -> Callable[[Load], Callable[[], None]]:
        def drive(load: Load) -> Callable[[], None]:
            self.bot = jid
            load.send = self._send  # replies arrive on the loop: the next is sent from there
            self.load = load
            self.loop.call_soon_threadsafe(load.start)

            def detach() -> None:
                self.load = None

            return detach

        return drive

    def close(self) -> None:
        async def leave() -> None:
            for client in self.clients:
                client.disconnect(wait=0.5)
            await asyncio.sleep(0.6)

        asyncio.run_coroutine_threadsafe(leave(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        close_loop(self.loop)


def bench_xmpp(args: argparse.Namespace, env: dict, pinning: Pinning) -> float:
    contenders = [("slixmpp echo bot", [sys.executable, __file__, "--echo-xmpp"])]
    if args.diagnose:
        contenders.append((ADAPTER_ONLY, [sys.executable, __file__, "--adapter-echo"]))
    contenders.append(("EncryptoTel (XMPP)", _service_command("xmpp")))
    bots: list[Bot] = []
    with tempfile.TemporaryDirectory() as workdir:
        lab = ProsodyLab(Path(workdir) / "prosody")
        lab.start()
        pinning.pin_load(lab.process.pid)
        driver = None
        try:
            jids = []
            for name, command in contenders:
                jid, password = lab.register()
                bot_env = {
                    **env,
                    "XMPP_JID": jid,
                    "XMPP_PASSWORD": password,
                    "XMPP_HOST": "127.0.0.1",
                    "XMPP_PORT": str(lab.port),
                    "XMPP_CA_FILE": str(lab.cert_file),
                }
                process = _spawn(command, bot_env, workdir, args.database)
                pinning.pin_bot(process.pid)
                jids.append(jid)
                bots.append(Bot(name, process, lambda _load: lambda: None))
            driver = XMPPDriver(lab, args.users)
            for bot, jid in zip(bots, jids, strict=True):
                driver.greet(bot, jid)
                bot.drive = driver.driver_for(jid)
            prosody = lab.process.pid
            run_rounds(bots, lambda: this_process_cpu() + cpu_seconds(prosody), args, pinning)
        finally:
            if driver is not None:
                _quietly(driver.close)
            for bot in bots:
                _stop(bot.process)
            lab.stop()
    return summarise(bots[-1], bots[0], bots[1] if args.diagnose else None)


async def echo_xmpp() -> None:
    """The reference: slixmpp answering each chat message with its own text."""
    from slixmpp import ClientXMPP

    client = ClientXMPP(os.environ["XMPP_JID"], os.environ["XMPP_PASSWORD"])
    client.enable_direct_tls = False
    client.use_aiodns = False
    client.ca_certs = Path(os.environ["XMPP_CA_FILE"])
    client.add_event_handler("session_start", lambda _event: client.send_presence())

    def echo(message) -> None:
        if message["type"] in ("chat", "normal") and message["body"]:
            client.send_message(mto=message["from"], mbody=message["body"], mtype="chat")

    client.add_event_handler("message", echo)
    client.connect(os.environ["XMPP_HOST"], int(os.environ["XMPP_PORT"]))
    await asyncio.Event().wait()


# -- our adapters around a trivial assistant (where the time goes) ---------------------------


class EchoAssistant:
    """Diagnostic only: answers each text with itself, through the same thread hop as the
    real assistant's writes, so the difference to the full service is the assistant's own
    work."""

    menu = ("start", "help")

    def __init__(self, services: object) -> None:
        self.services = services

    async def handle(self, _sender: object, text: str) -> list:
        from bot.assistant import Reply

        return await asyncio.to_thread(lambda: [Reply(text)])

    def answer_now(self, _sender: object, _text: str) -> None:
        return None  # always through the thread hop, as the real assistant's writes are

    async def press(self, _sender: object, data: str) -> list:
        return await self.handle(_sender, data)


async def adapter_echo() -> None:
    """Our Telegram or XMPP adapter (as configured) around `EchoAssistant`."""
    import signal

    from bot.app import _chat_adapters, build_services
    from settings import get_settings

    settings = get_settings()
    assistant = EchoAssistant(build_services(settings))
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    await asyncio.gather(*(adapter.run(stop) for adapter in _chat_adapters(assistant, settings)))


# -- processes -------------------------------------------------------------------------------


def _service_command(network: str) -> list[str]:
    """`main.py serve`, or the same under the all-threads profiler when BENCH_PROFILE is set."""
    if PROFILE:
        return [sys.executable, __file__, "--profile-serve", f"{PROFILE}.{network}"]
    return [sys.executable, str(ROOT / "main.py"), "serve"]


def profile_serve(path: str) -> None:
    """Run `main.py serve` with one cProfile per thread; write their sum to `path` at exit."""
    import cProfile
    import pstats

    import main as service

    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()

    def start_in_thread(*_args: object) -> None:
        profile = cProfile.Profile()
        with lock:
            profiles.append(profile)
        profile.enable()  # replaces this hook for the rest of the thread

    threading.setprofile(start_in_thread)
    main_profile = cProfile.Profile()
    profiles.append(main_profile)
    main_profile.enable()
    try:
        service.main(["serve"])
    finally:
        main_profile.disable()
        with lock:
            for profile in profiles:
                profile.disable()
            stats = pstats.Stats(*profiles)
        stats.dump_stats(path)


def _spawn(command: list[str], env: dict, workdir: str, database: str | None) -> subprocess.Popen:
    db = database or f"sqlite:///{workdir}/bench-{time.monotonic_ns()}.db"
    return subprocess.Popen(
        command,
        env={**env, "DATABASE_URL": db},
        cwd=workdir,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=None,
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process (all its threads) has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _quietly(cleanup: Callable[[], None]) -> None:
    """A clean-up step that must not hide the error that brought the run down."""
    try:
        cleanup()
    except Exception as error:
        print(f"  (clean-up: {type(error).__name__} {error})", file=sys.stderr)


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0] + " " + __doc__.splitlines()[1],
        epilog="Exit status 1 when ours is below 90 % of the reference in some round.",
    )
    parser.add_argument("--rounds", type=int, default=5, help="rounds reported (default 5)")
    parser.add_argument(
        "--turns", type=int, default=6, help="turns of each bot in a round (default 6)"
    )
    parser.add_argument(
        "--seconds", type=float, default=1.5, help="counted seconds of a turn (default 1.5)"
    )
    parser.add_argument(
        "--warm-up",
        type=float,
        default=0.5,
        help="seconds of a turn before its count starts (default 0.5)",
    )
    parser.add_argument("--users", type=int, default=50, help="messages in flight (default 50)")
    parser.add_argument("--database", help="DATABASE_URL for the service (default: SQLite)")
    parser.add_argument("--only", choices=("telegram", "xmpp"))
    parser.add_argument(
        "--diagnose", action="store_true", help="also our adapter around an echo assistant"
    )
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to CPUs")
    parser.add_argument("--echo-telegram", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--echo-xmpp", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--adapter-echo", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--profile-serve", metavar="FILE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.profile_serve:
        profile_serve(args.profile_serve)
        return
    if args.adapter_echo:
        asyncio.run(adapter_echo())
        return
    if args.echo_telegram:
        asyncio.run(echo_telegram())
        return
    if args.echo_xmpp:
        try:
            asyncio.run(echo_xmpp())
        except KeyboardInterrupt:
            pass
        return
    pinning = Pinning.choose(not args.no_pin)
    pinning.pin_load(0)  # before any thread starts: the emulators and clients inherit it
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "XMPP_", "SIP_", "WAVES_"))
    }
    # The simulated people write far faster than a person: no flood limit for them.
    env |= {"LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT), "CHAT_RATE_PER_MINUTE": "0"}
    texts = ", ".join(text for texts in TEXTS_BY_LANGUAGE.values() for text in texts)
    print(
        f"{args.rounds} rounds of {args.turns} turns per bot ({args.warm_up:g} s warm-up +"
        f" {args.seconds:g} s counted each), {args.users} in flight, {pinning.describe()};"
        f" texts: {texts}"
    )
    worst = []
    if args.only in (None, "telegram"):
        print("Telegram, through the Bot API emulator:")
        worst.append(bench_telegram(args, env, pinning))
    if args.only in (None, "xmpp"):
        print("XMPP, through prosody (TLS):")
        worst.append(bench_xmpp(args, env, pinning))
    sys.exit(0 if min(worst) >= GOAL else 1)


if __name__ == "__main__":
    main()
