"""Pending proofs that an account owns a Waves address (`WalletLink`), and the link itself
once proven (`Account.wallet_address`, `Account.recording_key`).

One pending proof per account (its primary key): a new one replaces the old. A proof is
used at most once: `complete` deletes its row and sets the account's address and key in
one transaction, so two proofs answered at once link once (wallet.link checks them).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, delete
from sqlmodel import col, select

from domain.clock import utcnow
from storage.db import transaction
from storage.models import Account, WalletLink


class WalletLinkStore:
    """Start, find, complete and purge pending wallet proofs."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def put(self, account_id: int, address: str, nonce: str, expires_at: datetime) -> WalletLink:
        """Keep a new pending proof for the account, replacing any it had; expired proofs
        of every account are purged on the way. Raises LookupError for an unknown account.
        """
        now = utcnow()
        with transaction(self.engine) as session:
            # The account's row, locked: two starts of one account are written in turn.
            account = session.exec(
                select(Account).where(col(Account.id) == account_id).with_for_update()
            ).first()
            if account is None:
                raise LookupError(f"no account {account_id}")
            session.execute(
                delete(WalletLink).where(
                    (col(WalletLink.account_id) == account_id) | (col(WalletLink.expires_at) < now)
                )
            )
            link = WalletLink(
                account_id=account_id,
                address=address,
                nonce=nonce,
                created_at=now,
                expires_at=expires_at,
            )
            session.add(link)
        return link

    def of_account(self, account_id: int) -> WalletLink | None:
        """The account's pending proof (expired or not)."""
        with transaction(self.engine) as session:
            return session.get(WalletLink, account_id)

    def by_nonce(self, nonce: str) -> WalletLink | None:
        """The pending proof whose nonce this is (expired or not)."""
        with transaction(self.engine) as session:
            return session.exec(select(WalletLink).where(col(WalletLink.nonce) == nonce)).first()

    def complete(
        self, account_id: int, nonce: str, public_key: str, now: datetime | None = None
    ) -> Account | None:
        """Use the account's pending proof of `nonce`: delete it and give the account its
        address as `wallet_address` and `public_key` (base58) as `recording_key`.

        None (nothing changed) when the proof is gone, is another nonce's, or expired.
        """
        now = now or utcnow()
        with transaction(self.engine) as session:
            link = session.exec(
                select(WalletLink).where(col(WalletLink.account_id) == account_id).with_for_update()
            ).first()
            if link is None or link.nonce != nonce:
                return None
            session.delete(link)
            if _aware(link.expires_at) <= now:
                return None
            account = session.exec(
                select(Account).where(col(Account.id) == account_id).with_for_update()
            ).one()
            account.wallet_address = link.address
            account.recording_key = public_key
            session.add(account)
            return account

    def drop(self, account_id: int) -> bool:
        """Forget the account's pending proof; False when it had none."""
        with transaction(self.engine) as session:
            result = session.execute(
                delete(WalletLink).where(col(WalletLink.account_id) == account_id)
            )
            return bool(getattr(result, "rowcount", 0))


def _aware(moment: datetime) -> datetime:
    """A stored time as an aware UTC time (SQLite may hand it back naive)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
