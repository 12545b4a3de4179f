"""Toll-fraud and abuse rules, checked before every dial on both legs.

Each refusal raises `CallRefused(rule, detail)` with a stable rule code the chat core
translates, and is recorded in the FraudRefusal table.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time
from typing import NamedTuple

import phonenumbers
from sqlalchemy import Connection, Engine

from domain.clock import utcnow
from domain.money import to_units
from domain.numbers import is_internal, normalize
from settings import Settings
from storage.fraud import FraudStore
from storage.models import Account
from wallet.rates import Rates
from wallet.tariffs import Tariffs

RULES = (
    "premium_rate",
    "country_not_allowed",
    "daily_cap",
    "concurrent_calls",
    "same_number_daily",
    "rate_per_minute",
    "no_route",
    "insufficient_funds",
)
_TYPE_NAMES = {
    getattr(phonenumbers.PhoneNumberType, name): name
    for name in dir(phonenumbers.PhoneNumberType)
    if name.isupper()
}


class Checked(NamedTuple):
    """What the rules read while checking a call: the ETT units the daily cap still
    allows (`remaining_today`) and the account's other calls in progress (`busy`)."""

    remaining_today: int
    busy: frozenset[str]


class CallRefused(Exception):
    """A call may not be dialled; `rule` is one of RULES, `detail` says why in English."""

    def __init__(self, rule: str, detail: str, number: str | None = None) -> None:
        super().__init__(f"{rule}: {detail}")
        self.rule, self.detail, self.number = rule, detail, number


def number_type(number: str) -> str:
    """libphonenumber's type of an E.164 number (`MOBILE`, `PREMIUM_RATE`, ..., `UNKNOWN`)."""
    try:
        parsed = phonenumbers.parse(normalize(number), None)
    except phonenumbers.NumberParseException:
        return "UNKNOWN"
    if not phonenumbers.is_valid_number(parsed):
        return "UNKNOWN"
    return _TYPE_NAMES.get(phonenumbers.number_type(parsed), "UNKNOWN")


def country_of(number: str) -> str | None:
    """The ISO country code of an E.164 number (`001` for non-geographic), None if unparsable."""
    try:
        parsed = phonenumbers.parse(normalize(number), None)
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.region_code_for_number(parsed)


def parse_countries(text: str | None) -> frozenset[str]:
    """`"fr, de,GB"` → {"FR", "DE", "GB"}."""
    return frozenset(c.strip().upper() for c in (text or "").split(",") if c.strip())


def is_own_verified_number(account: Account, number: str) -> bool:
    """Whether `number` is the account's own phone, verified by its keypad code (an
    unverified "my number is +X" proves nothing and exempts nothing)."""
    own = account.phone_number
    return bool(own and account.phone_verified and normalize(own) == normalize(number))


def start_of_day(now: datetime | None = None) -> datetime:
    """Midnight UTC of today: daily limits count from there."""
    now = now or utcnow()
    return datetime.combine(now.date(), time(0), tzinfo=now.tzinfo)


class FraudRules:
    """The configured limits and the checks that apply them."""

    def __init__(
        self,
        engine: Engine,
        tariffs: Tariffs,
        *,
        default_countries: frozenset[str],
        refused_types: frozenset[str],
        daily_cap: int,
        max_concurrent: int,
        max_same_number_daily: int,
        max_price_per_minute: int,
        rates: Rates,
    ) -> None:
        self.store = FraudStore(engine)
        self.tariffs = tariffs
        self.default_countries = default_countries
        self.refused_types = refused_types
        self.daily_cap = daily_cap
        self.max_concurrent = max_concurrent
        self.max_same_number_daily = max_same_number_daily
        self.max_price_per_minute = max_price_per_minute
        self.rates = rates

    @classmethod
    def from_settings(cls, engine: Engine, tariffs: Tariffs, settings: Settings) -> FraudRules:
        """Rules with the FRAUD_* and WALLET_* limits of `settings`."""
        return cls(
            engine,
            tariffs,
            default_countries=parse_countries(settings.FRAUD_DEFAULT_COUNTRIES),
            refused_types=parse_countries(settings.FRAUD_REFUSED_NUMBER_TYPES),
            daily_cap=to_units(settings.FRAUD_DAILY_CAP_ETT, "ETT"),
            max_concurrent=settings.FRAUD_MAX_CONCURRENT_CALLS,
            max_same_number_daily=settings.FRAUD_MAX_CALLS_SAME_NUMBER_DAILY,
            max_price_per_minute=to_units(settings.FRAUD_MAX_PRICE_PER_MINUTE_ETT, "ETT"),
            rates=Rates(settings.WALLET_WAVES_ETT_RATE, settings.WALLET_WAVES_SURCHARGE_PERCENT),
        )

    def allowed_countries(self, account: Account) -> frozenset[str]:
        """The account's own allow-list, or the default list when it has none."""
        if account.allowed_countries is None:
            return self.default_countries
        return parse_countries(account.allowed_countries)

    def check(
        self, account: Account, a_number: str, b_number: str, *, call_id: str | None = None
    ) -> Checked:
        """Raise CallRefused (and record it) when any rule forbids this call; otherwise
        the figures the rules read, for the hold placed right after."""
        try:
            return self._check(account, a_number, b_number, call_id)
        except CallRefused as refusal:
            self.record(account.id, refusal, call_id)
            raise

    def record(self, account_id: int | None, refusal: CallRefused, call_id: str | None) -> None:
        """Store a refusal (also those raised by billing)."""
        self.store.record_refusal(
            account_id=account_id,
            rule=refusal.rule,
            detail=refusal.detail,
            number=refusal.number,
            call_id=call_id,
        )

    def committed_today(self, account_id: int) -> int:
        """ETT value of today's call charges plus open call holds of the account (a WAVES
        amount counts at the ETT price it pays, rounded down)."""
        return self._ett_value(self.store.committed(account_id, start_of_day()))

    def remaining_today(self, account_id: int) -> int:
        """ETT units the account may still commit today under the daily cap."""
        return max(0, self.daily_cap - self.committed_today(account_id))

    def cap_guard(self, account_id: int) -> Callable[[Connection], None]:
        """The daily cap as a ledger hold guard: inside the hold's transaction, under the
        account's lock, everything committed today (the new hold included) must stay
        within the cap, else CallRefused("daily_cap") undoes the hold. So simultaneous
        holds from several instances never commit more than the cap together."""

        def guard(conn: Connection) -> None:
            committed = self._ett_value(self.store.committed(account_id, start_of_day(), conn))
            if committed > self.daily_cap:
                raise CallRefused(
                    "daily_cap", f"daily spending cap reached ({committed} > {self.daily_cap})"
                )

        return guard

    def busy_calls(self, account_id: int, call_id: str | None = None) -> set[str]:
        """Ids of the account's other calls in progress or holding funds."""
        busy = self.store.running_call_ids(account_id)
        busy.update(ref for ref, _asset, _units in self.store.open_call_holds(account_id) if ref)
        busy.discard(call_id or "")
        return busy

    def _ett_value(self, by_asset: dict[str, int]) -> int:
        return sum(self.rates.in_ett(units, asset) for asset, units in by_asset.items())

    # --- the rules ---------------------------------------------------------------

    def _check(
        self, account: Account, a_number: str, b_number: str, call_id: str | None
    ) -> Checked:
        legs = [normalize(a_number), normalize(b_number)]
        for number in legs:
            self._check_number(account, number)
        busy = self._check_concurrency(account, call_id)
        for number in dict.fromkeys(legs):
            self._check_same_number(account, number, call_id)
        first_minute = sum(
            self.tariffs.cost(self.tariffs.price_per_minute(n) or 0, 60) for n in legs
        )
        remaining = self.remaining_today(account.id)
        if first_minute > remaining:
            raise CallRefused(
                "daily_cap", f"daily spending cap reached ({remaining} of {self.daily_cap} left)"
            )
        return Checked(remaining, frozenset(busy))

    def _check_number(self, account: Account, number: str) -> None:
        if is_internal(number):
            return
        kind = number_type(number)
        if kind in self.refused_types:
            raise CallRefused("premium_rate", f"{kind.lower()} numbers are refused", number)
        country = country_of(number)
        if country not in self.allowed_countries(account):
            raise CallRefused("country_not_allowed", f"calls to {country} are not allowed", number)
        price = self.tariffs.price_per_minute(number)
        if price is None:
            raise CallRefused("no_route", "no tariff for this destination", number)
        if price > self.max_price_per_minute:
            raise CallRefused(
                "rate_per_minute",
                f"price per minute {price} exceeds the limit {self.max_price_per_minute}",
                number,
            )

    def _check_concurrency(self, account: Account, call_id: str | None) -> set[str]:
        busy = self.busy_calls(account.id, call_id)
        if len(busy) >= self.max_concurrent:
            raise CallRefused(
                "concurrent_calls", f"{len(busy)} calls in progress (limit {self.max_concurrent})"
            )
        return busy

    def _check_same_number(self, account: Account, number: str, call_id: str | None) -> None:
        if is_internal(number) or is_own_verified_number(account, number):
            return  # the user's own phone rings on most callbacks, an extension costs nothing
        count = self.store.calls_to_number(account.id, number, start_of_day(), exclude=call_id)
        if count >= self.max_same_number_daily:
            raise CallRefused(
                "same_number_daily",
                f"{count} calls to this number today (limit {self.max_same_number_daily})",
                number,
            )
