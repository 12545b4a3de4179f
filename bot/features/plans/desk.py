"""What each plans request does: the catalogue (wallet.plans) listed with its prices, a
subscription asked and confirmed with a button, the plan cancelled, the minutes left.

Prices are shown in ETT and in WAVES (the configured rate plus WALLET_WAVES_SURCHARGE_PERCENT:
ETT is the discounted currency). Subscribing charges the first period at once, after a
button confirms it; a switch or a resumption charges nothing now (wallet.subscriptions).
Dates are the user's local time.
"""

from __future__ import annotations

import difflib
import zlib
from dataclasses import dataclass

from babel import Locale

from bot.assistant import Button, Context, Refusal, Reply
from bot.assistant.buttons import ButtonData
from bot.assistant.i18n import DEFAULT_LANGUAGE, LANGUAGES, money_text, t
from bot.assistant.router import CancelData
from storage.plans import ACTIVE, LIVE_STATES, PlanStore
from wallet.plans import Catalogue, Plan
from wallet.subscriptions import Outcome, PlanRefused, Subscriptions

QUESTION_KEY = "plans:subscribe"
_REFUSALS = {
    "unknown_plan": "plans_unknown",
    "insufficient_funds": "plans_no_funds",
    "already": "plans_already",
    "none": "plans_none",
    "busy": "plans_busy",
}


@dataclass(frozen=True)
class SubscribeData(ButtonData, prefix="plansub"):
    """The confirmation of subscribing to the plan at `index` of the catalogue; `check`
    (CRC-32 of its name and price) tells a press after the operator changed the file."""

    index: int
    check: str


def check_of(plan: Plan) -> str:
    """The short fingerprint of a plan that its button carries."""
    return f"{zlib.crc32(f'{plan.name}:{plan.price}'.encode()):08x}"


def subscriptions(ctx: Context) -> Subscriptions:
    """The account's plans on the service's catalogue and rates (those billing uses)."""
    billing = ctx.services.billing
    return Subscriptions(ctx.services.engine, billing.catalogue, billing.rates)


def find_plan(catalogue: Catalogue, name: str) -> Plan | None:
    """The plan `name` names: its whole name or an alias, else the plan whose name or
    alias is among its words."""
    plan = catalogue.find(name)
    if plan is not None or not name:
        return plan
    words = f" {name.casefold()} "
    return next(
        (
            p
            for p in catalogue.plans
            if any(f" {n.casefold()} " in words for n in (p.name, *p.aliases))
        ),
        None,
    )


def listing(ctx: Context) -> Reply:
    """Every plan: monthly price in ETT and WAVES, included minutes, entitlements; the
    user's own marked."""
    subs = subscriptions(ctx)
    mine = subs.store.subscription(ctx.account.id)
    current = mine.plan if mine is not None and mine.state in LIVE_STATES else None
    lines = [t(ctx.lang, "plans_list_header", surcharge=_surcharge(subs))]
    for plan in subs.catalogue.plans:
        lines.append(_plan_line(ctx, subs, plan, current=plan.name == current))
    lines.append(t(ctx.lang, "plans_list_footer"))
    if current is None:
        lines.append(t(ctx.lang, "plans_list_how", example=subs.catalogue.plans[0].name))
    else:
        lines.append(t(ctx.lang, "plans_list_how_switch", plan=current))
    return Reply("\n".join(lines), lang=ctx.lang)


def ask_which(ctx: Context) -> Reply:
    """ "subscribe" without a plan's name: which plan, the plans named."""
    subs = subscriptions(ctx)
    return ctx.say("plans_which", names=_names(subs.catalogue))


def ask_subscribe(ctx: Context, name: str) -> Reply:
    """The question (with its button) before subscribing to, switching to or resuming the
    plan `name`; refused for an unknown plan, the plan already held, or (a new
    subscription) a balance that cannot pay it."""
    subs = subscriptions(ctx)
    plan = find_plan(subs.catalogue, name)
    if plan is None:
        guess = _close_plan(subs.catalogue, name)
        if guess is not None:
            raise Refusal("plans_did_you_mean", name=name, plan=guess.name)
        raise Refusal("plans_unknown", name=name or "?", names=_names(subs.catalogue))
    sub = subs.store.subscription(ctx.account.id)
    index = subs.catalogue.plans.index(plan)
    values = {"plan": plan.name, "price": _price(ctx, subs, plan)}
    if sub is not None and sub.state in LIVE_STATES:
        if plan.name == sub.plan and sub.state == ACTIVE and sub.next_plan is None:
            raise Refusal("plans_already", plan=plan.name, end=ctx.local_time(sub.period_end))
        if plan.name == sub.plan:
            text = t(ctx.lang, "plans_ask_resume", end=ctx.local_time(sub.period_end), **values)
        else:
            text = t(
                ctx.lang,
                "plans_ask_switch",
                current=sub.plan,
                start=ctx.local_time(sub.period_end),
                **values,
            )
    else:
        if not subs.can_pay(ctx.account.id, plan):
            raise Refusal("plans_no_funds", **values)
        text = t(ctx.lang, "plans_ask_new", minutes=_minutes(ctx, plan), **values)
    buttons = (
        Button(
            t(ctx.lang, "plans_button_subscribe"),
            SubscribeData(index, check_of(plan)).pack(),
            t(ctx.lang, "word_yes"),
        ),
        Button(
            t(ctx.lang, "button_cancel"), CancelData(QUESTION_KEY).pack(), t(ctx.lang, "word_no")
        ),
    )
    return Reply(text, buttons=buttons, key=QUESTION_KEY, lang=ctx.lang)


def confirm_subscribe(ctx: Context, data: SubscribeData) -> Reply:
    """The button: subscribe (charged now), switch or resume; refused when the plan file
    changed since the question, or the request cannot be done now."""
    subs = subscriptions(ctx)
    plans = subs.catalogue.plans
    if not 0 <= data.index < len(plans) or check_of(plans[data.index]) != data.check:
        raise Refusal("choice_expired", reply_key=QUESTION_KEY)
    plan = plans[data.index]
    try:
        outcome = subs.subscribe(ctx.account.id, plan.name, now=ctx.received)
    except PlanRefused as refused:
        raise _refusal(ctx, subs, plan, refused) from None
    return Reply(_outcome_text(ctx, subs, plan, outcome), key=QUESTION_KEY, lang=ctx.lang)


def cancel(ctx: Context) -> Reply:
    """Stop renewing the account's plan: it stays until the end of the paid period."""
    subs = subscriptions(ctx)
    try:
        outcome = subs.cancel(ctx.account.id)
    except PlanRefused:
        raise Refusal("plans_none") from None
    return ctx.say("plans_cancelled", plan=outcome.plan, end=ctx.local_time(outcome.ends))


def usage(ctx: Context) -> Reply:
    """The included minutes left this period, per destination group, and when it ends."""
    store = PlanStore(ctx.services.engine)
    period = store.period_at(ctx.account.id, ctx.received)
    if period is None:
        return ctx.say("plans_usage_none")
    sub = store.subscription(ctx.account.id)
    used = store.usage(period)
    lines = [t(ctx.lang, "plans_usage_header", plan=period.plan)]
    plan = ctx.services.billing.catalogue.find(period.plan)
    order = list(plan.minutes) if plan is not None else []
    ranked = sorted(used.included.items(), key=lambda i: (_rank(order, i[0]), i[0]))
    for group, included in ranked:
        lines.append(
            t(
                ctx.lang,
                "plans_usage_line",
                group=_group(ctx, group),
                left=_duration(ctx.lang, used.left(group)),
                included=_duration(ctx.lang, included),
            )
        )
    if not used.included:
        lines.append(t(ctx.lang, "plans_usage_no_minutes"))
    end = ctx.local_time(period.ends_at)
    if sub is not None and sub.state == ACTIVE and sub.period_end == period.ends_at:
        subs = subscriptions(ctx)
        following = subs.catalogue.find(sub.next_plan or sub.plan)
        price = _price(ctx, subs, following) if following else "?"
        key = (
            "plans_usage_switches"
            if sub.next_plan not in (None, sub.plan)
            else "plans_usage_renews"
        )
        lines.append(t(ctx.lang, key, end=end, plan=sub.next_plan or sub.plan, price=price))
    else:
        lines.append(t(ctx.lang, "plans_usage_ends", end=end))
    return Reply("\n".join(lines), lang=ctx.lang)


# --- shared with the renewal notices ---------------------------------------------------


def price_text(lang: str, subs: Subscriptions, plan_price: int) -> str:
    """A monthly price in ETT with its WAVES equivalent (surcharge included)."""
    ett = money_text(plan_price, "ETT", lang)
    waves = money_text(subs.rates.in_asset(plan_price, "WAVES"), "WAVES", lang)
    return t(lang, "plans_price", ett=ett, waves=waves)


# --- internals ------------------------------------------------------------------------


def _price(ctx: Context, subs: Subscriptions, plan: Plan) -> str:
    return price_text(ctx.lang, subs, plan.price)


def _surcharge(subs: Subscriptions) -> str:
    percent = subs.rates.surcharge * 100
    return f"{float(percent):g}"


def _group(ctx: Context, name: str) -> str:
    return ctx.services.billing.catalogue.label(name, ctx.lang)


def counted(lang: str, key: str, count: int) -> str:
    """The message `key` + "_" + the CLDR plural form of `count` in `lang` ("1 direct
    number", "2 numéros directs", "5 прямых номеров"); every language has the four keys
    one, few, many and other (those its plural rules do not use repeat `_other`)."""
    locale = Locale.parse(lang if lang in LANGUAGES else DEFAULT_LANGUAGE)
    return t(lang, f"{key}_{locale.plural_form(count)}", count=count)


def _rank(order: list[str], group: str) -> int:
    """A group's place in the plan file's order (groups it no longer lists last)."""
    return order.index(group) if group in order else len(order)


def _close_plan(catalogue: Catalogue, name: str) -> Plan | None:
    """The one plan whose name or alias is a near spelling of `name` (difflib ratio at
    least 0.8: "Busines" -> Business), None when none or several are."""
    spellings = {n.casefold(): p for p in catalogue.plans for n in (p.name, *p.aliases)}
    close = difflib.get_close_matches(name.strip().casefold(), spellings, n=3, cutoff=0.8)
    plans = {spellings[c].name: spellings[c] for c in close}
    return next(iter(plans.values())) if len(plans) == 1 else None


def _names(catalogue: Catalogue) -> str:
    return ", ".join(p.name for p in catalogue.plans)


def _duration(lang: str, seconds: int) -> str:
    minutes, rest = divmod(seconds, 60)
    if rest:
        return t(lang, "plans_min_sec", minutes=minutes, seconds=rest)
    return t(lang, "plans_min", minutes=minutes)


def _minutes(ctx: Context, plan: Plan) -> str:
    parts = [
        t(ctx.lang, "plans_minutes_part", minutes=minutes, group=_group(ctx, group))
        for group, minutes in plan.minutes.items()
        if minutes
    ]
    return ", ".join(parts) or t(ctx.lang, "plans_no_included")


def _plan_line(ctx: Context, subs: Subscriptions, plan: Plan, *, current: bool) -> str:
    extras = []
    if plan.dids:
        extras.append(counted(ctx.lang, "plans_dids", plan.dids))
    if plan.ivr:
        extras.append(t(ctx.lang, "plans_ivr"))
    if plan.tracking_numbers:
        extras.append(counted(ctx.lang, "plans_tracking", plan.tracking_numbers))
    if plan.voicemail:
        extras.append(t(ctx.lang, "plans_voicemail"))
    return t(
        ctx.lang,
        "plans_list_line_current" if current else "plans_list_line",
        plan=plan.name,
        price=_price(ctx, subs, plan),
        minutes=_minutes(ctx, plan),
        extras="; ".join(extras) or "—",
    )


def _outcome_text(ctx: Context, subs: Subscriptions, plan: Plan, outcome: Outcome) -> str:
    if outcome.action == "subscribed":
        return t(
            ctx.lang,
            "plans_subscribed",
            plan=plan.name,
            end=ctx.local_time(outcome.ends),
            charged=money_text(outcome.amount, outcome.asset or "ETT", ctx.lang),
            minutes=_minutes(ctx, plan),
        )
    if outcome.action == "switched":
        return t(ctx.lang, "plans_switched", plan=plan.name, start=ctx.local_time(outcome.starts))
    return t(ctx.lang, "plans_resumed", plan=plan.name, end=ctx.local_time(outcome.ends))


def _refusal(ctx: Context, subs: Subscriptions, plan: Plan, refused: PlanRefused) -> Refusal:
    key = _REFUSALS.get(refused.reason, "plans_busy")
    sub = subs.store.subscription(ctx.account.id)
    end = ctx.local_time(sub.period_end) if sub is not None else ""
    return Refusal(
        key,
        reply_key=QUESTION_KEY,
        plan=plan.name,
        name=plan.name,
        names=_names(subs.catalogue),
        price=_price(ctx, subs, plan),
        end=end,
    )
