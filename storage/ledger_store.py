"""The double-entry ledger: transfers between books, balances and holds.

Every change of a balance is a `LedgerTransfer` with two `LedgerEntry` rows that
sum to zero, applied in one database transaction together with the `Balance`
rows of the user books it changes. An idempotency key makes a retried operation
a no-op. The available amount of a user book (amount minus open holds) never goes
below zero: it is checked and changed by one conditional UPDATE, which holds the
row lock until commit on PostgreSQL (and runs inside BEGIN IMMEDIATE on SQLite).
System books (deposits, revenue, …) keep no balance row, so they are no global
hot spot: their balance is the sum of their entries.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from storage.clock import utcnow
from storage.db import FastRead, read
from storage.models import Balance, Hold, LedgerEntry, LedgerTransfer

USER_BOOK_PREFIX = "account:"

_balance = Balance.__table__
_BALANCES = FastRead(  # read for every "balance" message
    select(_balance.c.asset, _balance.c.amount, _balance.c.held).where(
        _balance.c.book == bindparam("book")
    )
)
_transfer = LedgerTransfer.__table__
_entry = LedgerEntry.__table__
_hold = Hold.__table__


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

    # --- reading -------------------------------------------------------------

    def balance(self, book: str, asset: str) -> BalanceView:
        """The current balance of `book` in `asset` (zero when it never moved)."""
        if not is_user_book(book):
            return BalanceView(self.entries_sum(book, asset), 0)
        with read(self.engine) as conn:
            row = conn.execute(
                select(_balance.c.amount, _balance.c.held).where(
                    _balance.c.book == book, _balance.c.asset == asset
                )
            ).first()
        return BalanceView(row.amount, row.held) if row else BalanceView(0, 0)

    def balances(self, book: str) -> dict[str, BalanceView]:
        """Every asset this book has ever held, by asset."""
        rows = _BALANCES.rows(self.engine, book=book)
        return {asset: BalanceView(amount, held) for asset, amount, held in rows}

    def entries(self, book: str, limit: int = 50) -> list[dict]:
        """The newest entries of a book with their transfer's kind and reason."""
        query = (
            select(
                _entry.c.amount,
                _entry.c.asset,
                _entry.c.created_at,
                _transfer.c.kind,
                _transfer.c.reason,
                _transfer.c.ref,
            )
            .join(_transfer, _transfer.c.id == _entry.c.transfer_id)
            .where(_entry.c.book == book)
            .order_by(_entry.c.id.desc())
            .limit(limit)
        )
        with read(self.engine) as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

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
        """The hold recorded under `key`, if any."""
        with read(self.engine) as conn:
            row = conn.execute(select(_hold).where(_hold.c.idempotency_key == key)).first()
        return dict(row._mapping) if row else None

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
        """Move `amount` from `debit` to `credit`, once per `key`.

        Raises InsufficientFunds when `debit` is a user book whose available
        balance does not cover `amount`; nothing is written then.
        """
        _check_amount(amount)
        if debit == credit:
            raise ValueError("debit and credit books must differ")
        with self.engine.begin() as conn:
            transfer_id = self._claim_key(
                conn, key, kind, asset, amount, debit, credit, reason, ref
            )
            if transfer_id is None:
                return TransferResult(self._existing_id(conn, key), applied=False)
            # Change the balance rows in a fixed order so two opposite transfers cannot deadlock.
            for book in sorted((debit, credit)):
                if book == debit:
                    self._debit(conn, book, asset, amount)
                else:
                    self._credit(conn, book, asset, amount)
            self._post(conn, transfer_id, asset, amount, debit, credit)
        return TransferResult(transfer_id, applied=True)

    def place_hold(
        self, *, key: str, book: str, asset: str, amount: int, ref: str | None = None
    ) -> int:
        """Reserve `amount` on a user book, once per `key`; return the hold id.

        Raises InsufficientFunds when the available balance does not cover it.
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
            reserved = conn.execute(
                self._reserve, {"p_book": book, "p_asset": asset, "p_amount": amount}
            ).first()
            if reserved is None:
                raise InsufficientFunds(book, asset, self._available(conn, book, asset), amount)
        return hold_id

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
        book's balance (the dialer's maximum duration keeps it within the hold and
        the available funds); it returns the amount actually charged.
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

    def _prepare(self) -> None:
        """Build the hot statements once; SQLAlchemy then reuses their compiled form."""
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

    @staticmethod
    def _existing_id(conn: Connection, key: str) -> int:
        return conn.execute(
            select(_transfer.c.id).where(_transfer.c.idempotency_key == key)
        ).scalar_one()

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


def _check_amount(amount: int) -> None:
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise ValueError("amount must be a positive integer in the asset's smallest unit")
