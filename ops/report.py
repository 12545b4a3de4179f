"""The operator's monthly report: revenue, minutes by destination, calls (ASR, ACD),
active accounts and top refusals of one calendar month (UTC), as figures, a text table,
JSON and a PNG chart.

Aggregates only: the figures come grouped from storage/reports.py; no number, account or
call identity is read or shown.

Definitions (where the issue left them open):
- the month is the UTC calendar month [first day 00:00, next month's first day 00:00);
  a call belongs to the month it was placed in (its scheduled time, else its creation);
  a ledger entry or a refusal to the month it was written in;
- revenue: every entry of the REVENUE book (domain/books.py) by asset and transfer kind,
  in smallest units: what it was credited (charges) and debited (refunds), and the net;
  the API's voice 2FA charges (kind `call`, key `verify:…`) are a line of their own;
- minutes by destination: billable minutes of each answered leg, rounded as billing
  rounds a leg (WALLET_MIN_BILLED_SECONDS, WALLET_BILLING_INCREMENT), labelled with the
  tariff file's destination of the leg's number (longest prefix, wallet/tariffs.py).
  Both legs of a callback count, each under its own number (each is a leg the carrier
  bills and the account pays); calls between extensions are one line, calls from the
  trunk to direct numbers another (both free, shown for the traffic);
- calls: those placed in the month and ended, less the scheduled ones cancelled and
  those refused before dialling (they are in the refusals). ASR = answered / attempted;
  ACD = the answered calls' mean duration (the callee's leg; leg a for a service call);
- active accounts: accounts with a call placed in the month or a ledger entry on their
  book in it (deposit, charge, refund, withdrawal).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Engine

from domain.money import from_units
from domain.numbers import CUT_MARK
from ops.charts import Bars, bar_panels
from storage import reports
from wallet.tariffs import Tariffs

MONTH = re.compile(r"^(\d{4})-(\d{2})$")
INTERNAL_LABEL = "Internal (extension to extension)"
INBOUND_LABEL = "Inbound (to direct numbers)"
NO_TARIFF_LABEL = "No tariff"
DEFAULT_TOP = 10
CHART_DESTINATIONS = 15  # bars of the minutes chart; the rest are summed as "Other"


class MonthError(ValueError):
    """A month that is not YYYY-MM (1970-01 to 9998-12); the message says so."""


@dataclass(frozen=True)
class Month:
    """A UTC calendar month: [start, end)."""

    name: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class RevenueRow:
    """One asset and transfer kind: smallest units credited to REVENUE, debited from it
    (refunds), and the net."""

    asset: str
    kind: str
    credited: int
    debited: int

    @property
    def net(self) -> int:
        return self.credited - self.debited


@dataclass(frozen=True)
class Destination:
    """Billable minutes to one destination label: answered legs and their seconds."""

    label: str
    legs: int
    billable_seconds: int


@dataclass(frozen=True)
class Report:
    """The month's figures; amounts in smallest units, durations in seconds."""

    month: Month
    revenue: list[RevenueRow]
    destinations: list[Destination]
    calls: reports.CallTotals
    active_accounts: int
    refusals: list[tuple[str, int]]
    refusals_total: int

    @property
    def asr(self) -> float | None:
        """Answered / attempted calls (0 to 1), None without an attempt."""
        calls = self.calls
        return calls.answered / calls.attempted if calls.attempted else None

    @property
    def acd_seconds(self) -> float | None:
        """Mean duration of the answered calls in seconds, None without one."""
        calls = self.calls
        return calls.answered_microseconds / calls.answered / 1e6 if calls.answered else None


def parse_month(text: str) -> Month:
    """`2026-11` as the UTC month [2026-11-01 00:00, 2026-12-01 00:00). Raises MonthError."""
    match = MONTH.match(text.strip())
    year, month = (int(match[1]), int(match[2])) if match else (0, 0)
    if not (1970 <= year <= 9998 and 1 <= month <= 12):
        raise MonthError(f"--month must be a month as YYYY-MM, such as 2026-11, not {text!r}")
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return Month(f"{year:04d}-{month:02d}", start, end)


def build(engine: Engine, tariffs: Tariffs, month: Month, *, top: int = DEFAULT_TOP) -> Report:
    """The report of `month` from the database, with `tariffs` labelling destinations and
    rounding legs. `top`: how many refusal rules to list (>= 1)."""
    if top < 1:
        raise ValueError("top must be at least 1")
    start, end = month.start, month.end
    longest = max((len(prefix) for prefix in tariffs.routes), default=0)
    legs = reports.leg_minutes(
        engine,
        start,
        end,
        prefix_chars=longest + 1,
        min_seconds=tariffs.min_seconds,
        increment=tariffs.increment,
    )
    refusals, refusals_total = reports.refusals_by_rule(engine, start, end, limit=top)
    return Report(
        month=month,
        revenue=[RevenueRow(**asdict(line)) for line in reports.revenue(engine, start, end)],
        destinations=destinations(legs, tariffs),
        calls=reports.call_totals(engine, start, end),
        active_accounts=reports.active_accounts(engine, start, end),
        refusals=refusals,
        refusals_total=refusals_total,
    )


def destinations(legs: list[reports.LegMinutes], tariffs: Tariffs) -> list[Destination]:
    """Grouped legs summed by destination label, most minutes first (then by label)."""
    totals: dict[str, list[int]] = {}
    for group in legs:
        label = destination_label(group, tariffs)
        total = totals.setdefault(label, [0, 0])
        total[0] += group.legs
        total[1] += group.billable_seconds
    rows = [Destination(label, n, seconds) for label, (n, seconds) in totals.items()]
    return sorted(rows, key=lambda row: (-row.billable_seconds, row.label))


def destination_label(group: reports.LegMinutes, tariffs: Tariffs) -> str:
    """The line a group of legs is shown on: internal, inbound, or the tariff file's
    destination of its number's first digits (the longest tariff prefix among them, as
    Tariffs.route chooses; a number cut after CDR_RETENTION_DAYS keeps enough of them)."""
    if group.line == reports.INTERNAL:
        return INTERNAL_LABEL
    if group.line == reports.INBOUND:
        return INBOUND_LABEL
    text = group.prefix.removesuffix(CUT_MARK)
    if not group.long and text.isdigit():
        return INTERNAL_LABEL  # a callback's leg to an extension
    digits = re.match(r"\+(\d*)", text)
    if digits is None:
        return NO_TARIFF_LABEL
    number = digits[1]
    for length in range(len(number), 0, -1):
        route = tariffs.routes.get(number[:length])
        if route is not None:
            return route.destination or route.prefix
    return NO_TARIFF_LABEL


def amount(units: int, asset: str) -> str:
    """Smallest units in asset units with 8 decimals: 1500000 → "0.01500000"."""
    return f"{from_units(units, asset):.8f}"


def minutes(seconds: int) -> str:
    """Seconds as minutes with 2 decimals: 90 → "1.50"."""
    return f"{Decimal(seconds) / 60:.2f}"


def as_json(report: Report) -> dict:
    """The report as JSON-ready data: amounts both in smallest units (integers) and as
    text with 8 decimals, seconds as integers, ASR and ACD rounded (4 and 1 decimals)."""
    month = report.month
    assets: dict[str, dict] = {}
    for row in report.revenue:
        asset = assets.setdefault(row.asset, {"by_kind": {}, "net_units": 0})
        asset["by_kind"][row.kind] = {
            "credited_units": row.credited,
            "refunded_units": row.debited,
            "net_units": row.net,
            "net": amount(row.net, row.asset),
        }
        asset["net_units"] += row.net
    for name, asset in assets.items():
        asset["net"] = amount(asset["net_units"], name)
    asr, acd = report.asr, report.acd_seconds
    return {
        "month": month.name,
        "from": month.start.isoformat(),
        "until": month.end.isoformat(),
        "revenue": assets,
        "minutes_by_destination": [
            {
                "destination": row.label,
                "legs": row.legs,
                "billable_seconds": row.billable_seconds,
                "minutes": minutes(row.billable_seconds),
            }
            for row in report.destinations
        ],
        "calls": {
            "attempted": report.calls.attempted,
            "answered": report.calls.answered,
            "asr": None if asr is None else round(asr, 4),
            "acd_seconds": None if acd is None else round(acd, 1),
        },
        "active_accounts": report.active_accounts,
        "refusals": {
            "total": report.refusals_total,
            "top": [{"rule": rule, "count": count} for rule, count in report.refusals],
        },
    }


def as_text(report: Report) -> str:
    """The report as a readable text table (the operator's terminal)."""
    month = report.month
    lines = [
        f"EncryptoTel report for {month.name} "
        f"(UTC, {month.start:%Y-%m-%d %H:%M} to {month.end:%Y-%m-%d %H:%M})",
        "",
        "Revenue (entries of the revenue book; refunds are debits)",
    ]
    if report.revenue:
        lines.append(f"  {'asset':<6} {'kind':<20} {'credited':>18} {'refunded':>18} {'net':>18}")
        for asset in sorted({row.asset for row in report.revenue}):
            rows = [row for row in report.revenue if row.asset == asset]
            for row in rows:
                lines.append(
                    f"  {asset:<6} {row.kind:<20} {amount(row.credited, asset):>18} "
                    f"{amount(row.debited, asset):>18} {amount(row.net, asset):>18}"
                )
            net = sum(row.net for row in rows)
            lines.append(f"  {asset:<6} {'total':<20} {'':>18} {'':>18} {amount(net, asset):>18}")
    else:
        lines.append("  none")
    lines += ["", "Minutes by destination (billable minutes of each answered leg)"]
    if report.destinations:
        lines.append(f"  {'destination':<36} {'legs':>8} {'minutes':>12}")
        for place in report.destinations:
            lines.append(
                f"  {place.label[:36]:<36} {place.legs:>8} {minutes(place.billable_seconds):>12}"
            )
        total = sum(place.billable_seconds for place in report.destinations)
        legs = sum(place.legs for place in report.destinations)
        lines.append(f"  {'total':<36} {legs:>8} {minutes(total):>12}")
    else:
        lines.append("  none")
    asr, acd = report.asr, report.acd_seconds
    lines += [
        "",
        "Calls",
        f"  attempted {report.calls.attempted}, answered {report.calls.answered}, "
        f"ASR {'-' if asr is None else f'{asr * 100:.1f} %'}, "
        f"ACD {'-' if acd is None else f'{int(acd) // 60}:{int(acd) % 60:02d} ({acd:.1f} s)'}",
        "",
        f"Active accounts: {report.active_accounts}",
        "",
        f"Top refusals ({report.refusals_total} in all)",
    ]
    if report.refusals:
        lines += [f"  {rule:<24} {count:>8}" for rule, count in report.refusals]
    else:
        lines.append("  none")
    return "\n".join(lines) + "\n"


def chart(report: Report) -> bytes:
    """A PNG: minutes by destination (the CHART_DESTINATIONS largest, the rest as
    "Other"), net revenue by kind for each asset, and the top refusals."""
    rows = report.destinations
    shown = rows[:CHART_DESTINATIONS]
    labels = [row.label for row in shown]
    values = [row.billable_seconds / 60 for row in shown]
    if len(rows) > CHART_DESTINATIONS:
        labels.append("Other")
        values.append(sum(row.billable_seconds for row in rows[CHART_DESTINATIONS:]) / 60)
    panels = [Bars(f"Billable minutes by destination, {report.month.name}", labels, values, "min")]
    for asset in sorted({row.asset for row in report.revenue}) or ["ETT"]:
        mine = [row for row in report.revenue if row.asset == asset]
        panels.append(
            Bars(
                f"Net revenue in {asset} by kind, {report.month.name}",
                [row.kind for row in mine],
                [float(from_units(row.net, asset)) for row in mine],
                asset,
            )
        )
    panels.append(
        Bars(
            f"Top refusals, {report.month.name}",
            [rule for rule, _ in report.refusals],
            [float(count) for _, count in report.refusals],
            "refused",
        )
    )
    return bar_panels(panels)
