"""Withdrawals: debit the ledger, sign and broadcast from the service wallet, refund on failure.

Order of work (each step survives a crash of the next, see `storage.withdrawals` for the
states): the Withdrawal row is stored under its idempotency key, the account is debited
under the same key, the transfer is signed and its id stored (`signed`), then it is
broadcast. The transfer's timestamp is the row's `created_at` to the millisecond, so the
same row always signs to the same transaction id: a transfer interrupted before its
broadcast can be rebuilt and broadcast again, and never applies twice on chain. Its
attachment is a digest of the idempotency key, so two withdrawals of the same amount to
the same address in the same millisecond still sign two transfers (a transaction id is
the hash of the body: without it the node would take one and call the other a repeat).

A refusal by the node refunds the debit under `<key>:refund`, unless the node has the
transaction after all (a second broadcast of one it already took). When the node cannot
be reached or cannot tell, the withdrawal stays `unknown` (never refunded blindly, so
money cannot leave twice). Withdrawals a crash or a silent node left unfinished are
finished or refunded by `wallet.withdrawal_recovery` (the deposit watcher runs it), and
an operator resolves the rest (`python main.py admin withdrawals`).

A refund is decided before it is paid (state `refunding`, then the refund transfer, then
`failed`), so the recovery finishes a refund interrupted halfway instead of rebroadcasting.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from domain.books import NETWORK_FEES, WITHDRAWALS, TransferKind, fee_key, refund_key
from domain.clock import utcnow
from domain.money import ASSETS
from settings import Settings
from storage.ledger_store import LedgerStore, account_book
from storage.models import Withdrawal
from storage.withdrawals import (
    FAILED,
    PENDING,
    REFUNDING,
    REFUSED,
    SENT,
    SIGNED,
    UNDECIDED,
    UNFINISHED,
    UNKNOWN,
    WithdrawalStore,
)
from wallet.waves import InvalidAddress, NodeUnavailable, TransferRejected, WavesClient

log = logging.getLogger(__name__)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


def now_to_the_millisecond() -> datetime:
    """The current time, truncated to a whole millisecond (a withdrawal's created_at)."""
    now = utcnow()
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def transfer_attachment(key: str) -> bytes:
    """The 8-byte attachment of a withdrawal's transfer: the start of the SHA-256 of its
    idempotency key. Public on chain, it tells nothing of the key, the account or how many
    withdrawals there were; it only makes distinct withdrawals distinct transfers."""
    return hashlib.sha256(key.encode()).digest()[:8]


def transfer_timestamp(row: Withdrawal) -> int:
    """The timestamp (ms) of a withdrawal's transfer: its row's creation time."""
    created = row.created_at
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return (created - _EPOCH) // _MILLISECOND


class WithdrawalBooks:
    """The ledger side of a withdrawal's outcome: its network fee when sent, its refund."""

    def __init__(self, engine: Engine) -> None:
        self.ledger = LedgerStore(engine)
        self.store = WithdrawalStore(engine)

    def debited(self, key: str) -> bool:
        """Whether the account was debited for the withdrawal `key`."""
        return self.ledger.transfer_by_key(key) is not None

    def book_sent(self, row: Withdrawal, fee: int) -> Withdrawal:
        """The transfer is on chain: book its network fee and mark the withdrawal sent."""
        key = row.idempotency_key
        current = self.store.get(key) or row
        if current.state not in UNDECIDED:
            return current  # decided meanwhile (sent by another process, or refunded)
        self.ledger.transfer(
            key=fee_key(key),
            kind=TransferKind.NETWORK_FEE,
            asset="WAVES",
            amount=fee,
            debit=NETWORK_FEES,
            credit=WITHDRAWALS,
            reason=f"network fee of withdrawal {current.tx_id}",
            ref=key,
        )
        log.info("withdrawal %s sent as %s", key, current.tx_id)
        sent = self.store.transition(key, UNDECIDED, state=SENT, error=None)
        return sent or self.store.get(key) or current

    def refund(
        self, row: Withdrawal, reason: str, from_states: tuple[str, ...] = UNDECIDED
    ) -> Withdrawal:
        """Decide to give the debit back (unless another outcome was decided), then do it."""
        key = row.idempotency_key
        decided = self.store.transition(key, from_states, state=REFUNDING, error=reason[:255])
        if decided is None:
            return self.store.get(key) or row
        return self.finish_refund(decided)

    def finish_refund(self, row: Withdrawal) -> Withdrawal:
        """Pay a decided refund (`refunding`, or `refused` but debited after all): the
        refund transfer when the account was debited, then `failed` (else `refused`)."""
        key = row.idempotency_key
        if not self.debited(key):
            done = self.store.transition(key, (REFUNDING,), state=REFUSED)
            return done or self.store.get(key) or row
        self.ledger.transfer(
            key=refund_key(key),
            kind=TransferKind.WITHDRAWAL_REFUND,
            asset=row.asset,
            amount=row.amount,
            debit=WITHDRAWALS,
            credit=account_book(row.account_id),
            reason=f"refund of failed withdrawal: {row.error or ''}"[:255],
            ref=key,
        )
        log.info("withdrawal %s refunded: %s", key, row.error)
        done = self.store.transition(key, (REFUNDING, REFUSED), state=FAILED)
        return done or self.store.get(key) or row


class Withdrawals:
    """Send ETT or WAVES from an account's balance to a Waves address."""

    def __init__(
        self, engine: Engine, client: WavesClient, *, ett_asset_id: str, network_fee: int = 100_000
    ) -> None:
        self.client = client
        self.ett_asset_id = ett_asset_id
        self.network_fee = network_fee
        self.books = WithdrawalBooks(engine)
        self.ledger = self.books.ledger
        self.store = self.books.store

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
                state=PENDING,
                created_at=now_to_the_millisecond(),
            )  # fmt: skip
        )
        if not created and row.state != PENDING:
            return row  # a retry of a withdrawal already handled (or being handled)
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
            self.store.transition(key, (PENDING,), state=REFUSED, error=str(error)[:255])
            raise
        return self._send(row)

    async def withdraw_async(
        self, account_id: int, amount: int, asset: str, address: str, *, key: str | None = None
    ) -> Withdrawal:
        """`withdraw` in a worker thread."""
        return await asyncio.to_thread(self.withdraw, account_id, amount, asset, address, key=key)

    def sign(self, row: Withdrawal) -> dict:
        """The withdrawal's transfer, signed (always the same id for the same row and fee)."""
        asset_id = self.ett_asset_id if row.asset == "ETT" else None
        return self.client.sign_transfer(
            row.address,
            row.amount,
            asset_id,
            transfer_attachment(row.idempotency_key),
            fee=self.network_fee,
            timestamp=transfer_timestamp(row),
        )

    def _send(self, row: Withdrawal) -> Withdrawal:
        key = row.idempotency_key
        tx = self.sign(row)
        claimed = self.store.transition(key, (PENDING,), state=SIGNED, tx_id=tx["id"])
        if claimed is None:  # decided meanwhile by another process or the recovery
            current = self.store.get(key) or row
            if current.state == REFUSED:  # given up before our debit: give it back
                return self.books.finish_refund(current)
            return current
        return self.broadcast(claimed, tx)

    def broadcast(self, row: Withdrawal, tx: dict) -> Withdrawal:
        """Broadcast the signed transfer of a `signed` withdrawal and book the outcome."""
        try:
            self.client.broadcast(tx)
        except TransferRejected as rejected:
            return self._rejected(row, tx, rejected)
        except NodeUnavailable as error:
            if self.client.has_transaction(tx["id"]):
                return self.books.book_sent(row, tx["fee"])
            return self._unknown(row, tx, str(error))
        return self.books.book_sent(row, tx["fee"])

    def _rejected(self, row: Withdrawal, tx: dict, rejected: TransferRejected) -> Withdrawal:
        found = self.client.has_transaction(tx["id"])
        if found:  # a broadcast of a transfer the node already took
            return self.books.book_sent(row, tx["fee"])
        if found is None:
            return self._unknown(row, tx, rejected.message)
        log.warning("withdrawal %s refused by the node: %s", row.idempotency_key, rejected.message)
        return self.books.refund(row, rejected.message, (SIGNED, UNKNOWN))

    def _unknown(self, row: Withdrawal, tx: dict, error: str) -> Withdrawal:
        key = row.idempotency_key
        log.error("withdrawal %s: node unreachable, outcome unknown (tx %s)", key, tx["id"])
        changed = self.store.transition(key, (SIGNED, UNKNOWN), state=UNKNOWN, error=error[:255])
        return changed or self.store.get(key) or row


__all__ = [
    "FAILED",
    "PENDING",
    "REFUNDING",
    "REFUSED",
    "SENT",
    "SIGNED",
    "UNDECIDED",
    "UNFINISHED",
    "UNKNOWN",
    "WithdrawalBooks",
    "Withdrawals",
    "now_to_the_millisecond",
    "transfer_attachment",
    "transfer_timestamp",
]
