"""Deposits from the Waves node emulator over HTTP with pywaves-ce, credited exactly once."""

from __future__ import annotations

import asyncio
import logging

import pytest

from domain.books import DEPOSITS, UNATTRIBUTED
from settings import load_settings
from storage.deposits import DepositStore
from storage.ledger_store import LedgerStore, account_book
from testbed.waves_node import address_of, keccak256, transaction_id, valid_address
from tests.wallet_helpers import new_account
from wallet.deposits import DepositWatcher, deposit_info
from wallet.memo import account_from_memo, memo_for
from wallet.waves import InvalidAddress, WavesClient, is_valid_address, transfer_id

ETT = 10**8


def watcher(engine, chain, **kwargs) -> DepositWatcher:
    settings = load_settings(**chain.settings_overrides(WALLET_POLL_SECONDS=0.05))
    return DepositWatcher.from_settings(engine, settings, **kwargs)


def balance(engine, book: str, asset: str = "ETT") -> int:
    return LedgerStore(engine).balance(book, asset).amount


def test_emulator_hashing_matches_the_chain_rules(waves_chain):
    assert keccak256(b"abc").hex().startswith("4e03657aea45a94fc7d47ba826c8d667")
    client = WavesClient(waves_chain.url, "R", waves_chain.service_seed)
    tx = client.sign_transfer(waves_chain.address_of(waves_chain.faucet_seed), 5, None, b"x")
    assert tx["id"] == transaction_id(tx, "R") == transfer_id(tx, "R")
    assert valid_address(client.address, "R") and is_valid_address(client.address, "R")


def test_addresses_are_checked_for_chain_and_checksum(waves_chain):
    good = waves_chain.service_address
    assert is_valid_address(good, "R")
    assert not is_valid_address(good, "W")  # right checksum, other chain
    broken = good[:-1] + ("2" if good[-1] != "2" else "3")
    assert not is_valid_address(broken, "R")
    assert not is_valid_address("0OIl", "R") and not is_valid_address("", "R")
    client = WavesClient(waves_chain.url, "R", waves_chain.service_seed)
    with pytest.raises(InvalidAddress):
        client.sign_transfer(broken, 1, None)


def test_memo_round_trip_and_typos():
    assert account_from_memo(memo_for(42)) == 42
    assert account_from_memo(" et42-" + memo_for(42)[-2:] + " ") == 42
    wrong = "ET43-" + memo_for(42)[-2:]
    assert account_from_memo(wrong) is None or memo_for(43) == wrong
    assert account_from_memo("hello") is None


def test_deposit_info_gives_address_memo_and_link():
    info = deposit_info(7, "3Mabc", ett_asset_id="ASSET", amount=250_000_000)
    assert (info.address, info.memo) == ("3Mabc", memo_for(7))
    assert info.link == (
        f"https://waves.exchange/#send/ASSET?recipient=3Mabc&amount=2.5"
        f"&attachment={info.memo}&strict"
    )
    waves = deposit_info(7, "3Mabc", asset="WAVES", ett_asset_id="ASSET")
    assert waves.link.startswith("https://waves.exchange/#send/WAVES?recipient=3Mabc&attachment=")


def test_ett_and_waves_deposits_are_credited_once_after_confirmations(engine, waves_chain):
    account = new_account(engine)
    credited = []
    settings = load_settings(**waves_chain.settings_overrides(WAVES_CONFIRMATIONS=2))
    watch = DepositWatcher.from_settings(
        engine, settings, on_credit=lambda *args: credited.append(args)
    )
    ett_tx = waves_chain.send_deposit(memo_for(account), 5 * ETT)
    waves_tx = waves_chain.send_deposit(memo_for(account), ETT // 2, asset=None)
    # the ETT transfer has 2 confirmations, the WAVES one (newest block) only 1
    assert [c.tx_id for c in asyncio.run(watch.poll_and_notify())] == [ett_tx]
    assert balance(engine, account_book(account), "WAVES") == 0
    waves_chain.node.mine(2)
    asyncio.run(watch.poll_and_notify())
    assert balance(engine, account_book(account)) == 5 * ETT
    assert balance(engine, account_book(account), "WAVES") == ETT // 2
    assert sorted(credited) == sorted(
        [(account, "ETT", 5 * ETT, ett_tx), (account, "WAVES", ETT // 2, waves_tx)]
    )
    # a second watcher (a restart) and the cursor lost: still credited once
    DepositStore(engine).set_cursor("deposits.height", "0")
    assert watcher(engine, waves_chain).poll_once() == []
    assert balance(engine, account_book(account)) == 5 * ETT
    assert balance(engine, DEPOSITS) == -5 * ETT
    assert {d.state for d in DepositStore(engine).list()} == {"credited"}


def test_unconfirmed_deposit_waits_for_its_confirmations(engine, waves_chain):
    account = new_account(engine)
    settings = load_settings(**waves_chain.settings_overrides(WAVES_CONFIRMATIONS=3))
    watch = DepositWatcher.from_settings(engine, settings)
    waves_chain.send_deposit(memo_for(account), ETT)
    assert watch.poll_once() == []
    waves_chain.node.mine(1)
    assert watch.poll_once() == []
    waves_chain.node.mine(1)
    assert [c.amount for c in watch.poll_once()] == [ETT]


def test_unknown_memo_and_other_assets_are_kept_unattributed(engine, waves_chain):
    account = new_account(engine)
    other = waves_chain.issue("OtherCoin", 10**12, decimals=2)
    waves_chain.send_deposit("for my account please", 2 * ETT)
    waves_chain.send_deposit(memo_for(account + 1000), ETT, asset=None)  # no such account
    waves_chain.send_deposit(memo_for(account), 500, asset=other)
    waves_chain.send_deposit(b"\xff\xfe binary", 3 * ETT)
    assert watcher(engine, waves_chain).poll_once() == []
    deposits = DepositStore(engine).list()
    assert len(deposits) == 4 and {d.state for d in deposits} == {"unattributed"}
    assert {d.asset for d in deposits} == {"ETT", "WAVES", other}
    assert balance(engine, UNATTRIBUTED) == 5 * ETT
    assert balance(engine, UNATTRIBUTED, "WAVES") == ETT
    assert balance(engine, account_book(account)) == 0


def test_many_deposits_across_pages(engine, waves_chain):
    account = new_account(engine)
    ids = [waves_chain.send_deposit(memo_for(account), ETT + i) for i in range(25)]
    watch = watcher(engine, waves_chain)
    watch.page_size = 7
    credits = watch.poll_once()
    assert [c.tx_id for c in credits] == ids  # oldest first
    assert balance(engine, account_book(account)) == 25 * ETT + sum(range(25))
    waves_chain.send_deposit(memo_for(account), ETT)
    assert len(watch.poll_once()) == 1


def test_node_down_then_back_is_retried_and_nothing_is_lost(engine, waves_chain, caplog):
    account = new_account(engine)
    waves_chain.send_deposit(memo_for(account), 4 * ETT)
    credited = []

    async def on_credit(account_id, asset, amount, tx_id):
        credited.append(amount)

    watch = watcher(engine, waves_chain, on_credit=on_credit)

    async def scenario():
        stop = asyncio.Event()
        waves_chain.node.down()
        task = asyncio.create_task(watch.run(stop))
        await wait_for(lambda: watch.failures >= 2)
        waves_chain.node.up()
        waves_chain.node.failing = True  # answers 503 now
        failures = watch.failures
        await wait_for(lambda: watch.failures > failures)
        waves_chain.node.failing = False
        await wait_for(lambda: credited)
        stop.set()
        await asyncio.wait_for(task, 30)

    with caplog.at_level(logging.WARNING, logger="wallet.deposits"):
        asyncio.run(scenario())
    assert credited == [4 * ETT]
    assert balance(engine, account_book(account)) == 4 * ETT
    assert "deposit poll failed" in caplog.text
    assert waves_chain.service_seed not in caplog.text


async def wait_for(condition, timeout: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition not reached"
        await asyncio.sleep(0.02)


def test_address_helpers_agree_with_pywaves(waves_chain):
    client = WavesClient(waves_chain.url, "R", waves_chain.service_seed)
    public_key = __import__("base58").b58decode(client._wallet.publicKey)
    assert address_of(public_key, "R") == client.address
