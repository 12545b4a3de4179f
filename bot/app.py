"""The composition root: builds every collaborator once and runs the service.

`build_services` opens the database and makes the stores, billing, outbox, background
runner, softphone credentials, dialer, reminder scheduler, deposit watcher and
withdrawals, each once, and hands them to what needs them; `build_assistant` gives the
assistant every feature's router; `serve` runs the chat adapters and the background
duties on one event loop.
Nothing else in the project constructs these.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import secrets
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

import nlu
from bot import features
from bot.adapters import ChatAdapter
from bot.adapters.console import ConsoleAdapter
from bot.assistant import Assistant, Services
from bot.assistant.background import Background
from bot.assistant.outbox import Outbox
from bot.assistant.services import CallPlacer, DepositDesk, WithdrawalDesk
from bot.features.calendars import calendar_notifier
from bot.features.calls import runner as call_runner
from bot.features.calls.exchange_notices import exchange_notifier
from bot.features.calls.notice import recording_notice
from bot.features.payments import PendingWithdrawals, credit_notifier, withdrawal_notifier
from bot.features.plans.notices import plan_notifier
from bot.features.polls import PollNotices
from bot.features.recordings import link_notifier, recording_notifier
from bot.features.reminders.by_call import ReminderCaller
from bot.features.reminders.scheduler import PlaceCall, Scheduler
from calendars.sync import CalendarReader, read_limits
from dialer import Dialer, DialerError, SipConfig
from domain.clock import sleep_unless_stopped
from exchange.config import callback_dialer, dialer_name
from exchange.runtime import run_exchange
from exchange.softphones import Softphones, digest_ha1
from privacy.recordings import RecordingDesk
from privacy.retention import Retention
from settings import Settings
from storage import open_database
from storage.accounts import AccountStore
from storage.api_keys import ApiKeyStore
from storage.calendars import CalendarStore
from storage.calls import CallStore
from storage.dids import DidStore
from storage.forwarding import ForwardingStore
from storage.ledger_store import LedgerStore
from storage.recordings import RecordingStore
from storage.reminder_series import SeriesStore
from storage.reminders import ReminderStore
from storage.service_calls import ServiceCallStore
from storage.updates import SeenUpdates
from storage.webhooks import WebhookStore
from wallet.billing import Billing
from wallet.deposits import DepositWatcher
from wallet.plan_renewal import PlanRenewal
from wallet.subscriptions import Subscriptions
from wallet.withdrawals import Withdrawals
from webhooks.dispatcher import Dispatcher
from webhooks.events import WebhookEvents

log = logging.getLogger(__name__)
SHUTDOWN_GRACE = 4.0
DIALER_RETRY = 5.0
GIL_SWITCH_SECONDS = 0.0005


def build_services(
    settings: Settings,
    *,
    engine: Engine | None = None,
    dialer: CallPlacer | None = None,
    scheduler: bool = False,
    place_call: PlaceCall | None = None,
    wallet: bool = True,
) -> Services:
    """Every collaborator of the assistant, made once.

    `engine`: an open database (default: open `DATABASE_URL`, applying migrations).
    `dialer`: the SIP dialer (default: one from the `SIP_*` settings when `SIP_SERVER` is
    set and `scheduler` is asked, i.e. for a running service). `scheduler`: make the
    reminder scheduler (the service runs it; reminders are stored only then), phoning call
    reminders with `place_call` (default: through the dialer, when there is one). `wallet`:
    the deposit watcher and withdrawals when Waves is configured.
    """
    engine = engine if engine is not None else open_database(settings.DATABASE_URL)
    accounts = AccountStore(engine)
    calls = CallStore(engine)
    ledger = LedgerStore(engine)
    service_calls = ServiceCallStore(engine)
    outbox = Outbox(accounts)
    webhooks = WebhookEvents(WebhookStore(engine), calls)
    if dialer is None and scheduler and settings.sip_enabled:
        dialer = Dialer(SipConfig.from_settings(settings))
    reminder_scheduler = None
    if scheduler:
        if place_call is None and dialer is not None:  # phoned to the verified number
            place_call = ReminderCaller(accounts, calls, service_calls, dialer, outbox)
        reminder_scheduler = Scheduler(
            ReminderStore(engine),
            accounts,
            outbox.notify,
            place_call=place_call,
            webhooks=webhooks,
            series=SeriesStore(engine),
        )
    deposits, withdrawals = (
        _wallet(engine, settings, accounts, ledger, outbox, webhooks)
        if wallet
        else (
            None,
            None,
        )
    )
    calendars = CalendarStore(engine)
    services = Services(
        engine=engine,
        settings=settings,
        accounts=accounts,
        calls=calls,
        ledger=ledger,
        billing=Billing.from_settings(engine, settings),
        reminders=ReminderStore(engine),
        series=SeriesStore(engine),
        calendars=calendars,
        calendar_reader=CalendarReader(
            calendars, accounts, read_limits(settings), calendar_notifier(accounts, outbox)
        ),
        forwarding=ForwardingStore(engine),
        dids=DidStore(engine),
        service_calls=service_calls,
        outbox=outbox,
        background=Background(),
        softphones=Softphones(accounts, settings),
        recordings=RecordingDesk(
            RecordingStore(engine),
            accounts,
            settings.RECORDING_DIR,
            retention_days=settings.RECORDING_RETENTION_DAYS,
            notice=settings.RECORDING_NOTICE,
            part_seconds=settings.RECORDING_PART_SECONDS,
        ),
        api_keys=ApiKeyStore(engine),
        dialer=dialer,
        scheduler=reminder_scheduler,
        deposits=deposits,
        withdrawals=withdrawals,
        webhooks=webhooks,
    )
    # Each finished recording is sent to its owner's chats (then deleted, with retention 0).
    services.recordings.listeners.append(recording_notifier(services))
    return services


def _wallet(
    engine: Engine,
    settings: Settings,
    accounts: AccountStore,
    ledger: LedgerStore,
    outbox: Outbox,
    webhooks: WebhookEvents | None = None,
) -> tuple[DepositDesk | None, WithdrawalDesk | None]:
    """The deposit watcher and withdrawals when Waves is configured (with its seed)."""
    if not settings.waves_enabled:
        return None, None
    if settings.WAVES_SEED is None:
        log.warning("WAVES_NODE_URL is set without WAVES_SEED: deposits and withdrawals are off")
        return None, None
    watcher = DepositWatcher.from_settings(
        engine,
        settings,
        on_credit=credit_notifier(accounts, ledger, outbox, webhooks),
        on_withdrawal=withdrawal_notifier(accounts, ledger, outbox, webhooks),
        on_linked=link_notifier(accounts, outbox),
    )
    return watcher, Withdrawals.from_settings(engine, settings)


def build_assistant(
    services: Services, pending_withdrawals: PendingWithdrawals | None = None
) -> Assistant:
    """The assistant with every feature's router (withdrawal questions kept in
    `pending_withdrawals`, a new store by default)."""
    return Assistant(
        services,
        features.routers(
            pending_withdrawals if pending_withdrawals is not None else PendingWithdrawals()
        ),
    )


async def serve(
    settings: Settings,
    *,
    console: bool | None = None,
    stop: asyncio.Event | None = None,
    on_started: Callable[[Assistant, list[ChatAdapter]], None] | None = None,
    api_only: bool = False,
) -> int:
    """Run until SIGINT/SIGTERM, or until the console's input ends when it is the only adapter.

    `console=None` runs the console when no chat network is configured or stdin is a terminal.
    `stop` ends the service when set (signals are handled only in the main thread);
    `on_started(assistant, adapters)` is called once the adapters are created. `api_only`:
    the HTTP API and the background duties, without chats or the exchange (`python main.py
    api`, one more instance behind a load balancer; callbacks need SIP_SERVER then).
    """
    if api_only:
        settings = settings.model_copy(update={"PBX_ENABLED": False})
    # The assistant works in threads beside the event loop; a shorter GIL switch interval
    # than the default 5 ms lets the loop (chats, RTP relay) run again sooner.
    sys.setswitchinterval(GIL_SWITCH_SECONDS)
    dialer, exchange_users = _exchange_dialer(settings)
    services = build_services(settings, scheduler=True, dialer=dialer)
    assistant = build_assistant(services)
    stop = stop or asyncio.Event()
    await _prepare(services, stop)
    try:
        adapters = [] if api_only else _chat_adapters(assistant, settings)
    except ValueError as error:  # a chat network's settings are unusable: say which
        log.error("%s", error)
        services.engine.dispose()
        return 2
    tasks = [] if api_only else _start_chats(assistant, settings, adapters, stop, console)
    if settings.api_enabled:
        api = _serve_api(services, stop, required=api_only)
        tasks.append(asyncio.create_task(api, name="api"))
    if not tasks:
        log.warning("nothing to run: configure TELEGRAM_BOT_TOKEN or XMPP_JID, or use a terminal")
        return 1
    tasks += _start_duties(services, stop, exchange_users)
    if settings.metrics_enabled:  # /metrics for Prometheus (ops/metrics.py)
        tasks.append(asyncio.create_task(_serve_metrics(services, stop), name="metrics"))
    # Everything built so far lives as long as the service: out of the collector's way,
    # so a full collection does not walk the parser's and the ORM's large heaps again
    # and again (measured in bench/bots.py: about 15 % of the CPU of a busy chat).
    gc.collect()
    gc.freeze()
    if on_started is not None:
        on_started(assistant, adapters)
    log.info("EncryptoTel running (%s)", ", ".join(t.get_name() for t in tasks))
    failed = await _until_stopped(stop, tasks)
    await _wind_down(services, tasks)
    return 1 if failed else 0


async def _serve_api(services: Services, stop: asyncio.Event, *, required: bool) -> None:
    """The HTTP API (api/) on API_LISTEN until `stop`. When its address is taken, the
    service goes on without it (an error says so) unless it is `required`."""
    from api.app import create_app  # FastAPI loads only when served
    from api.server import run_api

    host, port = services.settings.api_address
    try:
        await run_api(create_app(services), host, port, stop)
    except OSError as error:
        if required:
            raise
        log.error("%s: the HTTP API is off (set API_LISTEN to a free host:port, or off)", error)


async def _serve_metrics(services: Services, stop: asyncio.Event) -> None:
    """`/metrics` on METRICS_LISTEN until `stop` (ops/metrics.py); this instance's ERROR
    records are counted meanwhile. When its address is taken the service goes on without
    it (an error says so)."""
    from ops.metrics import ErrorCounter, InstanceGauges, build_registry, kamailio_registrations
    from ops.metrics_http import serve_metrics

    settings = services.settings
    errors = ErrorCounter()
    errors.install()
    background = services.background
    instance = InstanceGauges(
        {
            "background_tasks": (
                "Work running in the background: calls being followed, chat notifications "
                "being sent (the outbox sends at once and keeps no queue)",
                lambda: background.running,
            )
        }
    )
    registrations = (
        kamailio_registrations(Path(settings.PBX_RUN_DIR), settings.PBX_RPC_PORT)
        if settings.PBX_ENABLED
        else None
    )
    registry = build_registry(
        services.engine, errors=errors, registrations=registrations, instance=instance
    )
    host, port = settings.metrics_address
    try:
        await serve_metrics(registry, host, port, stop)
    except OSError as error:
        log.error("%s: /metrics is off (set METRICS_LISTEN to a free host:port, or off)", error)
    except Exception:  # the exchange and the chats go on without their metrics
        log.exception("/metrics stopped")
    finally:
        errors.uninstall()


async def _prepare(services: Services, stop: asyncio.Event) -> None:
    """Signals stop the service; background work runs on this loop; the parser is warm;
    calls that ended during the last stop are billed."""
    loop = asyncio.get_running_loop()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
    services.background.attach(loop)
    await asyncio.to_thread(nlu.warm_up)  # loads dateparser now, not on the first message
    await asyncio.to_thread(_settle_ended_calls, services)


def _start_chats(
    assistant: Assistant,
    settings: Settings,
    adapters: list[ChatAdapter],
    stop: asyncio.Event,
    console: bool | None,
) -> list[asyncio.Task]:
    """Run every chat adapter, and the console when asked (None: when no chat network is
    configured or stdin is a terminal)."""
    networks = settings.telegram_enabled or settings.xmpp_enabled
    if console is None:
        console = not networks or sys.stdin.isatty()
    tasks = [asyncio.create_task(a.run(stop), name=a.network) for a in adapters]
    if console:
        adapter = ConsoleAdapter(assistant, settings.CONSOLE_USER)
        tasks.append(asyncio.create_task(_console(adapter, stop, networks), name="console"))
    return tasks


def _exchange_dialer(settings: Settings) -> tuple[Dialer | None, dict[str, str]]:
    """With the exchange on and no other SIP server (SIP_SERVER), the callback dialer
    registers to our own kamailio as this instance's `dialer_name` with a password made
    for this run: the dialer, and its user for the exchange (name -> HA1)."""
    if not settings.PBX_ENABLED or settings.sip_enabled:
        return None, {}
    password = secrets.token_urlsafe(24)
    name = dialer_name(settings)
    users = {name: digest_ha1(name, settings.PBX_DOMAIN, password)}
    return Dialer(callback_dialer(settings, password)), users


def _start_duties(
    services: Services, stop: asyncio.Event, exchange_users: dict[str, str] | None = None
) -> list[asyncio.Task]:
    """The service's background duties: reminders, deposits, calls, webhooks, the
    dialer, the exchange (its service users: name -> HA1)."""
    tasks = []
    if services.webhooks is not None:
        dispatcher = Dispatcher.from_settings(services.webhooks.store, services.settings)
        tasks.append(asyncio.create_task(dispatcher.run(stop), name="webhooks"))
    if services.scheduler is not None:
        tasks.append(asyncio.create_task(services.scheduler.run(stop), name="scheduler"))
        reader = services.calendar_reader.run(stop)
        tasks.append(asyncio.create_task(reader, name="calendars"))
    if services.deposits is not None:
        tasks.append(asyncio.create_task(services.deposits.run(stop), name="deposits"))
    tasks.append(asyncio.create_task(call_runner.run(services, stop), name="calls"))
    retention = Retention(
        services.engine,
        cdr_days=services.settings.CDR_RETENTION_DAYS,
        recordings=services.recordings,
        idempotency_hours=services.settings.IDEMPOTENCY_HOURS,
    )
    tasks.append(asyncio.create_task(retention.run(stop), name="retention"))
    # ETT holders' polls opened by `admin poll` (another process): announced, results sent.
    tasks.append(asyncio.create_task(PollNotices(services).run(stop), name="polls"))
    billing = services.billing
    subscriptions = Subscriptions(services.engine, billing.catalogue, billing.rates)
    renewal = PlanRenewal(
        subscriptions, plan_notifier(services.accounts, subscriptions, services.outbox)
    )
    tasks.append(asyncio.create_task(renewal.run(stop), name="plans"))
    # A dialer registered to our own exchange starts once the exchange is up, and the
    # exchange stops once the dialer has unregistered.
    exchange_up, dialer_down = asyncio.Event(), asyncio.Event()
    if services.settings.PBX_ENABLED:
        waits_for = dialer_down if exchange_users and services.dialer is not None else None
        exchange = run_exchange(
            services.engine,
            services.accounts,
            services.calls,
            services.settings,
            stop,
            service_users=exchange_users or {},
            up=exchange_up,
            dialer_down=waits_for,
            billing=services.billing,
            notify=exchange_notifier(services),
            recordings=services.recordings,
            notice=recording_notice,
        )
        tasks.append(asyncio.create_task(exchange, name="exchange"))
    if services.dialer is not None:
        after = exchange_up if exchange_users else None
        dialer = _run_dialer(services.dialer, stop, after, dialer_down)
        tasks.append(asyncio.create_task(dialer, name="dialer"))
    return tasks


async def _wind_down(services: Services, tasks: list[asyncio.Task]) -> None:
    """Adapters finish what is in progress on `stop`; whatever is left after the grace ends."""
    _done, pending = await asyncio.wait(tasks, timeout=SHUTDOWN_GRACE)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=0.5)
    await services.background.wait(SHUTDOWN_GRACE)
    services.engine.dispose()


def _settle_ended_calls(services: Services) -> None:
    """Bill the calls that ended while the service was stopping (calls cut off by a stop
    are closed and billed by `call_runner.close_stale`)."""
    settled = services.billing.settle_pending()
    if settled:
        log.info("settled %d calls ended before the last stop", settled)


async def _run_dialer(
    dialer: CallPlacer,
    stop: asyncio.Event,
    after: asyncio.Event | None = None,
    down: asyncio.Event | None = None,
) -> None:
    """Keep the dialer registered with the SIP server until `stop`; retry while it is down.
    With `after`, registration starts once that event is set (our own exchange is up);
    `down` is set once the dialer has stopped."""
    try:
        await _keep_dialer(dialer, stop, after)
    finally:
        if down is not None:
            down.set()


async def _keep_dialer(
    dialer: CallPlacer, stop: asyncio.Event, after: asyncio.Event | None
) -> None:
    if after is not None:
        waiting = asyncio.create_task(after.wait())
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({waiting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        stopping.cancel()
    while not stop.is_set():
        try:
            await dialer.start()
            break
        except DialerError as error:
            log.error("SIP registration failed (%s); retrying in %.0f s", error, DIALER_RETRY)
            await sleep_unless_stopped(stop, DIALER_RETRY)
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


def _chat_adapters(assistant: Assistant, settings: Settings) -> list[ChatAdapter]:
    """The configured chat network adapters; ValueError when one's settings are unusable."""
    adapters: list[ChatAdapter] = []
    if settings.telegram_enabled:
        from bot.adapters.telegram import TelegramAdapter  # aiogram loads only when used

        # Updates claimed in the database: handled once, whichever instance gets them.
        updates = SeenUpdates(assistant.services.engine)
        adapters.append(TelegramAdapter(assistant, settings, updates))
    if settings.xmpp_enabled:
        from bot.adapters.xmpp import XMPPAdapter  # slixmpp loads only when used

        adapters.append(XMPPAdapter(assistant, settings))
    return adapters


async def _console(adapter: ConsoleAdapter, stop: asyncio.Event, others: bool) -> None:
    await adapter.run(stop)
    if not others:
        stop.set()  # end of input and nothing else to serve: exit
