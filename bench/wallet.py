"""Wallet benchmark: deposit ingestion and call settlement on SQLite and PostgreSQL.

    .venv/bin/python bench/wallet.py [--deposits 10000] [--calls 10000] [--backend sqlite]

Deposits: the node emulator holds N incoming transfers (signed by pywaves-ce, verified
by the emulator); the watcher pages them over HTTP and credits each once. Settlement:
N ended call records with open holds are settled by `Billing.settle_pending()`.
Prints transactions (or calls) per second.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pywaves

from domain.books import DEPOSITS, hold_key
from domain.clock import utcnow
from settings import load_settings
from storage import open_database
from storage.accounts import AccountStore
from storage.calls import CallStore
from storage.ledger_store import LedgerStore, account_book
from storage.models import CallRecord
from testbed.dbs import BACKENDS, isolated_database
from testbed.waves_node import WavesNode, random_seed
from wallet.billing import Billing
from wallet.deposits import DepositWatcher
from wallet.memo import memo_for
from wallet.waves import WavesClient, pywaves_instance

CHAIN = "R"


def build_chain(count: int, accounts: list[int]) -> tuple[WavesNode, str, str]:
    """A node holding `count` confirmed ETT transfers to the service address."""
    node = WavesNode(CHAIN, auto_mine=False).start()
    faucet_seed, service_seed = random_seed(), random_seed()
    online = pywaves_instance(node.url, CHAIN)
    faucet = pywaves.Address(seed=faucet_seed, pywaves=online)
    node.genesis(faucet.address, 10**15)
    ett = faucet.issueAsset("EncryptoTel", "bench", 10**16, 8)["id"]
    node.mine()
    signer = WavesClient(node.url, CHAIN, faucet_seed)
    service = WavesClient(node.url, CHAIN, service_seed).address
    for i in range(count):
        memo = memo_for(accounts[i % len(accounts)]).encode()
        tx = signer.sign_transfer(service, 10**8 + i, ett, memo)
        node.submit({k: v for k, v in tx.items() if k != "id"})
        if i % 500 == 499:
            node.mine()
    node.mine(2)
    return node, service_seed, ett


def bench_deposits(url: str, count: int) -> float:
    engine = open_database(url)
    store = AccountStore(engine)
    accounts = [store.resolve("bench", f"u{i}").id for i in range(50)]
    node, seed, ett = build_chain(count, accounts)
    settings = load_settings(
        WAVES_NODE_URL=node.url, WAVES_CHAIN_ID=CHAIN, WAVES_SEED=seed, ETT_ASSET_ID=ett
    )
    watcher = DepositWatcher.from_settings(engine, settings)
    watcher.page_size = 1000
    start = time.perf_counter()
    credits = watcher.poll_once()
    elapsed = time.perf_counter() - start
    assert len(credits) == count, len(credits)
    node.stop()
    engine.dispose()
    return count / elapsed


def bench_settlement(url: str, count: int) -> float:
    engine = open_database(url)
    settings = load_settings(FRAUD_DAILY_CAP_ETT="1000000")
    account = AccountStore(engine).resolve("bench", "settle").id
    ledger, calls = LedgerStore(engine), CallStore(engine)
    ledger.transfer(
        key="bench-fund", kind="deposit", asset="ETT", amount=10**16,
        debit=DEPOSITS, credit=account_book(account), reason="bench",
    )  # fmt: skip
    now = utcnow()
    for i in range(count):
        call_id = uuid.uuid4().hex[:16]
        seconds = 30 + i % 600
        answered = now - timedelta(seconds=seconds + 5)
        calls.create(
            CallRecord(
                id=call_id,
                account_id=account,
                a_number="+33142685300",
                b_number="+442079460958",
                state="ended",
                a_answered_at=answered,
                b_answered_at=answered + timedelta(seconds=5),
                a_ended_at=now,
                b_ended_at=now,
                ended_at=now,
                created_at=answered,
            )  # fmt: skip
        )
        ledger.place_hold(
            key=hold_key(call_id), book=account_book(account), asset="ETT",
            amount=10**8, ref=call_id,
        )  # fmt: skip
    billing = Billing.from_settings(engine, settings)
    start = time.perf_counter()
    settled = billing.settle_pending()
    elapsed = time.perf_counter() - start
    assert settled == count, settled
    assert ledger.balance(account_book(account), "ETT").held == 0
    engine.dispose()
    return count / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deposits", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--backend", choices=BACKENDS, action="append")
    args = parser.parse_args()
    logging.getLogger().setLevel(logging.WARNING)
    logging.getLogger("wallet").setLevel(logging.WARNING)
    results = {}
    for backend in args.backend or BACKENDS:
        with tempfile.TemporaryDirectory() as tmp:
            with isolated_database(backend, Path(tmp)) as url:
                rate = bench_deposits(url, args.deposits)
                print(f"{backend:<10} deposits credited: {rate:8.0f} tx/s ({args.deposits} tx)")
            with isolated_database(backend, Path(tmp)) as url:
                rate2 = bench_settlement(url, args.calls)
                print(f"{backend:<10} calls settled:     {rate2:8.0f} calls/s ({args.calls} calls)")
        results[backend] = {"deposits_per_s": round(rate), "settlements_per_s": round(rate2)}
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
