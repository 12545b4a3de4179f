"""The service: one event loop running every configured adapter side by side."""

from __future__ import annotations

import asyncio
import functools
import logging
import signal
import sys
import threading
from collections.abc import Awaitable, Callable

import nlu
from bot import call_runner
from bot.console import NETWORK as CONSOLE_NETWORK
from bot.console import render, run_console
from bot.core import Assistant, Reply, Services
from bot.payments import attach_wallet
from bot.reminder_calls import place_reminder_call
from bot.scheduler import Scheduler
from dialer import Dialer, DialerError, SipConfig
from settings import Settings
from storage import open_database

log = logging.getLogger(__name__)
SHUTDOWN_GRACE = 4.0
DIALER_RETRY = 5.0
GIL_SWITCH_SECONDS = 0.0005


def build_services(settings: Settings) -> Services:
    """Open the database (applying migrations) and gather the configured services."""
    engine = open_database(settings.DATABASE_URL)
    return Services(engine=engine, settings=settings)


async def serve(
    settings: Settings,
    *,
    console: bool | None = None,
    stop: asyncio.Event | None = None,
    on_started: Callable[[Assistant, list], None] | None = None,
) -> int:
    """Run until SIGINT/SIGTERM, or until the console's input ends when it is the only adapter.

    `console=None` runs the console when no chat network is configured or stdin is a terminal.
    `stop` ends the service when set (signals are handled only in the main thread);
    `on_started(assistant, adapters)` is called once the adapters are created.
    """
    # The assistant works in threads beside the event loop; a shorter GIL switch interval
    # than the default 5 ms lets the loop (chats, RTP relay) run again sooner.
    sys.setswitchinterval(GIL_SWITCH_SECONDS)
    services = build_services(settings)
    assistant = Assistant(services)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
    services.background.attach(loop)
    if settings.sip_enabled:
        services.dialer = Dialer(SipConfig.from_settings(settings))
    attach_wallet(services)  # deposit watcher and withdrawals when Waves is configured
    # Reminders are claimed in the database and pushed through the outbox to every chat.
    place_call = None
    if services.dialer is not None:  # call reminders are phoned to the verified number
        place_call = functools.partial(place_reminder_call, services)
    services.scheduler = Scheduler(services, services.outbox.notify, place_call=place_call)
    await asyncio.to_thread(nlu.warm_up)  # loads dateparser now, not on the first message
    await asyncio.to_thread(_settle_ended_calls, services)

    networks = settings.telegram_enabled or settings.xmpp_enabled
    if console is None:
        console = not networks or sys.stdin.isatty()
    tasks: list[asyncio.Task] = []
    try:
        adapters = _chat_adapters(assistant, settings)
    except ValueError as error:  # a chat network's settings are unusable: say which
        log.error("%s", error)
        services.engine.dispose()
        return 2
    for adapter in adapters:
        tasks.append(asyncio.create_task(adapter.run(stop), name=adapter.network))
    if console:
        services.outbox.register(CONSOLE_NETWORK, _console_send(settings.CONSOLE_USER))
        tasks.append(
            asyncio.create_task(_console(assistant, settings, stop, networks), name="console")
        )
    if not tasks:
        log.warning("nothing to run: configure TELEGRAM_BOT_TOKEN or XMPP_JID, or use a terminal")
        return 1
    tasks.append(asyncio.create_task(services.scheduler.run(stop), name="scheduler"))
    if services.wallet is not None:
        tasks.append(asyncio.create_task(services.wallet.run(stop), name="deposits"))
    tasks.append(asyncio.create_task(call_runner.run(services, stop), name="calls"))
    if services.dialer is not None:
        tasks.append(asyncio.create_task(_run_dialer(services, stop), name="dialer"))
    if on_started is not None:
        on_started(assistant, adapters)
    log.info("EncryptoTel running (%s)", ", ".join(t.get_name() for t in tasks))
    failed = await _until_stopped(stop, tasks)
    # Adapters finish what is in progress on `stop`; whatever is left after the grace ends.
    _done, pending = await asyncio.wait(tasks, timeout=SHUTDOWN_GRACE)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=0.5)
    await services.background.wait(SHUTDOWN_GRACE)
    services.engine.dispose()
    return 1 if failed else 0


def _settle_ended_calls(services: Services) -> None:
    """Bill the calls that ended while the service was stopping (calls cut off by a stop
    are closed and billed by `call_runner.close_stale`)."""
    settled = services.billing.settle_pending()
    if settled:
        log.info("settled %d calls ended before the last stop", settled)


async def _run_dialer(services: Services, stop: asyncio.Event) -> None:
    """Keep the dialer registered with the SIP server until `stop`; retry while it is down."""
    dialer = services.dialer
    while not stop.is_set():
        try:
            await dialer.start()
            break
        except DialerError as error:
            log.error("SIP registration failed (%s); retrying in %.0f s", error, DIALER_RETRY)
            try:
                await asyncio.wait_for(stop.wait(), DIALER_RETRY)
            except TimeoutError:
                pass
    await stop.wait()
    # Calls in progress end with cause "shutdown" and are settled by their flows.
    await dialer.stop()


async def _until_stopped(stop: asyncio.Event, tasks: list[asyncio.Task]) -> bool:
    """Wait for `stop`; an adapter that fails stops the whole service. True if one failed."""
    stopping = asyncio.create_task(stop.wait())
    running = set(tasks)
    failed = False
    while running and not stop.is_set():
        done, running = await asyncio.wait(
            {stopping, *running}, return_when=asyncio.FIRST_COMPLETED
        )
        running.discard(stopping)
        for task in done - {stopping}:
            if not task.cancelled() and task.exception() is not None:
                log.error("%s stopped: %r", task.get_name(), task.exception())
                failed = True
                stop.set()
    stopping.cancel()
    return failed


def _chat_adapters(assistant: Assistant, settings: Settings) -> list:
    """The configured chat network adapters (each has `network` and `run(stop)`)."""
    adapters: list = []
    if settings.telegram_enabled:
        from bot.telegram import TelegramAdapter

        adapters.append(TelegramAdapter(assistant, settings))
    if settings.xmpp_enabled:
        from bot.xmpp import XMPPAdapter

        adapters.append(XMPPAdapter(assistant, settings))
    return adapters


async def _console(
    assistant: Assistant, settings: Settings, stop: asyncio.Event, others: bool
) -> None:
    await run_console(assistant, settings.CONSOLE_USER, stop)
    if not others:
        stop.set()  # end of input and nothing else to serve: exit


def _console_send(user: str) -> Callable[[str, Reply], Awaitable[None]]:
    """The outbox's way to the console: messages for the console user are printed."""

    async def send(external_id: str, reply: Reply) -> None:
        if external_id != user:
            raise LookupError("not the console user")  # the outbox counts it as not delivered
        sys.stdout.write(render(reply) + "\n")
        sys.stdout.flush()

    return send
