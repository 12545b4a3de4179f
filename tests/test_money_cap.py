"""The daily spending cap holds across instances: simultaneous call authorisations from
several processes (some SIGKILLed on the way), on SQLite and PostgreSQL."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor

from domain.books import hold_key
from storage.fraud import FraudStore
from storage.ledger_store import LedgerStore, account_book
from tests.ledger_workers import LONDON, PARIS, authorize_many
from tests.wallet_helpers import TEST_SETTINGS, fund, new_account, wallet_settings
from wallet.billing import Billing
from wallet.fraud import CallRefused, FraudRules, start_of_day
from wallet.tariffs import Tariffs

CAP = 50_000_000  # 0.5 ETT: eight first minutes of Paris + London (0.06 ETT each)


def overrides(db_url: str, **extra) -> dict:
    return {
        **TEST_SETTINGS,
        "DATABASE_URL": db_url,
        "FRAUD_DAILY_CAP_ETT": "0.5",
        "FRAUD_MAX_CONCURRENT_CALLS": 100,
        **extra,
    }


def committed(engine, account: int) -> int:
    rules = FraudRules.from_settings(engine, Tariffs.load(), wallet_settings())
    return rules._ett_value(FraudStore(engine).committed(account, start_of_day()))


def assert_within_cap(engine, account: int, asset: str = "ETT") -> None:
    ledger = LedgerStore(engine)
    holds = [h for h in ledger.open_holds() if h["book"] == account_book(account)]
    view = ledger.balance(account_book(account), asset)
    assert view.held == sum(h["amount"] for h in holds) and view.available >= 0
    assert committed(engine, account) <= CAP


def test_simultaneous_authorisations_from_several_instances_stay_within_the_cap(engine, db_url):
    account = new_account(engine)
    fund(engine, account, "100")
    settings = overrides(db_url)
    start_at = time.time() + 6  # once every process has started
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=4, mp_context=context) as pool:
        futures = [
            pool.submit(authorize_many, db_url, settings, account, w, 6, start_at) for w in range(4)
        ]
        granted = sum(f.result() for f in futures)
    assert granted >= 2  # the cap admits at least two first holds
    assert_within_cap(engine, account)


def test_the_cap_holds_when_instances_are_killed_while_authorising(engine, db_url):
    account = new_account(engine)
    fund(engine, account, "2", "WAVES")  # paid in WAVES: counted at its ETT value
    settings = overrides(db_url, FRAUD_DAILY_CAP_ETT="0.5")
    context = multiprocessing.get_context("spawn")
    ready = context.Barrier(4)  # the three workers set up, and this test
    workers = [
        context.Process(target=authorize_many, args=(db_url, settings, account, w, 40, 0.0, ready))
        for w in range(3)
    ]
    for worker in workers:
        worker.start()
    ready.wait(120)
    time.sleep(0.05)
    os.kill(workers[0].pid, signal.SIGKILL)  # kill -9 while it authorises
    for worker in workers:
        worker.join(120)
    assert workers[0].exitcode == -signal.SIGKILL
    assert all(w.exitcode == 0 for w in workers[1:])
    assert_within_cap(engine, account, "WAVES")
    ledger = LedgerStore(engine)
    # Someone was granted calls (the survivors, or the killed one before it died: its
    # open holds then count against the cap, and refusing the others is right).
    firsts = [hold_key(f"w{w}-0") for w in range(3)]
    assert any(ledger.hold(key) is not None for key in firsts)


def test_the_cap_is_checked_under_the_accounts_lock(engine):
    """Two instances authorise at the same moment, each checking the cap slowly inside
    its hold's transaction: the second waits for the first's lock and sees its hold."""
    account = new_account(engine)
    fund(engine, account, "10")
    results: list[object] = []

    def authorize(call_id: str) -> None:
        wallet = Billing.from_settings(
            engine, wallet_settings(FRAUD_DAILY_CAP_ETT="0.06", FRAUD_MAX_CONCURRENT_CALLS=2)
        )
        real = wallet.rules.cap_guard

        def slow_guard(account_id: int):
            check = real(account_id)

            def guard(conn) -> None:
                check(conn)
                time.sleep(0.5)  # the other instance reads meanwhile, unless it waits

            return guard

        wallet.rules.cap_guard = slow_guard
        try:
            results.append(wallet.authorize(account, call_id, PARIS, LONDON))
        except CallRefused as refusal:
            results.append(refusal)

    threads = [threading.Thread(target=authorize, args=(f"same-time-{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    granted = [r for r in results if not isinstance(r, CallRefused)]
    assert len(results) == 2 and len(granted) == 1
    assert [r.rule for r in results if isinstance(r, CallRefused)] == ["daily_cap"]
    assert committed(engine, account) == 6_000_000
