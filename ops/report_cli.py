"""`python main.py admin report --month YYYY-MM [--png FILE] [--json] [--top N]
[--database URL]`: the operator's monthly report (ops/report.py).

Prints a text table (JSON with --json) on stdout; --png writes a chart of minutes by
destination, revenue and refusals. The month is a UTC calendar month. A bad argument
(a month that is not YYYY-MM, a PNG path that cannot be written) is one line on stderr,
`error: ...`, and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ops.report import DEFAULT_TOP, MonthError, as_json, as_text, build, chart, parse_month
from settings import SettingsError, load_settings
from storage import NoDatabase, open_existing_database
from wallet.tariffs import TariffError, Tariffs


def build_parser() -> argparse.ArgumentParser:
    """The `admin report` command line."""
    parser = argparse.ArgumentParser(
        prog="main.py admin report",
        description="The month's revenue, minutes by destination, calls (ASR, ACD), active "
        "accounts and top refusals: aggregates only, no number or account is shown.",
    )
    parser.add_argument("command", choices=["report"], help=argparse.SUPPRESS)
    parser.add_argument("--month", required=True, help="UTC calendar month, YYYY-MM")
    parser.add_argument("--png", metavar="FILE", help="also write the chart (PNG) to FILE")
    parser.add_argument("--json", action="store_true", help="JSON instead of the table")
    parser.add_argument(
        "--top", type=int, default=DEFAULT_TOP, help=f"refusal rules listed (default {DEFAULT_TOP})"
    )
    parser.add_argument("--database", help="database URL (default: DATABASE_URL)")
    return parser


def main(argv: list[str]) -> int:
    """Run `admin report`; return the exit status (2: bad arguments or settings)."""
    args = build_parser().parse_args(argv)
    try:
        month = parse_month(args.month)
        if args.top < 1:
            raise MonthError("--top must be at least 1")
        settings = load_settings()
        tariffs = Tariffs.load(
            settings.WALLET_TARIFFS_FILE,
            min_seconds=settings.WALLET_MIN_BILLED_SECONDS,
            increment=settings.WALLET_BILLING_INCREMENT,
        )
    except (MonthError, SettingsError, TariffError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    png = Path(args.png) if args.png else None
    if png is not None and not png.parent.is_dir():
        print(f"error: --png: no directory {png.parent}", file=sys.stderr)
        return 2
    try:
        engine = open_existing_database(args.database or settings.DATABASE_URL)
    except NoDatabase as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        report = build(engine, tariffs, month, top=args.top)
    finally:
        engine.dispose()
    if png is not None:
        try:
            png.write_bytes(chart(report))
        except OSError as error:
            print(f"error: --png: {error.strerror or error}", file=sys.stderr)
            return 2
    if args.json:
        print(json.dumps(as_json(report), ensure_ascii=False, indent=2))
    else:
        sys.stdout.write(as_text(report))
    return 0
