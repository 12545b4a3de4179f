"""Monthly report benchmark: `admin report`'s figures over many call records.

    .venv/bin/python bench/report.py [--calls 100000] [--backend sqlite]

Fills an isolated database with `--calls` ended call records in November 2026 (callbacks
to a spread of destinations, a tenth of them unanswered, some internal and inbound) and a
fifth as many in October and December, charges on the ledger for one in ten, and
refusals; then times the report of 2026-11 (every figure: revenue, minutes by
destination, ASR/ACD, active accounts, refusals) beside a reference measured in the same
run: a plain COUNT of the month's call records. Prints JSON: seconds for each.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select
from sqlmodel import col

from domain.books import DEPOSITS, REVENUE, TransferKind
from ops.report import build, parse_month
from storage import open_database
from storage.accounts import AccountStore
from storage.db import read, transaction
from storage.fraud import FraudStore
from storage.ledger_store import LedgerStore, account_book
from storage.models import CallRecord
from testbed.dbs import BACKENDS, isolated_database
from wallet.tariffs import Tariffs

NUMBERS = [
    "+33142685300", "+33612345678", "+442079460958", "+447700900123", "+12125550100",
    "+18765550100", "+79161234567", "+74951234567", "+4915112345678", "+390612345678",
]  # fmt: skip
ACCOUNTS = 200
BATCH = 5_000


def fill(url: str, calls: int, seed: int = 7) -> None:
    """`calls` records in November, calls // 5 around it, charges and refusals."""
    rng = random.Random(seed)
    engine = open_database(url)
    accounts = [AccountStore(engine).resolve("console", f"bench-{i}").id for i in range(ACCOUNTS)]
    nov, dec = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    outside = calls // 5
    spans = [(nov, dec, calls), (nov - timedelta(days=10), nov, outside // 2)]
    spans.append((dec, dec + timedelta(days=10), outside - outside // 2))
    serial = 0
    for start, end, count in spans:
        seconds = int((end - start).total_seconds())
        for first in range(0, count, BATCH):
            with transaction(engine) as session:
                for _ in range(min(BATCH, count - first)):
                    serial += 1
                    session.add(_record(rng, serial, accounts, start, seconds))
    ledger, refusals = LedgerStore(engine), FraudStore(engine)
    for account in accounts:
        ledger.transfer(
            key=f"bench-fund:{account}", kind=TransferKind.DEPOSIT.value, asset="ETT",
            amount=10**12, debit=DEPOSITS, credit=account_book(account), reason="bench",
        )  # fmt: skip
    for i in range(calls // 10):
        ledger.transfer(
            key=f"bench-charge:{i}", kind=TransferKind.CALL.value, asset="ETT",
            amount=rng.randint(10**5, 10**7), debit=account_book(rng.choice(accounts)),
            credit=REVENUE, reason="bench",
        )  # fmt: skip
    for _ in range(calls // 100):
        rule = rng.choice(["insufficient_funds", "premium_rate", "daily_cap", "no_route"])
        refusals.record_refusal(account_id=rng.choice(accounts), rule=rule, detail="bench")
    engine.dispose()


def _record(
    rng: random.Random, serial: int, accounts: list[int], start: datetime, span: int
) -> CallRecord:
    placed = start + timedelta(seconds=rng.randrange(span))
    kind = rng.choices(["callback", "internal", "inbound", "outbound"], [70, 10, 10, 10])[0]
    a = "1001" if kind in ("internal", "outbound") else rng.choice(NUMBERS)
    b = "1002" if kind == "internal" else rng.choice(NUMBERS)
    answered = rng.random() > 0.1
    a_at = placed + timedelta(seconds=5) if kind == "callback" else None
    b_at = placed + timedelta(seconds=15) if answered else None
    end = placed + timedelta(seconds=20 + rng.randrange(900), microseconds=rng.randrange(10**6))
    return CallRecord(
        id=f"bench{serial:011d}", account_id=rng.choice(accounts), kind=kind,
        a_number=a, b_number=b, state="ended", created_at=placed, updated_at=end,
        a_answered_at=a_at, b_answered_at=b_at, ended_at=end,
        hangup_cause="hangup_a" if answered else "no_answer",
    )  # fmt: skip


def measure(url: str) -> dict[str, float]:
    """Seconds of the report of 2026-11 and of the reference COUNT (best of 3 each)."""
    engine = open_database(url, migrate=False)
    month, tariffs = parse_month("2026-11"), Tariffs.load()
    placed = func.coalesce(col(CallRecord.scheduled_at), col(CallRecord.created_at))
    count = select(func.count()).where(placed >= month.start, placed < month.end)

    def reference() -> int:
        with read(engine) as conn:
            return int(conn.execute(count).scalar_one())

    timings: dict[str, float] = {}
    for name, job in (("count", reference), ("report", lambda: build(engine, tariffs, month))):
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            job()
            best = min(best, time.perf_counter() - started)
        timings[name] = round(best, 4)
    report = build(engine, tariffs, month)
    timings["attempted"] = report.calls.attempted
    engine.dispose()
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--backend", choices=BACKENDS, action="append")
    args = parser.parse_args()
    logging.getLogger().setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    results = {}
    for backend in args.backend or BACKENDS:
        with tempfile.TemporaryDirectory() as tmp:
            with isolated_database(backend, Path(tmp)) as url:
                fill(url, args.calls)
                results[backend] = measure(url)
    print(json.dumps({"calls": args.calls, "seconds": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
