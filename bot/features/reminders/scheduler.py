"""The reminder scheduler: fires due reminders, once each, even across service instances.

Every tick (about once a second, and at once on start so reminders missed while the
service was down fire as soon as it is back) it stores the due occurrence of each
repeating reminder (`series`), then claims the due reminders in the database and
delivers them. A delivery that reaches nobody (the user's network is
not connected yet) is retried for a while, then recorded as failed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from bot.assistant import Reply
from bot.features.reminders.chat import fire_message
from bot.features.reminders.series import store_due_occurrences
from domain.clock import sleep_unless_stopped, utcnow
from storage.accounts import AccountStore
from storage.models import Reminder
from storage.reminder_series import SeriesStore
from storage.reminders import ReminderStore
from webhooks.events import WebhookEvents

log = logging.getLogger(__name__)

# deliver(account_id, reply) -> how many chats got it (None: the callable does not say).
Deliver = Callable[[int, Reply], Awaitable[int | None]]
# place_call(reminder) -> True once the call reminder was placed (the dialer's seam).
PlaceCall = Callable[[Reminder], Awaitable[bool]]


class Scheduler:
    """Claims due reminders and delivers them by chat message (or by call, with a dialer)."""

    def __init__(
        self,
        reminders: ReminderStore,
        accounts: AccountStore,
        deliver: Deliver,
        *,
        place_call: PlaceCall | None = None,
        interval: float = 1.0,
        retry_after: float = 2.0,
        give_up_after: float = 3600.0,
        stale_claim: timedelta = timedelta(minutes=10),
        webhooks: WebhookEvents | None = None,
        series: SeriesStore | None = None,
    ) -> None:
        self.accounts = accounts
        self.series = series  # repeating reminders: their due occurrences are stored first
        self.deliver = deliver
        self.place_call = place_call
        self.interval = interval
        self.retry_after = retry_after
        self.give_up_after = give_up_after
        self.stale_claim = stale_claim
        self.reminders = reminders
        self.webhooks = webhooks  # each fired reminder is a `reminder.fired` event
        self._first_try: dict[int, float] = {}
        self._next_try: dict[int, float] = {}

    @property
    def can_call(self) -> bool:
        """Whether call reminders are phoned (otherwise they come as messages)."""
        return self.place_call is not None

    async def run(self, stop: asyncio.Event) -> None:
        """Fire due reminders every `interval` seconds until `stop` is set."""
        released = await asyncio.to_thread(self.reminders.release_stale, self.stale_claim)
        if released:
            log.warning("%d reminders left firing by a stopped scheduler are due again", released)
        while True:  # the first tick runs even if `stop` is already set
            try:
                await self.tick()
            except Exception:
                log.exception("reminder scheduler tick failed")
            if stop.is_set():
                return
            await sleep_unless_stopped(stop, self.interval)

    async def tick(self, now: datetime | None = None) -> int:
        """Claim and deliver the reminders due at `now`; how many were delivered."""
        now = now or utcnow()
        if self.series is not None:
            try:
                await asyncio.to_thread(store_due_occurrences, self.series, now)
            except Exception:  # the one-off and calendar reminders still fire
                log.exception("storing the due occurrences of repeating reminders failed")
        due = await asyncio.to_thread(self.reminders.due, now)
        clock = time.monotonic()
        claimed = []
        for reminder in due:
            if self._next_try.get(reminder.id, 0.0) > clock:
                continue
            if row := await asyncio.to_thread(self.reminders.claim, reminder.id, now):
                claimed.append(row)
        results = await asyncio.gather(*(self._fire(r) for r in claimed))
        return sum(results)

    async def _fire(self, reminder: Reminder) -> bool:
        reached: bool | int | None
        try:
            if reminder.channel == "call" and self.place_call is not None:
                reached = await self.place_call(reminder)
            else:
                reached = await self.call_reminder_as_message(reminder)
            delivered = reached is None or bool(reached)
        except Exception:
            log.exception("reminder %s could not be delivered", reminder.id)
            delivered = False
        if delivered:
            await asyncio.to_thread(self.reminders.mark_fired, reminder.id)
            if self.webhooks is not None:
                await asyncio.to_thread(self.webhooks.reminder_fired, reminder)
            self._forget(reminder.id)
            return True
        first = self._first_try.setdefault(reminder.id, time.monotonic())
        if time.monotonic() - first >= self.give_up_after:
            log.warning("reminder %s reached nobody; giving up", reminder.id)
            await asyncio.to_thread(self.reminders.mark_failed, reminder.id)
            self._forget(reminder.id)
        else:
            self._next_try[reminder.id] = time.monotonic() + self.retry_after
            await asyncio.to_thread(self.reminders.release, reminder.id)
        return False

    async def call_reminder_as_message(self, reminder: Reminder) -> int | None:
        """Deliver a reminder as a chat message (also a call reminder without a dialer)."""
        account = await asyncio.to_thread(self.accounts.get, reminder.account_id)
        instead_of_call = reminder.channel == "call"
        text = fire_message(account, reminder, instead_of_call=instead_of_call, now=utcnow())
        return await self.deliver(
            reminder.account_id, Reply(text, lang=account.language if account else None)
        )

    def _forget(self, reminder_id: int) -> None:
        self._first_try.pop(reminder_id, None)
        self._next_try.pop(reminder_id, None)
