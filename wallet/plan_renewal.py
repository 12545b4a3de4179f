"""The renewal duty of monthly plans: every RENEWAL_POLL_SECONDS, renew the subscriptions
whose period ended (wallet/subscriptions.py), and find who must be told.

Notices (each claimed in the database before it is sent, so it goes once whatever the
number of instances; one lost in a crash between the claim and the sending is not sent
again): "ahead", NOTICE_DAYS before the end of a period when the available balance would
not pay the next one (checked on every round of those days, so a balance that falls short
later is told then); "lapsed", when a renewal could not be paid and the plan fell back to
pay-per-minute. The duty hands them to `notify` (the chat's outbox, bot/app.py).
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


@dataclass(frozen=True)
class PlanNoticeDue:
    """A notice to send: `kind` AHEAD or LAPSED, about `plan` whose period ends (ended)
    at `period_end`; `price`: ETT units of the period that was (or will be) due."""

    kind: str
    account_id: int
    plan: str
    period_end: datetime
    price: int


Notify = Callable[[PlanNoticeDue], Awaitable[None]]


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
        """One round at `now`: renew (or end, or lapse) every due subscription, then claim
        the AHEAD notices of periods ending within NOTICE_DAYS; return the notices
        claimed by this round (for this instance to send)."""
        now = now or utcnow()
        notices: list[PlanNoticeDue] = []
        for sub in self.store.due(now):
            try:
                outcome = self.subscriptions.renew(sub, now)
            except Exception:
                log.exception("renewal of the plan of account %s failed", sub.account_id)
                continue
            if outcome == "lapsed" and self.store.claim_notice(
                sub.account_id, LAPSED, sub.period_end
            ):
                price = self._price(sub.next_plan or sub.plan)
                notices.append(
                    PlanNoticeDue(LAPSED, sub.account_id, sub.plan, sub.period_end, price)
                )
            log.info("plan of account %s at %s: %s", sub.account_id, sub.period_end, outcome)
        for sub in self.store.ending_between(now, now + timedelta(days=NOTICE_DAYS)):
            plan = self.subscriptions.catalogue.find(sub.next_plan or sub.plan)
            if plan is None or self.subscriptions.can_pay(sub.account_id, plan):
                continue
            if self.store.claim_notice(sub.account_id, AHEAD, sub.period_end):
                notices.append(
                    PlanNoticeDue(AHEAD, sub.account_id, plan.name, sub.period_end, plan.price)
                )
        return notices

    async def run(self, stop: asyncio.Event) -> None:
        """Rounds until `stop` is set; each round's notices go to `notify`."""
        while not stop.is_set():
            try:
                notices = await asyncio.to_thread(self.run_once)
            except Exception:
                log.exception("plan renewal round failed")
                notices = []
            for notice in notices:
                if self.notify is None:
                    continue
                try:
                    await self.notify(notice)
                except Exception:
                    log.exception("plan notice to account %s failed", notice.account_id)
            try:
                await asyncio.wait_for(stop.wait(), self.poll_seconds)
            except TimeoutError:
                pass

    def _price(self, name: str) -> int:
        plan = self.subscriptions.catalogue.find(name)
        return plan.price if plan else 0
