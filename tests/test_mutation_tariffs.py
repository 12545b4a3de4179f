"""Rates and tariffs: the edges bench/mutation.py found untested (no database)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from domain.money import to_units
from wallet.rates import Rates
from wallet.tariffs import Route, TariffError, Tariffs

PARIS = "+33142685300"
RATE_ERROR = "^the WAVES rate must be positive and the surcharge not negative$"
TARIFF_ERROR = "^" + re.escape("min_seconds must be >= 0 and increment >= 1") + "$"


# --- rates -------------------------------------------------------------------------------


@pytest.mark.parametrize(("rate", "surcharge"), [("0", "25"), ("-1", "0"), ("100", "-0.01")])
def test_a_rate_not_positive_or_a_negative_surcharge_is_refused(rate, surcharge):
    with pytest.raises(ValueError, match=RATE_ERROR):
        Rates(rate, surcharge)


def test_a_rate_below_one_and_no_surcharge_are_allowed():
    rates = Rates("0.5", "0")  # 1 WAVES = 0.5 ETT, paying in WAVES costs nothing more
    assert rates.waves_for(100) == 200
    assert rates.ett_value(200) == 100
    assert rates.in_asset(100, "WAVES") == 200 and rates.in_ett(200, "WAVES") == 100
    assert rates.in_asset(100, "ETT") == 100 and rates.in_ett(100, "ETT") == 100


# --- tariffs -----------------------------------------------------------------------------


def _routes(*lines: tuple[str, str]) -> dict[str, Route]:
    return {prefix: Route(prefix, to_units(price, "ETT"), prefix) for prefix, price in lines}


def test_billing_defaults_are_a_minute_then_per_second():
    tariffs = Tariffs(_routes(("33", "0.6")))
    assert (tariffs.min_seconds, tariffs.increment) == (60, 1)
    assert tariffs.billable_seconds(1) == 60
    assert tariffs.billable_seconds(61) == 61
    assert tariffs.billable_seconds(0) == 0


@pytest.mark.parametrize(("min_seconds", "increment"), [(-1, 1), (0, 0), (60, -1)])
def test_bad_rounding_rules_are_refused(min_seconds, increment):
    with pytest.raises(ValueError, match=TARIFF_ERROR):
        Tariffs({}, min_seconds=min_seconds, increment=increment)


def test_no_minimum_bills_whole_seconds_from_the_first():
    tariffs = Tariffs(_routes(("33", "0.6")), min_seconds=0)
    assert tariffs.billable_seconds(0.2) == 1
    assert tariffs.leg_cost(PARIS, 0.2) == to_units("0.01", "ETT")  # one second of 0.6/min


def test_an_empty_table_routes_nothing():
    tariffs = Tariffs({})
    assert tariffs.route(PARIS) is None and tariffs.price_per_minute(PARIS) is None
    assert tariffs.price_per_minute("1001") == 0  # extensions need no route


def test_a_leg_without_route_is_refused_by_name():
    tariffs = Tariffs(_routes(("44", "0.03")))
    with pytest.raises(ValueError, match="^no route to this number$"):
        tariffs.leg_cost(PARIS, 10)


def test_a_quoted_destination_keeps_its_line_break_and_accents(tmp_path: Path):
    path = tmp_path / "tariffs.csv"
    path.write_bytes(
        'prefix,ett_per_minute,destination\r\n262,0.2,"Réunion\r\n(France)"\r\n'.encode()
    )
    route = Tariffs.load(path).route("+262262123456")
    assert route == Route("262", to_units("0.2", "ETT"), "Réunion\r\n(France)")


def _load(tmp_path: Path, text: str) -> Tariffs:
    path = tmp_path / "t.csv"
    path.write_text(text, "utf-8")
    return Tariffs.load(path)


def test_a_prefix_may_be_written_with_a_plus_and_a_price_may_be_zero(tmp_path: Path):
    tariffs = _load(tmp_path, "prefix,ett_per_minute,destination\n+33 , 0 , France \n")
    assert tariffs.routes == {"33": Route("33", 0, "France")}
    assert tariffs.price_per_minute(PARIS) == 0


def test_a_missing_destination_column_is_an_empty_label(tmp_path: Path):
    tariffs = _load(tmp_path, "prefix,ett_per_minute\n33,0.03\n")
    assert tariffs.routes == {"33": Route("33", to_units("0.03", "ETT"), "")}


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("3x,0.03,X\n", "t.csv row 1: prefix must be digits"),
        (",0.03,X\n", "t.csv row 1: prefix must be digits"),
        ("33,0.03,X\n44,,Y\n", "t.csv row 2: bad price ''"),
        ("33,-0.01,X\n", "t.csv row 1: negative price"),
        ("33,0.03,X\n+33,0.04,Y\n", "t.csv row 2: duplicate prefix"),
        ("# only a comment\n", "t.csv: no tariff lines"),
    ],
)
def test_each_malformed_file_is_refused_with_its_reason(tmp_path: Path, rows, message):
    with pytest.raises(TariffError, match="^" + re.escape(f"{tmp_path}/{message}") + "$"):
        _load(tmp_path, "prefix,ett_per_minute,destination\n" + rows)
