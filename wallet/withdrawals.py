"""Withdrawals: debit the ledger, sign and broadcast from the service wallet, refund on failure.

Order of work (each step survives a crash of the next): the Withdrawal row is stored
under its idempotency key, the account is debited under the same key, the transfer is
signed (its id is known before broadcasting) and broadcast. A refusal by the node
refunds the debit under `<key>:refund`. When the node cannot be reached the transfer is
looked up by id: found means sent, a node that answers "no such transaction" means
refund, and a node that stays silent leaves the withdrawal `unknown` for an operator
(never refunded blindly, so money cannot leave twice).
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from sqlalchemy import Engine

from domain.books import NETWORK_FEES, WITHDRAWALS, TransferKind, fee_key, refund_key
from domain.money import ASSETS
from settings import Settings
from storage.ledger_store import LedgerStore, account_book
from storage.models import Withdrawal
from storage.withdrawals import WithdrawalStore
from wallet.waves import InvalidAddress, NodeUnavailable, TransferRejected, WavesClient

log = logging.getLogger(__name__)


class Withdrawals:
    """Send ETT or WAVES from an account's balance to a Waves address."""

    def __init__(
        self, engine: Engine, client: WavesClient, *, ett_asset_id: str, network_fee: int = 100_000
    ) -> None:
        self.client = client
        self.ett_asset_id = ett_asset_id
        self.network_fee = network_fee
        self.ledger = LedgerStore(engine)
        self.store = WithdrawalStore(engine)

    @classmethod
    def from_settings(cls, engine: Engine, settings: Settings) -> Withdrawals:
        """Withdrawals from WAVES_SEED's wallet on WAVES_NODE_URL."""
        client = WavesClient.service_wallet(settings, "withdrawals")
        return cls(
            engine,
            client,
            ett_asset_id=settings.ETT_ASSET_ID,
            network_fee=settings.WALLET_NETWORK_FEE,
        )

    def withdraw(
        self, account_id: int, amount: int, asset: str, address: str, *, key: str | None = None
    ) -> Withdrawal:
        """Withdraw `amount` units of `asset` to `address`; return the Withdrawal row.

        Raises InvalidAddress, ValueError (bad amount/asset) or the ledger's
        InsufficientFunds before anything is sent. A refusal by the node returns the
        row in state `failed` with the node's message, the debit refunded.
        """
        address = address.strip()
        if asset not in ASSETS:
            raise ValueError(f"withdrawals are in {', '.join(ASSETS)}")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise ValueError("amount must be a positive number of smallest units")
        if not self.client.is_valid_address(address):
            raise InvalidAddress(f"not a valid address of chain {self.client.chain_id}")
        key = key or f"withdraw:{uuid.uuid4().hex}"
        row, created = self.store.create(
            Withdrawal(
                idempotency_key=key,
                account_id=account_id,
                asset=asset,
                amount=amount,
                address=address,
                state="pending",
            )  # fmt: skip
        )
        if not created and row.state != "pending":
            return row  # a retry of a withdrawal already handled
        try:
            self.ledger.transfer(
                key=key,
                kind=TransferKind.WITHDRAWAL,
                asset=asset,
                amount=amount,
                debit=account_book(account_id),
                credit=WITHDRAWALS,
                reason=f"withdrawal to {address}",
                ref=key,
            )
        except Exception as error:
            self.store.update(key, state="refused", error=str(error)[:255])
            raise
        return self._send(row)

    async def withdraw_async(
        self, account_id: int, amount: int, asset: str, address: str, *, key: str | None = None
    ) -> Withdrawal:
        """`withdraw` in a worker thread."""
        return await asyncio.to_thread(self.withdraw, account_id, amount, asset, address, key=key)

    def _send(self, row: Withdrawal) -> Withdrawal:
        key = row.idempotency_key
        asset_id = self.ett_asset_id if row.asset == "ETT" else None
        tx = self.client.sign_transfer(row.address, row.amount, asset_id, fee=self.network_fee)
        self.store.update(key, tx_id=tx["id"], state="signed")
        try:
            self.client.broadcast(tx)
        except TransferRejected as rejected:
            log.warning("withdrawal %s refused by the node: %s", key, rejected.message)
            return self._refund(row, rejected.message)
        except NodeUnavailable as error:
            found = self.client.has_transaction(tx["id"])
            if found is False:
                return self._refund(row, str(error))
            if found is None:
                log.error("withdrawal %s: node unreachable, outcome unknown (tx %s)", key, tx["id"])
                return self.store.update(key, state="unknown", error=str(error)[:255])
        self.ledger.transfer(
            key=fee_key(key),
            kind=TransferKind.NETWORK_FEE,
            asset="WAVES",
            amount=self.network_fee,
            debit=NETWORK_FEES,
            credit=WITHDRAWALS,
            reason=f"network fee of withdrawal {tx['id']}",
            ref=key,
        )
        log.info("withdrawal %s sent as %s", key, tx["id"])
        return self.store.update(key, state="sent", error=None)

    def _refund(self, row: Withdrawal, reason: str) -> Withdrawal:
        self.ledger.transfer(
            key=refund_key(row.idempotency_key),
            kind=TransferKind.WITHDRAWAL_REFUND,
            asset=row.asset,
            amount=row.amount,
            debit=WITHDRAWALS,
            credit=account_book(row.account_id),
            reason=f"refund of failed withdrawal: {reason}"[:255],
            ref=row.idempotency_key,
        )
        return self.store.update(row.idempotency_key, state="failed", error=reason[:255])
