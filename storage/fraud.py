"""What the fraud rules need to know: refusals, calls per number, spend, calls in progress."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, func, or_, select

from storage.clock import utcnow
from storage.db import read, transaction
from storage.ledger_store import account_book
from storage.models import CallRecord, FraudRefusal, Hold, LedgerTransfer

CALL_HOLD_PREFIX = "call:"
CALL_TRANSFER_KIND = "call"
_NOT_RUNNING = ("ended", "scheduled")


class FraudStore:
    """Record refusals and answer the counting questions of the fraud rules."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record_refusal(
        self,
        *,
        account_id: int | None,
        rule: str,
        detail: str = "",
        number: str | None = None,
        call_id: str | None = None,
    ) -> FraudRefusal:
        """Store one refusal."""
        refusal = FraudRefusal(
            account_id=account_id,
            call_id=call_id,
            rule=rule,
            number=number,
            detail=detail[:255],
            created_at=utcnow(),
        )
        with transaction(self.engine) as session:
            session.add(refusal)
        return refusal

    def refusals(self, account_id: int | None = None, limit: int = 50) -> list[FraudRefusal]:
        """The newest refusals, of one account or of all."""
        query = select(FraudRefusal).order_by(FraudRefusal.id.desc()).limit(limit)
        if account_id is not None:
            query = query.where(FraudRefusal.account_id == account_id)
        with transaction(self.engine) as session:
            return list(session.scalars(query))

    def calls_to_number(
        self, account_id: int, number: str, since: datetime, *, exclude: str | None = None
    ) -> int:
        """How many calls of the account since `since` had `number` on either leg."""
        query = select(func.count()).where(
            CallRecord.account_id == account_id,
            CallRecord.created_at >= since,
            or_(CallRecord.a_number == number, CallRecord.b_number == number),
        )
        if exclude is not None:
            query = query.where(CallRecord.id != exclude)
        with read(self.engine) as conn:
            return int(conn.execute(query).scalar_one())

    def spent(self, account_id: int, since: datetime) -> dict[str, int]:
        """What the account paid for calls since `since`, by asset."""
        query = (
            select(LedgerTransfer.asset, func.coalesce(func.sum(LedgerTransfer.amount), 0))
            .where(
                LedgerTransfer.kind == CALL_TRANSFER_KIND,
                LedgerTransfer.debit_book == account_book(account_id),
                LedgerTransfer.created_at >= since,
            )
            .group_by(LedgerTransfer.asset)
        )
        with read(self.engine) as conn:
            return {asset: int(total) for asset, total in conn.execute(query)}

    def open_call_holds(self, account_id: int) -> list[tuple[str, str, int]]:
        """(call id, asset, amount) of every open call hold of the account."""
        query = select(Hold.ref, Hold.asset, Hold.amount).where(
            Hold.book == account_book(account_id),
            Hold.state == "open",
            Hold.idempotency_key.startswith(CALL_HOLD_PREFIX),
        )
        with read(self.engine) as conn:
            return [(ref, asset, int(amount)) for ref, asset, amount in conn.execute(query)]

    def running_call_ids(self, account_id: int) -> set[str]:
        """Ids of the account's calls neither ended nor merely scheduled."""
        query = select(CallRecord.id).where(
            CallRecord.account_id == account_id, CallRecord.state.not_in(_NOT_RUNNING)
        )
        with read(self.engine) as conn:
            return set(conn.execute(query).scalars())
