"""What the fraud rules need to know: refusals, calls per number, spend, calls in progress."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Connection,
    Engine,
    Select,
    String,
    bindparam,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlmodel import col
from sqlmodel.sql.sqltypes import UTCDateTime

from domain.books import CALL_HOLD_PREFIX, TransferKind
from domain.calls import CallKind
from domain.clock import utcnow
from storage.db import FastRead, read, transaction
from storage.ledger_store import account_book
from storage.models import Account, CallRecord, FraudRefusal, Hold, LedgerEntry, LedgerTransfer

CALL_TRANSFER_KIND = TransferKind.CALL.value


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
        query = select(FraudRefusal).order_by(col(FraudRefusal.id).desc()).limit(limit)
        if account_id is not None:
            query = query.where(col(FraudRefusal.account_id) == account_id)
        with transaction(self.engine) as session:
            return list(session.scalars(query))

    def calls_to_number(
        self, account_id: int, number: str, since: datetime, *, exclude: str | None = None
    ) -> int:
        """How many calls of the account since `since` had `number` on either leg."""
        params = {"account_id": account_id, "since": since, "number": number}
        rows = _CALLS_TO_NUMBER.rows(self.engine, exclude=exclude or "", **params)
        return int(rows[0][0])

    def spent(self, account_id: int, since: datetime) -> dict[str, int]:
        """What the account paid for calls since `since`, by asset."""
        query = (
            select(col(LedgerTransfer.asset), func.coalesce(func.sum(LedgerTransfer.amount), 0))
            .where(
                col(LedgerTransfer.kind) == CALL_TRANSFER_KIND,
                col(LedgerTransfer.debit_book) == account_book(account_id),
                col(LedgerTransfer.created_at) >= since,
            )
            .group_by(col(LedgerTransfer.asset))
        )
        with read(self.engine) as conn:
            return {asset: int(total) for asset, total in conn.execute(query)}

    def open_call_holds(self, account_id: int) -> list[tuple[str, str, int]]:
        """(call id, asset, amount) of every open call hold of the account."""
        book = account_book(account_id)
        rows = _OPEN_CALL_HOLDS.rows(self.engine, book=book, **_CONSTANTS)
        return [(ref or "", asset, int(amount)) for ref, asset, amount in rows]

    def committed(
        self, account_id: int, since: datetime, conn: Connection | None = None
    ) -> dict[str, int]:
        """Call charges since `since` plus open call holds of the account, by asset, read
        in one statement (one snapshot: a settlement that turns a hold into a charge is
        seen either before or after, never half).

        With `conn` (a write transaction, e.g. a hold's), the account's row is locked
        first (SELECT … FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE already
        serialises writers), so concurrent holds of the account, from any instance, are
        checked one after the other.
        """
        params = {"book": account_book(account_id), "since": since}
        if conn is not None:
            conn.execute(
                select(col(Account.id)).where(col(Account.id) == account_id).with_for_update()
            )
            return {asset: int(total) for asset, total in conn.execute(_COMMITTED, params)}
        with read(self.engine) as reader:
            return {asset: int(total) for asset, total in reader.execute(_COMMITTED, params)}

    def running_call_ids(self, account_id: int) -> set[str]:
        """Ids of the account's calls neither ended nor merely scheduled, except the free
        ones the exchange relays (between extensions, to a direct number)."""
        rows = _RUNNING_CALLS.rows(self.engine, account_id=account_id, **_CONSTANTS)
        return {row[0] for row in rows}


def _committed_query() -> Select:
    """Call charges since `since` plus open call holds of `book`, by asset (bind
    parameters `book`, `since`); built once: it runs several times per authorisation."""
    book, since = bindparam("book", type_=String), bindparam("since", type_=UTCDateTime)
    charges: Select = (
        select(col(LedgerEntry.asset).label("asset"), (-col(LedgerEntry.amount)).label("units"))
        .join(LedgerTransfer, col(LedgerTransfer.id) == col(LedgerEntry.transfer_id))
        .where(
            col(LedgerEntry.book) == book,
            col(LedgerEntry.amount) < 0,
            col(LedgerEntry.created_at) >= since,
            col(LedgerTransfer.kind) == CALL_TRANSFER_KIND,
        )
    )
    holds: Select = select(col(Hold.asset).label("asset"), col(Hold.amount).label("units")).where(
        col(Hold.book) == book,
        col(Hold.state) == "open",
        col(Hold.idempotency_key).startswith(CALL_HOLD_PREFIX),
    )
    both = union_all(charges, holds).subquery()
    return select(both.c.asset, func.coalesce(func.sum(both.c.units), literal(0))).group_by(
        both.c.asset
    )


# The reads of every authorisation (wallet.fraud, wallet.billing), prebuilt and run
# straight on the driver (storage.db.FastRead).
_COMMITTED = _committed_query()
_CALLS_TO_NUMBER = FastRead(
    select(func.count()).where(
        col(CallRecord.account_id) == bindparam("account_id"),
        col(CallRecord.created_at) >= bindparam("since"),
        or_(
            col(CallRecord.a_number) == bindparam("number"),
            col(CallRecord.b_number) == bindparam("number"),
        ),
        col(CallRecord.id) != bindparam("exclude"),
    )
)
# FastRead binds every value by name: the constants too (`_CONSTANTS`).
_OPEN_CALL_HOLDS = FastRead(
    select(col(Hold.ref), col(Hold.asset), col(Hold.amount)).where(
        col(Hold.book) == bindparam("book"),
        col(Hold.state) == bindparam("open"),
        col(Hold.idempotency_key).startswith(bindparam("prefix")),
    )
)
# Calls that cost nothing (between extensions, to a direct number) are not "calls in
# progress" for the concurrency limit: a forwarded leg of one is a call of its own.
_RUNNING_CALLS = FastRead(
    select(col(CallRecord.id)).where(
        col(CallRecord.account_id) == bindparam("account_id"),
        col(CallRecord.state) != bindparam("ended"),
        col(CallRecord.state) != bindparam("scheduled"),
        col(CallRecord.kind) != bindparam("internal"),
        col(CallRecord.kind) != bindparam("inbound"),
    )
)
_CONSTANTS = {
    "internal": CallKind.INTERNAL.value,
    "inbound": CallKind.INBOUND.value,
    "open": "open",
    "prefix": CALL_HOLD_PREFIX,
    "ended": "ended",
    "scheduled": "scheduled",
}
