"""Assets and amounts: integers in the smallest unit, decimals only at the edges.

Both assets the exchange takes live on the Waves blockchain with 8 decimals (WAVES by
protocol; ETT as issued). An `Amount` carries its asset, so a number of units is never
read in the wrong one.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

ASSETS = ("ETT", "WAVES")
DECIMALS = {"ETT": 8, "WAVES": 8}


def to_units(amount: Decimal | str | int | float, asset: str) -> int:
    """Convert a human amount (`"2.5"`) to integer smallest units; reject extra precision."""
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        raise ValueError(f"not an amount: {amount!r}") from None
    scaled = value.scaleb(DECIMALS[asset])
    if scaled != scaled.to_integral_value() or not value.is_finite():
        raise ValueError(f"{asset} has at most {DECIMALS[asset]} decimals")
    return int(scaled)


def from_units(units: int, asset: str) -> Decimal:
    """The human amount of `units` smallest units."""
    return Decimal(units).scaleb(-DECIMALS[asset])


def format_amount(units: int, asset: str) -> str:
    """`43000000, "ETT"` → `"0.43 ETT"` (trailing zeros dropped, at least one digit)."""
    text = f"{from_units(units, asset):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text} {asset}"


@dataclass(frozen=True, order=True)
class Amount:
    """`units` smallest units of `asset` (an integer: 10**8 units are 1 ETT).

    Raises ValueError for an asset the exchange does not take. Amounts of different
    assets never add up: `+` and `-` raise ValueError.
    """

    asset: str
    units: int

    def __post_init__(self) -> None:
        if self.asset not in DECIMALS:
            raise ValueError(f"unknown asset {self.asset!r}")
        if not isinstance(self.units, int) or isinstance(self.units, bool):
            raise ValueError("an amount is a whole number of smallest units")

    @classmethod
    def parse(cls, amount: Decimal | str | int | float, asset: str) -> Amount:
        """A human amount (`"2.5"`) of `asset`; ValueError for extra precision."""
        return cls(asset, to_units(amount, asset))

    def __add__(self, other: Amount) -> Amount:
        return Amount(self.asset, self.units + self._same(other).units)

    def __sub__(self, other: Amount) -> Amount:
        return Amount(self.asset, self.units - self._same(other).units)

    def _same(self, other: Amount) -> Amount:
        if other.asset != self.asset:
            raise ValueError(f"cannot combine {self.asset} with {other.asset}")
        return other

    @property
    def value(self) -> Decimal:
        """The human amount (`Decimal("0.43")`)."""
        return from_units(self.units, self.asset)

    def __str__(self) -> str:
        return format_amount(self.units, self.asset)
