"""Writes the dialer's events into call records at once, with a heartbeat while a call lives."""

from __future__ import annotations

import asyncio
import logging

from dialer.types import DialerEvent
from domain.calls import LegEvent
from storage.calls import CallStore

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 5.0


class CallRecorder:
    """An on_event handler: each DialerEvent becomes a CallStore transition.

    DTMF digits are not transitions of the call and are not written. While a call
    is active its record gets a heartbeat every `heartbeat_seconds`, so that after
    a crash `CallStore.close_interrupted` can close it at its last sign of life.
    """

    def __init__(self, call_store: CallStore, heartbeat_seconds: float = HEARTBEAT_SECONDS):
        self.store = call_store
        self.heartbeat_seconds = heartbeat_seconds
        self._heartbeats: dict[str, asyncio.Task] = {}

    async def __call__(self, event: DialerEvent) -> None:
        """Record one event (awaited by the dialer, so a call's events stay in order)."""
        if event.event == LegEvent.DTMF:
            return
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
