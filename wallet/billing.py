"""Paying for calls: quote, authorise with a hold, extend it, settle from the call record.

A call is held under the ledger key `call:<call_id>` (ref = call id). `max_seconds` is
the longest call the balance and the daily cap pay for when it is authorised (the
dialer's hard limit); the hold itself covers only the first HOLD_AHEAD_SECONDS of both
legs (less when the balance must leave the first minute of each further call the
concurrency limit allows), so a second call is not refused because the first one
reserved everything. While a call is up its runner extends the hold (`extend`) and cuts
the call when it cannot be extended. The daily cap is checked again inside each hold's
transaction, under the account's lock, so holds from several instances never exceed it.
Settlement is exactly once because the ledger closes a hold once; it charges the exact
cost, at most the balance less the account's other holds.

A monthly plan's included minutes (wallet/plans.py, storage/plans.py) are used before the
tariff at settlement: each billed leg's billable seconds (the tariff's minimum and
increment applied to the whole leg) first use the seconds left in the leg destination's
group, in the period covering the moment the leg was answered; only the rest is priced,
per second. They are used once per call and leg, whatever settles the call again.
A call is authorised (and extended) for the included seconds it may use only once they
are reserved for it (a row per leg, under the period's lock): the account's other calls
in progress count on the rest alone; settlement trues the reservation up to the use.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Engine

from domain.books import REVENUE, TransferKind, hold_key, settle_key
from domain.calls import CallKind
from domain.clock import utcnow
from domain.numbers import normalize
from settings import Settings
from storage.accounts import AccountStore
from storage.calls import CallStore, leg_seconds
from storage.ledger_store import BalanceView, InsufficientFunds, LedgerStore, account_book
from storage.models import CallRecord
from storage.plans import PlanStore
from wallet.fraud import CallRefused, Checked, FraudRules
from wallet.plans import Catalogue
from wallet.rates import Rates
from wallet.tariffs import Tariffs

log = logging.getLogger(__name__)
PAYING_ORDER = ("ETT", "WAVES")  # ETT first: it is the cheaper way to pay
HOLD_AHEAD_SECONDS = 180  # what a call's hold covers ahead of the call's running time
FREE_KINDS = (CallKind.INTERNAL.value, CallKind.INBOUND.value)


@dataclass(frozen=True)
class Quote:
    """Prices of both legs and what the balance allows.

    `asset` is None (and `max_seconds` 0) when no balance covers the first minute.
    `max_seconds` is the longest call the balance (and the daily cap) pays for; `hold` the
    amount of `asset` a call's first hold reserves (its first minutes, see the module).
    """

    a_number: str
    b_number: str
    a_price_per_minute: int
    b_price_per_minute: int
    asset: str | None
    max_seconds: int
    hold: int
    first_minute: int

    @property
    def price_per_minute(self) -> int:
        """Both legs together, in ETT units per minute."""
        return self.a_price_per_minute + self.b_price_per_minute

    @property
    def free(self) -> bool:
        return self.price_per_minute == 0


@dataclass(frozen=True)
class Authorization:
    """A call that may be dialled: its hold (None for a free call) and its maximum duration."""

    call_id: str
    hold_key: str | None
    asset: str
    max_seconds: int
    quote: Quote


class Billing:
    """Quotes, holds and settlements of calls on the ledger."""

    def __init__(
        self, engine: Engine, tariffs: Tariffs, rules: FraudRules, settings: Settings
    ) -> None:
        self.engine = engine
        self.tariffs = tariffs
        self.rules = rules
        self.ledger = LedgerStore(engine)
        self.calls = CallStore(engine)
        self.accounts = AccountStore(engine)
        self.rates = Rates(settings.WALLET_WAVES_ETT_RATE, settings.WALLET_WAVES_SURCHARGE_PERCENT)
        self.max_call_seconds = settings.WALLET_MAX_CALL_SECONDS
        self.hold_ahead_seconds = HOLD_AHEAD_SECONDS
        self.catalogue = Catalogue.load(settings.PLANS_FILE)
        self.plans = PlanStore(engine)
        self._locks: dict[int, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    @classmethod
    def from_settings(cls, engine: Engine, settings: Settings) -> Billing:
        """Billing with the tariff file and rules configured in `settings`."""
        tariffs = Tariffs.load(
            settings.WALLET_TARIFFS_FILE,
            min_seconds=settings.WALLET_MIN_BILLED_SECONDS,
            increment=settings.WALLET_BILLING_INCREMENT,
        )
        return cls(engine, tariffs, FraudRules.from_settings(engine, tariffs, settings), settings)

    # --- before the call ---------------------------------------------------------

    def quote(self, account_id: int, a_number: str, b_number: str) -> Quote:
        """Per-minute prices of both legs and the longest call the balance pays for.

        Raises CallRefused("no_route") when a leg has no tariff, and
        CallRefused("concurrent_calls") when the balance would pay for this call but the
        account's calls in progress hold it.
        """
        cap_left = self.rules.remaining_today(account_id)
        quote = self._quote(account_id, a_number, b_number, cap_left)
        if not quote.free:
            quote = self._with_included(
                quote, self.included_seconds(account_id, a_number, b_number)
            )
        if quote.asset is None and not quote.free:
            refusal = self._refusal(account_id, None, quote, cap_left)
            if refusal.rule == "concurrent_calls":
                raise refusal
        return quote

    def authorize(
        self, account_id: int, call_id: str, a_number: str, b_number: str
    ) -> Authorization:
        """Check every rule and place the call's hold; raise CallRefused when refused.

        Authorising the same call id again returns the existing hold.
        """
        account = self.accounts.get(account_id)
        if account is None:
            raise KeyError(f"no account {account_id}")
        with self._lock(account_id):
            existing = self.ledger.hold(hold_key(call_id))
            if existing is not None:
                return self._existing(account_id, call_id, a_number, b_number, existing)
            checked = self.rules.check(account, a_number, b_number, call_id=call_id)
            try:
                return self._authorize(account_id, call_id, a_number, b_number, checked)
            except CallRefused as refusal:
                self.plans.release_reserved(call_id)
                self.rules.record(account_id, refusal, call_id)
                raise

    def extend(self, call_id: str, seconds: float) -> int:
        """Make a call's open hold cover `seconds` of both legs, as far as the balance and
        the daily cap allow (at most WALLET_MAX_CALL_SECONDS); return the seconds the hold
        covers now (0: no open hold, or not even the first minute)."""
        hold = self.ledger.hold(hold_key(call_id))
        call = self.calls.get(call_id)
        if call is None:
            return 0
        free = 0
        live = call.state != "ended" and call.settled_at is None
        if call.account_id is not None and call.kind not in FREE_KINDS and live:
            free = self._reserve_included(call.account_id, call_id, call.a_number, call.b_number)
        if hold is None or hold["state"] != "open":
            return min(free, self.max_call_seconds)
        a_price, b_price = self._prices(call.a_number, call.b_number)
        wanted = min(math.ceil(seconds), self.max_call_seconds) - free
        covered = self._covered(a_price, b_price, hold["amount"], hold["asset"])
        if covered >= wanted:
            return min(covered + free, self.max_call_seconds)
        target = self.rates.in_asset(self._both_legs(a_price, b_price, wanted), hold["asset"])
        if not self._grow_hold(call, hold, target):
            affordable = self._affordable_hold(call, hold, a_price, b_price)
            if affordable > hold["amount"]:
                self._grow_hold(call, hold, affordable)
        hold = self.ledger.hold(hold_key(call_id)) or hold
        if hold["state"] != "open":
            return 0
        covered = self._covered(a_price, b_price, hold["amount"], hold["asset"])
        return min(covered + free, self.max_call_seconds)

    def release(self, call_id: str) -> bool:
        """Give a hold back without charging (a call that was never placed)."""
        self.plans.release_reserved(call_id)
        if self.ledger.hold(hold_key(call_id)) is None:
            return False
        return self.ledger.release_hold(hold_key(call_id))

    # --- after the call ----------------------------------------------------------

    def call_cost(self, call_id: str) -> int:
        """The ETT price of a call from its record: each answered leg at its own rate,
        less the included seconds of a monthly plan the settlement used for it.
        A call to a direct number costs its owner nothing (a forwarded outside leg has
        its own record, kind outbound)."""
        call = self.calls.get(call_id)
        if call is None:
            raise KeyError(f"no call {call_id}")
        if call.kind in FREE_KINDS:
            return 0
        used = self.plans.used_by_call(call_id) if call.account_id is not None else {}
        total = 0
        for leg, number in (("a", call.a_number), ("b", call.b_number)):
            seconds = leg_seconds(call, leg)
            price = self.tariffs.price_per_minute(number)
            if price is None:
                log.warning("call %s leg %s: no tariff any more, billed 0", call_id, leg)
                price = 0
            total += self._leg_cost(price, seconds, used.get(leg, 0))
        return total

    def _leg_cost(self, price: int, seconds: float, included: int) -> int:
        """A leg's cost when `included` of its billable seconds were included in a plan:
        the rest of its billable seconds (the tariff's minimum and increment applied to
        the whole leg first) priced per second, rounded up to a unit; with none
        included, the tariff's cost (wallet/tariffs.py)."""
        if included <= 0:
            return self.tariffs.cost(price, seconds)
        rest = max(0, self.tariffs.billable_seconds(seconds) - included)
        return -(-price * rest // 60)

    def included_seconds(
        self,
        account_id: int,
        a_number: str,
        b_number: str,
        at: datetime | None = None,
        *,
        call_id: str | None = None,
    ) -> int:
        """Seconds a call of both legs can last on the included minutes of the account's
        plan left at `at` (now); 0 when a priced leg is in no group, or without a plan.

        Per group of its priced legs: the seconds left, less what the account's other
        calls in progress (not `call_id`) may still use of them (their `reserve`), shared
        among this call's legs in the group (both legs in one group draw on one pool);
        then the least over the groups, cut so that a leg's billable seconds (the
        tariff's minimum and increment, wallet/tariffs.py) fit in its share.
        """
        period = self.plans.period_at(account_id, at or utcnow())
        if period is None:
            return 0
        legs = self._priced_groups(a_number, b_number)
        if not legs:
            return 0
        counts: dict[str, int] = {}
        for group in legs.values():
            counts[group] = counts.get(group, 0) + 1
        usage = self.plans.usage(period, excluding=call_id)
        return self._fitting(min(usage.left(group) // n for group, n in counts.items()))

    def _reserve_included(self, account_id: int, call: str, a_number: str, b_number: str) -> int:
        """`included_seconds` of a call being authorised or extended, reserved for it
        (storage.plans.PlanStore.reserve_included) so that the account's other calls in
        progress cannot count on the same seconds; trued up when the call is settled."""
        legs = self._priced_groups(a_number, b_number)
        now = utcnow()
        if not legs or self.plans.period_at(account_id, now) is None:
            return 0  # no write: nothing to reserve (what was is dropped at settlement)
        return self.plans.reserve_included(account_id, call, now, legs, self._fitting)

    def _priced_groups(self, a_number: str, b_number: str) -> dict[str, str]:
        """The group of each priced leg ("a", "b"); empty when a priced leg is in none."""
        legs: dict[str, str] = {}
        for leg, number in (("a", a_number), ("b", b_number)):
            if not self.tariffs.price_per_minute(number):
                continue
            group = self.catalogue.group_of(number)
            if group is None:
                return {}
            legs[leg] = group
        return legs

    def _fitting(self, seconds: int) -> int:
        """The longest a leg may last (whole increments) for its billable seconds (the
        tariff's minimum and increment) to fit in `seconds`; 0 when none does."""
        longest = seconds // self.tariffs.increment * self.tariffs.increment
        return longest if longest > 0 and self.tariffs.billable_seconds(longest) <= seconds else 0

    def _with_included(self, quote: Quote, free: int) -> Quote:
        """A quote whose longest call adds `free` included seconds to what the balance
        pays (a quote the balance does not pay is good for `free` seconds, when they
        cover the tariff's first billed seconds)."""
        if free <= 0:
            return quote
        if quote.asset is None:
            if free < max(self.tariffs.min_seconds, 1):
                return quote
            return replace(quote, asset="ETT", max_seconds=min(free, self.max_call_seconds))
        return replace(quote, max_seconds=min(quote.max_seconds + free, self.max_call_seconds))

    def use_included(self, call: CallRecord) -> dict[str, int]:
        """Use the included seconds of the account's plan for each billed leg of an ended
        call (the period covering the moment the leg was answered, the group of the leg's
        number); return the seconds used per leg. Once per call and leg
        (storage.plans.PlanStore.use_included): asked again, the same figures."""
        if call.kind in FREE_KINDS or call.account_id is None:
            return {}
        used: dict[str, int] = {}
        for leg, number in (("a", call.a_number), ("b", call.b_number)):
            answered = getattr(call, f"{leg}_answered_at")
            group = self.catalogue.group_of(number)
            billable = self.tariffs.billable_seconds(leg_seconds(call, leg))
            if answered is None or group is None or not billable:
                continue
            if not self.tariffs.price_per_minute(number):
                continue
            seconds = self.plans.use_included(
                call.account_id, call.id, leg, group, answered, billable
            )
            if seconds:
                used[leg] = seconds
        return used

    def settle(self, call_id: str) -> int:
        """Charge the exact cost of an ended call and release the rest of its hold.

        Exactly once, also after a restart; returns the amount charged (in the
        hold's asset). Raises ValueError for a call that has not ended.
        """
        call = self.calls.get(call_id)
        if call is None:
            raise KeyError(f"no call {call_id}")
        if call.settled_at is not None:
            return call.cost
        if call.state != "ended":
            raise ValueError(f"call {call_id} has not ended")
        self.use_included(call)
        self.plans.release_reserved(call_id)
        price = self.call_cost(call_id)
        hold = self.ledger.hold(hold_key(call_id))
        if hold is None:
            charged, asset = self._charge_without_hold(call, price)
        else:
            asset = hold["asset"]
            charged = self.ledger.settle_hold(
                key=hold_key(call_id),
                charge=self.rates.in_asset(price, asset),
                credit=REVENUE,
                kind=TransferKind.CALL,
                reason=f"call {call_id}",
            )
        self.calls.mark_settled(call_id, charged, asset)
        return charged

    def settle_pending(self) -> int:
        """Settle every ended call not settled yet (run at start); return how many."""
        settled = 0
        for call in self.calls.unsettled():
            try:
                self.settle(call.id)
                settled += 1
            except Exception:
                log.exception("could not settle call %s", call.id)
        return settled

    # --- internals ---------------------------------------------------------------

    def _lock(self, account_id: int) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(account_id, threading.Lock())

    def _prices(self, a_number: str, b_number: str) -> tuple[int, int]:
        prices = []
        for number in (a_number, b_number):
            price = self.tariffs.price_per_minute(number)
            if price is None:
                raise CallRefused("no_route", "no tariff for this destination", normalize(number))
            prices.append(price)
        return prices[0], prices[1]

    def _both_legs(self, a_price: int, b_price: int, seconds: int) -> int:
        return self.tariffs.cost(a_price, seconds) + self.tariffs.cost(b_price, seconds)

    def _first_unit(self, a_price: int, b_price: int) -> int:
        """The least a call of both legs can cost (each billed its minimum)."""
        return self._both_legs(a_price, b_price, max(self.tariffs.min_seconds, 1))

    def _budget(self, view: BalanceView | None, asset: str, cap_left: int) -> int:
        """ETT units an available balance (and the daily cap) pays for."""
        return min(self.rates.in_ett(view.available, asset) if view else 0, cap_left)

    def _quote(
        self,
        account_id: int,
        a_number: str,
        b_number: str,
        cap_left: int,
        *,
        size_hold: bool = True,
    ) -> Quote:
        """The quote; `size_hold` False leaves its `hold` 0 (the caller sizes it)."""
        a_price, b_price = self._prices(a_number, b_number)
        first = self._first_unit(a_price, b_price)
        args = (normalize(a_number), normalize(b_number), a_price, b_price)
        if first == 0:
            return Quote(*args, "ETT", self.max_call_seconds, 0, 0)
        balances = self.ledger.balances(account_book(account_id))
        for asset in PAYING_ORDER:
            budget = self._budget(balances.get(asset), asset, cap_left)
            if budget >= first:
                seconds = self._max_seconds(a_price, b_price, budget)
                hold = 0
                if size_hold:
                    held = self._first_hold(account_id, None, a_price, b_price, budget, seconds)
                    hold = self.rates.in_asset(held, asset)
                return Quote(*args, asset, seconds, hold, first)
        return Quote(*args, None, 0, 0, first)

    def _first_hold(
        self,
        account_id: int,
        call_id: str | None,
        a_price: int,
        b_price: int,
        budget: int,
        max_seconds: int,
        *,
        busy: set[str] | None = None,
    ) -> int:
        """ETT units of a call's first hold: its first `hold_ahead_seconds` (at most
        `max_seconds`), leaving in `budget` the first minute of each further call the
        concurrency limit allows, but at least this call's own first minute. `busy`: the
        account's other calls in progress when already read (read here otherwise)."""
        first = self._first_unit(a_price, b_price)
        if busy is None:
            busy = self.rules.busy_calls(account_id, call_id)
        others = self.rules.max_concurrent - len(busy) - 1
        room = max(first, budget - max(others, 0) * first)
        seconds = min(max_seconds, self.hold_ahead_seconds)
        if self._both_legs(a_price, b_price, seconds) > room:
            seconds = self._max_seconds(a_price, b_price, room)
        return self._both_legs(a_price, b_price, seconds)

    def _max_seconds(self, a_price: int, b_price: int, budget: int) -> int:
        """The longest duration (both legs) whose cost fits `budget` ETT units."""
        low = max(self.tariffs.min_seconds, 1)
        affordable = budget * 60 // (a_price + b_price) + self.tariffs.increment
        high = max(min(self.max_call_seconds, affordable), low)
        while low < high:
            middle = (low + high + 1) // 2
            if self._both_legs(a_price, b_price, middle) <= budget:
                low = middle
            else:
                high = middle - 1
        return low

    def _covered(self, a_price: int, b_price: int, amount: int, asset: str) -> int:
        """Seconds of both legs `amount` of `asset` pays for (0: not the first minute)."""
        budget = self.rates.in_ett(amount, asset)
        if a_price + b_price == 0:
            return self.max_call_seconds
        if self._first_unit(a_price, b_price) > budget:
            return 0
        return self._max_seconds(a_price, b_price, budget)

    def _existing(
        self, account_id: int, call_id: str, a_number: str, b_number: str, hold: dict
    ) -> Authorization:
        """The authorisation of a call already held: the duration its hold and what the
        account still has pay for, as when it was authorised."""
        a_price, b_price = self._prices(a_number, b_number)
        asset, amount = hold["asset"], hold["amount"]
        seconds = 0
        if hold["state"] == "open":
            view = self.ledger.balance(account_book(account_id), asset)
            cap_left = self.rules.remaining_today(account_id) + self.rates.in_ett(amount, asset)
            budget = min(self.rates.in_ett(view.available + amount, asset), cap_left)
            seconds = self._max_seconds(a_price, b_price, budget)
        first = self._first_unit(a_price, b_price)
        quote = Quote(
            normalize(a_number), normalize(b_number), a_price, b_price,
            asset, seconds, amount, first,
        )  # fmt: skip
        return Authorization(call_id, hold_key(call_id), asset, seconds, quote)

    def _authorize(
        self, account_id: int, call_id: str, a_number: str, b_number: str, checked: Checked
    ) -> Authorization:
        """Quote and hold with the figures the rules just read (`checked`); once more with
        fresh figures when another instance's hold took what the first quote saw (the
        ledger and the cap guard have the last word)."""
        attempts = 2
        for attempt in range(1, attempts + 1):
            fresh = attempt > 1
            cap_left = self.rules.remaining_today(account_id) if fresh else checked.remaining_today
            busy = self.rules.busy_calls(account_id, call_id) if fresh else set(checked.busy)
            quote = self._quote(account_id, a_number, b_number, cap_left, size_hold=False)
            if quote.free:
                return Authorization(call_id, None, "ETT", quote.max_seconds, quote)
            free = self._reserve_included(account_id, call_id, a_number, b_number)
            if quote.asset is None:
                if free >= max(self.tariffs.min_seconds, 1):  # on included minutes alone
                    held = self._with_included(quote, free)
                    return Authorization(call_id, None, "ETT", held.max_seconds, held)
                raise self._refusal(account_id, call_id, quote, cap_left)
            try:
                auth = self._place_hold(account_id, call_id, quote, cap_left, busy)
                if free:
                    longest = self._with_included(auth.quote, free)
                    auth = replace(auth, max_seconds=longest.max_seconds, quote=longest)
                return auth
            except InsufficientFunds:
                if attempt == attempts:
                    raise self._refusal(account_id, call_id, quote, cap_left) from None
            except CallRefused as refusal:
                if refusal.rule != "daily_cap" or attempt == attempts:
                    raise
        raise AssertionError("unreachable")

    def _place_hold(
        self, account_id: int, call_id: str, quote: Quote, cap_left: int, busy: set[str]
    ) -> Authorization:
        asset = quote.asset or "ETT"
        view = self.ledger.balance(account_book(account_id), asset)
        budget = self._budget(view, asset, cap_left)
        hold = self._first_hold(
            account_id,
            call_id,
            quote.a_price_per_minute,
            quote.b_price_per_minute,
            budget,
            quote.max_seconds,
            busy=busy,
        )
        amount = self.rates.in_asset(hold, asset)
        self.ledger.place_hold(
            key=hold_key(call_id),
            book=account_book(account_id),
            asset=asset,
            amount=amount,
            ref=call_id,
            guard=self.rules.cap_guard(account_id),
        )
        quote = Quote(
            quote.a_number, quote.b_number, quote.a_price_per_minute, quote.b_price_per_minute,
            asset, quote.max_seconds, amount, quote.first_minute,
        )  # fmt: skip
        return Authorization(call_id, hold_key(call_id), asset, quote.max_seconds, quote)

    def _refusal(
        self, account_id: int, call_id: str | None, quote: Quote, cap_left: int
    ) -> CallRefused:
        """Why a call the balance does not cover now is refused: the daily cap; the
        balance held by the account's calls in progress when it would pay this call's
        first minute besides theirs (the concurrency rule); else the balance."""
        first = quote.first_minute
        if cap_left < first:
            return CallRefused("daily_cap", f"daily spending cap reached ({cap_left} left)")
        busy = self.rules.busy_calls(account_id, call_id)
        if busy:
            balances = self.ledger.balances(account_book(account_id))
            for asset, view in balances.items():
                if self.rates.in_ett(view.amount, asset) >= first * (len(busy) + 1):
                    return CallRefused(
                        "concurrent_calls",
                        f"the balance is held by {len(busy)} call(s) in progress",
                    )
        return CallRefused("insufficient_funds", f"the first minute costs {first} ETT units")

    def _grow_hold(self, call: CallRecord, hold: dict, target: int) -> bool:
        """Extend a call's hold to `target` units; False when the balance or the cap
        does not allow it (or the hold is closed)."""
        extra = target - hold["amount"]
        if extra <= 0:
            return True
        try:
            grown = self.ledger.extend_hold(
                key=hold["idempotency_key"],
                amount=extra,
                guard=self.rules.cap_guard(call.account_id or 0),
            )
        except (InsufficientFunds, CallRefused):
            return False
        return grown is not None

    def _affordable_hold(self, call: CallRecord, hold: dict, a_price: int, b_price: int) -> int:
        """The largest hold (units of its asset) the balance and the cap allow now."""
        asset, amount = hold["asset"], hold["amount"]
        view = self.ledger.balance(account_book(call.account_id or 0), asset)
        cap_left = self.rules.remaining_today(call.account_id or 0)
        budget = min(
            self.rates.in_ett(view.available + amount, asset),
            cap_left + self.rates.in_ett(amount, asset),
        )
        seconds = min(self._max_seconds(a_price, b_price, budget), self.max_call_seconds)
        cost = self._both_legs(a_price, b_price, seconds)
        return self.rates.in_asset(cost, asset) if cost <= budget else 0

    def _charge_without_hold(self, call: CallRecord, price: int) -> tuple[int, str]:
        """A call with no hold is free (internal) or was never authorised: charge ETT if due."""
        if price == 0:
            return 0, "ETT"
        book = account_book(call.account_id or 0)
        available = self.ledger.balance(book, "ETT").available
        charge = min(price, max(available, 0))
        log.error("call %s had no hold; charging %s of %s ETT units", call.id, charge, price)
        if charge:
            self.ledger.transfer(
                key=settle_key(hold_key(call.id)),
                kind=TransferKind.CALL,
                asset="ETT",
                amount=charge,
                debit=book,
                credit=REVENUE,
                reason=f"call {call.id} (no hold)",
                ref=call.id,
            )
        return charge, "ETT"
