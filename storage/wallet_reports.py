"""Read-only listings for operators: accounts with their balances."""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlmodel import col

from storage.ledger_store import USER_BOOK_PREFIX
from storage.models import Account, Balance


def accounts_with_balances(engine: Engine, limit: int = 1000) -> list[dict]:
    """Each account (newest first) with `balances` {asset: (amount, held)}."""
    with engine.connect() as conn:
        accounts = conn.execute(
            select(
                col(Account.id),
                col(Account.phone_number),
                col(Account.extension),
                col(Account.created_at),
            )
            .order_by(col(Account.id).desc())
            .limit(limit)
        ).all()
        books = {f"{USER_BOOK_PREFIX}{row.id}": row.id for row in accounts}
        balances: dict[int, dict[str, tuple[int, int]]] = {row.id: {} for row in accounts}
        if books:
            rows = conn.execute(
                select(
                    col(Balance.book), col(Balance.asset), col(Balance.amount), col(Balance.held)
                ).where(col(Balance.book).in_(list(books)))
            )
            for book, asset, amount, held in rows:
                balances[books[book]][asset] = (int(amount), int(held))
    return [{**row._mapping, "balances": balances[row.id]} for row in accounts]
