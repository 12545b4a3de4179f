"""Withdrawals signed by pywaves-ce and broadcast to the node emulator over HTTP."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import random
import signal
import time
from datetime import timedelta

import pytest

from domain.books import DEPOSITS, NETWORK_FEES, WITHDRAWALS, TransferKind
from settings import load_settings
from storage.ledger_store import InsufficientFunds, LedgerStore, account_book
from storage.models import Withdrawal
from storage.withdrawals import UNFINISHED, WithdrawalStore
from testbed.waves_node import random_seed
from tests.ledger_workers import DIE_POINTS, withdraw_many, withdraw_then_die
from tests.wallet_helpers import new_account
from wallet.deposits import DepositWatcher
from wallet.memo import memo_for
from wallet.waves import InvalidAddress, NodeUnavailable, WavesClient
from wallet.withdrawal_recovery import WithdrawalRecovery
from wallet.withdrawals import Withdrawals, now_to_the_millisecond

ETT = 10**8
FEE = 100_000


def setup_wallet(engine, chain, *, fee_waves: int = ETT, ett: int = 10 * ETT):
    """An account holding `ett` ETT deposited on chain, the service holding WAVES for fees."""
    settings = load_settings(**chain.settings_overrides())
    account = new_account(engine)
    chain.send_deposit(memo_for(account), ett)
    if fee_waves:
        chain.send_deposit("fees", fee_waves, asset=None)
    DepositWatcher.from_settings(engine, settings).poll_once()
    return account, Withdrawals.from_settings(engine, settings)


def available(engine, account, asset="ETT"):
    return LedgerStore(engine).balance(account_book(account), asset).available


def test_withdrawal_is_sent_and_reconciles(engine, waves_chain):
    account, withdrawals = setup_wallet(engine, waves_chain)
    user_address = waves_chain.address_of(random_seed())
    row = withdrawals.withdraw(account, 3 * ETT, "ETT", user_address)
    assert row.state == "sent" and row.error is None
    node = waves_chain.node
    assert node.balance(user_address, waves_chain.ett_asset_id) == 3 * ETT
    assert node.transactions[row.tx_id]["recipient"] == user_address
    assert available(engine, account) == 7 * ETT
    ledger = LedgerStore(engine)
    for asset, asset_id in (("ETT", waves_chain.ett_asset_id), ("WAVES", None)):
        on_chain = node.balance(waves_chain.service_address, asset_id)
        books = ledger.balance(DEPOSITS, asset).amount + ledger.balance(WITHDRAWALS, asset).amount
        assert on_chain == -books
    assert ledger.balance(NETWORK_FEES, "WAVES").amount == -FEE
    # the same key again changes nothing
    again = withdrawals.withdraw(account, 3 * ETT, "ETT", user_address, key=row.idempotency_key)
    assert again.tx_id == row.tx_id and available(engine, account) == 7 * ETT


def test_waves_withdrawal(engine, waves_chain):
    account, withdrawals = setup_wallet(engine, waves_chain, fee_waves=0)
    waves_chain.send_deposit(memo_for(account), 2 * ETT, asset=None)
    DepositWatcher.from_settings(
        engine, load_settings(**waves_chain.settings_overrides())
    ).poll_once()
    user_address = waves_chain.address_of(random_seed())
    row = withdrawals.withdraw(account, ETT, "WAVES", user_address)
    assert row.state == "sent"
    assert waves_chain.node.balance(user_address) == ETT
    assert available(engine, account, "WAVES") == ETT


def test_node_rejection_refunds_the_debit(engine, waves_chain):
    account, withdrawals = setup_wallet(engine, waves_chain, fee_waves=0)  # no WAVES for the fee
    row = withdrawals.withdraw(account, 4 * ETT, "ETT", waves_chain.address_of(random_seed()))
    assert row.state == "failed" and "negative" in row.error
    assert available(engine, account) == 10 * ETT
    assert LedgerStore(engine).balance(WITHDRAWALS, "ETT").amount == 0
    entries = LedgerStore(engine).entries(account_book(account))
    assert [e["kind"] for e in entries[:2]] == ["withdrawal_refund", "withdrawal"]


def test_insufficient_funds_sends_nothing(engine, waves_chain):
    account, withdrawals = setup_wallet(engine, waves_chain)
    before = len(waves_chain.node.transactions)
    with pytest.raises(InsufficientFunds):
        withdrawals.withdraw(account, 11 * ETT, "ETT", waves_chain.address_of(random_seed()))
    assert len(waves_chain.node.transactions) == before
    assert available(engine, account) == 10 * ETT
    assert WithdrawalStore(engine).list(account)[0].state == "refused"


def test_only_addresses_of_the_configured_chain(engine, waves_chain):
    account, withdrawals = setup_wallet(engine, waves_chain)
    good = waves_chain.address_of(random_seed())
    mainnet = (
        __import__("wallet.waves", fromlist=["WavesClient"])
        .WavesClient(waves_chain.url, "W", random_seed())
        .address
    )
    for bad in (mainnet, good[:-2] + "11", "not an address", ""):
        with pytest.raises(InvalidAddress):
            withdrawals.withdraw(account, ETT, "ETT", bad)
    with pytest.raises(ValueError):
        withdrawals.withdraw(account, 0, "ETT", good)
    with pytest.raises(ValueError):
        withdrawals.withdraw(account, ETT, "BTC", good)
    assert available(engine, account) == 10 * ETT


def test_node_down_leaves_the_withdrawal_for_an_operator(engine, waves_chain):
    account, withdrawals = setup_wallet(engine, waves_chain)
    waves_chain.node.down()
    row = withdrawals.withdraw(account, ETT, "ETT", waves_chain.address_of(random_seed()))
    assert row.state == "unknown" and row.tx_id
    assert available(engine, account) == 9 * ETT  # not refunded blindly
    waves_chain.node.up()
    waves_chain.node.failing = True  # answers errors: broadcast fails, lookup cannot tell
    row = withdrawals.withdraw(account, ETT, "ETT", waves_chain.address_of(random_seed()))
    assert row.state == "unknown"


# --- withdrawals interrupted by a crash (kill -9) are finished or refunded ----------------

HOURS_3 = 3 * 3600 * 1000


def recovery(engine, chain) -> WithdrawalRecovery:
    settings = load_settings(**chain.settings_overrides())
    return WithdrawalRecovery(
        engine,
        WavesClient.service_wallet(settings, "test"),
        ett_asset_id=chain.ett_asset_id,
        network_fee=settings.WALLET_NETWORK_FEE,
    )


def spawn(target, *args) -> multiprocessing.Process:
    process = multiprocessing.get_context("spawn").Process(target=target, args=args)
    process.start()
    return process


def assert_settled(engine, chain, account: int, funded: int) -> None:
    """Every withdrawal finished: sent ones on chain with their fee booked, the others
    not on chain and refunded; the service wallet on chain equals the ledger."""
    store, node, ledger = WithdrawalStore(engine), chain.node, LedgerStore(engine)
    rows = store.list(account, limit=1000)
    assert [r.idempotency_key for r in rows if r.state in UNFINISHED] == []
    sent = 0
    for row in rows:
        on_chain = row.tx_id in node.transactions and "height" in node.transactions[row.tx_id]
        assert on_chain == (row.state == "sent"), (row.idempotency_key, row.state)
        debited = ledger.transfer_by_key(row.idempotency_key) is not None
        refunded = ledger.transfer_by_key(f"{row.idempotency_key}:refund") is not None
        fee = ledger.transfer_by_key(f"{row.idempotency_key}:fee") is not None
        assert (debited, refunded, fee) == {
            "sent": (True, False, True),
            "failed": (True, True, False),
            "refused": (False, False, False),
        }[row.state], (row.idempotency_key, row.state)
        sent += row.amount if row.state == "sent" else 0
    assert ledger.balance(account_book(account), "ETT").amount == funded - sent
    for asset, asset_id in (("ETT", chain.ett_asset_id), ("WAVES", None)):
        books = ledger.balance(DEPOSITS, asset).amount + ledger.balance(WITHDRAWALS, asset).amount
        assert node.balance(chain.service_address, asset_id) == -books, asset


# Under load a first withdrawal may time out on the node and be left `unknown`: the
# recovery then books it too, so the reports are checked for the interrupted ones.
@pytest.mark.parametrize("expired", [False, True], ids=["in_time", "expired"])
def test_withdrawals_killed_around_the_broadcast_are_finished_or_refunded(
    engine, db_url, waves_chain, expired
):
    account, _withdrawals = setup_wallet(engine, waves_chain, ett=30 * ETT)
    to = waves_chain.address_of(random_seed())
    overrides = waves_chain.settings_overrides()
    workers = [
        spawn(withdraw_then_die, db_url, overrides, account, [ETT, 2 * ETT], to, where)
        for where in DIE_POINTS
    ]
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == -signal.SIGKILL, worker.exitcode
    store = WithdrawalStore(engine)
    states = {where: store.get(f"{where}:1").state for where in DIE_POINTS}
    first = {where: store.get(f"{where}:0").state for where in DIE_POINTS}
    assert set(first.values()) <= {"sent", "unknown"}, first
    assert states == {
        "after_debit": "pending",
        "before_broadcast": "signed",
        "after_broadcast": "signed",
    }
    assert available(engine, account) == 30 * ETT - 3 * 3 * ETT  # every one debited
    node = waves_chain.node
    if expired:  # the node's time passes the interrupted transfers' acceptance window
        node.clock_offset_ms = HOURS_3
        node.mine()
    report = recovery(engine, waves_chain).run_once(grace=timedelta(0))
    interrupted = {f"{where}:1" for where in DIE_POINTS}
    if expired:
        assert {"after_debit:1", "before_broadcast:1"} <= set(report.refunded), report
        assert "after_broadcast:1" in report.sent, report
        assert available(engine, account) == 30 * ETT - 3 * ETT - 2 * ETT
    else:  # broadcast again: the same transaction id, sent once
        assert interrupted <= set(report.sent), report
        assert node.balance(to, waves_chain.ett_asset_id) == 3 * ETT + 3 * 2 * ETT
    assert_settled(engine, waves_chain, account, 30 * ETT)
    assert recovery(engine, waves_chain).run_once(grace=timedelta(0)).sent == []


def test_withdrawals_killed_at_random_moments_are_all_finished_or_refunded(
    engine, db_url, waves_chain
):
    account, _withdrawals = setup_wallet(engine, waves_chain, ett=20 * ETT, fee_waves=10 * ETT)
    to = waves_chain.address_of(random_seed())
    overrides = waves_chain.settings_overrides()
    store, rng = WithdrawalStore(engine), random.Random(7)
    for round_ in range(4):
        worker = spawn(withdraw_many, db_url, overrides, account, to, f"r{round_}", 200)
        deadline = time.monotonic() + 120
        while len(store.list(account, limit=1000)) < 3 * (round_ + 1) + 2:
            assert time.monotonic() < deadline and worker.is_alive()
            time.sleep(0.01)
        time.sleep(rng.uniform(0, 0.05))
        os.kill(worker.pid, signal.SIGKILL)  # kill -9, wherever it is
        worker.join(30)
    recovery(engine, waves_chain).run_once(grace=timedelta(0))
    assert_settled(engine, waves_chain, account, 20 * ETT)


def test_an_unreachable_node_leaves_interrupted_withdrawals_as_they_are(engine, waves_chain):
    account, withdrawals = setup_wallet(engine, waves_chain)
    node = waves_chain.node
    node.down()
    row = withdrawals.withdraw(account, ETT, "ETT", waves_chain.address_of(random_seed()))
    assert row.state == "unknown"
    with pytest.raises(NodeUnavailable):
        recovery(engine, waves_chain).run_once(grace=timedelta(0))
    node.up()
    node.failing = True  # answers errors: cannot tell
    with pytest.raises(NodeUnavailable):
        recovery(engine, waves_chain).run_once(grace=timedelta(0))
    assert WithdrawalStore(engine).get(row.idempotency_key).state == "unknown"
    node.failing = False
    report = recovery(engine, waves_chain).run_once(grace=timedelta(0))
    assert report.sent == [row.idempotency_key]  # broadcast again once the node is back
    assert_settled(engine, waves_chain, account, 10 * ETT)


def test_a_young_withdrawal_is_left_to_its_own_process(engine, waves_chain):
    account, withdrawals = setup_wallet(engine, waves_chain)
    withdrawals.client.broadcast = _crash
    with pytest.raises(_Crash):
        withdrawals.withdraw(account, ETT, "ETT", waves_chain.address_of(random_seed()))
    report = recovery(engine, waves_chain).run_once()  # default grace: one minute
    assert (report.sent, report.refunded, report.waiting) == ([], [], [])


def test_a_rejected_broadcast_of_a_transfer_the_node_has_is_sent_not_refunded(engine, waves_chain):
    account, withdrawals = setup_wallet(engine, waves_chain)
    real = withdrawals.client.broadcast

    def broadcast_twice(tx):  # the first answer was lost; the retry is refused
        real(tx)
        return real(tx)

    withdrawals.client.broadcast = broadcast_twice
    row = withdrawals.withdraw(account, ETT, "ETT", waves_chain.address_of(random_seed()))
    assert row.state == "sent" and available(engine, account) == 9 * ETT
    assert_settled(engine, waves_chain, account, 10 * ETT)


def test_the_same_withdrawal_always_signs_to_the_same_transaction(engine, waves_chain):
    account, withdrawals = setup_wallet(engine, waves_chain)
    withdrawals.client.broadcast = _crash
    with pytest.raises(_Crash):
        withdrawals.withdraw(account, ETT, "ETT", waves_chain.address_of(random_seed()), key="same")
    row = WithdrawalStore(engine).get("same")
    first, again = withdrawals.sign(row), withdrawals.sign(row)
    assert first["id"] == again["id"] == row.tx_id and first["proofs"] != again["proofs"]


class _Crash(Exception):
    """A process dying at this point (in-process stand-in for kill -9)."""


def _crash(_tx):
    raise _Crash


def test_the_deposit_watcher_finishes_interrupted_withdrawals_at_start(engine, waves_chain):
    account, withdrawals = setup_wallet(engine, waves_chain)
    withdrawals.client.broadcast = _crash
    with pytest.raises(_Crash):
        withdrawals.withdraw(account, ETT, "ETT", waves_chain.address_of(random_seed()), key="w")
    settings = load_settings(**waves_chain.settings_overrides(WALLET_POLL_SECONDS=0.05))
    watch = DepositWatcher.from_settings(engine, settings)
    watch.recovery.grace = timedelta(0)  # a restart long after the crash

    async def run_a_little():
        stop = asyncio.Event()
        task = asyncio.create_task(watch.run(stop))
        for _ in range(600):
            if WithdrawalStore(engine).get("w").state == "sent":
                break
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(task, 30)

    asyncio.run(run_a_little())
    assert WithdrawalStore(engine).get("w").state == "sent"
    assert_settled(engine, waves_chain, account, 10 * ETT)


def test_two_withdrawals_alike_to_the_millisecond_are_two_transfers(engine, waves_chain):
    """Same amount, same address, same millisecond (two chats, two instances): without
    an attachment of their own they signed one transfer, the node took it once and both
    were booked sent."""
    account, withdrawals = setup_wallet(engine, waves_chain)
    to, at = waves_chain.address_of(random_seed()), now_to_the_millisecond()
    store, ledger = WithdrawalStore(engine), LedgerStore(engine)
    for key in ("twin:a", "twin:b"):  # each stored and debited, then its process died
        store.create(
            Withdrawal(
                idempotency_key=key,
                account_id=account,
                asset="ETT",
                amount=ETT,
                address=to,
                state="pending",
                created_at=at,
            )
        )
        ledger.transfer(
            key=key,
            kind=TransferKind.WITHDRAWAL,
            asset="ETT",
            amount=ETT,
            debit=account_book(account),
            credit=WITHDRAWALS,
            reason="withdrawal",
            ref=key,
        )
    first, second = (withdrawals.sign(store.get(key)) for key in ("twin:a", "twin:b"))
    assert first["id"] != second["id"]
    report = recovery(engine, waves_chain).run_once(grace=timedelta(0))
    assert sorted(report.sent) == ["twin:a", "twin:b"]
    assert waves_chain.node.balance(to, waves_chain.ett_asset_id) == 2 * ETT
    assert_settled(engine, waves_chain, account, 10 * ETT)
