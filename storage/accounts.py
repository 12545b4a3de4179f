"""Accounts and the network identities that reach them.

Every message starts by finding its account, so the lookups are prebuilt Core
statements run on a read-only connection (no write lock on SQLite), and the row
becomes a detached `Account` as a session would have returned. Nothing is cached:
a link made by another instance is seen by the next message.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from sqlalchemy import Connection, Engine, Row, Select, bindparam, delete, func, update
from sqlalchemy import select as core_select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import configure_mappers, make_transient_to_detached
from sqlalchemy.orm.instrumentation import manager_of_class
from sqlmodel import Session, SQLModel, col, select

from domain.clock import utcnow
from storage.db import FastRead, read, transaction
from storage.models import Account, Identity, LinkCode

M = TypeVar("M", bound=SQLModel)
EXTENSION_FIRST = 1000
LINK_CODE_TTL = timedelta(minutes=10)
# Guessing a code: one identity may write LINK_MAX_ATTEMPTS wrong codes per
# LINK_ATTEMPT_WINDOW, and a code dies once LINK_MAX_FAILURES wrong codes were written
# anywhere while it was live, so no code ever faces more than a handful of guesses.
LINK_MAX_ATTEMPTS = 5
LINK_ATTEMPT_WINDOW = timedelta(minutes=10)
LINK_MAX_FAILURES = 5
LINK_ATTEMPTS_KEPT = timedelta(days=1)


class LinkOutcome(StrEnum):
    """What writing a link code leads to."""

    VALID = "valid"  # a live code of another account (checked, not used yet)
    LINKED = "linked"  # used: the identity now reaches the code's account
    OWN = "own"  # the code of the account this identity already reaches
    INVALID = "invalid"  # no such code, used, or expired
    LOCKED = "locked"  # the code died after too many wrong codes
    TOO_MANY = "too_many"  # this identity wrote too many wrong codes lately


@dataclass(frozen=True)
class LinkCheck:
    """The outcome of a link code; `account`: the code's account (VALID, LINKED, OWN);
    `retry_at`: when the identity may try again (TOO_MANY)."""

    outcome: LinkOutcome
    account: Account | None = None
    retry_at: datetime | None = None


_account = SQLModel.metadata.tables["account"]  # the tables of `Account` and `Identity`
_identity = SQLModel.metadata.tables["identity"]
_link_code = SQLModel.metadata.tables["linkcode"]
_attempt = SQLModel.metadata.tables["linkattempt"]
_BY_ID = core_select(_account).where(_account.c.id == bindparam("account_id"))
_BY_IDENTITY = (
    core_select(_account)
    .join(_identity, _identity.c.account_id == _account.c.id)
    .where(_identity.c.network == bindparam("network"))
    .where(_identity.c.external_id == bindparam("external_id"))
)
# The two reads of every message, straight on the driver (see FastRead).
_FAST_BY_ID, _FAST_BY_IDENTITY = FastRead(_BY_ID), FastRead(_BY_IDENTITY)
_ACCOUNT_KEYS = [column.key for column in _BY_ID.selected_columns]
_BY_EXTENSION = core_select(_account).where(_account.c.extension == bindparam("extension"))
_FAST_BY_EXTENSION = FastRead(_BY_EXTENSION)
_SET_LANGUAGE = (
    update(_account)
    .where(_account.c.id == bindparam("account_id"))
    .values(language=bindparam("language"))
)
# Softphones: the HA1 a REGISTER's digest is checked against, by extension (the unique
# index), on every request kamailio authenticates; and its change.
_FAST_SIP_HA1 = FastRead(
    core_select(_account.c.sip_ha1).where(_account.c.extension == bindparam("extension"))
)
_SET_SIP_HA1 = (
    update(_account)
    .where(_account.c.id == bindparam("account_id"))
    .values(sip_ha1=bindparam("ha1"), sip_password_at=bindparam("made_at"))
)
_FIRST_SIP_HA1 = _SET_SIP_HA1.where(_account.c.sip_ha1.is_(None))
_HA1 = re.compile(r"^[0-9a-f]{32}$")
_IDENTITIES = core_select(_identity).where(_identity.c.account_id == bindparam("account_id"))


def _detached(model: type[M], row: Row | dict | None) -> M | None:
    """The row as a detached instance of `model`, like one a closed session returned."""
    if row is None:
        return None
    instance: M = manager_of_class(model).new_instance()
    instance.__dict__.update(row if isinstance(row, dict) else row._mapping)
    make_transient_to_detached(instance)
    return instance


def _fast_account(engine: Engine, query: FastRead, **params: object) -> Account | None:
    rows = query.rows(engine, **params)
    if not rows:
        return None
    return _detached(Account, dict(zip(_ACCOUNT_KEYS, rows[0], strict=True)))


def _one_account(connection: Connection, statement: Select, **params: object) -> Account | None:
    return _detached(Account, connection.execute(statement, params).first())


class AccountStore:
    """Find, create and change accounts."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        configure_mappers()  # `_detached` needs the mapped attributes in place

    def get(self, account_id: int) -> Account | None:
        """The account with this id."""
        return _fast_account(self.engine, _FAST_BY_ID, account_id=account_id)

    def resolve(
        self, network: str, external_id: str, *, language: str = "en", timezone: str = "UTC"
    ) -> Account:
        """The account of a network user, created on first contact."""
        for _ in range(3):
            account = self.find_by_identity(network, external_id)
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
        with read(self.engine) as connection:
            rows = connection.execute(_IDENTITIES, {"account_id": account_id}).all()
        return [identity for row in rows if (identity := _detached(Identity, row)) is not None]

    def find_by_identity(self, network: str, external_id: str) -> Account | None:
        """The account behind an identity, or None (never creates one)."""
        return _fast_account(
            self.engine, _FAST_BY_IDENTITY, network=network, external_id=external_id
        )

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

    def set_language(self, account: Account, language: str) -> Account:
        """Store the language the user now writes in; returns the account with it.

        One prebuilt UPDATE: users who switch languages do it message after message.
        """
        if account.language != language:
            with self.engine.begin() as connection:
                connection.execute(_SET_LANGUAGE, {"account_id": account.id, "language": language})
            account.language = language
        return account

    def set_number(self, account_id: int, number: str) -> Account:
        """Store the user's own number; a new number is unverified until proven."""
        with transaction(self.engine) as session:
            account = session.get(Account, account_id)
            if account is None:
                raise KeyError(account_id)
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
                    if account is None:
                        raise KeyError(account_id)
                    if account.extension:
                        return account.extension
                    taken = session.exec(
                        select(Account.extension).where(col(Account.extension).is_not(None))
                    ).all()
                    highest = max(
                        (int(e) for e in taken if e and e.isdigit()), default=EXTENSION_FIRST
                    )
                    extension = str(highest + 1)
                    account.extension = extension
                    session.add(account)
                    return extension
            except IntegrityError:
                continue
        raise RuntimeError("could not allocate an extension")

    def by_extension(self, extension: str) -> Account | None:
        """The account that owns an internal number."""
        return _fast_account(self.engine, _FAST_BY_EXTENSION, extension=extension)

    def set_sip_ha1(self, account_id: int, ha1: str, *, only_if_none: bool = False) -> bool:
        """Store the digest HA1 of the account's softphone password (32 lowercase hex
        digits, see `Account.sip_ha1`), stamped now in `sip_password_at`; the HA1 it
        replaces no longer authenticates.

        `only_if_none`: store it only when the account has none yet, so that of two first
        requests at once only one password is kept. True when stored. Raises ValueError
        for a malformed HA1, KeyError for an unknown account.
        """
        if not isinstance(ha1, str) or not _HA1.match(ha1):
            raise ValueError("an HA1 is 32 lowercase hexadecimal digits")
        statement = _FIRST_SIP_HA1 if only_if_none else _SET_SIP_HA1
        with self.engine.begin() as connection:
            result = connection.execute(
                statement, {"account_id": account_id, "ha1": ha1, "made_at": utcnow()}
            )
        if result.rowcount == 1:
            return True
        if self.get(account_id) is None:
            raise KeyError(account_id)
        return False

    def sip_ha1(self, extension: str) -> str | None:
        """The softphone HA1 of the account whose internal number is `extension`; None
        when no account has it or the account has no softphone password. One indexed read."""
        rows = _FAST_SIP_HA1.rows(self.engine, extension=extension)
        return rows[0][0] if rows else None

    def new_link_code(self, account_id: int) -> str:
        """A one-time code that links another network to this account."""
        code = f"{secrets.randbelow(10**8):08d}"
        with transaction(self.engine) as session:
            session.add(
                LinkCode(code=code, account_id=account_id, expires_at=utcnow() + LINK_CODE_TTL)
            )
        return code

    def link(self, code: str, network: str, external_id: str) -> Account | None:
        """Move an identity onto the account that issued `code`; None if the code is bad
        (see `use_link_code` for why)."""
        check = self.use_link_code(code, network, external_id)
        return check.account if check.outcome is LinkOutcome.LINKED else None

    def check_link_code(self, code: str, network: str, external_id: str) -> LinkCheck:
        """What `code` written by an identity is, without using it. A wrong code counts
        against the identity and every live code (see LINK_MAX_ATTEMPTS)."""
        return self._link_code(code, network, external_id, use=False)

    def use_link_code(self, code: str, network: str, external_id: str) -> LinkCheck:
        """Use `code`: on LINKED the identity (created if new) reaches the code's account."""
        return self._link_code(code, network, external_id, use=True)

    def _link_code(self, code: str, network: str, external_id: str, *, use: bool) -> LinkCheck:
        now = utcnow()
        with transaction(self.engine) as session:
            # The identity's row, locked: its attempts are counted one request at a time,
            # also across instances (SQLite: the transaction holds the write lock).
            identity = session.exec(
                select(Identity)
                .where(Identity.network == network, Identity.external_id == external_id)
                .with_for_update()
            ).first()
            retry_at = _locked_out_until(session, network, external_id, now)
            if retry_at is not None:
                return LinkCheck(LinkOutcome.TOO_MANY, retry_at=retry_at)
            link = session.get(LinkCode, code, with_for_update=True)
            if link is None or link.used_at or link.expires_at < now:
                return _failed(session, network, external_id, now, LinkOutcome.INVALID)
            target = session.get(Account, link.account_id)
            if identity is not None and identity.account_id == link.account_id:
                return LinkCheck(LinkOutcome.OWN, target)  # no guess: not counted, kept
            if link.failures >= LINK_MAX_FAILURES:
                return _failed(session, network, external_id, now, LinkOutcome.LOCKED)
            if not use:
                return LinkCheck(LinkOutcome.VALID, target)
            link.used_at = now
            if identity is None:
                identity = Identity(network=network, external_id=external_id, account_id=0)
            identity.account_id = link.account_id
            session.add(identity)
            session.add(link)
            return LinkCheck(LinkOutcome.LINKED, target)


def _locked_out_until(
    session: Session, network: str, external_id: str, now: datetime
) -> datetime | None:
    """When the identity may write a code again, if it wrote too many wrong ones lately."""
    count, oldest = (
        session.connection()
        .execute(
            core_select(func.count(), func.min(_attempt.c.at)).where(
                _attempt.c.network == network,
                _attempt.c.external_id == external_id,
                _attempt.c.at > now - LINK_ATTEMPT_WINDOW,
            )
        )
        .one()
    )
    if count < LINK_MAX_ATTEMPTS:
        return None
    return _aware(oldest) + LINK_ATTEMPT_WINDOW


def _failed(
    session: Session, network: str, external_id: str, now: datetime, outcome: LinkOutcome
) -> LinkCheck:
    """Count a wrong code against the identity and against every live code."""
    connection = session.connection()
    connection.execute(_attempt.insert().values(network=network, external_id=external_id, at=now))
    connection.execute(
        update(_link_code)
        .where(_link_code.c.used_at.is_(None), _link_code.c.expires_at > now)
        .values(failures=_link_code.c.failures + 1)
    )
    connection.execute(delete(_attempt).where(_attempt.c.at < now - LINK_ATTEMPTS_KEPT))
    return LinkCheck(outcome)


def _aware(moment: datetime) -> datetime:
    """A stored time as an aware UTC time (aggregates may come back naive)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
