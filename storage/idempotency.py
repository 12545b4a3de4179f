"""Idempotency keys of POST requests (as Stripe keeps them): the first request with a key
reserves it, its answer is stored, and a retry with the same key gets that answer again.

Per account: two keys of one account share the namespace (the integrator's, not the key's).
A reservation is a row inserted under the table's primary key, so two instances racing with
the same key cannot both run the request (the loser sees `Pending`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine, delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from domain.clock import utcnow
from storage.db import transaction
from storage.models import IdempotentRequest


@dataclass(frozen=True)
class Stored:
    """The answer given to the first request with the key."""

    status: int
    body: str
    headers: str


@dataclass(frozen=True)
class Pending:
    """The first request with the key is still running."""


@dataclass(frozen=True)
class Mismatch:
    """The key was used for a different request (another path or body)."""


Found = Stored | Pending | Mismatch


def fingerprint(method: str, path: str, body: bytes) -> str:
    """SHA-256 (hex) of what makes two requests the same request."""
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


class IdempotencyStore:
    """Reserve a key, store its answer, give it back to retries, forget old ones."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def reserve(self, account_id: int, key: str, print_: str) -> Found | None:
        """Reserve `key` for a request with fingerprint `print_`: None when it is this
        request's to run; otherwise what an earlier request with the key left."""
        try:
            with transaction(self.engine) as session:
                session.add(IdempotentRequest(account_id=account_id, key=key, fingerprint=print_))
            return None
        except IntegrityError:
            pass
        with transaction(self.engine) as session:
            row = session.get(IdempotentRequest, (account_id, key))
        if row is None:  # forgotten in between: reserve again
            return self.reserve(account_id, key, print_)
        if row.fingerprint != print_:
            return Mismatch()
        if row.status is None:
            return Pending()
        return Stored(row.status, row.body or "", row.headers or "")

    def store(self, account_id: int, key: str, status: int, body: str, headers: str) -> None:
        """Keep the answer to the request that reserved `key`."""
        with transaction(self.engine) as session:
            row = session.get(IdempotentRequest, (account_id, key))
            if row is not None:
                row.status, row.body, row.headers = status, body, headers
                session.add(row)

    def release(self, account_id: int, key: str) -> None:
        """Forget a reservation whose request failed before it changed anything (a retry
        runs it again)."""
        with transaction(self.engine) as session:
            session.execute(
                delete(IdempotentRequest).where(
                    col(IdempotentRequest.account_id) == account_id,
                    col(IdempotentRequest.key) == key,
                    col(IdempotentRequest.status).is_(None),
                )
            )

    def forget_older_than(self, hours: int) -> int:
        """Delete keys older than `hours`; how many."""
        cutoff = utcnow() - timedelta(hours=hours)
        with transaction(self.engine) as session:
            result = session.execute(
                delete(IdempotentRequest).where(col(IdempotentRequest.created_at) < cutoff)
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]
