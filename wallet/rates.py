"""Conversion between ETT prices and WAVES payments (the configured rate plus a surcharge)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction


class Rates:
    """ETT is the house currency; a WAVES balance pays `rate` ETT per WAVES minus a surcharge.

    Both assets have 8 decimals, so the rate between smallest units equals the rate
    between whole coins.
    """

    def __init__(self, ett_per_waves: Decimal | str, surcharge_percent: Decimal | str) -> None:
        self.ett_per_waves = Fraction(Decimal(str(ett_per_waves)))
        self.surcharge = Fraction(Decimal(str(surcharge_percent))) / 100
        if self.ett_per_waves <= 0 or self.surcharge < 0:
            raise ValueError("the WAVES rate must be positive and the surcharge not negative")

    def waves_for(self, ett_units: int) -> int:
        """WAVES units that pay a price of `ett_units` (surcharge included, rounded up)."""
        exact = Fraction(ett_units) * (1 + self.surcharge) / self.ett_per_waves
        return -(-exact.numerator // exact.denominator)

    def ett_value(self, waves_units: int) -> int:
        """The ETT price `waves_units` can pay for (surcharge deducted, rounded down)."""
        exact = Fraction(waves_units) * self.ett_per_waves / (1 + self.surcharge)
        return exact.numerator // exact.denominator

    def in_ett(self, units: int, asset: str) -> int:
        """An amount of either asset as the ETT price it pays."""
        return units if asset == "ETT" else self.ett_value(units)

    def in_asset(self, ett_units: int, asset: str) -> int:
        """An ETT price as an amount of `asset` that pays it."""
        return ett_units if asset == "ETT" else self.waves_for(ett_units)
