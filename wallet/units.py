"""Assets and amounts: integers in the smallest unit, decimals only at the edges."""

from __future__ import annotations

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
