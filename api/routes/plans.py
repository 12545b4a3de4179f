"""Monthly plans: the catalogue, the account's plan and its minutes left, subscribing,
cancelling.

The same rules as the chat's "plans", "subscribe to …", "cancel my plan" and "how many
minutes are left" (bot.features.plans, wallet.subscriptions): the first period is charged
from the balance at once (ETT first, WAVES with the surcharge when ETT falls short); a
switch takes effect at the next period; a cancelled plan runs to the end of its period.
A POST with an Idempotency-Key is answered once (the middleware replays the first
answer); without one, subscribing to the plan already held is refused, never charged twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Caller, Paying, Reader, ServicesDep
from api.problems import Problem
from api.schemas import PROBLEMS, Money, ProblemDoc
from bot.assistant.i18n import t
from bot.features.plans.desk import find_plan, price_text
from domain.clock import utcnow
from storage.plans import ACTIVE, LIVE_STATES
from wallet.plans import Plan
from wallet.subscriptions import PlanRefused, Subscriptions

router = APIRouter(tags=["plans"], responses=PROBLEMS)
REFUSED: dict[int | str, dict[str, Any]] = {
    status: {"model": ProblemDoc, "content": {"application/problem+json": {}}}
    for status in (402, 404, 409, 422)
}
# Problem keys of the refusals (wallet.subscriptions.PlanRefused reasons), also the chat
# catalogue's keys of their details, but for those in _DETAILS: the chat's sentence tells
# what to write in the chat.
_KEYS = {
    "unknown_plan": "plans_unknown",
    "insufficient_funds": "plans_no_funds",
    "already": "plans_already",
    "none": "plans_none",
    "busy": "plans_busy",
}


class PlanOut(BaseModel):
    """A plan on offer: its monthly price in ETT and in WAVES (the surcharge included),
    included minutes per destination group, and what else it grants (IVR, tracking
    numbers and voicemail are stored entitlements: the exchange does not offer them yet)."""

    name: str
    price: Money = Field(description="a month, in ETT")
    price_waves: Money = Field(description="a month, paid in WAVES (rate plus surcharge)")
    minutes: dict[str, int] = Field(description="included minutes per destination group")
    dids: int = Field(description="direct numbers included")
    ivr: bool
    tracking_numbers: int
    voicemail: bool


class PlansOut(BaseModel):
    """The plans, and the destination groups their minutes are for (E.164 prefixes
    without "+"; a number's group is that of its longest matching prefix)."""

    plans: list[PlanOut]
    groups: dict[str, list[str]]
    group_names: dict[str, str] = Field(
        description="each group's display name in the caller's language (PLANS_FILE labels)"
    )


class GroupUsage(BaseModel):
    """Included seconds of one destination group this period."""

    group: str
    included_seconds: int
    used_seconds: int
    left_seconds: int


class SubscriptionOut(BaseModel):
    """The account's plan: `plan` None when it has none (calls are paid by the minute).
    `state`: active (renews at `period_end`), cancelled (runs to `period_end`), ended or
    lapsed (the balance did not pay a renewal). `next_plan`: a switch from `period_end`."""

    plan: str | None
    state: str | None = None
    period_start: datetime | None = None
    period_end: datetime | None = None
    renews: bool = False
    next_plan: str | None = None
    usage: list[GroupUsage] = Field(default_factory=list)


class SubscribeIn(BaseModel):
    """The plan to subscribe (or switch) to, by name."""

    model_config = ConfigDict(extra="forbid")

    plan: str = Field(min_length=1, max_length=64)


class OutcomeOut(BaseModel):
    """What a request did: `action` subscribed (charged now), switched (from `starts`),
    resumed (renews at `ends`) or cancelled (runs to `ends`)."""

    action: str
    plan: str
    starts: datetime
    ends: datetime
    charged: Money | None = None


_DETAILS = {"plans_no_funds": "plans_api_no_funds", "plans_none": "plans_api_none"}


def _subscriptions(services: ServicesDep) -> Subscriptions:
    billing = services.billing
    return Subscriptions(services.engine, billing.catalogue, billing.rates)


def _plan_out(subs: Subscriptions, plan: Plan) -> PlanOut:
    return PlanOut(
        name=plan.name,
        price=Money(units=plan.price, asset="ETT"),
        price_waves=Money(units=subs.price_in(plan, "WAVES"), asset="WAVES"),
        minutes=dict(plan.minutes),
        dids=plan.dids,
        ivr=plan.ivr,
        tracking_numbers=plan.tracking_numbers,
        voicemail=plan.voicemail,
    )


@router.get("/v1/plans")
def list_plans(services: ServicesDep, caller: Reader) -> PlansOut:
    """Every plan on offer, with the destination groups."""
    subs = _subscriptions(services)
    groups: dict[str, list[str]] = {}
    for prefix, group in sorted(subs.catalogue.groups.items()):
        groups.setdefault(group, []).append(prefix)
    names = {group: subs.catalogue.label(group, caller.lang) for group in groups}
    return PlansOut(
        plans=[_plan_out(subs, p) for p in subs.catalogue.plans],
        groups=groups,
        group_names=names,
    )


@router.get("/v1/plan")
def current_plan(services: ServicesDep, caller: Reader) -> SubscriptionOut:
    """The account's plan and this period's included seconds (used and left) per group."""
    subs = _subscriptions(services)
    sub = subs.store.subscription(caller.account.id)
    if sub is None:
        return SubscriptionOut(plan=None)
    usage = []
    period = subs.store.period_at(caller.account.id, utcnow())
    if period is not None and sub.state in LIVE_STATES:
        used = subs.store.usage(period)
        usage = [
            GroupUsage(
                group=group,
                included_seconds=included,
                used_seconds=used.used.get(group, 0),
                left_seconds=used.left(group),
            )
            for group, included in sorted(used.included.items())
        ]
    return SubscriptionOut(
        plan=sub.plan,
        state=sub.state,
        period_start=sub.period_start,
        period_end=sub.period_end,
        renews=sub.state == ACTIVE,
        next_plan=sub.next_plan,
        usage=usage,
    )


@router.post(
    "/v1/plan",
    status_code=201,
    responses={**REFUSED, 200: {"model": OutcomeOut, "description": "switched or resumed"}},
)
def subscribe(
    body: SubscribeIn, services: ServicesDep, caller: Paying, response: Response
) -> OutcomeOut:
    """Subscribe to a plan (201: the first month charged now), or switch to another from
    the next period (200), or resume a cancelled one (200). Refusals: `plans-unknown`
    (404), `plans-no-funds` (402), `plans-already`, `plans-busy` (409)."""
    subs = _subscriptions(services)
    plan = find_plan(subs.catalogue, body.plan)
    if plan is None:
        raise _problem(caller, subs, PlanRefused("unknown_plan"), body.plan)
    try:
        outcome = subs.subscribe(caller.account.id, plan.name)
    except PlanRefused as refused:
        raise _problem(caller, subs, refused, plan.name) from None
    charged = None
    if outcome.action == "subscribed":
        charged = Money(units=outcome.amount, asset=outcome.asset or "ETT")
    else:
        response.status_code = 200
    return OutcomeOut(
        action=outcome.action,
        plan=outcome.plan,
        starts=outcome.starts,
        ends=outcome.ends,
        charged=charged,
    )


@router.delete("/v1/plan", responses=REFUSED)
def cancel(services: ServicesDep, caller: Paying) -> OutcomeOut:
    """Stop renewing the account's plan: it runs to the end of its paid period (no
    refund). Cancelling again is no error; `plans-none` (404) without a plan."""
    subs = _subscriptions(services)
    try:
        outcome = subs.cancel(caller.account.id)
    except PlanRefused as refused:
        raise _problem(caller, subs, refused, "") from None
    return OutcomeOut(action="cancelled", plan=outcome.plan, starts=outcome.starts,
                      ends=outcome.ends)  # fmt: skip


def _problem(caller: Caller, subs: Subscriptions, refused: PlanRefused, name: str) -> Problem:
    """A refusal as a problem in the caller's language (no chat instructions)."""
    key = _KEYS.get(refused.reason, "plans_busy")
    lang = caller.lang
    plan = subs.catalogue.find(name)
    sub = subs.store.subscription(caller.account.id)
    values = {
        "name": name,
        "plan": name,
        "names": ", ".join(p.name for p in subs.catalogue.plans),
        "price": price_text(lang, subs, plan.price) if plan else "",
        "end": sub.period_end.strftime("%Y-%m-%d %H:%M UTC") if sub else "",
    }
    return Problem(key, t(lang, _DETAILS.get(key, key), **values))
