"""Withdrawals from the service wallet: one row per idempotency key."""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from storage.db import transaction
from storage.models import Withdrawal


class WithdrawalStore:
    """Create, follow and list withdrawals."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, key: str) -> Withdrawal | None:
        """The withdrawal recorded under an idempotency key."""
        with transaction(self.engine) as session:
            return session.scalars(
                select(Withdrawal).where(Withdrawal.idempotency_key == key)
            ).first()

    def create(self, withdrawal: Withdrawal) -> tuple[Withdrawal, bool]:
        """Store a new withdrawal; (existing row, False) when its key is already known."""
        try:
            with transaction(self.engine) as session:
                session.add(withdrawal)
            return withdrawal, True
        except IntegrityError:
            return self.get(withdrawal.idempotency_key), False

    def update(self, key: str, **fields: object) -> Withdrawal:
        """Change fields (state, tx_id, error) of a withdrawal."""
        with transaction(self.engine) as session:
            row = session.scalars(
                select(Withdrawal).where(Withdrawal.idempotency_key == key).with_for_update()
            ).one()
            for name, value in fields.items():
                setattr(row, name, value)
            session.add(row)
            return row

    def list(
        self, account_id: int | None = None, state: str | None = None, limit: int = 100
    ) -> list[Withdrawal]:
        """The newest withdrawals, optionally of one account or in one state."""
        query = select(Withdrawal).order_by(Withdrawal.id.desc()).limit(limit)
        if account_id is not None:
            query = query.where(Withdrawal.account_id == account_id)
        if state:
            query = query.where(Withdrawal.state == state)
        with transaction(self.engine) as session:
            return list(session.scalars(query))
