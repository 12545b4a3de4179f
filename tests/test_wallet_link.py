"""Linking a Waves wallet (wallet.link): a one-time message proven by a signature in
Signer's or Keeper's format, or by a transfer from the address with the message as memo;
refused for a wrong signature, another address's key, an expired or replaced message, an
address of another chain. Signatures are made here with curve25519 from known seeds."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import timedelta

import base58
import pytest
import pywaves
import pywaves_curve25519 as curve

import nlu
from domain.clock import utcnow
from privacy.keys import public_key_of_seed, secret_key_of_seed
from settings import load_settings
from storage.accounts import AccountStore
from storage.deposits import DepositStore
from storage.ledger_store import LedgerStore, account_book
from storage.wallet_links import WalletLinkStore
from testbed.waves_node import address_of as emulator_address_of
from testbed.waves_node import random_seed
from tests.wallet_helpers import new_account
from wallet.deposits import DepositWatcher, decode_attachment
from wallet.link import (
    BAD_ADDRESS,
    BAD_SIGNATURE,
    EXPIRED,
    LINK_TTL,
    MALFORMED,
    NO_CHALLENGE,
    OTHER_ADDRESS,
    SIGNATURE,
    TRANSFER,
    WRONG_CHAIN,
    LinkRefused,
    WalletLinker,
    address_of,
    keeper_bytes,
    signer_bytes,
)
from wallet.waves import WavesClient, pywaves_instance

CHAIN = "R"  # the emulator's chain (tests/conftest_waves.py)
SEED = "ocean hidden kidney famous rich season gloom husband spring convince attitude boy"
OTHER_SEED = "exit fiber quiz vendor raven alley chapter guess reward lunar pepper tool cute"


class Wallet:
    """A Waves account of a seed, signing as Signer and Keeper do."""

    def __init__(self, seed: str, chain: str = CHAIN) -> None:
        self.secret = secret_key_of_seed(seed)
        self.public = public_key_of_seed(seed)
        self.public_key = base58.b58encode(self.public).decode()
        self.address = address_of(self.public, chain)

    def sign(self, data: bytes) -> str:
        return base58.b58encode(
            curve.calculateSignature(os.urandom(64), self.secret, data)
        ).decode()


@pytest.fixture
def linker(engine) -> WalletLinker:
    return WalletLinker(engine, CHAIN)


def refused(reason: str):
    return pytest.raises(LinkRefused, match=f"^{reason}$")


def account(engine, account_id: int):
    return AccountStore(engine).get(account_id)


def test_addresses_and_keys_agree_with_pywaves_and_the_node_rules():
    wallet = Wallet(SEED)
    offline = pywaves_instance("http://127.0.0.1:9", CHAIN, offline=True)
    reference = pywaves.Address(seed=SEED, pywaves=offline)
    assert (wallet.address, wallet.public_key) == (reference.address, reference.publicKey)
    assert wallet.address == emulator_address_of(wallet.public, CHAIN)
    assert address_of(wallet.public, "W") != wallet.address  # the chain byte is hashed in


def test_a_signer_signature_links_the_wallet_and_its_key(engine, linker):
    user, wallet = new_account(engine), Wallet(SEED)
    challenge = linker.start(user, wallet.address)
    assert challenge.message.startswith("encryptotel-link-") and len(challenge.message) < 64
    assert challenge.expires_at - utcnow() <= LINK_TTL
    assert linker.pending(user) == challenge
    linked = linker.prove_signature(
        user, wallet.sign(signer_bytes(challenge.message)), wallet.public_key
    )
    assert (linked.address, linked.public_key, linked.by) == (
        wallet.address,
        wallet.public_key,
        SIGNATURE,
    )
    stored = account(engine, user)
    assert (stored.wallet_address, stored.recording_key) == (wallet.address, wallet.public_key)
    assert linker.pending(user) is None and WalletLinkStore(engine).of_account(user) is None
    with refused(NO_CHALLENGE):  # one use only
        linker.prove_signature(
            user, wallet.sign(signer_bytes(challenge.message)), wallet.public_key
        )


def test_signer_message_bytes_are_the_documented_ones():
    assert signer_bytes("abc") == b"\xff\xff\xff\x01abc"
    assert keeper_bytes("abc", "encryptotel") == (
        b"\x00\x19WavesWalletAuthentication\x00\x0bencryptotel\x00\x03abc"
    )


def test_a_keeper_auth_signature_links_only_for_our_host(engine, linker):
    user, wallet = new_account(engine), Wallet(SEED)
    challenge = linker.start(user, wallet.address)
    elsewhere = wallet.sign(keeper_bytes(challenge.message, "evil.example"))
    with refused(BAD_SIGNATURE):
        linker.prove_signature(user, elsewhere, wallet.public_key)
    assert account(engine, user).wallet_address is None
    ours = wallet.sign(keeper_bytes(challenge.message, "encryptotel"))
    assert linker.prove_signature(user, ours, wallet.public_key).address == wallet.address
    assert account(engine, user).recording_key == wallet.public_key


def test_wrong_and_malformed_signatures_link_nothing(engine, linker):
    user, wallet = new_account(engine), Wallet(SEED)
    challenge = linker.start(user, wallet.address)
    message = challenge.message
    with refused(BAD_SIGNATURE):  # the message itself, unprefixed: not what wallets sign
        linker.prove_signature(user, wallet.sign(message.encode()), wallet.public_key)
    with refused(BAD_SIGNATURE):  # another message
        linker.prove_signature(user, wallet.sign(signer_bytes(message + "x")), wallet.public_key)
    with refused(MALFORMED):
        linker.prove_signature(user, "not-base58-0OIl", wallet.public_key)
    with refused(MALFORMED):
        linker.prove_signature(user, wallet.sign(signer_bytes(message)), wallet.public_key[:-3])
    assert account(engine, user).recording_key is None
    assert linker.pending(user) == challenge  # still open to a right answer
    assert linker.prove_signature(user, wallet.sign(signer_bytes(message)), wallet.public_key)


def test_a_key_of_another_address_is_refused_and_named(engine, linker):
    user, claimed, other = new_account(engine), Wallet(SEED), Wallet(OTHER_SEED)
    challenge = linker.start(user, claimed.address)
    with pytest.raises(LinkRefused) as error:
        linker.prove_signature(user, other.sign(signer_bytes(challenge.message)), other.public_key)
    assert (error.value.reason, error.value.address) == (OTHER_ADDRESS, other.address)
    assert account(engine, user).wallet_address is None
    # Another account's message does not prove this one either.
    stranger = new_account(engine)
    theirs = linker.start(stranger, claimed.address)
    with refused(BAD_SIGNATURE):
        linker.prove_signature(user, claimed.sign(signer_bytes(theirs.message)), claimed.public_key)


def test_an_expired_or_replaced_message_proves_nothing(engine, linker):
    user, wallet = new_account(engine), Wallet(SEED)
    old = linker.start(user, wallet.address, now=utcnow() - LINK_TTL - timedelta(seconds=1))
    assert linker.pending(user) is None
    with refused(EXPIRED):
        linker.prove_signature(user, wallet.sign(signer_bytes(old.message)), wallet.public_key)
    first = linker.start(user, wallet.address)
    second = linker.start(user, wallet.address)  # one per account: the newer replaces it
    assert first.message != second.message
    with refused(BAD_SIGNATURE):
        linker.prove_signature(user, wallet.sign(signer_bytes(first.message)), wallet.public_key)
    later = utcnow() + LINK_TTL + timedelta(seconds=1)
    with refused(EXPIRED):
        linker.prove_signature(
            user, wallet.sign(signer_bytes(second.message)), wallet.public_key, now=later
        )
    assert account(engine, user).wallet_address is None


def test_addresses_of_another_chain_or_with_a_typo_are_refused(engine, linker):
    user = new_account(engine)
    mainnet = Wallet(SEED, chain="W").address
    assert mainnet.startswith("3P")
    with pytest.raises(LinkRefused) as error:
        linker.start(user, mainnet)
    assert (error.value.reason, error.value.address) == (WRONG_CHAIN, mainnet)
    good = Wallet(SEED).address
    typo = good[:-1] + ("2" if good[-1] != "2" else "3")
    for bad in (typo, "hello", "", good[:-2], "0OIl" + good[4:]):
        with refused(BAD_ADDRESS):
            linker.start(user, bad)
    assert linker.pending(user) is None
    assert linker.start(user, f"  {good} ").address == good  # surrounding blanks ignored


def test_no_proof_without_a_started_one(engine, linker):
    user, wallet = new_account(engine), Wallet(SEED)
    with refused(NO_CHALLENGE):
        linker.prove_signature(user, wallet.sign(signer_bytes("x")), wallet.public_key)
    with refused(NO_CHALLENGE):
        linker.prove_transfer(wallet.address, wallet.public_key, "encryptotel-link-unknown")
    with refused(NO_CHALLENGE):
        linker.prove_transfer(wallet.address, wallet.public_key, "ET1-23")


# --- proof by a transfer, through the node emulator ----------------------------------------


def _funded_wallet(chain) -> tuple[str, str]:
    """A new seed holding 1 WAVES from the faucet, and its address."""
    seed = random_seed()
    address = chain.address_of(seed)
    chain.send_deposit(b"", 10**8, asset=None, to=address)
    return seed, address


def _sent_by_node(chain, tx_id: str) -> dict:
    """The transaction as the node gives it (`/transactions/info/{id}`)."""
    state, tx = WavesClient(chain.url, CHAIN).find_transaction(tx_id)
    assert tx is not None, state
    return tx


def test_a_transfer_with_the_message_as_memo_links_its_sender(engine, waves_chain):
    linker = WalletLinker(engine, CHAIN)
    user = new_account(engine)
    seed, address = _funded_wallet(waves_chain)
    challenge = linker.start(user, address)
    # Sent from another address first: refused, the proof stays open.
    other_seed, other_address = _funded_wallet(waves_chain)
    wrong = _sent_by_node(
        waves_chain,
        waves_chain.send_deposit(challenge.message, 1, asset=None, sender_seed=other_seed),
    )
    with pytest.raises(LinkRefused) as error:
        linker.prove_transfer(
            wrong["sender"], wrong["senderPublicKey"], decode_attachment(wrong["attachment"])
        )
    assert (error.value.reason, error.value.address) == (OTHER_ADDRESS, other_address)
    assert linker.account_of(challenge.message) == user
    tx = _sent_by_node(
        waves_chain, waves_chain.send_deposit(challenge.message, 1, asset=None, sender_seed=seed)
    )
    memo = decode_attachment(tx["attachment"])
    assert memo == challenge.message
    linked = linker.prove_transfer(tx["sender"], tx["senderPublicKey"], memo)
    assert (linked.account_id, linked.address, linked.by) == (user, address, TRANSFER)
    stored = account(engine, user)
    assert (stored.wallet_address, stored.recording_key) == (address, tx["senderPublicKey"])
    with refused(NO_CHALLENGE):  # the same transfer read again
        linker.prove_transfer(tx["sender"], tx["senderPublicKey"], memo)


@pytest.mark.skipif(
    "linker" not in DepositWatcher.__init__.__code__.co_varnames,
    reason="the deposit watcher's link hook (wallet/deposits.py) is not in place yet",
)
def test_the_deposit_watcher_links_and_still_credits_the_transfer(engine, waves_chain):
    user = new_account(engine)
    seed, address = _funded_wallet(waves_chain)
    settings = load_settings(**waves_chain.settings_overrides(WALLET_POLL_SECONDS=0.05))
    linked = []
    watcher = DepositWatcher.from_settings(engine, settings, on_linked=linked.append)
    challenge = WalletLinker.from_settings(engine, settings).start(user, address)
    tx_id = waves_chain.send_deposit(challenge.message, 12345, asset=None, sender_seed=seed)
    waves_chain.node.mine()
    asyncio.run(watcher.poll_and_notify())
    assert [(x.account_id, x.address) for x in linked] == [(user, address)]
    assert account(engine, user).wallet_address == address
    assert DepositStore(engine).get(tx_id).account_id == user
    assert LedgerStore(engine).balance(account_book(user), "WAVES").amount == 12345


def test_the_owners_own_machine_signs_the_message_with_main_py(engine, linker, tmp_path):
    """`main.py recording sign-link` signs as Signer does, offline: its answer, pasted in
    the chat as it is printed, links the wallet."""
    user, wallet = new_account(engine), Wallet(SEED)
    challenge = linker.start(user, wallet.address)
    done = subprocess.run(
        [sys.executable, "main.py", "recording", "sign-link", challenge.message],
        input=SEED,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "DATABASE_URL": "sqlite:////nonexistent/never.db"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    parsed = nlu.parse(done.stdout.strip())
    assert (parsed["intent"], parsed["public_key"]) == ("link_wallet", wallet.public_key)
    linked = linker.prove_signature(user, parsed["signature"], parsed["public_key"])
    assert linked.address == wallet.address
