"""Ledger benchmark: charges per second with 1, 4 and 16 concurrent workers.

    .venv/bin/python bench/ledger.py [--seconds 5] [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]

Each worker is a process charging 1 unit per transfer to its own user's book
(every charge also credits the one shared revenue book). The final balances are
checked exactly. Reference figures from the same run:

- PostgreSQL: `pgbench -b tpcb-like` with the same client count (same server and
  durability; per transaction 3 UPDATEs, a SELECT and an INSERT in 7 round trips,
  from a C client).
- SQLite: the same work as one charge, done with bare sqlite3 on the same schema
  (tables, indexes, CHECKs and foreign keys made by our migrations) and the same
  pragmas (WAL, synchronous=NORMAL, foreign_keys=ON): BEGIN IMMEDIATE, claim the
  idempotency key (INSERT … ON CONFLICT DO NOTHING RETURNING), the conditional
  UPDATE of the balance (available >= amount), both entries in one INSERT, COMMIT,
  with a fresh key and timestamp per charge. `--minimal-ref` also prints the former
  reference (INSERT + UPDATE into two bare 2-column tables), which does less than
  half of that work.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text

from storage import open_database
from storage.ledger_store import LedgerStore, account_book

WORKERS = (1, 4, 16)
REVENUE = "system:revenue"


def _charge_worker(url: str, worker: int, deadline: float, queue) -> None:
    engine = open_database(url, migrate=False, pool_size=1)
    ledger = LedgerStore(engine)
    done = 0
    while time.time() < deadline:
        ledger.transfer(
            key=f"bench:{worker}:{done}",
            kind="call",
            asset="ETT",
            amount=1,
            debit=account_book(1 + worker),
            credit=REVENUE,
        )
        done += 1
    engine.dispose()
    queue.put((worker, done))


def run_ours(url: str, workers: int, seconds: float) -> float:
    engine = open_database(url)
    ledger = LedgerStore(engine)
    books = [account_book(1 + w) for w in range(workers)]
    for book in books:
        ledger.transfer(
            key=f"fund:{uuid.uuid4().hex}",
            kind="deposit",
            asset="ETT",
            amount=10**12,
            debit="system:deposits",
            credit=book,
        )
    before = {book: ledger.balance(book, "ETT").amount for book in books}
    revenue_before = ledger.balance(REVENUE, "ETT").amount
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    start = time.time() + 1.0  # let every worker connect first
    deadline = start + seconds
    procs = [
        ctx.Process(target=_charge_worker, args=(url, w, deadline, queue)) for w in range(workers)
    ]
    for p in procs:
        p.start()
    counts = dict(queue.get() for _ in procs)
    for p in procs:
        p.join()
    total = sum(counts.values())
    for worker, book in enumerate(books):
        after = ledger.balance(book, "ETT").amount
        assert after == before[book] - counts[worker], "user balance is not exact"
        assert ledger.entries_sum(book, "ETT") == after, "entries != balance"
    assert ledger.balance(REVENUE, "ETT").amount == revenue_before + total, "revenue not exact"
    engine.dispose()
    return total / seconds


def _sqlite_charge_ref_worker(path: str, worker: int, deadline: float, queue) -> None:
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    book = account_book(1 + worker)
    done = 0
    while time.time() < deadline:
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        conn.execute("BEGIN IMMEDIATE")
        (transfer_id,) = conn.execute(
            "INSERT INTO ledgertransfer (idempotency_key, kind, asset, amount, debit_book,"
            " credit_book, reason, ref, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
            (f"ref:{worker}:{done}", "call", "ETT", 1, book, REVENUE, "", None, now),
        ).fetchall()[0]
        assert conn.execute(
            "UPDATE balance SET amount = amount - ? WHERE book = ? AND asset = ?"
            " AND amount - held >= ? RETURNING amount",
            (1, book, "ETT", 1),
        ).fetchall()
        conn.execute(
            "INSERT INTO ledgerentry (transfer_id, book, asset, amount, created_at)"
            " VALUES (?, ?, ?, ?, ?), (?, ?, ?, ?, ?)",
            (transfer_id, book, "ETT", -1, now, transfer_id, REVENUE, "ETT", 1, now),
        )
        conn.execute("COMMIT")
        done += 1
    conn.close()
    queue.put((worker, done))


def run_sqlite_charge_reference(directory: str, workers: int, seconds: float) -> float:
    url = f"sqlite:///{directory}/ref-{uuid.uuid4().hex}.db"
    engine = open_database(url)  # the same schema as ours
    path = engine.url.database
    engine.dispose()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executemany(
        "INSERT INTO balance (book, asset, amount, held) VALUES (?, 'ETT', ?, 0)",
        [(account_book(1 + w), 10**12) for w in range(workers)],
    )
    conn.close()
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    deadline = time.time() + 1.0 + seconds
    procs = [
        ctx.Process(target=_sqlite_charge_ref_worker, args=(path, w, deadline, queue))
        for w in range(workers)
    ]
    for p in procs:
        p.start()
    counts = dict(queue.get() for _ in procs)
    for p in procs:
        p.join()
    conn = sqlite3.connect(path)
    for worker, count in counts.items():
        (amount,) = conn.execute(
            "SELECT amount FROM balance WHERE book = ?", (account_book(1 + worker),)
        ).fetchone()
        assert amount == 10**12 - count, "reference balance is not exact"
    conn.close()
    return sum(counts.values()) / seconds


def _sqlite_ref_worker(path: str, deadline: float, queue) -> None:
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    done = 0
    while time.time() < deadline:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO history(delta) VALUES (1)")
        conn.execute("UPDATE account SET balance = balance - 1 WHERE id = 1")
        conn.execute("COMMIT")
        done += 1
    conn.close()
    queue.put(done)


def run_sqlite_minimal_reference(directory: str, workers: int, seconds: float) -> float:
    path = os.path.join(directory, f"ref-{uuid.uuid4().hex}.db")
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript(
        "CREATE TABLE account(id INTEGER PRIMARY KEY, balance INTEGER);"
        "CREATE TABLE history(id INTEGER PRIMARY KEY, delta INTEGER);"
        "INSERT INTO account VALUES (1, 0);"
    )
    conn.commit()
    conn.close()
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    deadline = time.time() + 1.0 + seconds
    procs = [
        ctx.Process(target=_sqlite_ref_worker, args=(path, deadline, queue)) for _ in range(workers)
    ]
    for p in procs:
        p.start()
    total = sum(queue.get() for _ in procs)
    for p in procs:
        p.join()
    return total / seconds


def run_pgbench(workers: int, seconds: float) -> float | None:
    env = dict(os.environ, PGHOST="127.0.0.1", PGPORT="5432", PGUSER="postgres")
    try:
        subprocess.run(
            ["pgbench", "-i", "-q", "-s", "16", "test"], env=env, check=True, capture_output=True
        )
        out = subprocess.run(
            [
                "pgbench",
                "-b",
                "tpcb-like",
                "-c",
                str(workers),
                "-j",
                str(min(workers, 4)),
                "-T",
                str(int(seconds)),
                "-n",
                "test",
            ],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        subprocess.run(["pgbench", "-i", "-I", "d", "test"], env=env, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    match = re.search(r"tps = ([\d.]+)", out)
    return float(match.group(1)) if match else None


def pg_schema_url(server: str) -> tuple[str, str]:
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with create_engine(server, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    return f"{server}?options=-csearch_path%3D{schema}", schema


def drop_schema(server: str, schema: str) -> None:
    with create_engine(server, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    ap.add_argument(
        "--minimal-ref", action="store_true", help="also run the former SQLite reference"
    )
    args = ap.parse_args()
    print(f"ledger bench: {args.seconds:.0f} s per run, 1 unit per charge, cores={os.cpu_count()}")
    print(f"{'backend':10} {'workers':>7} {'ours/s':>9} {'ref/s':>9} {'ratio':>6}  reference")
    with tempfile.TemporaryDirectory() as directory:
        for workers in WORKERS:
            url = f"sqlite:///{directory}/bench-{workers}.db"
            ours = run_ours(url, workers, args.seconds)
            ref = run_sqlite_charge_reference(directory, workers, args.seconds)
            print(
                f"{'sqlite':10} {workers:7d} {ours:9.0f} {ref:9.0f} {ours / ref:6.2f}  "
                "sqlite3, same SQL work as a charge"
            )
            if args.minimal_ref:
                minimal = run_sqlite_minimal_reference(directory, workers, args.seconds)
                print(
                    f"{'sqlite':10} {workers:7d} {ours:9.0f} {minimal:9.0f} "
                    f"{ours / minimal:6.2f}  (former: sqlite3 BEGIN IMMEDIATE+INSERT+UPDATE)"
                )
    for workers in WORKERS:
        url, schema = pg_schema_url(args.pg)
        try:
            ours = run_ours(url, workers, args.seconds)
        finally:
            drop_schema(args.pg, schema)
        ref = run_pgbench(workers, args.seconds)
        ratio = f"{ours / ref:6.2f}" if ref else "     -"
        print(
            f"{'postgresql':10} {workers:7d} {ours:9.0f} {ref or 0:9.0f} {ratio}  "
            "pgbench -b tpcb-like"
        )
    print("final balances checked exactly after every run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
