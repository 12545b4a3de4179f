"""Calls the service places itself to an account's phone: number verification, reminders.

Each leaves a call record like any call (closed after a crash too), but it is free:
the record is created already settled at cost 0, so billing never charges it. Its
`kind` is the purpose (verification, reminder), never `callback`, so the history of
callbacks leaves it out. The phone rung is the record's only leg, a; b_number holds
the same number (the number dialled).
Verification calls are rate-limited, per account and per number, so nobody can make
the service ring a phone again and again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from domain.clock import utcnow
from storage.calls import ENDED, REMINDER, TWO_FACTOR, VERIFICATION
from storage.db import transaction
from storage.models import Account, CallEvent, CallRecord

PURPOSES = (VERIFICATION, REMINDER, TWO_FACTOR)


class TooManyCalls(Exception):
    """The limit of calls in the window is reached; `retry_at` is when one more is allowed."""

    def __init__(self, retry_at: datetime) -> None:
        super().__init__(f"too many calls; next one allowed at {retry_at.isoformat()}")
        self.retry_at = retry_at


class CallInProgress(Exception):
    """A call of the same purpose is still under way for the account."""


class ServiceCallStore:
    """Open the free call records of service calls and mark verified numbers."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def open(
        self,
        call_id: str,
        account_id: int,
        number: str,
        purpose: str,
        *,
        limit: int | None = None,
        window: timedelta = timedelta(hours=1),
        cost: int = 0,
    ) -> CallRecord:
        """Create the record of a service call to `number` for the account.

        `purpose` is VERIFICATION, REMINDER or TWO_FACTOR (stored as the record's kind;
        ValueError otherwise); `number` is stored as a_number and b_number; `cost`: what
        the account paid for it elsewhere (ETT units: a 2FA verification's price, charged
        when it was asked for). With `limit`, refuse (TooManyCalls) when the account, or
        anyone, already had `limit` calls of this purpose to this number within `window`,
        and refuse (CallInProgress) while one of the account's is still under way.
        """
        if purpose not in PURPOSES:
            raise ValueError(f"unknown purpose {purpose!r}")
        now = utcnow()
        with transaction(self.engine) as session:
            # Serialises concurrent requests of one account (SQLite: BEGIN IMMEDIATE).
            session.get(Account, account_id, with_for_update=True)
            if limit is not None:
                self._check(session, account_id, number, purpose, limit, now - window, window)
            record = CallRecord(
                id=call_id,
                account_id=account_id,
                kind=purpose,
                a_number=number,
                b_number=number,
                created_at=now,
                updated_at=now,
                cost=cost,
                cost_asset="ETT",
                settled_at=now,
            )
            session.add(record)
            session.flush()
            session.add(CallEvent(call_id=call_id, event=record.state, at=now))
        return record

    def _check(
        self,
        session: Session,
        account_id: int,
        number: str,
        purpose: str,
        limit: int,
        since: datetime,
        window: timedelta,
    ) -> None:
        mine = CallRecord.kind == purpose
        active = session.exec(
            select(func.count())
            .select_from(CallRecord)
            .where(mine, CallRecord.account_id == account_id, CallRecord.state != ENDED)
        ).one()
        if active:
            raise CallInProgress(purpose)
        for who in (CallRecord.account_id == account_id, CallRecord.a_number == number):
            times = session.exec(
                select(CallRecord.created_at)
                .where(mine, who, CallRecord.created_at > since)
                .order_by(col(CallRecord.created_at).desc())
                .limit(limit)
            ).all()
            if len(times) >= limit:
                raise TooManyCalls(min(times) + window)

    def count_since(self, account_id: int, purpose: str, since: datetime) -> int:
        """How many service calls of `purpose` the account had since `since`."""
        with transaction(self.engine) as session:
            return session.exec(
                select(func.count())
                .select_from(CallRecord)
                .where(
                    CallRecord.account_id == account_id,
                    CallRecord.kind == purpose,
                    CallRecord.created_at > since,
                )
            ).one()

    def confirm_number(self, account_id: int, number: str) -> bool:
        """Mark the account's number verified, only if it is still `number`."""
        with transaction(self.engine) as session:
            account = session.get(Account, account_id, with_for_update=True)
            if account is None or account.phone_number != number:
                return False
            account.phone_verified = True
            session.add(account)
            return True
