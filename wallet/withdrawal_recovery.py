"""Finishing or refunding withdrawals a crash (or a silent node) left unfinished.

A process killed between the debit and the broadcast leaves a withdrawal `pending` or
`signed` whose transfer never reached the node; killed after the broadcast, one that the
node has but that was never booked. Each unfinished withdrawal is looked up on the node
by its transaction id (the same row always signs to the same id, see `wallet.withdrawals`):

- on chain: it is marked sent and its network fee booked;
- waiting in the node's pool: left for the next look-up;
- unknown to the node while its timestamp is still acceptable: broadcast again (it can
  only ever apply once), and booked like any broadcast;
- unknown once its timestamp is out of the node's acceptance window (more than 2 h older
  than the newest block, plus a margin): it can never be included, so it is refunded;
- node unreachable: left as it is (never refunded blindly).

A withdrawal stored but never debited is closed `refused`; an interrupted refund is paid.
The deposit watcher runs `run_once` at start and every minute; an operator lists and
resolves what stays unfinished with `python main.py admin withdrawals`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Engine

from domain.clock import utcnow
from storage.models import Withdrawal
from storage.withdrawals import PENDING, REFUNDING, SIGNED, UNDECIDED, UNKNOWN
from wallet.waves import CONFIRMED, UNCONFIRMED, NodeUnavailable, TransferRejected, WavesClient
from wallet.withdrawals import WithdrawalBooks, Withdrawals, transfer_timestamp

log = logging.getLogger(__name__)
ACCEPTANCE_WINDOW_MS = (
    120 * 60_000
)  # a node refuses a transaction this much older than its last block
WINDOW_MARGIN_MS = 10 * 60_000
# Rows younger than this may still be in the hands of the process that created them.
GRACE = timedelta(minutes=1)
PENDING_GRACE = timedelta(minutes=10)


@dataclass
class RecoveryReport:
    """What one pass did, by withdrawal key."""

    sent: list[str] = field(default_factory=list)
    refunded: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)

    def add(self, outcome: str, key: str) -> None:
        getattr(self, outcome).append(key)


class WithdrawalRecovery:
    """Look interrupted withdrawals up on the node and finish or refund them."""

    def __init__(
        self, engine: Engine, client: WavesClient, *, ett_asset_id: str, network_fee: int = 100_000
    ) -> None:
        self.withdrawals = Withdrawals(
            engine, client, ett_asset_id=ett_asset_id, network_fee=network_fee
        )
        self.client = client
        self.books = self.withdrawals.books
        self.store = self.withdrawals.store
        self.grace, self.pending_grace = GRACE, PENDING_GRACE

    def run_once(self, *, grace: timedelta | None = None) -> RecoveryReport:
        """One pass over the unfinished withdrawals older than the grace period (default:
        `self.grace`, `self.pending_grace` for pending ones). Raises NodeUnavailable when
        the node cannot tell its time; each withdrawal is decided on its own."""
        report = RecoveryReport()
        node_time = self.client.last_block_timestamp()
        now = utcnow()
        for row in self.store.unfinished():
            wait = grace if grace is not None else self._grace(row)
            if row.created_at > now - wait:
                continue
            try:
                outcome = self.resolve(row, node_time)
            except NodeUnavailable as error:
                log.warning("withdrawal %s not looked up: %s", row.idempotency_key, error)
                outcome = "waiting"
            report.add(outcome, row.idempotency_key)
        if report.sent or report.refunded:
            log.info(
                "interrupted withdrawals: %d sent, %d refunded, %d still unfinished",
                len(report.sent),
                len(report.refunded),
                len(report.waiting),
            )
        return report

    def _grace(self, row: Withdrawal) -> timedelta:
        return self.pending_grace if row.state == PENDING else self.grace

    def resolve(self, row: Withdrawal, node_time: int) -> str:
        """Decide one unfinished withdrawal: "sent", "refunded" or "waiting"."""
        if row.state == REFUNDING:
            self.books.finish_refund(row)
            return "refunded"
        if not self.books.debited(row.idempotency_key):
            self.books.refund(row, "interrupted before the debit", (PENDING,))
            return "refunded"
        tx = self.withdrawals.sign(row)
        tx_id = row.tx_id or tx["id"]
        where, found = self.client.find_transaction(tx_id)
        if where == CONFIRMED and found is not None:
            self.books.book_sent(row, int(found.get("fee") or tx["fee"]))
            return "sent"
        if where == UNCONFIRMED:
            return "waiting"
        if node_time - transfer_timestamp(row) > ACCEPTANCE_WINDOW_MS + WINDOW_MARGIN_MS:
            reason = "never included: its timestamp is past the node's acceptance window"
            self.books.refund(row, reason)
            return "refunded"
        if tx["id"] != tx_id:
            return "waiting"  # signed with another fee: wait until it expires, then refund
        return self._broadcast_again(row, tx)

    def _broadcast_again(self, row: Withdrawal, tx: dict) -> str:
        key = row.idempotency_key
        if row.state == PENDING:
            claimed = self.store.transition(key, (PENDING,), state=SIGNED, tx_id=tx["id"])
            if claimed is None:
                return "waiting"  # taken on by another process meanwhile
            row = claimed
        try:
            self.client.broadcast(tx)
        except TransferRejected as rejected:
            if self.client.has_transaction(tx["id"]):
                self.books.book_sent(row, tx["fee"])
                return "sent"
            # Refunded only once it can never be included (the node may take it later).
            log.warning("withdrawal %s refused again: %s", key, rejected.message)
            self.store.transition(key, (SIGNED, UNKNOWN), state=UNKNOWN, error=rejected.message)
            return "waiting"
        log.info("withdrawal %s broadcast again after an interruption (tx %s)", key, tx["id"])
        self.books.book_sent(row, tx["fee"])
        return "sent"

    def decide(self, row: Withdrawal, *, sent: bool, reason: str) -> Withdrawal:
        """`decide` with this recovery's node and network fee."""
        return decide(
            self.books,
            row,
            sent=sent,
            reason=reason,
            client=self.client,
            network_fee=self.withdrawals.network_fee,
        )


# --- the operator's decisions -------------------------------------------------------------


def decide(
    books: WithdrawalBooks,
    row: Withdrawal,
    *,
    sent: bool,
    reason: str,
    client: WavesClient | None = None,
    network_fee: int = 100_000,
) -> Withdrawal:
    """An operator's outcome for an unfinished withdrawal: sent (its network fee booked:
    the node's figure when it has the transfer) or refunded. ValueError when it is
    finished already, or for a refund of a transfer the node has. `client` None (or an
    unreachable node): the node is not asked."""
    if row.state == REFUNDING:
        return books.finish_refund(row)
    if row.state not in UNDECIDED:
        raise ValueError(f"withdrawal {row.id} is {row.state}: already finished")
    where, found = _on_node(client, row)
    if sent:
        return books.book_sent(row, int((found or {}).get("fee") or network_fee))
    if where in (CONFIRMED, UNCONFIRMED):
        raise ValueError(f"the node has transaction {row.tx_id} ({where}): it was sent")
    return books.refund(row, f"operator: {reason}")


def _on_node(client: WavesClient | None, row: Withdrawal) -> tuple[str | None, dict | None]:
    if client is None or not row.tx_id:
        return None, None
    try:
        return client.find_transaction(row.tx_id)
    except NodeUnavailable as error:
        log.warning("node not asked about withdrawal %s: %s", row.id, error)
        return None, None
