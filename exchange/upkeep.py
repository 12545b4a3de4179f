"""What the exchange does on its own while it runs, from kamailio's dialogs (RPC dlg.list):
the call records kept in step with them (at start, after an engine restart, every round),
and for answered calls their records marked alive and the holds of their outside legs
extended; a call whose hold cannot be extended (the balance ran out) is ended."""

from __future__ import annotations

import asyncio
import logging
import time

from domain.clock import sleep_unless_stopped
from exchange.recording import CallRecordings
from exchange.rpc import KamailioRpc, RpcError
from exchange.service import Exchange

log = logging.getLogger(__name__)
RECONCILE_SECONDS = 30.0  # well within a hold's HOLD_AHEAD_SECONDS
CONFIRMED, DELETED = 4, 5  # kamailio's dialog states (dialog module, dlg_hash.h)


async def reconcile_once(
    exchange: Exchange, rpc: KamailioRpc, recordings: CallRecordings | None = None
) -> list[str]:
    """One round: close the records of calls kamailio no longer has (the record ids
    closed) and finish their recordings, keep the answered ones alive, end those whose
    balance ran out. RpcError when kamailio cannot be asked (nothing is changed then)."""
    dialogs = await asyncio.to_thread(rpc.call, "dlg.list")
    live = live_call_ids(dialogs)
    closed = await asyncio.to_thread(exchange.reconcile, live)
    if recordings is not None:
        await recordings.sweep(live)
    answered = answered_calls(dialogs, time.time())
    for call_id in await asyncio.to_thread(exchange.keep_alive, answered):
        await end_dialog(rpc, dialogs, call_id)
    return closed


def answered_calls(dialogs: object, now: float) -> list[tuple[str, int, float]]:
    """(Call-ID, step, seconds since the answer) of the answered dialogs of a `dlg.list`
    answer (the step is our dialog variable `leg`, 0 when absent)."""
    found = []
    for dialog in dialogs if isinstance(dialogs, list) else []:
        if not isinstance(dialog, dict) or dialog.get("state") != CONFIRMED:
            continue
        leg = _variables(dialog).get("leg", "0")
        started = float(dialog.get("start_ts") or now)
        found.append((str(dialog["call-id"]), int(leg) if leg.isdigit() else 0, now - started))
    return found


async def end_dialog(rpc: KamailioRpc, dialogs: object, sip_call_id: str) -> None:
    """End an answered call: kamailio's dlg.terminate_dlg (BYE to both sides, then its
    dialog:end event)."""
    for dialog in dialogs if isinstance(dialogs, list) else []:
        if isinstance(dialog, dict) and dialog.get("call-id") == sip_call_id:
            tags = (dialog.get("caller", {}).get("tag"), dialog.get("callee", {}).get("tag"))
            log.warning("ending call %s: its hold cannot be extended", sip_call_id)
            await asyncio.to_thread(rpc.call, "dlg.terminate_dlg", sip_call_id, *tags)


def _variables(dialog: dict) -> dict[str, str]:
    # dlg.list gives the dialog's variables as a list of one-entry objects.
    merged: dict[str, str] = {}
    for entry in dialog.get("variables") or []:
        if isinstance(entry, dict):
            merged.update({str(k): str(v) for k, v in entry.items()})
    return merged


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
    exchange: Exchange,
    rpc: KamailioRpc,
    stop: asyncio.Event,
    every: float = RECONCILE_SECONDS,
    recordings: CallRecordings | None = None,
) -> None:
    """`reconcile_once` now and every `every` seconds until `stop`; kamailio unreachable
    (restarting) is logged and tried again at the next round."""
    while True:
        try:
            await reconcile_once(exchange, rpc, recordings)
        except RpcError as error:
            log.warning("call records not checked against kamailio: %s", error)
        if await sleep_unless_stopped(stop, every):
            return
