"""Bench: the cost of one `/metrics` scrape with N call records in the database.

    .venv/bin/python bench/metrics.py [--records 1000 10000 100000] [--backend sqlite postgresql]
                                      [--repeat 5]

For each backend and N (on a fresh database): call records of every kind and outcome
(answered callbacks and internal calls, busy, no answer, refused) and 20 in progress,
20 scheduled; N/2 revenue entries in the ledger, N/100 deposits and webhook deliveries;
then prints the median time of rendering the registry `/metrics` shows
(ops.metrics.build_registry: the database's metrics and the process's own) once its
first scrape has read every ended call and their grace period (60 s: ops/call_tally.py)
has passed — the tallies' clock is moved on, not waited for — and, printed too, the
first scrape and those within its first minute, beside two
references measured in the same run: prometheus_client's generate_latest of a registry
with the process's metrics only, and a bare `SELECT COUNT(*)` of the call records.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from sqlalchemy import Engine, func, select, text

from domain.books import REVENUE
from domain.clock import utcnow
from ops.call_tally import GRACE_SECONDS
from ops.metrics import build_registry
from storage import open_database
from storage.models import CallEvent, CallRecord, LedgerEntry, LedgerTransfer
from testbed.dbs import isolated_database

# (kind, state, cause, answered) and how often each appears.
MIX = [
    (("callback", "ended", "hangup", True), 30),
    (("callback", "ended", "busy", False), 8),
    (("callback", "ended", "no_answer", False), 8),
    (("callback", "ended", "refused:daily_cap", False), 4),
    (("internal", "ended", "hangup_a", True), 30),
    (("outbound", "ended", "hangup_b", True), 10),
    (("reminder", "ended", "completed", True), 5),
]
IN_PROGRESS, SCHEDULED = 20, 20  # calls not ended, whatever N


def fill(engine: Engine, n: int) -> None:
    """`n` call records of MIX over the last 30 days and n/2 revenue entries."""
    rng = random.Random(n)
    kinds = [shape for shape, weight in MIX for _ in range(weight)]
    now = utcnow()
    records = []
    for i in range(n + IN_PROGRESS + SCHEDULED):
        kind, state, cause, answered = rng.choice(kinds)
        if i >= n:
            kind, state, cause = "callback", "bridged" if i < n + IN_PROGRESS else "scheduled", None
        created = now - timedelta(seconds=rng.uniform(0, 30 * 86400))
        a_answer = created + timedelta(seconds=rng.uniform(1, 10))
        b_answer = a_answer + timedelta(seconds=rng.uniform(1, 25)) if answered else None
        ended = (b_answer or a_answer) + timedelta(seconds=rng.uniform(5, 600))
        records.append(
            {
                "id": f"bench{i:027d}",
                "kind": kind,
                "a_number": "+33612345678",
                "b_number": "+442079460000",
                "dtmf": "",
                "state": state,
                "anonymous": False,
                "record": False,
                "created_at": created,
                "updated_at": created,
                "a_answered_at": a_answer,
                "b_answered_at": b_answer,
                "ended_at": ended if state == "ended" else None,
                "hangup_cause": cause,
                "cost": 0,
            }
        )
    with engine.begin() as conn:
        conn.execute(CallRecord.__table__.insert(), records)  # type: ignore[attr-defined]
        ends = [
            {"call_id": r["id"], "event": "ended", "leg": None, "at": r["ended_at"]}
            for r in sorted(records, key=lambda r: r["ended_at"] or now)
            if r["state"] == "ended"
        ]
        conn.execute(CallEvent.__table__.insert(), ends)  # type: ignore[attr-defined]
        transfer = conn.execute(
            LedgerTransfer.__table__.insert().returning(LedgerTransfer.__table__.c.id),  # type: ignore[attr-defined]
            {
                "idempotency_key": "bench",
                "kind": "call",
                "asset": "ETT",
                "amount": 1,
                "debit_book": "account:1",
                "credit_book": REVENUE,
                "reason": "",
                "created_at": now,
            },
        ).scalar_one()
        entries = [
            {
                "transfer_id": transfer,
                "book": REVENUE,
                "asset": "ETT",
                "amount": 1_000_000,
                "created_at": now - timedelta(seconds=30 * 86400 * (1 - i / n)),
            }
            for i in range(n // 2)
        ]
        if entries:
            conn.execute(LedgerEntry.__table__.insert(), entries)  # type: ignore[attr-defined]
    if engine.dialect.name == "postgresql":  # the planner's statistics, as autovacuum keeps them
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))


def median_ms(work: Callable[[], object], repeat: int) -> float:
    work()  # warm: plans, connections
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


ROW = "{:<11} {:>8} {:>10.1f} {:>16.2f} {:>12.2f} {:>14.1f} {:>9.0f} {:>6}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--backend", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    bare = CollectorRegistry()
    ProcessCollector(registry=bare)
    heads = (
        "backend",
        "records",
        "scrape ms",
        "process only ms",
        "COUNT(*) ms",
        "1st minute ms",
        "first ms",
        "bytes",
    )
    print(ROW.replace(".1f", "").replace(".2f", "").replace(".0f", "").format(*heads))
    for backend in args.backend:
        for n in args.records:
            with tempfile.TemporaryDirectory() as tmp, isolated_database(backend, Path(tmp)) as url:
                engine = open_database(url, migrate=False)
                fill(engine, n)
                moved = [0.0]  # seconds the tallies' clock is moved on (their grace period)
                registry = build_registry(engine, clock=lambda: time.monotonic() + moved[0])  # noqa: B023
                started = time.perf_counter()
                first = len(generate_latest(registry))  # every end read once
                first_ms = (time.perf_counter() - started) * 1000
                early = median_ms(lambda: generate_latest(registry), args.repeat)  # noqa: B023
                moved[0] = GRACE_SECONDS + 1  # as a minute later: the ends read are settled
                generate_latest(registry)
                scrape = median_ms(lambda: generate_latest(registry), args.repeat)  # noqa: B023
                reference = median_ms(lambda: generate_latest(bare), args.repeat)

                def count() -> int:
                    with engine.connect() as conn:  # noqa: B023
                        return conn.execute(
                            select(func.count()).select_from(CallRecord)
                        ).scalar_one()

                counted = median_ms(count, args.repeat)
                figures = (backend, n, scrape, reference, counted, early, first_ms, first)
                print(ROW.format(*figures))
                engine.dispose()


if __name__ == "__main__":
    main()
