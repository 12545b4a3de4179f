"""Chat adapter benchmark: updates per second and reply latency, ours against bare echo bots.

    .venv/bin/python bench/bots.py [--messages 1000] [--users 50] [--database URL]

Telegram: the service (`main.py serve`, its own process) answers messages that the
Bot API emulator (tests/telegram_api.py) hands out by long polling. XMPP: the same
through a prosody started for the run (tests/prosody_lab.py). Each of `--users`
simulated people keeps one message in flight (the next is sent when the reply
arrives); messages cycle through balance, help and parse-only texts (no calls), in
English, French and Russian, so accounts switch language as they go. Every person
writes once before the run (first contact creates the account: onboarding, measured
apart from the steady state), for the references too.
References from the same run: a bare aiogram echo bot and a bare slixmpp echo bot,
each in its own process too, driven the same way; and, to show where the time goes,
our adapter around an assistant that only echoes (same thread hop, no parsing, no
database).
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
WARM_UP = 30
# BENCH_PROFILE=FILE runs our service under cProfile, every thread (the assistant works in
# worker threads), for a look inside: FILE.telegram / FILE.xmpp (read them with pstats).
PROFILE = os.getenv("BENCH_PROFILE")


class Run:
    """Latencies of one closed-loop run: each user has one message in flight."""

    def __init__(self, messages: int, users: int) -> None:
        self.messages = messages
        self.users = users
        self.sent_at: dict[int, float] = {}
        self.latencies: list[float] = []
        self.remaining = messages
        self.done = threading.Event()
        self.lock = threading.Lock()
        self.began = 0.0
        self.ended = 0.0

    def next_text(self, user: int) -> tuple[str, str] | None:
        """The next message of `user` and their language, or None when all are out."""
        with self.lock:
            if self.remaining <= 0:
                return None
            self.remaining -= 1
            lang = LANGUAGES[user % len(LANGUAGES)]
            texts = TEXTS_BY_LANGUAGE[lang]
            return texts[self.remaining % len(texts)], lang

    def replied(self, user: int) -> None:
        now = time.perf_counter()
        with self.lock:
            self.latencies.append(now - self.sent_at.pop(user))
            if len(self.latencies) == self.messages:
                self.ended = now
                self.done.set()

    def report(self, name: str, cpu_seconds: float) -> dict:
        lat = sorted(self.latencies)
        rate = len(lat) / (self.ended - self.began)
        p50 = statistics.median(lat) * 1000
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
        cpu = cpu_seconds / len(lat) * 1000
        print(
            f"  {name:<30} {rate:6.0f} msg/s   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms"
            f"   bot CPU {cpu:5.2f} ms/msg"
        )
        return {"rate": rate, "p50": p50, "p99": p99, "cpu": cpu}


# -- Telegram --------------------------------------------------------------------------------


FIRST_USER = 10_000  # the Telegram ids of the simulated people


def drive_telegram(api: BotAPIEmulator, messages: int, users: int) -> Run:
    """Send `messages` through the emulator with `users` people, one in flight each."""
    first_user = FIRST_USER
    run = Run(messages, users)

    def send(user: int) -> None:
        message = run.next_text(user)
        if message is not None:
            run.sent_at[user] = time.perf_counter()
            api.send_text(user, message[0], language_code=message[1])

    api.on_send = lambda chat_id, _message: (run.replied(chat_id), send(chat_id))
    run.began = time.perf_counter()
    for user in range(first_user, first_user + users):
        send(user)
    if not run.done.wait(300):
        raise SystemExit(f"telegram: only {len(run.latencies)} of {messages} replies")
    api.on_send = None
    return run


def warm_up_telegram(api: BotAPIEmulator, users: int) -> None:
    """Warm the bot up, then let each simulated person write once (first contact creates
    their account: onboarding, not the steady state the run measures)."""
    for i in range(WARM_UP):
        api.send_text(1, TEXTS[i % len(TEXTS)])
    api.wait_messages(1, WARM_UP, timeout=120)
    for user in range(FIRST_USER, FIRST_USER + users):
        api.send_text(user, "help")
    for user in range(FIRST_USER, FIRST_USER + users):
        api.wait_messages(user, 1, timeout=120)


def bench_telegram(args: argparse.Namespace, env: dict) -> dict[str, dict]:
    results = {}
    for name, command in (
        ("aiogram echo bot", [sys.executable, __file__, "--echo-telegram"]),
        (ADAPTER_ONLY, [sys.executable, __file__, "--adapter-echo"]),
        ("EncryptoTel (Telegram)", _service_command("telegram")),
    ):
        api = BotAPIEmulator().start()
        bot_env = {**env, "TELEGRAM_BOT_TOKEN": api.token, "TELEGRAM_API_URL": api.url}
        with tempfile.TemporaryDirectory() as workdir:
            process = _spawn(command, bot_env, workdir, args.database)
            try:
                warm_up_telegram(api, args.users)
                cpu = cpu_seconds(process.pid)
                run = drive_telegram(api, args.messages, args.users)
                results[name] = run.report(name, cpu_seconds(process.pid) - cpu)
            finally:
                _stop(process)
                api.stop()
    return results


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
    """`users` XMPP clients in one event loop, each with one message in flight to `bot`."""

    def __init__(self, lab: ProsodyLab, bot: str, users: int) -> None:
        self.lab = lab
        self.bot = bot
        self.accounts = [lab.register() for _ in range(users)]
        self.clients: list = []
        self.run: Run | None = None
        self.probe = threading.Event()
        self.first_replies: set[int] = set()
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
                    self._reply(index)

            client.add_event_handler("session_start", on_session)
            client.add_event_handler("message", on_message)
            client.connect("127.0.0.1", self.lab.port)
            self.clients.append(client)
            started.append(ready)
        await asyncio.wait_for(asyncio.gather(*started), 60)

    def _reply(self, index: int) -> None:
        if self.run is None:
            self.first_replies.add(index)
            self.probe.set()
            return
        self.run.replied(index)
        self._send(index)

    def _send(self, index: int) -> None:
        message = self.run.next_text(index)
        if message is not None:
            self.run.sent_at[index] = time.perf_counter()
            self.clients[index].send_message(mto=self.bot, mbody=message[0], mtype="chat")

    def wait_for_bot(self, timeout: float = 60) -> None:
        """Probe until the bot answers (messages to it bounce until it is online)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.probe.clear()
            self.loop.call_soon_threadsafe(
                lambda: self.clients[0].send_message(mto=self.bot, mbody="help", mtype="chat")
            )
            if self.probe.wait(1):
                for i in range(WARM_UP):
                    self.probe.clear()
                    self.loop.call_soon_threadsafe(
                        lambda i=i: self.clients[0].send_message(
                            mto=self.bot, mbody=TEXTS[i % len(TEXTS)], mtype="chat"
                        )
                    )
                    self.probe.wait(10)
                self._first_contacts()
                time.sleep(0.5)  # let stray replies of the warm-up arrive
                return
        raise SystemExit("xmpp: the bot never answered")

    def _first_contacts(self, timeout: float = 120) -> None:
        """Each person writes once: first contact creates their account (onboarding, not
        the steady state the run measures)."""
        self.first_replies.clear()
        for client in self.clients:
            self.loop.call_soon_threadsafe(
                lambda c=client: c.send_message(mto=self.bot, mbody="help", mtype="chat")
            )
        deadline = time.monotonic() + timeout
        while len(self.first_replies) < len(self.clients):
            if time.monotonic() > deadline:
                raise SystemExit("xmpp: not every person got an answer to their first message")
            time.sleep(0.05)

    def measure(self, messages: int) -> Run:
        run = Run(messages, len(self.clients))
        self.run = run
        run.began = time.perf_counter()
        for index in range(len(self.clients)):
            self.loop.call_soon_threadsafe(self._send, index)
        if not run.done.wait(300):
            raise SystemExit(f"xmpp: only {len(run.latencies)} of {messages} replies")
        return run

    def close(self) -> None:
        async def leave() -> None:
            for client in self.clients:
                client.disconnect(wait=0.5)
            await asyncio.sleep(0.6)

        asyncio.run_coroutine_threadsafe(leave(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        close_loop(self.loop)


def bench_xmpp(args: argparse.Namespace, env: dict) -> dict[str, dict]:
    results = {}
    with tempfile.TemporaryDirectory() as workdir:
        lab = ProsodyLab(Path(workdir) / "prosody")
        lab.start()
        try:
            for name, command in (
                ("slixmpp echo bot", [sys.executable, __file__, "--echo-xmpp"]),
                (ADAPTER_ONLY, [sys.executable, __file__, "--adapter-echo"]),
                ("EncryptoTel (XMPP)", _service_command("xmpp")),
            ):
                bot, password = lab.register()
                bot_env = {
                    **env,
                    "XMPP_JID": bot,
                    "XMPP_PASSWORD": password,
                    "XMPP_HOST": "127.0.0.1",
                    "XMPP_PORT": str(lab.port),
                    "XMPP_CA_FILE": str(lab.cert_file),
                }
                process = _spawn(command, bot_env, workdir, args.database)
                driver = XMPPDriver(lab, bot, args.users)
                try:
                    driver.wait_for_bot()
                    cpu = cpu_seconds(process.pid)
                    run = driver.measure(args.messages)
                    results[name] = run.report(name, cpu_seconds(process.pid) - cpu)
                finally:
                    driver.close()
                    _stop(process)
        finally:
            lab.stop()
    return results


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

ADAPTER_ONLY = "our adapter, echo assistant"


class EchoAssistant:
    """Diagnostic only: answers each text with itself, through the same thread hop as the
    real assistant, so the difference to the full service is the assistant's own work."""

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
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--users", type=int, default=50, help="messages in flight")
    parser.add_argument("--database", help="DATABASE_URL for the service (default: SQLite)")
    parser.add_argument("--only", choices=("telegram", "xmpp"))
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
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "XMPP_", "SIP_", "WAVES_"))
    }
    env |= {"LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
    texts = ", ".join(text for texts in TEXTS_BY_LANGUAGE.values() for text in texts)
    print(f"{args.messages} messages, {args.users} in flight, texts: {texts}")
    if args.only in (None, "telegram"):
        print("Telegram, through the Bot API emulator:")
        _ratios(bench_telegram(args, env), "EncryptoTel (Telegram)", "aiogram echo bot")
    if args.only in (None, "xmpp"):
        print("XMPP, through prosody (TLS):")
        _ratios(bench_xmpp(args, env), "EncryptoTel (XMPP)", "slixmpp echo bot")


def _ratios(results: dict[str, dict], ours: str, echo: str) -> None:
    reference = results[echo]["rate"]
    print(
        f"  ours / echo: {results[ours]['rate'] / reference:.0%} of the echo rate (goal 70 %);"
        f" adapter alone: {results[ADAPTER_ONLY]['rate'] / reference:.0%}"
    )


if __name__ == "__main__":
    main()
