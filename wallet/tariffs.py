"""Tariffs: price per minute by destination prefix, and the cost of one call leg.

The table is a CSV file (`prefix,ett_per_minute,destination`, `#` comments) shipped as
wallet/tariffs.csv and replaceable with the WALLET_TARIFFS_FILE setting. The longest
matching prefix wins; internal extensions are free.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from domain.money import to_units
from domain.numbers import is_e164, is_internal, normalize

SHIPPED_TARIFFS = Path(__file__).resolve().parent / "tariffs.csv"


class TariffError(ValueError):
    """The tariff file is malformed (the message names the line)."""


@dataclass(frozen=True)
class Route:
    """The tariff line that prices a number."""

    prefix: str
    price_per_minute: int
    destination: str


class Tariffs:
    """Destination prefix → price per minute in ETT units, plus the billing rounding rules."""

    def __init__(
        self, routes: dict[str, Route], *, min_seconds: int = 60, increment: int = 1
    ) -> None:
        if min_seconds < 0 or increment < 1:
            raise ValueError("min_seconds must be >= 0 and increment >= 1")
        self.routes = routes
        self.min_seconds = min_seconds
        self.increment = increment
        self._longest = max((len(p) for p in routes), default=0)

    @classmethod
    def load(
        cls, path: str | Path | None = None, *, min_seconds: int = 60, increment: int = 1
    ) -> Tariffs:
        """Read a tariff CSV (the shipped one when `path` is None)."""
        path = Path(path) if path else SHIPPED_TARIFFS
        routes: dict[str, Route] = {}
        with path.open(newline="", encoding="utf-8") as handle:
            lines = (line for line in handle if line.strip() and not line.startswith("#"))
            for number, row in enumerate(csv.DictReader(lines), start=1):
                routes_line = _parse_row(row, number, path)
                if routes_line.prefix in routes:
                    raise TariffError(f"{path} row {number}: duplicate prefix")
                routes[routes_line.prefix] = routes_line
        if not routes:
            raise TariffError(f"{path}: no tariff lines")
        return cls(routes, min_seconds=min_seconds, increment=increment)

    def route(self, number: str) -> Route | None:
        """The longest-prefix tariff line of an E.164 number, None when there is none."""
        text = normalize(number)
        if not is_e164(text):
            return None
        digits = text[1:]
        for length in range(min(self._longest, len(digits)), 0, -1):
            route = self.routes.get(digits[:length])
            if route:
                return route
        return None

    def price_per_minute(self, number: str) -> int | None:
        """ETT units per minute to call `number`: 0 for an extension, None for no route."""
        if is_internal(number):
            return 0
        route = self.route(number)
        return route.price_per_minute if route else None

    def billable_seconds(self, seconds: float) -> int:
        """Answered seconds rounded up to the increment, at least the minimum (0 stays 0)."""
        if seconds <= 0:
            return 0
        whole = max(math.ceil(seconds), self.min_seconds)
        return math.ceil(whole / self.increment) * self.increment

    def cost(self, price_per_minute: int, seconds: float) -> int:
        """Cost in units of `seconds` answered at `price_per_minute` (rounded up)."""
        billable = self.billable_seconds(seconds)
        return -(-price_per_minute * billable // 60)

    def leg_cost(self, number: str, seconds: float) -> int:
        """Cost in ETT units of one leg to `number` answered for `seconds`."""
        price = self.price_per_minute(number)
        if price is None:
            raise ValueError("no route to this number")
        return self.cost(price, seconds)


def _parse_row(row: dict, number: int, path: Path) -> Route:
    prefix = (row.get("prefix") or "").strip().lstrip("+")
    price_text = (row.get("ett_per_minute") or "").strip()
    if not prefix.isdigit():
        raise TariffError(f"{path} row {number}: prefix must be digits")
    try:
        price = to_units(price_text, "ETT")
    except (ValueError, KeyError):
        raise TariffError(f"{path} row {number}: bad price {price_text!r}") from None
    if price < 0:
        raise TariffError(f"{path} row {number}: negative price")
    return Route(prefix, price, (row.get("destination") or "").strip())
