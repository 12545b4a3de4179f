"""Second-factor verifications by voice call (storage.models.Verification): every SQL on them.

A verification is `pending` until a check with the right code (or the keypad call) makes it
`approved`, the checks run out (`failed`), the call cannot deliver the code (`failed`), or
its time is over (`expired`). Only the code's HMAC is stored (`code_hash`), compared in
constant time (hmac.compare_digest). The hourly limits per number (every account) and per
API key are counted in this table, inside the transaction that inserts, so several
instances never let more through together: SQLite serialises writers (BEGIN IMMEDIATE);
PostgreSQL takes the account's row lock and a transaction advisory lock on the number.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, select

from storage.db import is_sqlite, transaction
from storage.models import Account, Verification

PENDING, APPROVED, FAILED, EXPIRED = "pending", "approved", "failed", "expired"
WINDOW = timedelta(hours=1)


class TooManyVerifications(Exception):
    """An hourly limit is reached: `scope` is "number" or "key"; `retry_at` is when one
    more is allowed (the oldest counted verification leaves the window)."""

    def __init__(self, scope: str, retry_at: datetime) -> None:
        super().__init__(f"too many verifications for this {scope}")
        self.scope, self.retry_at = scope, retry_at


class DuplicateVerification(Exception):
    """A verification with this id exists already (a retried request): `existing`."""

    def __init__(self, existing: Verification) -> None:
        super().__init__(existing.id)
        self.existing = existing


@dataclass(frozen=True)
class Limits:
    """Verifications allowed per WINDOW: to one number (all accounts), and per API key."""

    per_number: int
    per_key: int


class VerificationStore:
    """Create, read, check and close verifications."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, verification: Verification, limits: Limits, now: datetime) -> Verification:
        """Insert `verification` (its created_at set to `now`) unless a limit of `limits` is
        reached within the hour before `now`: TooManyVerifications then. A verification
        with the same id already: DuplicateVerification (nothing written)."""
        verification.created_at = now
        try:
            with transaction(self.engine) as session:
                existing = session.get(Verification, verification.id)
                if existing is not None:
                    raise DuplicateVerification(existing)
                self._serialise(session, verification.account_id, verification.number)
                since = now - WINDOW
                self._limit(
                    session, "number", Verification.number == verification.number, since, limits
                )
                if verification.key_id is not None:
                    self._limit(
                        session, "key", Verification.key_id == verification.key_id, since, limits
                    )
                session.add(verification)
        except IntegrityError:  # the same id inserted by a racing request in between
            found = self.get(verification.id)
            if found is None:
                raise
            raise DuplicateVerification(found) from None
        return verification

    def _serialise(self, session: Session, account_id: int, number: str) -> None:
        if is_sqlite(self.engine):
            return  # BEGIN IMMEDIATE: one writer at a time already
        session.get(Account, account_id, with_for_update=True)
        lock = int.from_bytes(hashlib.sha256(number.encode()).digest()[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": lock})

    def _limit(self, session: Session, scope: str, who, since: datetime, limits: Limits) -> None:  # noqa: ANN001
        limit = limits.per_number if scope == "number" else limits.per_key
        times = session.exec(
            select(Verification.created_at)
            .where(who, Verification.created_at > since)
            .order_by(col(Verification.created_at).desc())
            .limit(limit)
        ).all()
        if len(times) >= limit:
            raise TooManyVerifications(scope, min(times) + WINDOW)

    def get(self, verification_id: str) -> Verification | None:
        """The verification `verification_id`, or None."""
        with transaction(self.engine) as session:
            return session.get(Verification, verification_id)

    def delete(self, verification_id: str) -> None:
        """Forget a verification that never started (its charge was refused)."""
        with transaction(self.engine) as session:
            session.exec(delete(Verification).where(col(Verification.id) == verification_id))

    def check(
        self,
        verification_id: str,
        candidate_hash: str | None,
        *,
        max_checks: int,
        now: datetime,
    ) -> Verification | None:
        """One check of a code whose HMAC is `candidate_hash` (None: only read the state, no
        check counted), atomically. None for an unknown id.

        A pending verification past its expires_at becomes `expired` (not counted); a
        right code makes it `approved`; a wrong one counts, and the `max_checks`-th wrong
        one makes it `failed`. A verification that is no longer pending is answered as
        it is, nothing counted.
        """
        with transaction(self.engine) as session:
            found = session.get(Verification, verification_id, with_for_update=True)
            if found is None or found.state != PENDING:
                return found
            if now >= found.expires_at:
                found.state = EXPIRED
            elif candidate_hash is not None:
                found.checks += 1
                if hmac.compare_digest(found.code_hash, candidate_hash):
                    found.state = APPROVED
                elif found.checks >= max_checks:
                    found.state = FAILED
            session.add(found)
            return found

    def follow_call(
        self,
        verification_id: str,
        outcome: str,
        state: str | None = None,
        *,
        now: datetime | None = None,
    ) -> None:
        """Note how the verification's call goes (`outcome`: ringing, answered, no-answer,
        busy, failed) and, with `state` and `now`, close a still pending verification so
        (as `expired` when `now` is past its expires_at)."""
        with transaction(self.engine) as session:
            found = session.get(Verification, verification_id, with_for_update=True)
            if found is None:
                return
            found.call_outcome = outcome
            if state is not None and now is not None and found.state == PENDING:
                found.state = EXPIRED if now >= found.expires_at else state
            session.add(found)


def current_state(verification: Verification, now: datetime) -> str:
    """The state as a reader sees it at `now`: a pending one past its time is expired."""
    if verification.state == PENDING and now >= verification.expires_at:
        return EXPIRED
    return verification.state
