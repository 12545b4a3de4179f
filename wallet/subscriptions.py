"""Subscribing to a monthly plan, cancelling, switching, and paying each period.

Rules (issue 16; where it is silent, what a PBX operator usually does):
- A period is a calendar month from the subscription's moment: it starts on the same day
  of the month at the same time (UTC), clamped to the month's last day (subscribed on
  31 January: 28/29 February, then 31 March).
- A period is paid in advance from the balance, ETT first and WAVES (at the rate plus the
  operator's surcharge, wallet/rates.py) only when the ETT available falls short: one
  ledger transfer to REVENUE under the key `plan:<account>:<period start>`, so a period is
  charged once however many instances try and whatever crashed in between.
- Cancelling keeps the plan to the end of the paid period, then it ends (no refund).
- Switching plan takes effect at the next period (charged the new price then); the current
  period keeps its plan and minutes. Subscribing again to the current plan of a cancelled
  subscription resumes it (no charge).
- A renewal the balance cannot pay lapses the plan to pay-per-minute (wallet/plan_renewal.py
  tells the user).
- Periods missed while the service was down are not charged: a renewal pays only the
  period that covers the present. A period charged before a crash is always recorded and
  given (also when the plan was cancelled or withdrawn meanwhile: it then runs to its end).
"""

from __future__ import annotations

import calendar
import json
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from domain.books import REVENUE, TransferKind, account_book
from domain.clock import utcnow
from storage.ledger_store import InsufficientFunds, LedgerStore
from storage.models import PlanSubscription
from storage.plans import CANCELLED, ENDED, LAPSED, LIVE_STATES, PENDING, PlanStore
from wallet.billing import PAYING_ORDER
from wallet.plans import Catalogue, Plan
from wallet.rates import Rates

log = logging.getLogger(__name__)


class PlanRefused(Exception):
    """A plan request that cannot be done; `reason` is one of: unknown_plan,
    insufficient_funds, already, none, busy."""

    def __init__(self, reason: str, **details: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.details = details


@dataclass(frozen=True)
class Outcome:
    """What a request did: `action` "subscribed" (charged `amount` of `asset` now),
    "switched" (to `plan` from `starts`), "resumed", "cancelled" (runs to `ends`)."""

    action: str
    plan: str
    starts: datetime
    ends: datetime
    asset: str | None = None
    amount: int = 0


def add_month(moment: datetime, anchor_day: int) -> datetime:
    """The same time on day `anchor_day` of the month after `moment`'s, clamped to that
    month's last day."""
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    day = min(anchor_day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def period_key(account_id: int, start: datetime) -> str:
    """The ledger key of the payment of the period starting at `start`."""
    return f"plan:{account_id}:{start.isoformat()}"


class Subscriptions:
    """Plans on an account: subscribe, cancel, switch, renew."""

    def __init__(self, engine: Engine, catalogue: Catalogue, rates: Rates) -> None:
        self.engine = engine
        self.catalogue = catalogue
        self.rates = rates
        self.store = PlanStore(engine)
        self.ledger = LedgerStore(engine)

    # --- prices ---------------------------------------------------------------------

    def price_in(self, plan: Plan, asset: str) -> int:
        """What a period of `plan` costs in `asset` (WAVES: rate plus surcharge)."""
        return self.rates.in_asset(plan.price, asset)

    def can_pay(self, account_id: int, plan: Plan) -> bool:
        """Whether the available balance pays a period of `plan` now."""
        balances = self.ledger.balances(account_book(account_id))
        return any(
            asset in balances and balances[asset].available >= self.price_in(plan, asset)
            for asset in PAYING_ORDER
        )

    # --- requests -------------------------------------------------------------------

    def subscribe(self, account_id: int, name: str, now: datetime | None = None) -> Outcome:
        """Subscribe to the plan called `name`. With no live subscription the first
        period starts now and is charged now; with one, a different plan is taken from the
        next period (or the cancelled current one resumed). Raises PlanRefused
        (unknown_plan, already, insufficient_funds, busy)."""
        plan = self.catalogue.find(name)
        if plan is None:
            raise PlanRefused("unknown_plan", name=name)
        now = now or utcnow()
        sub = self.store.subscription(account_id)
        if sub is not None and sub.state in LIVE_STATES:
            return self._change(sub, plan)
        if sub is not None and sub.state == PENDING:
            raise PlanRefused("busy")
        end = add_month(now, now.day)
        if not self.store.claim_start(account_id, plan.name, now, end, now.day):
            raise PlanRefused("busy")
        try:
            asset, amount = self._pay(account_id, plan, now)
        except InsufficientFunds:
            self.store.abandon_start(account_id, now, sub)
            raise PlanRefused("insufficient_funds", price=plan.price) from None
        self._record(account_id, plan.name, now, end, asset, amount)
        self.store.activate(account_id, now, plan.name, now, end)
        log.info("account %s subscribed to %s until %s", account_id, plan.name, end)
        return Outcome("subscribed", plan.name, now, end, asset, amount)

    def cancel(self, account_id: int) -> Outcome:
        """Stop renewing: the plan runs to the end of its paid period. Raises
        PlanRefused("none") without a live subscription; cancelling twice is no error."""
        sub = self.store.subscription(account_id)
        if sub is None or sub.state not in LIVE_STATES:
            raise PlanRefused("none")
        self.store.set_state(account_id, CANCELLED, period_start=sub.period_start, was=LIVE_STATES)
        self.store.set_next(account_id, None, resume=False)
        return Outcome("cancelled", sub.plan, sub.period_start, sub.period_end)

    def _change(self, sub: PlanSubscription, plan: Plan) -> Outcome:
        if plan.name == sub.plan:
            if sub.state == CANCELLED:
                self.store.set_next(sub.account_id, None, resume=True)
                return Outcome("resumed", plan.name, sub.period_start, sub.period_end)
            if sub.next_plan is None:
                raise PlanRefused("already", plan=plan.name)
            self.store.set_next(sub.account_id, None, resume=True)  # a switch taken back
            return Outcome("resumed", plan.name, sub.period_start, sub.period_end)
        self.store.set_next(sub.account_id, plan.name, resume=True)
        ends = add_month(sub.period_end, sub.anchor_day)
        return Outcome("switched", plan.name, sub.period_end, ends)

    # --- renewals -------------------------------------------------------------------

    def renew(self, sub: PlanSubscription, now: datetime) -> str:
        """Settle a subscription whose period ended by `now`: "renewed" (the next period
        paid, once whatever other instance tries too), "ended" (cancelled), "lapsed" (the
        balance could not pay, or the plan left the catalogue; returned only to the
        instance that lapsed it), "skipped" (another instance moved it already).

        The period following the one read (starting at its `period_end`) may have been
        charged already, by an instance that crashed before recording it (or by one
        racing this one): that period is then recorded and kept, whatever happened since
        (a cancel, the plan leaving the catalogue, downtime past its end): a cancelled or
        withdrawn plan runs to its end and ends then. Otherwise periods missed while the
        service was down are not charged: the one covering `now` is.
        """
        if sub.state == PENDING:  # a first payment cut short (a crash): finish or drop it
            return self._resume_first(sub)
        start = sub.period_end
        end = add_month(start, sub.anchor_day)
        paid = self.ledger.transfer_by_key(period_key(sub.account_id, start))
        if paid is not None:
            return self._keep_paid(sub, start, end, paid)
        if sub.state == CANCELLED:
            done = self.store.set_state(
                sub.account_id, ENDED, period_start=sub.period_start, was=(CANCELLED,)
            )
            return "ended" if done else "skipped"
        plan = self.catalogue.find(sub.next_plan or sub.plan) or self.catalogue.find(sub.plan)
        while end <= now:
            start, end = end, add_month(end, sub.anchor_day)
        if plan is None:
            log.warning("plan %s of account %s is no longer offered", sub.plan, sub.account_id)
            return self._lapse(sub)
        try:
            asset, amount = self._pay(sub.account_id, plan, start)
        except InsufficientFunds:
            return self._lapse(sub)
        self._record(sub.account_id, plan.name, start, end, asset, amount)
        moved = self.store.activate(
            sub.account_id, sub.period_start, plan.name, start, end, next_plan_read=sub.next_plan
        )
        return "renewed" if moved else "skipped"

    def _lapse(self, sub: PlanSubscription) -> str:
        """Lapse the ACTIVE subscription read, with its "lapsed" notice (the same
        transaction; wallet/plan_renewal.py sends it)."""
        plan = self.catalogue.find(sub.next_plan or sub.plan)
        notice = (LAPSED, sub.period_end, sub.plan, plan.price if plan else 0)
        return "lapsed" if self.store.lapse(sub.account_id, sub.period_start, notice) else "skipped"

    def _keep_paid(self, sub: PlanSubscription, start: datetime, end: datetime, paid: dict) -> str:
        """Record the period [start, end) charged under its key (`paid`, the ledger
        transfer) and move the subscription to it; a plan no longer offered runs to
        `end` cancelled."""
        name = self._paid_plan(sub, paid)
        self._record(sub.account_id, name, start, end, paid["asset"], paid["amount"])
        moved = self.store.activate(
            sub.account_id,
            sub.period_start,
            name,
            start,
            end,
            next_plan_read=sub.next_plan,
            cancel=self.catalogue.find(name) is None,
        )
        return "renewed" if moved else "skipped"

    def _paid_plan(self, sub: PlanSubscription, paid: dict) -> str:
        """The plan a period's payment was for: of the subscription's next and current
        plans, the one whose price is what was paid (a cancel clears the next plan),
        else the one that would have been renewed."""
        names = [name for name in (sub.next_plan, sub.plan) if name]
        for name in names:
            plan = self.catalogue.find(name)
            if plan is not None and self.price_in(plan, paid["asset"]) == paid["amount"]:
                return plan.name
        return names[0]

    def _resume_first(self, sub: PlanSubscription) -> str:
        paid = self.ledger.transfer_by_key(period_key(sub.account_id, sub.period_start))
        if paid is None:  # never paid: as if never asked
            self.store.abandon_start(sub.account_id, sub.period_start, None)
            return "ended"
        self._record(
            sub.account_id,
            sub.plan,
            sub.period_start,
            sub.period_end,
            paid["asset"],
            paid["amount"],
        )
        self.store.activate(
            sub.account_id,
            sub.period_start,
            sub.plan,
            sub.period_start,
            sub.period_end,
            cancel=self.catalogue.find(sub.plan) is None,
        )
        return "renewed"

    # --- internals ------------------------------------------------------------------

    def _pay(self, account_id: int, plan: Plan, start: datetime) -> tuple[str, int]:
        """Charge the period starting `start` (ETT first, then WAVES); return the asset
        and amount charged, the first time or any time after. Raises InsufficientFunds."""
        key = period_key(account_id, start)
        book = account_book(account_id)
        shortfall: InsufficientFunds | None = None
        for asset in PAYING_ORDER:
            amount = self.price_in(plan, asset)
            try:
                result = self.ledger.transfer(
                    key=key,
                    kind=TransferKind.PLAN,
                    asset=asset,
                    amount=amount,
                    debit=book,
                    credit=REVENUE,
                    reason=f"plan {plan.name} from {start:%Y-%m-%d}",
                    ref=f"plan:{account_id}",
                )
            except InsufficientFunds as error:
                shortfall = error
                continue
            if not result.applied:
                break
            return asset, amount
        paid = self.ledger.transfer_by_key(key)
        if paid is not None:  # paid already (another instance, or before a crash)
            return paid["asset"], paid["amount"]
        assert shortfall is not None
        raise shortfall

    def _record(
        self, account_id: int, name: str, start: datetime, end: datetime, asset: str, amount: int
    ) -> None:
        """Record the paid period [start, end) of the plan `name` (its price and included
        seconds from the catalogue; a plan no longer offered: those of its last recorded
        period, else its payment and no included seconds)."""
        plan = self.catalogue.find(name)
        price, included = (plan.price, plan.included_seconds) if plan else (0, {})
        if plan is None:
            last = [p for p in self.store.periods(account_id) if p.plan == name]
            price, included = (
                (last[-1].price, json.loads(last[-1].included))
                if last
                else (self.rates.in_ett(amount, asset), {})
            )
        self.store.record_period(
            account_id,
            name,
            start,
            end,
            price=price,
            asset=asset,
            amount=amount,
            transfer_key=period_key(account_id, start),
            included=included,
        )
