"""The double-entry ledger: transfers between books, balances and holds.

Every change of a balance is a `LedgerTransfer` with two `LedgerEntry` rows that
sum to zero, applied in one database transaction together with the `Balance`
rows of the user books it changes. An idempotency key makes a retried operation
a no-op. The available amount of a user book (amount minus open holds) never goes
below zero: it is checked and changed by one conditional UPDATE, which holds the
row lock until commit on PostgreSQL (and runs inside BEGIN IMMEDIATE on SQLite), and
the database refuses it too (CHECK held >= 0 AND amount >= held on the balance row).
System books (deposits, revenue, …) keep no balance row, so they are no global
hot spot: their balance is the sum of their entries.

All amounts are integers in the asset's smallest unit (10**-8 ETT or WAVES).

`transfer` is the hot path (every charge and deposit): its SQL is written once and
runs straight on the driver.
- SQLite: BEGIN IMMEDIATE, claim the key (INSERT … ON CONFLICT DO NOTHING RETURNING),
  one conditional UPDATE … RETURNING per user book, both entries in one INSERT, COMMIT;
  on a few connections kept out of the pool for it (see _KeptConnections).
- PostgreSQL, on a connection of the engine's pool: one statement, one round trip,
  committed on its own (autocommit): CTEs claim the key, change the balance row and
  write both entries. A debit that the balance does not cover violates the balance
  row's CHECK, so the whole statement fails and writes nothing; it is reported as
  InsufficientFunds. A transfer between two user books takes the steps of SQLite
  (rows locked in a fixed order, so two opposite transfers cannot deadlock).
"""

from __future__ import annotations

import os
import re
import threading
import weakref
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, bindparam, event, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlmodel import SQLModel

from domain.clock import utcnow
from storage.db import FastRead, read
from storage.models import Balance, Hold, LedgerEntry, LedgerTransfer

USER_BOOK_PREFIX = "account:"
# Runs inside the transaction of a hold (see `place_hold`); raises to refuse it.
HoldGuard = Callable[[Connection], None]


def _table(model: type[SQLModel]) -> Table:
    return model.metadata.tables[str(model.__tablename__)]


_balance = _table(Balance)
_BALANCE = FastRead(  # read for every call's hold
    select(_balance.c.amount, _balance.c.held).where(
        _balance.c.book == bindparam("book"), _balance.c.asset == bindparam("asset")
    )
)
_BALANCES = FastRead(  # read for every "balance" message
    select(_balance.c.asset, _balance.c.amount, _balance.c.held).where(
        _balance.c.book == bindparam("book")
    )
)
_transfer = _table(LedgerTransfer)
_entry = _table(LedgerEntry)
_hold = _table(Hold)
_HOLD = FastRead(  # asked before every call's hold
    select(_hold).where(_hold.c.idempotency_key == bindparam("key"))
)


class InsufficientFunds(Exception):
    """The available balance of a user book does not cover the amount."""

    def __init__(self, book: str, asset: str, available: int, wanted: int) -> None:
        super().__init__(f"{book} has {available} {asset} available, {wanted} wanted")
        self.book, self.asset, self.available, self.wanted = book, asset, available, wanted


class UnknownHold(Exception):
    """No hold exists with that key."""


@dataclass(frozen=True)
class TransferResult:
    """What a transfer did: its id and whether this call applied it (False: a retry)."""

    transfer_id: int
    applied: bool


@dataclass(frozen=True)
class BalanceView:
    """A book's balance in one asset: total, held, and what can still be spent."""

    amount: int
    held: int

    @property
    def available(self) -> int:
        return self.amount - self.held


def account_book(account_id: int) -> str:
    """The ledger book of a user account."""
    return f"{USER_BOOK_PREFIX}{account_id}"


def is_user_book(book: str) -> bool:
    """User books must never go below zero available; system books may."""
    return book.startswith(USER_BOOK_PREFIX)


class LedgerStore:
    """All reads and writes of money, on one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
        self._prepare()
        self._sql = _HotSql.of(engine)

    # --- reading -------------------------------------------------------------

    def balance(self, book: str, asset: str) -> BalanceView:
        """The current balance of `book` in `asset` (zero when it never moved)."""
        if not is_user_book(book):
            return BalanceView(self.entries_sum(book, asset), 0)
        rows = _BALANCE.rows(self.engine, book=book, asset=asset)
        return BalanceView(int(rows[0][0]), int(rows[0][1])) if rows else BalanceView(0, 0)

    def balances(self, book: str) -> dict[str, BalanceView]:
        """Every asset this book has ever held, by asset."""
        rows = _BALANCES.rows(self.engine, book=book)
        return {asset: BalanceView(amount, held) for asset, amount, held in rows}

    def entries(self, book: str, limit: int = 50) -> list[dict]:
        """The newest entries of a book with their transfer's kind and reason (the first
        page of `entries_page`)."""
        return self.entries_page(book, limit=limit)

    def entries_page(
        self,
        book: str,
        *,
        limit: int,
        before_id: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[dict]:
        """A page of a book's entries, newest first (by entry id, which grows with time):
        at most `limit`, with ids below `before_id`, created at or after `since` and before
        `until`. Each: id, transfer_id, amount (signed, smallest units), asset, created_at,
        and its transfer's kind, reason and ref."""
        query = (
            select(
                _entry.c.id,
                _entry.c.transfer_id,
                _entry.c.amount,
                _entry.c.asset,
                _entry.c.created_at,
                _transfer.c.kind,
                _transfer.c.reason,
                _transfer.c.ref,
            )
            .join(_transfer, _transfer.c.id == _entry.c.transfer_id)
            .where(_entry.c.book == book)
        )
        if before_id is not None:
            query = query.where(_entry.c.id < before_id)
        if since is not None:
            query = query.where(_entry.c.created_at >= since)
        if until is not None:
            query = query.where(_entry.c.created_at < until)
        with read(self.engine) as conn:
            rows = conn.execute(query.order_by(_entry.c.id.desc()).limit(limit))
            return [dict(r._mapping) for r in rows]

    def entries_sum(self, book: str, asset: str) -> int:
        """Sum of all entries of a book: must always equal its balance row."""
        with read(self.engine) as conn:
            total = conn.execute(
                select(func.coalesce(func.sum(_entry.c.amount), 0)).where(
                    _entry.c.book == book, _entry.c.asset == asset
                )
            ).scalar_one()
        return int(total)

    def total(self, asset: str, prefix: str = USER_BOOK_PREFIX) -> int:
        """Sum of the balances of all books starting with `prefix`."""
        with read(self.engine) as conn:
            total = conn.execute(
                select(func.coalesce(func.sum(_balance.c.amount), 0)).where(
                    _balance.c.asset == asset, _balance.c.book.startswith(prefix)
                )
            ).scalar_one()
        return int(total)

    def transfer_by_key(self, key: str) -> dict | None:
        """The transfer recorded under an idempotency key, if any."""
        with read(self.engine) as conn:
            row = conn.execute(select(_transfer).where(_transfer.c.idempotency_key == key)).first()
        return dict(row._mapping) if row else None

    def hold(self, key: str) -> dict | None:
        """The hold recorded under `key`, if any (asked before every call's hold)."""
        rows = _HOLD.rows(self.engine, key=key)
        return dict(zip(_hold.c.keys(), rows[0], strict=True)) if rows else None

    def open_holds(self, ref_prefix: str = "") -> list[dict]:
        """Holds not yet settled or released, optionally those whose ref starts with a prefix."""
        query = select(_hold).where(_hold.c.state == "open")
        if ref_prefix:
            query = query.where(_hold.c.ref.startswith(ref_prefix))
        with read(self.engine) as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    # --- writing -------------------------------------------------------------

    def transfer(
        self,
        *,
        key: str,
        kind: str,
        asset: str,
        amount: int,
        debit: str,
        credit: str,
        reason: str = "",
        ref: str | None = None,
    ) -> TransferResult:
        """Move `amount` (a positive int, smallest units of `asset`) from `debit` to
        `credit`, once per `key` (at most 128 characters; `reason` is cut to 255).

        Returns the transfer's id, and applied=False when `key` was already used (then
        nothing more is written, whatever the other arguments). Raises ValueError for
        a bad amount or debit == credit, and InsufficientFunds when `debit` is a user
        book whose available balance does not cover `amount`; nothing is written then.
        Database errors are raised as sqlalchemy.exc.DBAPIError subclasses.
        """
        _check_amount(amount)
        if debit == credit:
            raise ValueError("debit and credit books must differ")
        sql = self._sql
        params = {
            "key": key,
            "kind": kind,
            "asset": asset,
            "amount": amount,
            "minus": -amount,
            "debit": debit,
            "credit": credit,
            "reason": reason[:255],
            "ref": ref,
            "now": sql.stamp(),
        }
        debit_user, credit_user = is_user_book(debit), is_user_book(credit)
        if sql.kept is not None:  # SQLite
            db = sql.kept.take(self.engine)
            try:
                transfer_id = self._transfer_in_steps(db, params, debit_user, credit_user)
            except sql.driver_error as error:
                sql.kept.drop(db)
                raise _as_sqlalchemy_error(self.engine, None, error) from error
            except BaseException:
                sql.kept.give_back(db)
                raise
            sql.kept.give_back(db)
        else:
            pooled = self.engine.raw_connection()
            try:
                if debit_user and credit_user:
                    db = pooled.driver_connection
                    transfer_id = self._transfer_in_steps(db, params, debit_user, credit_user)
                else:
                    transfer_id = self._transfer_at_once(pooled, params, debit_user, credit_user)
            except sql.driver_error as error:
                raise _as_sqlalchemy_error(self.engine, pooled, error) from error
            finally:
                pooled.close()  # back to the pool
        if transfer_id < 0:  # the key was taken: nothing was written
            return TransferResult(-transfer_id, applied=False)
        return TransferResult(transfer_id, applied=True)

    def place_hold(
        self,
        *,
        key: str,
        book: str,
        asset: str,
        amount: int,
        ref: str | None = None,
        guard: HoldGuard | None = None,
    ) -> int:
        """Reserve `amount` on a user book, once per `key`; return the hold id.

        Raises InsufficientFunds when the available balance does not cover it. `guard`
        runs inside the hold's transaction once the new hold is written (it sees it), and
        refuses the hold by raising: a limit checked there under a lock (e.g. a daily cap
        across instances) cannot be overrun by concurrent holds.
        """
        _check_amount(amount)
        if not is_user_book(book):
            raise ValueError("holds are placed on user books")
        with self.engine.begin() as conn:
            hold_id = conn.execute(
                self._new_hold,
                {
                    "p_key": key,
                    "p_book": book,
                    "p_asset": asset,
                    "p_amount": amount,
                    "p_ref": ref,
                    "p_now": utcnow(),
                },
            ).scalar()
            if hold_id is None:
                return conn.execute(
                    select(_hold.c.id).where(_hold.c.idempotency_key == key)
                ).scalar_one()
            if guard is not None:
                guard(conn)
            self._reserve_or_refuse(conn, book, asset, amount)
        return int(hold_id)

    def extend_hold(self, *, key: str, amount: int, guard: HoldGuard | None = None) -> int | None:
        """Reserve `amount` more under the open hold `key`; return the hold's new amount,
        None when the hold is closed already.

        Raises InsufficientFunds (nothing changed) when the available balance does not
        cover it, UnknownHold when there is no such hold; `guard` as in `place_hold`.
        """
        _check_amount(amount)
        with self.engine.begin() as conn:
            hold = conn.execute(
                update(_hold)
                .where(_hold.c.idempotency_key == key, _hold.c.state == "open")
                .values(amount=_hold.c.amount + amount)
                .returning(_hold.c.book, _hold.c.asset, _hold.c.amount)
            ).first()
            if hold is None:
                if self._hold_exists(conn, key):
                    return None
                raise UnknownHold(key)
            if guard is not None:
                guard(conn)
            self._reserve_or_refuse(conn, hold.book, hold.asset, amount)
        return int(hold.amount)

    def _reserve_or_refuse(self, conn: Connection, book: str, asset: str, amount: int) -> None:
        reserved = conn.execute(
            self._reserve, {"p_book": book, "p_asset": asset, "p_amount": amount}
        ).first()
        if reserved is None:
            raise InsufficientFunds(book, asset, self._available(conn, book, asset), amount)

    @staticmethod
    def _hold_exists(conn: Connection, key: str) -> bool:
        found = conn.execute(select(_hold.c.id).where(_hold.c.idempotency_key == key)).first()
        return found is not None

    def settle_hold(
        self,
        *,
        key: str,
        charge: int,
        credit: str,
        kind: str,
        reason: str = "",
    ) -> int:
        """Close the hold `key`: charge `charge` to `credit` and release the rest.

        Exactly once: settling a hold that is already closed charges nothing more
        and returns what was charged the first time. The charge never exceeds the
        book's balance less its *other* open holds (it may exceed this hold when a call
        outran it); it returns the amount actually charged.
        """
        if charge < 0:
            raise ValueError("charge must not be negative")
        transfer_key = f"settle:{key}"
        with self.engine.begin() as conn:
            hold = self._close_hold(conn, key)
            if hold is None:
                charged = conn.execute(
                    select(_transfer.c.amount).where(_transfer.c.idempotency_key == transfer_key)
                ).scalar()
                return int(charged or 0)
            row = conn.execute(
                self._unreserve,
                {"p_book": hold.book, "p_asset": hold.asset, "p_amount": hold.amount},
            ).one()
            charged = max(0, min(charge, row.amount - row.held))
            if charged:
                conn.execute(update(_hold).where(_hold.c.id == hold.id).values(state="settled"))
                transfer_id = self._claim_key(
                    conn,
                    transfer_key,
                    kind,
                    hold.asset,
                    charged,
                    hold.book,
                    credit,
                    reason,
                    hold.ref,
                )
                if transfer_id is None:  # the key was settled under another hold
                    raise ValueError(f"transfer key {transfer_key} is taken")
                for book in sorted((hold.book, credit)):
                    if book == hold.book:
                        self._debit(conn, book, hold.asset, charged)
                    else:
                        self._credit(conn, book, hold.asset, charged)
                self._post(conn, transfer_id, hold.asset, charged, hold.book, credit)
        return charged

    def release_hold(self, key: str) -> bool:
        """Give back a hold without charging; False when it was already closed."""
        with self.engine.begin() as conn:
            hold = self._close_hold(conn, key)
            if hold is None:
                return False
            conn.execute(
                self._unreserve,
                {"p_book": hold.book, "p_asset": hold.asset, "p_amount": hold.amount},
            )
        return True

    # --- internals -----------------------------------------------------------

    def _transfer_in_steps(self, db: Any, params: dict, debit_user: bool, credit_user: bool) -> int:
        """`transfer` as a few statements in one transaction (SQLite; PostgreSQL between
        user books); the id, negated when the key was already taken."""
        sql = self._sql
        debit, credit = params["debit"], params["credit"]
        if sql.begin:
            db.execute(sql.begin)
        try:
            claimed = db.execute(sql.claim, params).fetchall()
            if not claimed:
                transfer_id = -db.execute(sql.existing, params).fetchall()[0][0]
                db.rollback()
                return transfer_id
            params["id"] = transfer_id = claimed[0][0]
            # The balance rows of user books (system books keep none), changed in a fixed
            # order so two opposite transfers cannot deadlock.
            for book in (debit, credit) if debit < credit else (credit, debit):
                params["book"] = book
                if book == debit:
                    if debit_user and not db.execute(sql.spend, params).fetchall():
                        available = _available(db, sql, book, params["asset"])
                        raise InsufficientFunds(book, params["asset"], available, params["amount"])
                elif credit_user:
                    db.execute(sql.add, params)
            db.execute(sql.post, params)
            db.commit()
        except BaseException:
            with suppress(Exception):
                db.rollback()
            raise
        return transfer_id

    def _transfer_at_once(
        self, pooled: Any, params: dict, debit_user: bool, credit_user: bool
    ) -> int:
        """`transfer` as one self-committing statement (PostgreSQL, at most one user
        book); the id, negated when the key was already taken."""
        sql = self._sql
        db = pooled.driver_connection
        db.autocommit = True
        try:
            try:
                row = db.execute(sql.one_statement[debit_user, credit_user], params).fetchone()
            except sql.integrity_error as error:
                if not debit_user or not _refused_debit(error):
                    raise
                book, asset = params["debit"], params["asset"]
                available = _available(db, sql, book, asset)
                raise InsufficientFunds(book, asset, available, params["amount"]) from None
            if row is None:
                return -db.execute(sql.existing, params).fetchone()[0]
            return row[0]
        finally:
            try:
                db.autocommit = False
            except Exception:  # a broken connection: never hand it out again
                pooled.invalidate()

    def _prepare(self) -> None:
        """Build the statements of holds and settlements once; SQLAlchemy then reuses
        their compiled form."""
        b = bindparam
        self._claim = (
            self._insert(_transfer)
            .values(
                idempotency_key=b("p_key"),
                kind=b("p_kind"),
                asset=b("p_asset"),
                amount=b("p_amount"),
                debit_book=b("p_debit"),
                credit_book=b("p_credit"),
                reason=b("p_reason"),
                ref=b("p_ref"),
                created_at=b("p_now"),
            )
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(_transfer.c.id)
        )
        # The row of one book in one asset, only while its available amount covers p_amount.
        covering = (
            _balance.c.book == b("p_book"),
            _balance.c.asset == b("p_asset"),
            _balance.c.amount - _balance.c.held >= b("p_amount"),
        )
        self._spend = (
            update(_balance)
            .where(*covering)
            .values(amount=_balance.c.amount - b("p_amount"))
            .returning(_balance.c.amount)
        )
        upsert = self._insert(_balance).values(
            book=b("p_book"), asset=b("p_asset"), amount=b("p_amount"), held=0
        )
        self._add = upsert.on_conflict_do_update(
            index_elements=["book", "asset"],
            set_={"amount": _balance.c.amount + upsert.excluded.amount},
        )
        self._reserve = (
            update(_balance)
            .where(*covering)
            .values(held=_balance.c.held + b("p_amount"))
            .returning(_balance.c.held)
        )
        self._unreserve = (
            update(_balance)
            .where(_balance.c.book == b("p_book"), _balance.c.asset == b("p_asset"))
            .values(held=_balance.c.held - b("p_amount"))
            .returning(_balance.c.amount, _balance.c.held)
        )
        self._new_hold = (
            self._insert(_hold)
            .values(
                idempotency_key=b("p_key"),
                book=b("p_book"),
                asset=b("p_asset"),
                amount=b("p_amount"),
                state="open",
                ref=b("p_ref"),
                created_at=b("p_now"),
            )
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(_hold.c.id)
        )
        self._entries = _entry.insert()

    def _claim_key(
        self,
        conn: Connection,
        key: str,
        kind: str,
        asset: str,
        amount: int,
        debit: str,
        credit: str,
        reason: str,
        ref: str | None,
    ) -> int | None:
        return conn.execute(
            self._claim,
            {
                "p_key": key,
                "p_kind": kind,
                "p_asset": asset,
                "p_amount": amount,
                "p_debit": debit,
                "p_credit": credit,
                "p_reason": reason[:255],
                "p_ref": ref,
                "p_now": utcnow(),
            },
        ).scalar()

    def _debit(self, conn: Connection, book: str, asset: str, amount: int) -> None:
        if not is_user_book(book):
            return  # system books keep no balance row: their balance is the sum of entries
        # One conditional UPDATE checks and spends atomically under the row lock.
        if conn.execute(
            self._spend, {"p_book": book, "p_asset": asset, "p_amount": amount}
        ).first():
            return
        raise InsufficientFunds(book, asset, self._available(conn, book, asset), amount)

    def _credit(self, conn: Connection, book: str, asset: str, amount: int) -> None:
        if is_user_book(book):
            conn.execute(self._add, {"p_book": book, "p_asset": asset, "p_amount": amount})

    @staticmethod
    def _available(conn: Connection, book: str, asset: str) -> int:
        row = conn.execute(
            select(_balance.c.amount, _balance.c.held).where(
                _balance.c.book == book, _balance.c.asset == asset
            )
        ).first()
        return row.amount - row.held if row else 0

    @staticmethod
    def _close_hold(conn: Connection, key: str):
        """Mark an open hold released and return it; None when it was already closed."""
        hold = conn.execute(select(_hold).where(_hold.c.idempotency_key == key)).first()
        if hold is None:
            raise UnknownHold(key)
        closed = conn.execute(
            update(_hold)
            .where(_hold.c.id == hold.id, _hold.c.state == "open")
            .values(state="released", closed_at=utcnow())
            .returning(_hold.c.id)
        ).first()
        return hold if closed else None

    def _post(
        self, conn: Connection, transfer_id: int, asset: str, amount: int, debit: str, credit: str
    ) -> None:
        now = utcnow()
        conn.execute(
            self._entries,
            [
                {
                    "transfer_id": transfer_id,
                    "book": debit,
                    "asset": asset,
                    "amount": -amount,
                    "created_at": now,
                },
                {
                    "transfer_id": transfer_id,
                    "book": credit,
                    "asset": asset,
                    "amount": amount,
                    "created_at": now,
                },
            ],
        )


# --- the hot path's SQL -------------------------------------------------------------
# Written once for both databases with :named parameters (turned into %(named)s for
# psycopg); the driver prepares it (sqlite3's statement cache, psycopg's prepared
# statements).

_CLAIM = (
    "INSERT INTO ledgertransfer"
    " (idempotency_key, kind, asset, amount, debit_book, credit_book, reason, ref, created_at)"
    " VALUES (:key, :kind, :asset, :amount, :debit, :credit, :reason, :ref, :now)"
    " ON CONFLICT (idempotency_key) DO NOTHING RETURNING id"
)
_SPEND = (
    "UPDATE balance SET amount = amount - :amount"
    " WHERE book = :book AND asset = :asset AND amount - held >= :amount RETURNING amount"
)
_ADD = (
    "INSERT INTO balance (book, asset, amount, held) VALUES (:book, :asset, :amount, 0)"
    " ON CONFLICT (book, asset) DO UPDATE SET amount = balance.amount + excluded.amount"
)
_POST = (
    "INSERT INTO ledgerentry (transfer_id, book, asset, amount, created_at)"
    " VALUES (:id, :debit, :asset, :minus, :now), (:id, :credit, :asset, :amount, :now)"
)
_EXISTING = "SELECT id FROM ledgertransfer WHERE idempotency_key = :key"
_AVAILABLE = "SELECT amount - held FROM balance WHERE book = :book AND asset = :asset"
# The CHECK that refuses a debit beyond the available amount (storage.models.Balance).
_COVERED = "ck_balance_held_within_amount"
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores a datetime in SQLite


def _one_statement(debit_user: bool, credit_user: bool) -> str:
    """PostgreSQL: the whole transfer as one statement returning the new transfer's id
    (no row: the key was taken, and nothing was written).

    The user book's debit is unconditional: when it would overdraw, the balance row's
    CHECK fails the statement. When the user book has no balance row at all, the debit
    entry's amount is taken from the (empty) UPDATE, so it is NULL and the entry's
    NOT NULL fails the statement. Either way nothing is written (see _refused_debit).
    """
    steps = [f"t AS ({_CLAIM})"]
    debit_amount = ":minus"
    if debit_user:
        steps.append(
            "d AS (UPDATE balance SET amount = amount - :amount"
            " WHERE book = :debit AND asset = :asset AND EXISTS (SELECT FROM t) RETURNING 1)"
        )
        debit_amount = "(SELECT CAST(:minus AS BIGINT) FROM d)"
    if credit_user:
        steps.append(
            "c AS (INSERT INTO balance (book, asset, amount, held)"
            " SELECT :credit, :asset, :amount, 0 FROM t ON CONFLICT (book, asset)"
            " DO UPDATE SET amount = balance.amount + excluded.amount)"
        )
    steps.append(
        "e AS (INSERT INTO ledgerentry (transfer_id, book, asset, amount, created_at)"
        f" SELECT id, :debit, :asset, {debit_amount}, :now FROM t"
        " UNION ALL SELECT id, :credit, :asset, CAST(:amount AS BIGINT), :now FROM t)"
    )
    return "WITH " + ", ".join(steps) + " SELECT id FROM t"


def _pyformat(sql: str) -> str:
    return re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", sql)


@dataclass(frozen=True)
class _HotSql:
    """The hot statements in one engine's driver dialect."""

    claim: str
    spend: str
    add: str
    post: str
    existing: str
    available: str
    begin: str | None  # what starts a write transaction (psycopg starts its own)
    one_statement: dict[tuple[bool, bool], str]  # PostgreSQL: by (debit, credit) is a user book
    kept: _KeptConnections | None  # SQLite: the driver connections `transfer` runs on
    stamp: Callable[[], Any]  # now, as the driver gets it for a created_at column
    driver_error: type[Exception]
    integrity_error: type[Exception]

    @classmethod
    def of(cls, engine: Engine) -> _HotSql:
        dialect = engine.dialect
        postgres = dialect.name == "postgresql"
        if not postgres and dialect.name != "sqlite":
            raise ValueError(f"unsupported database {dialect.name}")
        convert = _pyformat if postgres else str
        created_at = _transfer.c.created_at.type.dialect_impl(dialect)
        stamp = _stamp(created_at.bind_processor(dialect))
        one = {}
        if postgres:
            one = {
                (d, c): convert(_one_statement(d, c))
                for d in (False, True)
                for c in (False, True)
                if not (d and c)
            }
        return cls(
            claim=convert(_CLAIM),
            spend=convert(_SPEND),
            add=convert(_ADD),
            post=convert(_POST),
            existing=convert(_EXISTING),
            available=convert(_AVAILABLE),
            begin=None if postgres else "BEGIN IMMEDIATE",
            one_statement=one,
            kept=None if postgres else _KeptConnections.of(engine),
            stamp=stamp,
            driver_error=dialect.loaded_dbapi.Error,
            integrity_error=dialect.loaded_dbapi.IntegrityError,
        )


class _KeptConnections:
    """SQLite driver connections kept for `transfer`, one per thread using it at a time.

    Taking a connection from SQLAlchemy's pool and giving it back costs more Python
    than SQLite's own work for a charge (about 40 µs of 150), so `transfer` on SQLite
    keeps a few connections out of the pool: each is a connection the pool opened
    (with its PRAGMAs), then detached from it. A connection goes back to the list only
    outside a transaction; one that raised a driver error is closed. They are closed
    when the engine is disposed, and forgotten (never used) in a forked child.
    """

    KEEP = 8  # more than this many idle ones are closed
    _all: weakref.WeakKeyDictionary[Engine, _KeptConnections] = weakref.WeakKeyDictionary()
    _guard = threading.Lock()

    def __init__(self) -> None:
        self.idle: list[Any] = []

    @classmethod
    def of(cls, engine: Engine) -> _KeptConnections:
        with cls._guard:
            kept = cls._all.get(engine)
            if kept is None:
                kept = cls._all[engine] = cls()
                event.listen(engine, "engine_disposed", kept._engine_disposed)
        return kept

    def take(self, engine: Engine) -> Any:
        """An idle connection, or a new one opened by the engine's pool."""
        try:
            return self.idle.pop()
        except IndexError:
            pooled = engine.raw_connection()
            db = pooled.driver_connection
            pooled.detach()  # the pool forgets it; it is ours to close
            return db

    def give_back(self, db: Any) -> None:
        if db.in_transaction or len(self.idle) >= self.KEEP:
            self.drop(db)
        else:
            self.idle.append(db)

    @staticmethod
    def drop(db: Any) -> None:
        with suppress(Exception):
            db.close()

    def _engine_disposed(self, _engine: Engine) -> None:
        idle, self.idle = self.idle, []
        for db in idle:
            self.drop(db)

    @classmethod
    def _forget_in_child(cls) -> None:
        for kept in list(cls._all.values()):
            # The parent's: never used here, and never closed either (SQLite must not
            # close a connection opened by another process), so kept referenced.
            _INHERITED.extend(kept.idle)
            kept.idle = []


_INHERITED: list[Any] = []  # a forked child's copies of its parent's kept connections


os.register_at_fork(after_in_child=_KeptConnections._forget_in_child)


def _as_sqlalchemy_error(engine: Engine, pooled: Any, error: Any) -> Exception:
    """A driver error as SQLAlchemy raises it; a pooled connection that the error
    shows dead is dropped from the pool, as SQLAlchemy does."""
    dialect = engine.dialect
    gone = pooled is not None and pooled.is_valid
    gone = gone and dialect.is_disconnect(error, pooled.dbapi_connection, None)
    if gone:
        pooled.invalidate(error)
    return DBAPIError.instance(
        None, None, error, dialect.loaded_dbapi.Error, connection_invalidated=gone, dialect=dialect
    )


def _stamp(to_driver: Callable[[Any], Any] | None) -> Callable[[], Any]:
    """now() as SQLAlchemy would bind it to a created_at column. SQLite keeps text:
    formatted here by strftime when that gives SQLAlchemy's text (checked at once),
    which costs a third of SQLAlchemy's formatting."""
    if to_driver is None:
        return utcnow
    sample = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    samples = (sample, sample.replace(microsecond=60708), sample.replace(year=1999, month=12))
    if all(to_driver(t) == t.strftime(_SQLITE_TIME) for t in samples):
        return lambda: utcnow().strftime(_SQLITE_TIME)
    return lambda: to_driver(utcnow())


def _available(db: Any, sql: _HotSql, book: str, asset: str) -> int:
    rows = db.execute(sql.available, {"book": book, "asset": asset}).fetchall()
    return int(rows[0][0]) if rows else 0


def _refused_debit(error: Exception) -> bool:
    """True when a one-statement transfer failed because the debit was not covered."""
    diag = getattr(error, "diag", None)
    if diag is None:
        return False
    return diag.constraint_name == _COVERED or (
        diag.table_name == _entry.name and diag.column_name == "amount"
    )


def _check_amount(amount: int) -> None:
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise ValueError("amount must be a positive integer in the asset's smallest unit")
