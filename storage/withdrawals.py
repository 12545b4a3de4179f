"""Withdrawals from the service wallet: one row per idempotency key.

A withdrawal moves `pending` (stored, maybe debited) → `signed` (its transaction id
known, maybe broadcast) → `sent`; or ends `refused` (never debited) or `failed` (debited,
then refunded: `refunding` while the refund is decided but not yet paid). `unknown` is
`signed` when the node could not say whether it took the transaction. Every change of
state is conditional on the state it leaves, so two processes (or a process and the
recovery of another's crash) never both decide.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from storage.db import transaction
from storage.models import Withdrawal

PENDING = "pending"
SIGNED = "signed"
UNKNOWN = "unknown"
SENT = "sent"
REFUNDING = "refunding"  # a refund decided, not yet paid
FAILED = "failed"  # debited, then refunded
REFUSED = "refused"  # never debited
UNDECIDED = (PENDING, SIGNED, UNKNOWN)  # neither sent nor to be refunded yet
UNFINISHED = (*UNDECIDED, REFUNDING)


class WithdrawalStore:
    """Create, follow and list withdrawals."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, key: str) -> Withdrawal | None:
        """The withdrawal recorded under an idempotency key."""
        with transaction(self.engine) as session:
            return session.exec(
                select(Withdrawal).where(col(Withdrawal.idempotency_key) == key)
            ).first()

    def by_id(self, withdrawal_id: int) -> Withdrawal | None:
        """The withdrawal with this row id."""
        with transaction(self.engine) as session:
            return session.get(Withdrawal, withdrawal_id)

    def create(self, withdrawal: Withdrawal) -> tuple[Withdrawal, bool]:
        """Store a new withdrawal; (existing row, False) when its key is already known."""
        try:
            with transaction(self.engine) as session:
                session.add(withdrawal)
            return withdrawal, True
        except IntegrityError:
            existing = self.get(withdrawal.idempotency_key)
            if existing is None:  # not a duplicate key: another constraint failed
                raise
            return existing, False

    def update(self, key: str, **fields: object) -> Withdrawal:
        """Change fields (state, tx_id, error) of a withdrawal, whatever its state."""
        with transaction(self.engine) as session:
            row = session.exec(
                select(Withdrawal).where(col(Withdrawal.idempotency_key) == key).with_for_update()
            ).one()
            for name, value in fields.items():
                setattr(row, name, value)
            session.add(row)
            return row

    def transition(
        self, key: str, from_states: tuple[str, ...], **fields: object
    ) -> Withdrawal | None:
        """Change fields of a withdrawal only while it is in one of `from_states` (one
        conditional UPDATE); the changed row, or None when it was in another state."""
        with transaction(self.engine) as session:
            changed = session.execute(
                update(Withdrawal)
                .where(
                    col(Withdrawal.idempotency_key) == key,
                    col(Withdrawal.state).in_(from_states),
                )
                .values(**fields)
                .returning(col(Withdrawal.id))
            ).first()
            if changed is None:
                return None
            return session.get(Withdrawal, changed[0], populate_existing=True)

    def unfinished(self, created_before: datetime | None = None) -> list[Withdrawal]:
        """Withdrawals neither sent nor refunded (oldest first), created before a time."""
        query = select(Withdrawal).where(col(Withdrawal.state).in_(UNFINISHED))
        if created_before is not None:
            query = query.where(col(Withdrawal.created_at) < created_before)
        with transaction(self.engine) as session:
            return list(session.exec(query.order_by(col(Withdrawal.id))))

    def list(
        self, account_id: int | None = None, state: str | None = None, limit: int = 100
    ) -> list[Withdrawal]:
        """The newest withdrawals, optionally of one account or in one state."""
        query = select(Withdrawal).order_by(col(Withdrawal.id).desc()).limit(limit)
        if account_id is not None:
            query = query.where(col(Withdrawal.account_id) == account_id)
        if state:
            query = query.where(col(Withdrawal.state) == state)
        with transaction(self.engine) as session:
            return list(session.exec(query))
