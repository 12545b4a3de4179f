"""Fixtures around the Waves node emulator: a private chain with ETT and a service wallet.

def test_something(waves_chain):
    waves_chain.url, waves_chain.chain_id, waves_chain.service_seed,
    waves_chain.service_address, waves_chain.ett_asset_id
    tx_id = waves_chain.send_deposit("ET1-40", 5 * 10**8)            # 5 ETT with a memo
    waves_chain.send_deposit("ET1-40", 10**8, asset=None)             # 1 WAVES
    waves_chain.send_mass_deposit("ET1-40", [(None, 10**8), (other, 5)])  # type 11
    waves_chain.settings_overrides()  # WAVES_* / ETT_ASSET_ID for load_settings(**...)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pytest
import pywaves

from testbed.waves_node import WavesNode, random_seed
from wallet.waves import (  # imports pywaves with the root logger preserved
    WavesClient,
    pywaves_instance,
)

CHAIN_ID = "R"
FAUCET_WAVES = 10**6 * 10**8
ETT_SUPPLY = 10**8 * 10**8


@dataclass
class WavesChain:
    """A running emulator with a funded faucet that issued ETT, and an empty service wallet."""

    node: WavesNode
    chain_id: str
    service_seed: str
    service_address: str
    faucet_seed: str
    ett_asset_id: str = ""
    _pw: object = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return self.node.url

    def wallet(self, seed: str | None = None) -> pywaves.Address:
        return pywaves.Address(seed=seed or self.faucet_seed, pywaves=self._pw)

    def address_of(self, seed: str) -> str:
        return WavesClient(self.url, self.chain_id, seed).address

    def send_deposit(
        self,
        memo: str | bytes,
        amount: int,
        *,
        asset: str | None | object = "ETT",
        sender_seed: str | None = None,
        to: str | None = None,
    ) -> str:
        """Transfer from the faucet (or `sender_seed`) to the service address over HTTP with
        pywaves; `asset` is "ETT", None for WAVES, or another asset id. Returns the tx id."""
        asset_id = self.ett_asset_id if asset == "ETT" else asset
        sender = self.wallet(sender_seed)
        recipient = pywaves.Address(address=to or self.service_address, pywaves=self._pw)
        attachment = memo.encode() if isinstance(memo, str) else memo
        if asset_id:
            answer = sender.sendAsset(
                recipient, pywaves.Asset(asset_id, pywaves=self._pw), amount, attachment
            )
        else:
            answer = sender.sendWaves(recipient, amount, attachment)
        assert "id" in answer, answer
        return answer["id"]

    def send_mass_deposit(
        self,
        memo: str | bytes,
        transfers: list[tuple[str | None, int]],
        *,
        asset: str | None | object = "ETT",
        sender_seed: str | None = None,
    ) -> str:
        """A mass transfer (type 11) from the faucet (or `sender_seed`) with one attachment:
        `transfers` are (recipient, amount), recipient None for the service address."""
        asset_id = self.ett_asset_id if asset == "ETT" else asset
        sender = self.wallet(sender_seed)
        attachment = memo.encode() if isinstance(memo, str) else memo
        entries = [
            {"recipient": to or self.service_address, "amount": amount} for to, amount in transfers
        ]
        if asset_id:
            token = pywaves.Asset(asset_id, pywaves=self._pw)
            answer = sender.massTransferAssets(entries, token, attachment)
        else:
            answer = sender.massTransferWaves(entries, attachment)
        assert "id" in answer, answer
        return answer["id"]

    def issue(self, name: str, quantity: int, decimals: int = 8) -> str:
        answer = self.wallet().issueAsset(name, f"{name} test asset", quantity, decimals)
        assert "id" in answer, answer
        return answer["id"]

    def settings_overrides(self, **extra: object) -> dict:
        return {
            "WAVES_NODE_URL": self.url,
            "WAVES_CHAIN_ID": self.chain_id,
            "WAVES_SEED": self.service_seed,
            "ETT_ASSET_ID": self.ett_asset_id,
            **extra,
        }


@pytest.fixture
def waves_node():
    """A bare emulator (chain R) listening on 127.0.0.1, stopped after the test."""
    node = WavesNode(CHAIN_ID).start()
    yield node
    node.stop()


@pytest.fixture
def waves_chain(waves_node: WavesNode) -> WavesChain:
    """The emulator with a faucet holding WAVES and all ETT, and a fresh service wallet."""
    logging.getLogger("pywaves").setLevel(logging.WARNING)
    pw = pywaves_instance(waves_node.url, CHAIN_ID)
    faucet_seed, service_seed = random_seed(), random_seed()
    chain = WavesChain(
        node=waves_node,
        chain_id=CHAIN_ID,
        service_seed=service_seed,
        service_address=WavesClient(waves_node.url, CHAIN_ID, service_seed).address,
        faucet_seed=faucet_seed,
        _pw=pw,
    )
    waves_node.genesis(chain.address_of(faucet_seed), FAUCET_WAVES)
    chain.ett_asset_id = chain.issue("EncryptoTel", ETT_SUPPLY)
    return chain
