"""Withdrawals signed by pywaves-ce and broadcast to the node emulator over HTTP."""

from __future__ import annotations

import pytest

from domain.books import DEPOSITS, NETWORK_FEES, WITHDRAWALS
from settings import load_settings
from storage.ledger_store import InsufficientFunds, LedgerStore, account_book
from storage.withdrawals import WithdrawalStore
from testbed.waves_node import random_seed
from tests.wallet_helpers import new_account
from wallet.deposits import DepositWatcher
from wallet.memo import memo_for
from wallet.waves import InvalidAddress
from wallet.withdrawals import Withdrawals

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
