"""API keys: made for an account with scopes, found by the SHA-256 of their token, revoked.

A token is `ett_<id>_<secret>`: `id` (12 characters) names the key in lists and logs,
`secret` is 32 random bytes (base64url); only SHA-256(token) is stored, so a leaked
database holds no usable key.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import Engine, bindparam, update
from sqlalchemy import select as core_select
from sqlmodel import col, select

from domain.clock import utcnow
from storage.db import FastRead, transaction
from storage.models import API_SCOPES, ApiKey

TOKEN_PREFIX = "ett_"
# A key's last use is written at most this often (seconds): not a write per request.
LAST_USED_GRAIN_SECONDS = 60
_KEYS = ApiKey.__table__  # type: ignore[attr-defined]
_BY_HASH = core_select(_KEYS).where(_KEYS.c.token_hash == bindparam("token_hash"))
_FAST_BY_HASH = FastRead(_BY_HASH)
_KEY_COLUMNS = [column.key for column in _BY_HASH.selected_columns]


@dataclass(frozen=True)
class NewKey:
    """A key just made: its row and the token, which is shown once and never again."""

    key: ApiKey
    token: str


def token_hash(token: str) -> str:
    """SHA-256 of a token, 64 lowercase hex digits."""
    return hashlib.sha256(token.encode()).hexdigest()


class ApiKeyStore:
    """Make, find, list and revoke the API keys of accounts."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, account_id: int, scopes: tuple[str, ...], name: str = "") -> NewKey:
        """A new key of the account with `scopes` (a subset of API_SCOPES, ValueError
        otherwise); the token is in the result only."""
        unknown = set(scopes) - set(API_SCOPES)
        if unknown or not scopes:
            raise ValueError(f"scopes must be among {', '.join(API_SCOPES)}")
        key_id = secrets.token_hex(6)
        token = f"{TOKEN_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        ordered = ",".join(s for s in API_SCOPES if s in scopes)
        row = ApiKey(
            id=key_id,
            account_id=account_id,
            name=name[:64],
            scopes=ordered,
            token_hash=token_hash(token),
        )
        with transaction(self.engine) as session:
            session.add(row)
        return NewKey(row, token)

    def by_token(self, token: str) -> ApiKey | None:
        """The live (not revoked) key of this token, or None."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 128:
            return None
        # Every API request makes this lookup: a prebuilt read (storage.db.FastRead), no
        # transaction (on SQLite one would take the write lock).
        rows = _FAST_BY_HASH.rows(self.engine, token_hash=token_hash(token))
        if not rows:
            return None
        found = ApiKey.model_validate(dict(zip(_KEY_COLUMNS, rows[0], strict=True)))
        return None if found.revoked_at is not None else found

    def touch(self, key: ApiKey) -> None:
        """Note that `key` was just used (at most once a LAST_USED_GRAIN_SECONDS)."""
        now = utcnow()
        if key.last_used_at and (now - key.last_used_at).total_seconds() < LAST_USED_GRAIN_SECONDS:
            return
        with transaction(self.engine) as session:
            session.execute(update(ApiKey).where(col(ApiKey.id) == key.id).values(last_used_at=now))
        key.last_used_at = now

    def of_account(self, account_id: int) -> list[ApiKey]:
        """The account's live keys, oldest first."""
        with transaction(self.engine) as session:
            return list(
                session.exec(
                    select(ApiKey)
                    .where(ApiKey.account_id == account_id, col(ApiKey.revoked_at).is_(None))
                    .order_by(col(ApiKey.created_at), col(ApiKey.id))
                )
            )

    def revoke(self, account_id: int, key_id: str | None = None) -> list[str]:
        """Revoke the account's key `key_id` (all of its keys when None); the ids revoked.
        Another account's key is never touched."""
        now = utcnow()
        with transaction(self.engine) as session:
            query = select(ApiKey).where(
                ApiKey.account_id == account_id, col(ApiKey.revoked_at).is_(None)
            )
            if key_id is not None:
                query = query.where(ApiKey.id == key_id)
            found = list(session.exec(query))
            for key in found:
                key.revoked_at = now
                session.add(key)
            return [key.id for key in found]
