"""Thin wrapper of pywaves-ce: the service wallet, address checks, reads and transfers.

Calls are blocking (pywaves uses requests): run them in a thread from async code.
The seed only ever goes to pywaves' signer; it is never logged or shown.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

import base58
import requests

from settings import Settings

# pywaves configures the root logger on import; keep the service's logging as it was.
_root = logging.getLogger()
_handlers, _level = list(_root.handlers), _root.level
import pywaves  # noqa: E402
import pywaves.crypto as waves_crypto  # noqa: E402
from waves import amount_pb2, recipient_pb2, transaction_pb2  # noqa: E402

_root.handlers[:] = _handlers
_root.setLevel(_level)
logging.getLogger("pywaves").setLevel(logging.WARNING)

ADDRESS_LENGTH = 26
CONNECTION_ERRORS = (requests.ConnectionError, requests.Timeout)
NO_SUCH_TRANSACTION = 311  # the node's error code for a transaction it does not know
# Where a transaction is for the node (`WavesClient.find_transaction`).
CONFIRMED, UNCONFIRMED, UNKNOWN = "confirmed", "unconfirmed", "unknown"


def pywaves_instance(node_url: str, chain_id: str, *, offline: bool = False) -> pywaves.PyWaves:
    """An independent pywaves instance for one node and chain (never the module globals)."""
    instance = pywaves.ParallelPyWaves()
    instance.setNode(node_url, "custom", chain_id)
    # pywaves.Asset reads this from the instance, but only the module defines it.
    instance.DEFAULT_CURRENCY = pywaves.DEFAULT_CURRENCY
    if offline:
        instance.setOffline()
    return instance


class NodeUnavailable(Exception):
    """The node could not be reached (`code` None) or answered with error `code`."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class TransferRejected(Exception):
    """The node refused a broadcast transfer (`code`, `message` from the node)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"node refused the transfer ({code}): {message}")
        self.code, self.message = code, message


class InvalidAddress(ValueError):
    """Not an address of the configured chain (bad base58, version, chain byte or checksum)."""


def _secure_hash(data: bytes) -> bytes:
    return waves_crypto.str2bytes(waves_crypto.hashChain(data))


def is_valid_address(address: str, chain_id: str) -> bool:
    """True for a base58 address of `chain_id` with a correct checksum."""
    try:
        raw = base58.b58decode(address.strip())
    except ValueError:
        return False
    return (
        len(raw) == ADDRESS_LENGTH
        and raw[0] == 1
        and raw[1] == ord(chain_id)
        and _secure_hash(raw[:22])[:4] == raw[22:]
    )


def transfer_id(tx: dict, chain_id: str) -> str:
    """The id a node gives a signed v3 transfer: base58(blake2b-256(protobuf body))."""
    transfer = transaction_pb2.TransferTransactionData()
    transfer.recipient.CopyFrom(
        recipient_pb2.Recipient(public_key_hash=base58.b58decode(tx["recipient"])[2:22])
    )
    amount = amount_pb2.Amount(amount=tx["amount"])
    if tx.get("assetId"):
        amount.asset_id = base58.b58decode(tx["assetId"])
    transfer.amount.CopyFrom(amount)
    transfer.attachment = base58.b58decode(tx.get("attachment") or "")
    body = transaction_pb2.Transaction(
        chain_id=ord(chain_id),
        sender_public_key=base58.b58decode(tx["senderPublicKey"]),
        timestamp=tx["timestamp"],
        version=tx["version"],
    )
    body.fee.CopyFrom(amount_pb2.Amount(amount=tx["fee"]))
    body.transfer.CopyFrom(transfer)
    digest = hashlib.blake2b(body.SerializeToString(), digest_size=32).digest()
    return base58.b58encode(digest).decode()


class WavesClient:
    """One node, one chain, optionally the service wallet (from WAVES_SEED)."""

    def __init__(self, node_url: str, chain_id: str, seed: str | None = None) -> None:
        self.chain_id = chain_id
        self._online = pywaves_instance(node_url, chain_id)
        self._signer = pywaves_instance(node_url, chain_id, offline=True)
        self._wallet = pywaves.Address(seed=seed, pywaves=self._signer) if seed else None

    @classmethod
    def service_wallet(cls, settings: Settings, purpose: str) -> WavesClient:
        """The service wallet of WAVES_SEED on WAVES_NODE_URL; ValueError when not configured."""
        if not settings.WAVES_NODE_URL or not settings.WAVES_SEED:
            raise ValueError(f"WAVES_NODE_URL and WAVES_SEED must be set for {purpose}")
        return cls(
            settings.WAVES_NODE_URL, settings.WAVES_CHAIN_ID, settings.WAVES_SEED.get_secret_value()
        )

    def __repr__(self) -> str:
        return f"WavesClient({self._online.NODE!r}, {self.chain_id!r})"

    @property
    def address(self) -> str:
        """The service wallet's address."""
        if self._wallet is None:
            raise RuntimeError("WAVES_SEED is not set")
        return self._wallet.address

    def is_valid_address(self, address: str) -> bool:
        """True for an address of this client's chain."""
        return is_valid_address(address, self.chain_id)

    # --- reads -----------------------------------------------------------------------

    def _get(self, path: str) -> Any:
        try:
            answer = self._online.wrapper(path)
        except CONNECTION_ERRORS as error:
            raise NodeUnavailable(f"node unreachable: {type(error).__name__}") from None
        if isinstance(answer, dict) and "error" in answer:
            code = answer["error"] if isinstance(answer["error"], int) else 0
            raise NodeUnavailable(f"node error {code}: {answer.get('message', '')}", code)
        return answer

    def height(self) -> int:
        """The node's blockchain height."""
        return int(self._get("/blocks/height")["height"])

    def last_block_timestamp(self) -> int:
        """Timestamp (ms) of the newest block: a transaction more than 2 h older than it
        can no longer be put in a block."""
        return int(self._get("/blocks/headers/last")["timestamp"])

    def aliases(self, address: str) -> list[str]:
        """The aliases of `address` (`alias:<chain>:<name>`)."""
        answer = self._get(f"/alias/by-address/{address}")
        return [str(alias) for alias in answer] if isinstance(answer, list) else []

    def transactions(self, address: str, limit: int = 100, after: str | None = None) -> list:
        """Up to `limit` transactions of `address`, newest first, older than `after`."""
        path = f"/transactions/address/{address}/limit/{limit}"
        answer = self._get(path + (f"?after={after}" if after else ""))
        return answer[0] if answer else []

    def balance(self, asset_id: str | None = None, address: str | None = None) -> int:
        """On-chain balance of `address` (default: the service wallet) in WAVES or an asset."""
        address = address or self.address
        if asset_id:
            return int(self._get(f"/assets/balance/{address}/{asset_id}")["balance"])
        return int(self._get(f"/addresses/balance/{address}")["balance"])

    def asset_decimals(self, asset_id: str) -> int:
        """Decimals of an asset, as the node reports them."""
        return int(self._get(f"/assets/details/{asset_id}")["decimals"])

    def find_transaction(self, tx_id: str) -> tuple[str, dict | None]:
        """Where the node has a transaction: (CONFIRMED, tx with its height), (UNCONFIRMED,
        tx) or (UNKNOWN, None); NodeUnavailable when it cannot tell."""
        for state, path in (
            (CONFIRMED, f"/transactions/info/{tx_id}"),
            (UNCONFIRMED, f"/transactions/unconfirmed/info/{tx_id}"),
        ):
            try:
                return state, self._get(path)
            except NodeUnavailable as error:
                if error.code != NO_SUCH_TRANSACTION:
                    raise
        return UNKNOWN, None

    def has_transaction(self, tx_id: str) -> bool | None:
        """True when the node knows the transaction (confirmed or pending), False when it
        says it does not, None when it cannot tell (unreachable or failing)."""
        try:
            return self.find_transaction(tx_id)[0] != UNKNOWN
        except NodeUnavailable:
            return None

    # --- transfers ---------------------------------------------------------------------

    def sign_transfer(
        self,
        recipient: str,
        amount: int,
        asset_id: str | None,
        attachment: bytes = b"",
        fee: int = 100_000,
        timestamp: int = 0,
    ) -> dict:
        """A signed v3 transfer from the service wallet (not broadcast), with its `id`.

        `timestamp` (ms; 0: now) is part of the signed body: the same transfer signed
        again with the same timestamp has the same id, so it can be broadcast again
        without ever being applied twice.
        """
        if self._wallet is None:
            raise RuntimeError("WAVES_SEED is not set")
        if not self.is_valid_address(recipient):
            raise InvalidAddress("not an address of this chain")
        to = pywaves.Address(address=recipient, pywaves=self._signer)
        if asset_id:
            asset = pywaves.Asset(asset_id, pywaves=self._signer)
            signed = self._wallet.sendAsset(
                to, asset, amount, attachment, txFee=fee, timestamp=timestamp
            )
        else:
            signed = self._wallet.sendWaves(to, amount, attachment, txFee=fee, timestamp=timestamp)
        tx = json.loads(signed["api-data"])
        tx["id"] = transfer_id(tx, self.chain_id)
        return tx

    def broadcast(self, tx: dict) -> dict:
        """Send a signed transaction; raise TransferRejected or NodeUnavailable."""
        body = {k: v for k, v in tx.items() if k != "id"}
        try:
            answer = self._online.wrapper("/transactions/broadcast", json.dumps(body))
        except CONNECTION_ERRORS as error:
            raise NodeUnavailable(f"node unreachable: {type(error).__name__}") from None
        if not isinstance(answer, dict):
            raise NodeUnavailable("unexpected answer to broadcast")
        if "error" in answer:
            code = int(answer["error"]) if str(answer["error"]).isdigit() else 0
            if code >= 500:
                raise NodeUnavailable(f"node error {code}: {answer.get('message', '')}")
            raise TransferRejected(code, str(answer.get("message", "")))
        return answer
