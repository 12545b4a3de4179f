"""Accounts and the network identities that reach them."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from storage.clock import utcnow
from storage.db import transaction
from storage.models import Account, Identity, LinkCode

EXTENSION_FIRST = 1000
LINK_CODE_TTL = timedelta(minutes=10)


class AccountStore:
    """Find, create and change accounts."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, account_id: int) -> Account | None:
        """The account with this id."""
        with transaction(self.engine) as session:
            return session.get(Account, account_id)

    def resolve(
        self, network: str, external_id: str, *, language: str = "en", timezone: str = "UTC"
    ) -> Account:
        """The account of a network user, created on first contact."""
        for _ in range(3):
            with transaction(self.engine) as session:
                account = session.exec(
                    select(Account)
                    .join(Identity, Identity.account_id == Account.id)
                    .where(Identity.network == network, Identity.external_id == external_id)
                ).first()
                if account:
                    return account
            try:
                with transaction(self.engine) as session:
                    account = Account(language=language, timezone=timezone)
                    session.add(account)
                    session.flush()
                    session.add(
                        Identity(network=network, external_id=external_id, account_id=account.id)
                    )
                    return account
            except IntegrityError:
                continue  # another request created it at the same moment
        raise RuntimeError(f"could not resolve identity {network}")

    def identities(self, account_id: int) -> list[Identity]:
        """Every network identity of an account."""
        with transaction(self.engine) as session:
            return list(session.exec(select(Identity).where(Identity.account_id == account_id)))

    def find_by_identity(self, network: str, external_id: str) -> Account | None:
        """The account behind an identity, or None (never creates one)."""
        with transaction(self.engine) as session:
            return session.exec(
                select(Account)
                .join(Identity, Identity.account_id == Account.id)
                .where(Identity.network == network, Identity.external_id == external_id)
            ).first()

    def update(self, account_id: int, **fields: object) -> Account:
        """Change some fields of an account and return it."""
        with transaction(self.engine) as session:
            account = session.get(Account, account_id)
            if account is None:
                raise KeyError(account_id)
            for name, value in fields.items():
                setattr(account, name, value)
            session.add(account)
            return account

    def set_number(self, account_id: int, number: str) -> Account:
        """Store the user's own number; a new number is unverified until proven."""
        with transaction(self.engine) as session:
            account = session.get(Account, account_id)
            if account.phone_number != number:
                account.phone_number = number
                account.phone_verified = False
            session.add(account)
            return account

    def extension(self, account_id: int) -> str:
        """The account's internal number, allocated on first use."""
        for _ in range(5):
            try:
                with transaction(self.engine) as session:
                    account = session.get(Account, account_id)
                    if account.extension:
                        return account.extension
                    taken = session.exec(
                        select(Account.extension).where(Account.extension.is_not(None))
                    ).all()
                    highest = max((int(e) for e in taken if e.isdigit()), default=EXTENSION_FIRST)
                    account.extension = str(highest + 1)
                    session.add(account)
                    return account.extension
            except IntegrityError:
                continue
        raise RuntimeError("could not allocate an extension")

    def by_extension(self, extension: str) -> Account | None:
        """The account that owns an internal number."""
        with transaction(self.engine) as session:
            return session.exec(select(Account).where(Account.extension == extension)).first()

    def new_link_code(self, account_id: int) -> str:
        """A one-time code that links another network to this account."""
        code = f"{secrets.randbelow(10**8):08d}"
        with transaction(self.engine) as session:
            session.add(
                LinkCode(code=code, account_id=account_id, expires_at=utcnow() + LINK_CODE_TTL)
            )
        return code

    def link(self, code: str, network: str, external_id: str) -> Account | None:
        """Move an identity onto the account that issued `code`; None if the code is bad."""
        with transaction(self.engine) as session:
            link = session.get(LinkCode, code)
            if link is None or link.used_at or link.expires_at < utcnow():
                return None
            link.used_at = utcnow()
            identity = session.exec(
                select(Identity).where(
                    Identity.network == network, Identity.external_id == external_id
                )
            ).first()
            if identity is None:
                identity = Identity(network=network, external_id=external_id, account_id=0)
            identity.account_id = link.account_id
            session.add(identity)
            session.add(link)
            return session.get(Account, link.account_id)
