"""The exchange while the service runs: the control API kamailio asks, kamailio and
rtpengine as children (unless PBX_ENGINES=external), and the upkeep of call records;
started and stopped by `bot.app.serve`."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy import Engine as Database

from exchange.config import ExchangeConfig, control_token
from exchange.control import ControlServer
from exchange.engines import EngineError, Engines
from exchange.ng import NgClient
from exchange.notices import Notify
from exchange.recording import CallRecordings, NoticeFile
from exchange.rpc import KamailioRpc
from exchange.service import Exchange, HashLookup
from exchange.softphones import Softphones
from exchange.upkeep import keep_records
from privacy.recordings import RecordingDesk
from settings import Settings
from storage.accounts import AccountStore
from storage.calls import CallStore
from storage.dids import DidStore
from storage.forwarding import ForwardingStore
from storage.service_users import ServiceUserStore
from wallet.billing import Billing

log = logging.getLogger(__name__)
DIALER_UNREGISTER_SECONDS = 2.0


def build_exchange(
    accounts: AccountStore,
    calls: CallStore,
    settings: Settings,
    *,
    billing: Billing | None,
    service_users: HashLookup | None = None,
    notify: Notify | None = None,
) -> Exchange:
    """The exchange's decisions over the stores, from the settings: the trunk when
    SIP_TRUNK_HOST is set (and `billing` is given), the DID_POOL numbers stored."""
    dids = DidStore(accounts.engine)
    pool = settings.did_pool
    dids.sync_pool(pool)
    return Exchange(
        accounts,
        calls,
        Softphones(accounts, settings),
        srtp=settings.PBX_SRTP,
        max_call_seconds=settings.WALLET_MAX_CALL_SECONDS,
        service_users=service_users,
        billing=billing,
        forwarding=ForwardingStore(accounts.engine),
        dids=dids,
        trunk=settings.trunk_enabled,
        region=settings.PBX_DEFAULT_REGION,
        notify=notify,
        pool=frozenset(pool),
    )


async def run_exchange(
    database: Database,
    accounts: AccountStore,
    calls: CallStore,
    settings: Settings,
    stop: asyncio.Event,
    *,
    service_users: dict[str, str],
    up: asyncio.Event,
    dialer_down: asyncio.Event | None = None,
    billing: Billing | None = None,
    notify: Notify | None = None,
    recordings: RecordingDesk | None = None,
    notice: NoticeFile | None = None,
) -> None:
    """The exchange until `stop`. `service_users` (name -> HA1: our dialers) are stored
    for every instance; `up` is set once it answers; on `stop` it waits (a little) for
    `dialer_down`, our dialer unregistering, before stopping the engines. When the
    engines cannot start the service goes on without the exchange and says why. `billing`
    pays outside calls (none: no outside calls); `notify` gets the chat's notices;
    `recordings` makes the recordings of the accounts that record every call, which hear
    `notice` first."""
    users = ServiceUserStore(database)
    for name, ha1 in service_users.items():  # known to every instance answering kamailio
        await asyncio.to_thread(users.put, name, ha1)
    exchange = await asyncio.to_thread(
        build_exchange, accounts, calls, settings, billing=billing, service_users=users,
        notify=notify,
    )  # fmt: skip
    engines = Engines(ExchangeConfig.from_settings(settings))
    token = await asyncio.to_thread(control_token, engines.config.run_dir)
    taps = (
        CallRecordings(
            recordings,
            accounts,
            NgClient("127.0.0.1", settings.PBX_RTPENGINE_PORT),
            notice=notice,
        )
        if recordings is not None
        else None
    )
    control = ControlServer(exchange, settings.PBX_CONTROL_PORT, token, taps)
    children = settings.PBX_ENGINES == "children"
    try:
        await control.start()
        if children:
            await engines.start()
    except (EngineError, OSError) as error:
        log.error("the exchange did not start (PBX_ENABLED=false runs chat-only): %s", error)
        await control.stop()
        return
    up.set()
    rpc = KamailioRpc(engines.config.rpc_url, token)
    upkeep = asyncio.create_task(
        keep_records(exchange, rpc, stop, recordings=taps), name="exchange upkeep"
    )
    try:
        if children:
            await engines.watch(stop)
        else:
            await stop.wait()
    finally:
        await upkeep
        if dialer_down is not None:  # our dialer unregisters from kamailio first
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(dialer_down.wait(), DIALER_UNREGISTER_SECONDS)
        await engines.stop()
        await control.stop()
        if taps is not None:
            await taps.close()
