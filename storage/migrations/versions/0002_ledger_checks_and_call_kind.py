"""ledger invariants as CHECK constraints; call records get a kind

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 10:00:00

The ledger's invariants, already kept by storage.ledger_store, are now also refused
by the database:

- balance: held >= 0 and amount >= held (so amount >= 0: a user book's available
  amount never goes negative; system books keep no balance row);
- hold: amount > 0, state in ('open', 'settled', 'released');
- ledgertransfer: amount > 0, debit_book <> credit_book;
- ledgerentry: amount <> 0.

Call records get `kind` (callback, verification, reminder; NOT NULL, default
callback) instead of the tag that service calls wrote into b_number. A service call
rings the account's own phone on leg a: a_number already holds the number dialled,
so an old row's tag moves to `kind` and b_number gets that number too.

On SQLite the constraints are added by rebuilding the tables (batch mode);
storage.migrate runs migrations with foreign-key enforcement off and checks every
foreign key before committing, so rebuilding a table that others refer to keeps
their rows.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

KINDS = ("callback", "verification", "reminder")
SERVICE_KINDS = KINDS[1:]

CHECKS = {
    "balance": (
        ("ck_balance_held_not_negative", "held >= 0"),
        ("ck_balance_held_within_amount", "amount >= held"),
    ),
    "hold": (
        ("ck_hold_amount_positive", "amount > 0"),
        ("ck_hold_state", "state IN ('open', 'settled', 'released')"),
    ),
    "ledgertransfer": (
        ("ck_ledgertransfer_amount_positive", "amount > 0"),
        ("ck_ledgertransfer_two_books", "debit_book <> credit_book"),
    ),
    "ledgerentry": (("ck_ledgerentry_amount_not_zero", "amount <> 0"),),
}

callrecord = sa.table(
    "callrecord",
    sa.column("kind", sa.String),
    sa.column("a_number", sa.String),
    sa.column("b_number", sa.String),
)


def upgrade() -> None:
    for table, checks in CHECKS.items():
        with op.batch_alter_table(table) as batch_op:
            for name, condition in checks:
                batch_op.create_check_constraint(name, condition)

    # SQLite adds a column with a default and a CHECK without rebuilding the table.
    op.add_column(
        "callrecord",
        sa.Column(
            "kind",
            sqlmodel.sql.sqltypes.AutoString(length=16),
            sa.CheckConstraint(
                "kind IN ('callback', 'verification', 'reminder')", name="ck_callrecord_kind"
            ),
            nullable=False,
            server_default="callback",
        ),
    )
    op.execute(
        callrecord.update()
        .where(callrecord.c.b_number.in_(SERVICE_KINDS))
        .values(kind=callrecord.c.b_number, b_number=callrecord.c.a_number)
    )


def downgrade() -> None:
    op.execute(
        callrecord.update()
        .where(callrecord.c.kind.in_(SERVICE_KINDS))
        .values(b_number=callrecord.c.kind)
    )
    with op.batch_alter_table("callrecord") as batch_op:
        batch_op.drop_constraint("ck_callrecord_kind", type_="check")
        batch_op.drop_column("kind")
    for table, checks in reversed(list(CHECKS.items())):
        with op.batch_alter_table(table) as batch_op:
            for name, _condition in reversed(checks):
                batch_op.drop_constraint(name, type_="check")
