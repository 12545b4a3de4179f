"""`python main.py admin ...`: listings, assigning deposits, refunds and reconciliation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from domain.books import UNATTRIBUTED
from settings import load_settings
from storage.ledger_store import LedgerStore, account_book
from testbed.waves_node import random_seed
from tests.wallet_helpers import finish_call, fund, new_account, new_call, wallet_settings
from wallet.admin import main
from wallet.billing import Billing
from wallet.deposits import DepositWatcher
from wallet.memo import memo_for
from wallet.withdrawals import Withdrawals

ETT = 10**8
ROOT = Path(__file__).resolve().parent.parent


def run(db_url, *args):
    return main(["--database", db_url, *args])


def test_help_runs_from_main_py():
    out = subprocess.run(
        [sys.executable, "main.py", "admin", "--help"], cwd=ROOT, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert out.returncode == 0
    for command in ("accounts", "deposits", "assign", "refund", "reconcile", "withdrawals"):
        assert command in out.stdout


def test_accounts_lists_balances(db_url, engine, capsys):
    account = new_account(engine, phone_number="+33142685300")
    fund(engine, account, "2.5")
    assert run(db_url, "accounts") == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.split()[0] == str(account))
    assert "2.5 ETT (0 ETT)" in line and "+33142685300" in line


def test_refund_of_a_call_is_a_ledger_entry_with_reason(db_url, engine, capsys):
    account = new_account(engine)
    fund(engine, account, "5")
    billing = Billing.from_settings(engine, wallet_settings())
    call_id = new_call(engine, account, "+33142685300", "+442079460958")
    billing.authorize(account, call_id, "+33142685300", "+442079460958")
    finish_call(engine, call_id, 120, 120)
    cost = billing.settle(call_id)
    assert run(db_url, "refund", call_id, "--reason", "bad line quality") == 0
    ledger = LedgerStore(engine)
    assert ledger.balance(account_book(account), "ETT").amount == 5 * ETT
    entry = ledger.entries(account_book(account))[0]
    assert (entry["kind"], entry["amount"]) == ("admin_refund", cost)
    assert entry["reason"] == "admin refund: bad line quality"
    assert run(db_url, "refund", call_id, "--reason", "again") == 1
    assert "already refunded" in capsys.readouterr().err
    assert run(db_url, "refund", "nope", "--reason", "x") == 1


def test_assign_unattributed_deposit_and_reconcile(
    db_url, engine, waves_chain, monkeypatch, capsys
):
    for name, value in waves_chain.settings_overrides().items():
        monkeypatch.setenv(name, str(value))
    settings = load_settings()
    account = new_account(engine)
    other = waves_chain.issue("OtherCoin", 1000, decimals=0)
    lost = waves_chain.send_deposit("forgot the memo", 3 * ETT)
    foreign = waves_chain.send_deposit(memo_for(account), 10, asset=other)
    waves_chain.send_deposit(memo_for(account), 2 * ETT)
    waves_chain.send_deposit("fees", ETT, asset=None)
    DepositWatcher.from_settings(engine, settings).poll_once()
    Withdrawals.from_settings(engine, settings).withdraw(
        account, ETT, "ETT", waves_chain.address_of(random_seed())
    )
    assert run(db_url, "deposits", "--state", "unattributed") == 0
    listing = capsys.readouterr().out
    assert lost in listing and foreign in listing and "3 ETT" in listing
    assert run(db_url, "assign", lost, str(account), "--reason", "user sent tx id by mail") == 0
    ledger = LedgerStore(engine)
    assert ledger.balance(account_book(account), "ETT").amount == 4 * ETT
    assert ledger.balance(UNATTRIBUTED, "ETT").amount == 0
    assert ledger.entries(account_book(account))[0]["reason"].endswith("user sent tx id by mail")
    assert run(db_url, "assign", lost, str(account), "--reason", "twice") == 1
    assert run(db_url, "assign", foreign, str(account), "--reason", "x") == 1
    capsys.readouterr()
    assert run(db_url, "reconcile") == 0
    out = capsys.readouterr().out
    assert out.count(" ok") == 2 and waves_chain.service_seed not in out
    waves_chain.node.genesis(waves_chain.service_address, 5)  # money the ledger never saw
    assert run(db_url, "reconcile") == 1
    assert "GAP 0.00000005 WAVES" in capsys.readouterr().out


class _Crash(Exception):
    """A process dying at this point (in-process stand-in for kill -9)."""


def _crashing_withdrawal(withdrawals, account, address, *, after_broadcast: bool):
    real = withdrawals.client.broadcast

    def broadcast(tx):
        if after_broadcast:
            real(tx)
        raise _Crash

    withdrawals.client.broadcast = broadcast
    try:
        withdrawals.withdraw(account, ETT, "ETT", address)
    except _Crash:
        pass
    finally:
        withdrawals.client.broadcast = real
    return withdrawals.store.list(account)[0]


def test_operator_lists_and_resolves_unfinished_withdrawals(
    db_url, engine, waves_chain, monkeypatch, capsys
):
    for name, value in waves_chain.settings_overrides().items():
        monkeypatch.setenv(name, str(value))
    settings = load_settings()
    account = new_account(engine)
    waves_chain.send_deposit(memo_for(account), 5 * ETT)
    waves_chain.send_deposit("fees", ETT, asset=None)
    DepositWatcher.from_settings(engine, settings).poll_once()
    withdrawals = Withdrawals.from_settings(engine, settings)
    to = waves_chain.address_of(random_seed())
    never_sent = _crashing_withdrawal(withdrawals, account, to, after_broadcast=False)
    on_chain = _crashing_withdrawal(withdrawals, account, to, after_broadcast=True)
    ledger = LedgerStore(engine)
    assert ledger.balance(account_book(account), "ETT").amount == 3 * ETT
    assert run(db_url, "reconcile") == 1  # the unbooked fee of the one on chain
    capsys.readouterr()

    assert run(db_url, "withdrawals") == 0
    listing = capsys.readouterr().out
    assert never_sent.tx_id in listing and on_chain.tx_id in listing and "signed" in listing

    assert run(db_url, "withdrawals", "resolve", str(on_chain.id), "--refund", "--reason", "x") == 1
    assert "it was sent" in capsys.readouterr().err
    assert (
        run(db_url, "withdrawals", "resolve", str(on_chain.id), "--sent", "--reason", "seen") == 0
    )
    assert (
        run(
            db_url,
            "withdrawals",
            "resolve",
            never_sent.idempotency_key,
            "--refund",
            "--reason",
            "lost",
        )
        == 0
    )
    assert ledger.balance(account_book(account), "ETT").amount == 4 * ETT
    assert run(db_url, "withdrawals", "resolve", str(never_sent.id), "--sent", "--reason", "x") == 1
    assert "already finished" in capsys.readouterr().err
    capsys.readouterr()
    assert run(db_url, "withdrawals") == 0
    assert "no unfinished withdrawals" in capsys.readouterr().out
    assert run(db_url, "reconcile") == 0
    assert run(db_url, "withdrawals", "resolve", "999999", "--sent", "--reason", "x") == 1
