"""The least metadata for the least time: what is cut or deleted when its time is up.

- call records keep their numbers in full for CDR_RETENTION_DAYS after the call (for
  disputes), then keep only their cut form, "+44 20 7…" (storage.retention); fraud
  refusals of the same age likewise;
- recordings are deleted with their files at their `expires_at`
  (RECORDING_RETENTION_DAYS), by the recordings desk;
- the API's idempotent requests after IDEMPOTENCY_HOURS; its voice 2FA verifications and
  the webhook deliveries done (with their attempts) after CDR_RETENTION_DAYS
  (storage.retention.delete_api_leftovers).

`Retention.run` does it at start and then every hour; any instance may run it (each batch
is a transaction that skips rows another instance is cutting).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import Engine

from domain.clock import sleep_unless_stopped, utcnow
from storage.retention import cut_calls, cut_refusals, delete_api_leftovers

log = logging.getLogger(__name__)
EVERY_SECONDS = 3600.0


class ExpiringRecordings(Protocol):
    """What retention needs of the recordings desk (privacy.recordings.RecordingDesk)."""

    def expire(self, now: datetime | None = None) -> int:
        """Delete the recordings whose retention has passed; how many."""
        ...


@dataclass(frozen=True)
class RetentionResult:
    """What one pass did: call records whose numbers were cut, fraud refusals cut,
    recordings deleted."""

    calls_cut: int = 0
    recordings_deleted: int = 0
    refusals_cut: int = 0
    api_rows_deleted: int = 0


class Retention:
    """Cut old call records' numbers and delete expired recordings.

    `cdr_days`: CDR_RETENTION_DAYS, how long a call record keeps its numbers in full
    (counted from the call's end). `recordings`: the desk deleting expired recordings, or
    None when the service records nothing. `idempotency_hours`: IDEMPOTENCY_HOURS.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        cdr_days: int,
        recordings: ExpiringRecordings | None = None,
        idempotency_hours: int = 24,
    ) -> None:
        if cdr_days < 1:
            raise ValueError("cdr_days must be at least 1")
        self.engine = engine
        self.cdr_days = cdr_days
        self.recordings = recordings
        self.idempotency_hours = idempotency_hours

    def run_once(self, now: datetime | None = None) -> RetentionResult:
        """One pass as of `now` (UTC; default: the current time)."""
        now = now or utcnow()
        before = now - timedelta(days=self.cdr_days)
        calls = cut_calls(self.engine, before, now)
        refusals = cut_refusals(self.engine, before)
        deleted = self.recordings.expire(now) if self.recordings is not None else 0
        api = delete_api_leftovers(
            self.engine,
            before=before,
            idempotent_before=now - timedelta(hours=self.idempotency_hours),
        )
        if calls or refusals or deleted or any(api.values()):
            log.info(
                "retention: %d call records and %d refusals cut, %d recordings deleted, "
                "API rows deleted: %s",
                calls,
                refusals,
                deleted,
                api,
            )
        return RetentionResult(
            calls_cut=calls,
            recordings_deleted=deleted,
            refusals_cut=refusals,
            api_rows_deleted=sum(api.values()),
        )

    async def run(self, stop: asyncio.Event, every_seconds: float = EVERY_SECONDS) -> None:
        """A pass now and then every `every_seconds` until `stop` is set; a pass that fails
        is logged and tried again at the next turn."""
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.run_once)
            except Exception:
                log.exception("retention pass failed; trying again in %.0f s", every_seconds)
            if await sleep_unless_stopped(stop, every_seconds):
                return
