"""Deposits seen on chain and the watcher's scan position."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import SQLModel, col, select

from domain.clock import utcnow
from storage.db import transaction
from storage.models import Deposit, WalletCursor

CREDITED = "credited"
PENDING = "pending"
UNATTRIBUTED = "unattributed"
ASSIGNED = "assigned"
_DEPOSIT = SQLModel.metadata.tables[str(Deposit.__tablename__)]


class DepositStore:
    """One row per incoming chain transaction id, whatever its asset or memo."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert

    def get(self, tx_id: str) -> Deposit | None:
        """The deposit of a transaction id."""
        with transaction(self.engine) as session:
            return session.exec(select(Deposit).where(col(Deposit.tx_id) == tx_id)).first()

    def record(self, deposit: Deposit) -> Deposit:
        """Store a deposit unless its tx id is known; return the stored row either way."""
        values = deposit.model_dump(exclude={"id"})
        values["created_at"] = values.get("created_at") or utcnow()
        with transaction(self.engine) as session:
            session.execute(
                self._insert(_DEPOSIT)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["tx_id"])
            )
            return session.exec(select(Deposit).where(col(Deposit.tx_id) == deposit.tx_id)).one()

    def set_state(self, tx_id: str, state: str, account_id: int | None = None) -> Deposit:
        """Move a deposit to `state` (credited or assigned also set the account and time)."""
        with transaction(self.engine) as session:
            deposit = session.exec(
                select(Deposit).where(col(Deposit.tx_id) == tx_id).with_for_update()
            ).one()
            deposit.state = state
            if account_id is not None:
                deposit.account_id = account_id
            if state in (CREDITED, ASSIGNED):
                deposit.credited_at = deposit.credited_at or utcnow()
            session.add(deposit)
            return deposit

    def list(self, state: str | None = None, limit: int = 100) -> list[Deposit]:
        """The newest deposits, optionally in one state."""
        query = select(Deposit).order_by(col(Deposit.id).desc()).limit(limit)
        if state:
            query = query.where(col(Deposit.state) == state)
        with transaction(self.engine) as session:
            return list(session.exec(query))

    def cursor(self, name: str) -> str | None:
        """A stored scan position."""
        with transaction(self.engine) as session:
            row = session.get(WalletCursor, name)
            return row.value if row else None

    def set_cursor(self, name: str, value: str) -> None:
        """Store a scan position."""
        with transaction(self.engine) as session:
            row = session.get(WalletCursor, name) or WalletCursor(name=name)
            row.value, row.updated_at = value, utcnow()
            session.add(row)
