"""ETT holders' polls and their votes

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 00:00:00

- `poll`: a question, its options, the asset and snapshot height, when it closes;
- `pollweight`: each address's balance at the snapshot (the node's distribution, cached:
  the node answers it only within its rollback depth);
- `pollvote`: one vote per address and poll, with its weight and the account that chose;
- `pollnotice`: the announcement and the results sent to an account, claimed once.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "poll",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("question", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("options", sa.Text(), nullable=False),
        sa.Column("asset_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("decimals", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("closes_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("closed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("poll", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_poll_closes_at"), ["closes_at"], unique=False)

    op.create_table(
        "pollweight",
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["poll_id"], ["poll.id"]),
        sa.PrimaryKeyConstraint("poll_id", "address"),
    )
    op.create_table(
        "pollvote",
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("option", sa.Integer(), nullable=False),
        sa.Column("weight", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("voted_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.ForeignKeyConstraint(["poll_id"], ["poll.id"]),
        sa.PrimaryKeyConstraint("poll_id", "address"),
    )
    with op.batch_alter_table("pollvote", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pollvote_account_id"), ["account_id"], unique=False)

    op.create_table(
        "pollnotice",
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("claimed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("sent_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.ForeignKeyConstraint(["poll_id"], ["poll.id"]),
        sa.PrimaryKeyConstraint("poll_id", "account_id", "kind"),
    )
    with op.batch_alter_table("pollnotice", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pollnotice_account_id"), ["account_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("pollnotice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pollnotice_account_id"))
    op.drop_table("pollnotice")
    with op.batch_alter_table("pollvote", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pollvote_account_id"))
    op.drop_table("pollvote")
    op.drop_table("pollweight")
    with op.batch_alter_table("poll", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_poll_closes_at"))
    op.drop_table("poll")
