"""Paying for calls: quote, authorise with a hold, settle from the call record.

A call is held under the ledger key `call:<call_id>` (ref = call id). The hold covers
both legs for `max_seconds` each, so the dialer's hang-up at `max_seconds` keeps the
cost within it. Settlement is exactly once because the ledger closes a hold once.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from sqlalchemy import Engine

from domain.books import REVENUE, TransferKind, hold_key, settle_key
from domain.numbers import normalize
from settings import Settings
from storage.accounts import AccountStore
from storage.calls import CallStore, leg_seconds
from storage.ledger_store import InsufficientFunds, LedgerStore, account_book
from wallet.fraud import CallRefused, FraudRules
from wallet.rates import Rates
from wallet.tariffs import Tariffs

log = logging.getLogger(__name__)
PAYING_ORDER = ("ETT", "WAVES")  # ETT first: it is the cheaper way to pay


@dataclass(frozen=True)
class Quote:
    """Prices of both legs and what the balance allows.

    `asset` is None (and `max_seconds` 0) when no balance covers the first minute.
    `hold` is the amount of `asset` reserved for `max_seconds` on both legs.
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

        Raises CallRefused("no_route") when a leg has no tariff.
        """
        return self._quote(account_id, a_number, b_number, self.rules.remaining_today(account_id))

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
                return self._existing(call_id, a_number, b_number, existing)
            self.rules.check(account, a_number, b_number, call_id=call_id)
            try:
                cap_left = self.rules.remaining_today(account_id)
                quote = self._quote(account_id, a_number, b_number, cap_left)
                return self._place_hold(account_id, call_id, quote, cap_left)
            except CallRefused as refusal:
                self.rules.record(account_id, refusal, call_id)
                raise

    def release(self, call_id: str) -> bool:
        """Give a hold back without charging (a call that was never placed)."""
        if self.ledger.hold(hold_key(call_id)) is None:
            return False
        return self.ledger.release_hold(hold_key(call_id))

    # --- after the call ----------------------------------------------------------

    def call_cost(self, call_id: str) -> int:
        """The ETT price of a call from its record: each answered leg at its own rate."""
        call = self.calls.get(call_id)
        if call is None:
            raise KeyError(f"no call {call_id}")
        total = 0
        for leg, number in (("a", call.a_number), ("b", call.b_number)):
            seconds = leg_seconds(call, leg)
            price = self.tariffs.price_per_minute(number)
            if price is None:
                log.warning("call %s leg %s: no tariff any more, billed 0", call_id, leg)
                price = 0
            total += self.tariffs.cost(price, seconds)
        return total

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

    def _quote(self, account_id: int, a_number: str, b_number: str, cap_left: int) -> Quote:
        a_price, b_price = self._prices(a_number, b_number)
        first = self._both_legs(a_price, b_price, max(self.tariffs.min_seconds, 1))
        args = (normalize(a_number), normalize(b_number), a_price, b_price)
        if first == 0:
            return Quote(*args, "ETT", self.max_call_seconds, 0, 0)
        balances = self.ledger.balances(account_book(account_id))
        for asset in PAYING_ORDER:
            view = balances.get(asset)
            budget = min(self.rates.in_ett(view.available, asset) if view else 0, cap_left)
            if budget >= first:
                seconds = self._max_seconds(a_price, b_price, budget)
                hold = self.rates.in_asset(self._both_legs(a_price, b_price, seconds), asset)
                return Quote(*args, asset, seconds, hold, first)
        return Quote(*args, None, 0, 0, first)

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

    def _existing(self, call_id: str, a_number: str, b_number: str, hold: dict) -> Authorization:
        a_price, b_price = self._prices(a_number, b_number)
        budget = self.rates.in_ett(hold["amount"], hold["asset"])
        seconds = self._max_seconds(a_price, b_price, budget) if hold["state"] == "open" else 0
        first = self._both_legs(a_price, b_price, max(self.tariffs.min_seconds, 1))
        quote = Quote(
            normalize(a_number), normalize(b_number), a_price, b_price,
            hold["asset"], seconds, hold["amount"], first,
        )  # fmt: skip
        return Authorization(call_id, hold_key(call_id), hold["asset"], seconds, quote)

    def _place_hold(
        self, account_id: int, call_id: str, quote: Quote, cap_left: int
    ) -> Authorization:
        if quote.free:
            return Authorization(call_id, None, "ETT", quote.max_seconds, quote)
        if quote.asset is None:
            if cap_left < quote.first_minute:
                raise CallRefused("daily_cap", f"daily spending cap reached ({cap_left} left)")
            raise CallRefused(
                "insufficient_funds", f"the first minute costs {quote.first_minute} ETT units"
            )
        try:
            self.ledger.place_hold(
                key=hold_key(call_id),
                book=account_book(account_id),
                asset=quote.asset,
                amount=quote.hold,
                ref=call_id,
            )
        except InsufficientFunds as error:
            raise CallRefused("insufficient_funds", str(error)) from None
        return Authorization(call_id, hold_key(call_id), quote.asset, quote.max_seconds, quote)

    def _charge_without_hold(self, call: object, price: int) -> tuple[int, str]:
        """A call with no hold is free (internal) or was never authorised: charge ETT if due."""
        if price == 0:
            return 0, "ETT"
        book = account_book(call.account_id)
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
