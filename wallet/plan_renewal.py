"""The renewal duty of monthly plans: every RENEWAL_POLL_SECONDS, renew the subscriptions
whose period ended (wallet/subscriptions.py), and find who must be told.

Notices (each a row in the database written with what causes it, the lapse in the same
transaction; claimed before it is sent, so one instance sends it, and marked sent once
delivered: a claim left unsent, by a crash or a failed delivery, is claimed again after
NOTICE_LEASE, so a notice may at worst go twice, never be lost): "ahead", NOTICE_DAYS
before the end of a period when the available balance would not pay the next one (checked
on every round of those days, so a balance that falls short later is told then);
"lapsed", when a renewal could not be paid and the plan fell back to pay-per-minute. The
duty hands them to `notify` (the chat's outbox, bot/app.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.clock import utcnow
from wallet.subscriptions import Subscriptions

log = logging.getLogger(__name__)
NOTICE_DAYS = 3
RENEWAL_POLL_SECONDS = 60.0
AHEAD, LAPSED = "ahead", "lapsed"
NOTICE_LEASE = timedelta(minutes=10)


@dataclass(frozen=True)
class PlanNoticeDue:
    """A notice to send: `kind` AHEAD or LAPSED, about `plan` whose period ends (ended)
    at `period_end`; `price`: ETT units of the period that was (or will be) due."""

    kind: str
    account_id: int
    plan: str
    period_end: datetime
    price: int


# Sends a notice; False when it reached no chat (then it is tried again after the lease).
Notify = Callable[[PlanNoticeDue], Awaitable[bool | None]]


class PlanRenewal:
    """Renews due subscriptions and claims the notices to send."""

    def __init__(
        self,
        subscriptions: Subscriptions,
        notify: Notify | None = None,
        *,
        poll_seconds: float = RENEWAL_POLL_SECONDS,
    ) -> None:
        self.subscriptions = subscriptions
        self.store = subscriptions.store
        self.notify = notify
        self.poll_seconds = poll_seconds

    def run_once(self, now: datetime | None = None) -> list[PlanNoticeDue]:
        """One round at `now`: renew (or end, or lapse, adding its notice) every due
        subscription, add the AHEAD notices of periods ending within NOTICE_DAYS, then
        claim the notices to send (new ones, and those left unsent for NOTICE_LEASE);
        return them (for this instance to send, then `delivered`)."""
        now = now or utcnow()
        for sub in self.store.due(now):
            try:
                outcome = self.subscriptions.renew(sub, now)
            except Exception:
                log.exception("renewal of the plan of account %s failed", sub.account_id)
                continue
            log.info("plan of account %s at %s: %s", sub.account_id, sub.period_end, outcome)
        for sub in self.store.ending_between(now, now + timedelta(days=NOTICE_DAYS)):
            plan = self.subscriptions.catalogue.find(sub.next_plan or sub.plan)
            if plan is None or self.subscriptions.can_pay(sub.account_id, plan):
                continue
            self.store.claim_notice(sub.account_id, AHEAD, sub.period_end, plan.name, plan.price)
        return [
            PlanNoticeDue(n.kind, n.account_id, n.plan, n.period_end, n.price)
            for n in self.store.claim_unsent(now, NOTICE_LEASE)
        ]

    def delivered(self, notice: PlanNoticeDue) -> None:
        """Record that `notice` was delivered: it is not claimed again."""
        self.store.mark_sent(notice.account_id, notice.kind, notice.period_end)

    async def deliver(self, notice: PlanNoticeDue) -> bool:
        """Hand `notice` to `notify` and record it delivered; False (logged) when sending
        failed or reached no chat (`notify` answered False): it is claimed again after
        NOTICE_LEASE."""
        if self.notify is None:
            return False
        try:
            reached = await self.notify(notice)
        except Exception:
            log.exception("plan notice to account %s failed", notice.account_id)
            return False
        if reached is False:  # no chat of the account is reachable from this instance
            log.info("plan notice to account %s reached no chat: later", notice.account_id)
            return False
        await asyncio.to_thread(self.delivered, notice)
        return True

    async def run(self, stop: asyncio.Event) -> None:
        """Rounds until `stop` is set; each round's notices go to `notify`."""
        while not stop.is_set():
            try:
                notices = await asyncio.to_thread(self.run_once)
            except Exception:
                log.exception("plan renewal round failed")
                notices = []
            for notice in notices:
                try:
                    await self.deliver(notice)
                except Exception:
                    log.exception("recording plan notice to account %s", notice.account_id)
            try:
                await asyncio.wait_for(stop.wait(), self.poll_seconds)
            except TimeoutError:
                pass
