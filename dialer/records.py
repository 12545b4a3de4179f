"""Writes the dialer's events into call records at once, with a heartbeat while a call lives,
and keeps the SIP dialog of each live leg so that a restarted instance can end it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Protocol

from dialer.dialogs import LegDialog, owner_gone
from dialer.types import DialerEvent
from domain.calls import LegEvent
from storage.calls import CallStore
from storage.dialogs import DialogStore
from storage.models import SipDialog

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 5.0


class CallRecorder:
    """An on_event handler: each DialerEvent becomes a CallStore transition.

    DTMF digits are not transitions of the call and are not written. While a call
    is active its record gets a heartbeat every `heartbeat_seconds`, so that after
    a crash `CallStore.close_interrupted` can close it at its last sign of life.
    The SIP dialog an event carries (ringing, answered) is saved before the event is
    recorded, and deleted when its leg (or the call) ends: see `interrupted_dialogs`.
    """

    def __init__(
        self,
        call_store: CallStore,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        dialogs: DialogStore | None = None,
    ):
        self.store = call_store
        self.dialogs = dialogs or DialogStore(call_store.engine)
        self.heartbeat_seconds = heartbeat_seconds
        self._heartbeats: dict[str, asyncio.Task] = {}

    async def __call__(self, event: DialerEvent) -> None:
        """Record one event (awaited by the dialer, so a call's events stay in order)."""
        if event.event == LegEvent.DTMF:
            return
        await self._keep_dialog(event)
        if event.call_id not in self._heartbeats and not (
            event.event == LegEvent.ENDED and not event.leg
        ):
            self._heartbeats[event.call_id] = asyncio.create_task(self._beat(event.call_id))
        await asyncio.to_thread(
            self.store.record_event,
            event.call_id,
            event.event,
            leg=event.leg,
            cause=event.cause,
            detail=event.detail if event.event != LegEvent.BRIDGED else None,
            at=event.at,
        )
        if event.event == LegEvent.ENDED and event.leg is None:
            task = self._heartbeats.pop(event.call_id, None)
            if task is not None:
                task.cancel()

    async def _keep_dialog(self, event: DialerEvent) -> None:
        try:
            if event.dialog is not None:
                await asyncio.to_thread(self.dialogs.save, dialog_row(event.dialog))
            elif event.event == LegEvent.ENDED and event.leg:
                await asyncio.to_thread(self.dialogs.delete_leg, event.call_id, event.leg)
            elif event.event == LegEvent.ENDED:
                await asyncio.to_thread(self.dialogs.delete_call, event.call_id)
        except Exception:  # the call goes on; only a crash recovery would miss this leg
            log.exception("SIP dialog of call %s not kept", event.call_id)

    async def _beat(self, call_id: str) -> None:
        while True:
            try:
                await asyncio.to_thread(self.store.heartbeat, call_id)
            except Exception:  # a missed beat is logged; the next one may succeed
                log.exception("heartbeat of call %s failed", call_id)
            await asyncio.sleep(self.heartbeat_seconds)

    async def close(self) -> None:
        """Stop every heartbeat (the calls' records stay as they are)."""
        for task in self._heartbeats.values():
            task.cancel()
        self._heartbeats.clear()


def dialog_row(dialog: LegDialog) -> SipDialog:
    """The storage row of a leg's dialog."""
    values = dict(dialog.__dict__)
    values["route_set"] = "\n".join(dialog.route_set)
    return SipDialog(**values)


def leg_dialog(row: SipDialog) -> LegDialog:
    """A stored dialog, as the dialer takes it."""
    values = row.model_dump(exclude={"updated_at"})
    values["route_set"] = [route for route in row.route_set.split("\n") if route]
    return LegDialog(**values)


def interrupted_dialogs(store: DialogStore, closed_calls: Iterable[str]) -> list[LegDialog]:
    """The dialogs a restarted instance must end: those of the calls it closed as
    interrupted, and those whose owner was a process of this host that is gone."""
    closed = set(closed_calls)
    return [
        leg_dialog(row)
        for row in store.all()
        if row.call_id in closed or (row.owner and owner_gone(row.owner))
    ]


class DialogEnder(Protocol):
    """What ends the legs of another process (`dialer.core.Dialer.end_dialogs`)."""

    async def end_dialogs(self, dialogs: list[LegDialog], timeout: float = 4.0) -> dict[str, int]:
        """BYE or CANCEL each dialog; the final SIP status of each, by SIP Call-ID."""
        ...


async def end_interrupted(
    dialer: DialogEnder, store: DialogStore, closed_calls: Iterable[str]
) -> int:
    """BYE or CANCEL every leg `interrupted_dialogs` finds, through a started
    `dialer.core.Dialer`, and forget their dialogs. Returns how many legs."""
    dialogs = await asyncio.to_thread(interrupted_dialogs, store, list(closed_calls))
    if not dialogs:
        return 0
    results = await dialer.end_dialogs(dialogs)
    for dialog in dialogs:
        log.info(
            "leg %s of call %s ended after a restart: SIP %s",
            dialog.leg,
            dialog.call_id,
            results.get(dialog.sip_call_id) or "no answer",
        )
        await asyncio.to_thread(store.delete, dialog.sip_call_id)
    return len(dialogs)
