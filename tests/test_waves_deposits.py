"""Deposits from the Waves node emulator over HTTP with pywaves-ce, credited exactly once."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import random
import signal
import time

import pytest

from domain.books import DEPOSITS, UNATTRIBUTED
from settings import load_settings
from storage.deposits import DepositStore
from storage.ledger_store import LedgerStore, account_book
from testbed.waves_node import address_of, keccak256, random_seed, transaction_id, valid_address
from tests.ledger_workers import poll_deposits
from tests.wallet_helpers import new_account
from wallet.deposits import AssetMisconfigured, DepositWatcher, deposit_info, payments_to
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


# --- the newest block grows; pages out of order; every kind of payment to us -------------


def test_a_deposit_joining_the_newest_block_later_is_credited(engine, waves_chain):
    """With WAVES_CONFIRMATIONS=1 a transaction in the newest block is credited, and that
    block is read again until it is final: transfers that join it after a poll (Waves
    microblocks) are credited too, each once."""
    account = new_account(engine)
    node = waves_chain.node
    watch = watcher(engine, waves_chain)  # WAVES_CONFIRMATIONS=1 by default
    node.mine()
    node.microblocks = True  # every transfer now joins the newest block
    first = waves_chain.send_deposit(memo_for(account), ETT)
    height = node.height
    assert [c.tx_id for c in watch.poll_once()] == [first]
    later = [waves_chain.send_deposit(memo_for(account), 2 * ETT + i) for i in range(2)]
    assert node.height == height  # the same block grew
    assert [c.tx_id for c in watch.poll_once()] == later
    assert watch.poll_once() == []  # read again, credited once
    node.microblocks = False
    node.mine()  # the next key block: the old one is final now
    last = waves_chain.send_deposit(memo_for(account), 3 * ETT)
    assert [c.tx_id for c in watch.poll_once()] == [last]
    assert balance(engine, account_book(account)) == 8 * ETT + 1
    assert len(DepositStore(engine).list()) == 4


def test_the_scan_position_never_passes_the_newest_block(engine, waves_chain):
    node = waves_chain.node
    node.mine(3)
    for confirmations in (1, 2):
        settings = load_settings(
            **waves_chain.settings_overrides(WAVES_CONFIRMATIONS=confirmations)
        )
        DepositWatcher.from_settings(engine, settings).poll_once()
        assert int(DepositStore(engine).cursor("deposits.height")) == node.height - 1


def test_pages_not_strictly_newest_first_lose_nothing(engine, waves_chain):
    """Each page is read to its end, filtered by height: a page where an older
    transaction comes before a newer one skips nothing."""
    account = new_account(engine)
    node = waves_chain.node
    node.page_disorder = True
    watch = watcher(engine, waves_chain)
    watch.page_size = 5
    sent = []
    for round_ in range(5):  # a page of 5 then holds new and already scanned transfers
        amounts = [ETT + 10 * round_ + i for i in range(7)]
        sent += [waves_chain.send_deposit(memo_for(account), amount) for amount in amounts]
        watch.poll_once()
    credited = {d.tx_id for d in DepositStore(engine).list(limit=1000)}
    assert credited == set(sent)
    assert balance(engine, account_book(account)) == sum(
        ETT + 10 * r + i for r in range(5) for i in range(7)
    )


def test_a_mass_transfer_pays_every_entry_addressed_to_us(engine, waves_chain):
    account = new_account(engine)
    stranger = waves_chain.address_of(random_seed())
    ett_tx = waves_chain.send_mass_deposit(
        memo_for(account), [(None, 10 * ETT), (stranger, 5 * ETT), (None, ETT)]
    )
    anonymous = waves_chain.send_mass_deposit("no memo", [(None, 3 * ETT)])
    waves_tx = waves_chain.send_mass_deposit(memo_for(account), [(None, ETT // 2)], asset=None)
    credits = watcher(engine, waves_chain).poll_once()
    assert [(c.tx_id, c.amount, c.asset) for c in credits] == [
        (f"{ett_tx}:0", 10 * ETT, "ETT"),
        (f"{ett_tx}:1", ETT, "ETT"),
        (f"{waves_tx}:0", ETT // 2, "WAVES"),
    ]
    assert balance(engine, account_book(account)) == 11 * ETT
    assert balance(engine, account_book(account), "WAVES") == ETT // 2
    assert balance(engine, UNATTRIBUTED) == 3 * ETT
    unattributed = DepositStore(engine).list("unattributed")
    assert [(d.tx_id, d.amount) for d in unattributed] == [(f"{anonymous}:0", 3 * ETT)]
    # Read again from the start (a lost cursor): nothing twice, and the books match the chain.
    DepositStore(engine).set_cursor("deposits.height", "0")
    assert watcher(engine, waves_chain).poll_once() == []
    on_chain = waves_chain.node.balance(waves_chain.service_address, waves_chain.ett_asset_id)
    assert on_chain == -balance(engine, DEPOSITS) == 14 * ETT


def test_a_transaction_the_chain_did_not_apply_is_not_credited(engine, waves_chain):
    account = new_account(engine)
    node = waves_chain.node
    node.failing_scripts.add(waves_chain.ett_asset_id)  # the asset's script refuses it
    failed = waves_chain.send_deposit(memo_for(account), 5 * ETT)
    failed_mass = waves_chain.send_mass_deposit(memo_for(account), [(None, ETT)])
    assert node.transactions[failed]["applicationStatus"] == "script_execution_failed"
    assert node.transactions[failed_mass]["applicationStatus"] == "script_execution_failed"
    assert node.balance(waves_chain.service_address, waves_chain.ett_asset_id) == 0
    node.failing_scripts.clear()
    good = waves_chain.send_deposit(memo_for(account), 2 * ETT)
    assert [c.tx_id for c in watcher(engine, waves_chain).poll_once()] == [good]
    assert balance(engine, account_book(account)) == 2 * ETT
    assert [d.tx_id for d in DepositStore(engine).list()] == [good]


def test_a_transfer_from_our_own_address_is_not_a_deposit(engine, waves_chain):
    account = new_account(engine)
    waves_chain.node.genesis(waves_chain.service_address, 10 * ETT)  # WAVES for its fees
    ours = waves_chain.service_seed
    waves_chain.send_deposit(memo_for(account), ETT, asset=None, sender_seed=ours)
    waves_chain.send_mass_deposit(memo_for(account), [(None, ETT)], asset=None, sender_seed=ours)
    assert watcher(engine, waves_chain).poll_once() == []
    assert DepositStore(engine).list() == []
    assert balance(engine, account_book(account), "WAVES") == 0


def test_an_ett_asset_with_wrong_decimals_stops_the_watcher_and_credits_nothing(
    engine, waves_chain
):
    account = new_account(engine)
    wrong = waves_chain.issue("NotETT", 10**12, decimals=2)
    waves_chain.send_deposit(memo_for(account), 500, asset=wrong)
    waves_chain.send_deposit(memo_for(account), ETT, asset=None)
    settings = load_settings(
        **waves_chain.settings_overrides(ETT_ASSET_ID=wrong, WALLET_POLL_SECONDS=0.05)
    )
    watch = DepositWatcher.from_settings(engine, settings)
    with pytest.raises(AssetMisconfigured, match="ETT_ASSET_ID"):
        watch.poll_once()

    async def run_until_it_stops():
        await asyncio.wait_for(watch.run(asyncio.Event()), 30)

    with pytest.raises(AssetMisconfigured):
        asyncio.run(run_until_it_stops())
    assert DepositStore(engine).list() == []
    assert balance(engine, account_book(account), "WAVES") == 0
    assert balance(engine, DEPOSITS, "WAVES") == 0


def test_payments_to_our_aliases_and_ethereum_style_transfers_count():
    ours = frozenset(["3Mours", "alias:R:encryptotel"])
    to_alias = {
        "type": 4, "id": "t1", "sender": "3Mpayer", "recipient": "alias:R:encryptotel",
        "assetId": None, "amount": 7, "attachment": "", "height": 5,
        "applicationStatus": "succeeded",
    }  # fmt: skip
    ethereum = {
        "type": 18, "id": "e1", "sender": "3Mpayer", "height": 6,
        "payload": {"type": "transfer", "recipient": "3Mours", "asset": "ASSET", "amount": 9},
    }  # fmt: skip
    invoke = {"type": 18, "id": "e2", "sender": "3Mpayer", "payload": {"type": "invocation"}}
    assert [(p.key, p.amount, p.asset_id) for p in payments_to(to_alias, ours, "3Mours")] == [
        ("t1", 7, None)
    ]
    assert [(p.key, p.amount, p.asset_id) for p in payments_to(ethereum, ours, "3Mours")] == [
        ("e1", 9, "ASSET")
    ]
    assert payments_to(invoke, ours, "3Mours") == []
    assert payments_to({**to_alias, "sender": "3Mours"}, ours, "3Mours") == []
    assert payments_to({**to_alias, "applicationStatus": "elided"}, ours, "3Mours") == []


def test_the_payment_link_setting_reaches_the_deposit_answer(engine, waves_chain):
    template = "https://wallet.example/pay?to={address}&asset={asset_id}&n={amount}&memo={memo}"
    settings = load_settings(**waves_chain.settings_overrides(WALLET_PAYMENT_LINK=template))
    info = DepositWatcher.from_settings(engine, settings).deposit_info(7, "ETT", 250_000_000)
    assert info.link == (
        f"https://wallet.example/pay?to={waves_chain.service_address}"
        f"&asset={waves_chain.ett_asset_id}&n=2.5&memo={memo_for(7)}"
    )


def test_a_watcher_killed_while_crediting_loses_and_doubles_nothing(engine, db_url, waves_chain):
    """kill -9 of the watcher at any point: the next poll (another instance) credits each
    deposit exactly once, mass transfers included."""
    account = new_account(engine)
    node = waves_chain.node
    node.microblocks = True  # the newest block keeps growing meanwhile
    amounts = [ETT + i for i in range(40)]
    for amount in amounts[:20]:
        waves_chain.send_deposit(memo_for(account), amount)
    waves_chain.send_mass_deposit(memo_for(account), [(None, 7), (None, 8)])
    overrides = waves_chain.settings_overrides()
    context = multiprocessing.get_context("spawn")
    worker = context.Process(target=poll_deposits, args=(db_url, overrides, 7))
    worker.start()
    deadline = time.monotonic() + 120
    while len(DepositStore(engine).list(limit=1000)) < 5:
        assert time.monotonic() < deadline and worker.is_alive()
        time.sleep(0.01)
    for amount in amounts[20:]:  # more arrive while it credits
        waves_chain.send_deposit(memo_for(account), amount)
    time.sleep(random.uniform(0, 0.2))
    os.kill(worker.pid, signal.SIGKILL)
    worker.join(30)
    assert worker.exitcode == -signal.SIGKILL
    watcher(engine, waves_chain).poll_once()
    assert balance(engine, account_book(account)) == sum(amounts) + 15
    assert len(DepositStore(engine).list(limit=1000)) == 42
    on_chain = node.balance(waves_chain.service_address, waves_chain.ett_asset_id)
    assert on_chain == -balance(engine, DEPOSITS)
