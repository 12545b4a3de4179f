"""What the exchange does on its own while it runs: the call records of internal calls
kept in step with kamailio's dialogs (at start, after an engine restart, every minute)."""

from __future__ import annotations

import asyncio
import logging

from domain.clock import sleep_unless_stopped
from exchange.rpc import KamailioRpc, RpcError
from exchange.service import Exchange

log = logging.getLogger(__name__)
RECONCILE_SECONDS = 60.0
DELETED = 5  # kamailio's dialog state of an ended dialog (dialog module, dlg_hash.h)


async def reconcile_once(exchange: Exchange, rpc: KamailioRpc) -> list[str]:
    """Close the records of internal calls kamailio no longer has; the record ids closed.
    RpcError when kamailio cannot be asked (nothing is closed then)."""
    dialogs = await asyncio.to_thread(rpc.call, "dlg.list")
    return await asyncio.to_thread(exchange.reconcile, live_call_ids(dialogs))


def live_call_ids(dialogs: object) -> list[str]:
    """The Call-IDs of the dialogs of a `dlg.list` answer that are not over (kamailio
    lists an ended dialog a little longer, in state 5, DLG_STATE_DELETED)."""
    if not isinstance(dialogs, list):
        return []
    return [
        str(d["call-id"])
        for d in dialogs
        if isinstance(d, dict) and "call-id" in d and d.get("state") != DELETED
    ]


async def keep_records(
    exchange: Exchange, rpc: KamailioRpc, stop: asyncio.Event, every: float = RECONCILE_SECONDS
) -> None:
    """`reconcile_once` now and every `every` seconds until `stop`; kamailio unreachable
    (restarting) is logged and tried again at the next round."""
    while True:
        try:
            await reconcile_once(exchange, rpc)
        except RpcError as error:
            log.warning("call records not checked against kamailio: %s", error)
        if await sleep_unless_stopped(stop, every):
            return
