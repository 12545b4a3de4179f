"""Direct numbers (DIDs): the pool the carrier routes to us (DID_POOL) and who holds each.

A number is assigned to at most one account (its primary key); a number dropped from
DID_POOL stays with its holder until released, so a change of configuration never takes a
number from a user silently.
"""

from __future__ import annotations

from sqlalchemy import Engine, bindparam, update
from sqlmodel import col, select

from domain.clock import utcnow
from domain.numbers import normalize
from storage.db import FastRead, transaction
from storage.models import Account, Did

# Read on every call to or from a direct number: prebuilt, straight on the driver.
_OWNER = FastRead(select(Did.account_id).where(col(Did.number) == bindparam("number")))
_NUMBERS_OF = FastRead(
    select(Did.number)
    .where(col(Did.account_id) == bindparam("account_id"))
    .order_by(col(Did.number))
)


class DidError(ValueError):
    """A number that cannot be assigned: `reason` is "not_in_pool", "taken" or "no_account"."""

    def __init__(self, reason: str, number: str) -> None:
        super().__init__(f"{number}: {reason.replace('_', ' ')}")
        self.reason, self.number = reason, number


class DidStore:
    """The direct-number pool and its assignments."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def sync_pool(self, numbers: list[str]) -> int:
        """Add the numbers of the configured pool not stored yet (free); how many were added."""
        with transaction(self.engine) as session:
            known = set(session.exec(select(Did.number)).all())
            fresh = [n for n in numbers if n not in known]
            session.add_all(Did(number=n) for n in fresh)
        return len(fresh)

    def assign(self, number: str, account_id: int) -> None:
        """Give `number` (of the pool, free or already this account's) to the account.
        Raises DidError("not_in_pool" | "taken" | "no_account")."""
        number = normalize(number)
        with transaction(self.engine) as session:
            if session.get(Account, account_id) is None:
                raise DidError("no_account", number)
            did = session.get(Did, number, with_for_update=True)
            if did is None:
                raise DidError("not_in_pool", number)
            if did.account_id not in (None, account_id):
                raise DidError("taken", number)
            if did.account_id is None:
                did.account_id, did.assigned_at = account_id, utcnow()
                session.add(did)

    def release(self, number: str) -> bool:
        """Make `number` free again; False when it was not assigned."""
        with transaction(self.engine) as session:
            result = session.exec(
                update(Did)
                .where(col(Did.number) == normalize(number), col(Did.account_id).is_not(None))
                .values(account_id=None, assigned_at=None)
            )
            return bool(result.rowcount)

    def owner(self, number: str) -> int | None:
        """The account holding `number`, None when it is free or not ours."""
        rows = _OWNER.rows(self.engine, number=normalize(number))
        return rows[0][0] if rows else None

    def numbers_of(self, account_id: int) -> list[str]:
        """The direct numbers of an account, in order."""
        return [row[0] for row in _NUMBERS_OF.rows(self.engine, account_id=account_id)]

    def all(self) -> list[Did]:
        """Every stored number with its holder, in order."""
        with transaction(self.engine) as session:
            return list(session.exec(select(Did).order_by(col(Did.number))).all())
