"""The service: one event loop running every configured adapter side by side."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from bot.console import run_console
from bot.core import Assistant, Services
from settings import Settings
from storage import open_database

log = logging.getLogger(__name__)
SHUTDOWN_GRACE = 4.0


def build_services(settings: Settings) -> Services:
    """Open the database (applying migrations) and gather the configured services."""
    engine = open_database(settings.DATABASE_URL)
    return Services(engine=engine, settings=settings)


async def serve(settings: Settings, *, console: bool | None = None) -> int:
    """Run until SIGINT/SIGTERM, or until the console's input ends when it is the only adapter.

    `console=None` runs the console when no chat network is configured or stdin is a terminal.
    """
    services = build_services(settings)
    assistant = Assistant(services)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    networks = settings.telegram_enabled or settings.xmpp_enabled
    if console is None:
        console = not networks or sys.stdin.isatty()
    tasks: list[asyncio.Task] = []
    if console:
        tasks.append(asyncio.create_task(_console(assistant, settings, stop, networks)))
    if not tasks:
        log.warning("nothing to run: configure TELEGRAM_BOT_TOKEN or XMPP_JID, or use a terminal")
        return 1
    log.info("EncryptoTel running (%s)", ", ".join(t.get_coro().__name__ for t in tasks))
    await stop.wait()
    for task in tasks:
        task.cancel()
    await asyncio.wait(tasks, timeout=SHUTDOWN_GRACE)
    services.engine.dispose()
    return 0


async def _console(
    assistant: Assistant, settings: Settings, stop: asyncio.Event, others: bool
) -> None:
    await run_console(assistant, settings.CONSOLE_USER, stop)
    if not others:
        stop.set()  # end of input and nothing else to serve: exit
