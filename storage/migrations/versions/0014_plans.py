"""Monthly plans: subscriptions, their paid periods, included minutes used

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 00:00:00

- `plansubscription`: an account's plan, its current period and whether it renews;
- `planperiod`: each paid period (one per account and start: a renewal is recorded once);
- `planusage`: included seconds each call leg used (one row per call and leg);
- `plannotice`: renewal notices sent (one per account, kind and period end).
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "plansubscription",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("plan", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("next_plan", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("anchor_day", sa.Integer(), nullable=False),
        sa.Column("period_start", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("period_end", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.PrimaryKeyConstraint("account_id"),
    )
    with op.batch_alter_table("plansubscription", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_plansubscription_period_end"), ["period_end"], unique=False
        )

    op.create_table(
        "planperiod",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("plan", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("starts_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("ends_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("asset", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("transfer_key", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("included", sa.Text(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "starts_at"),
    )
    with op.batch_alter_table("planperiod", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_planperiod_account_id"), ["account_id"], unique=False)

    op.create_table(
        "planusage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("call_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("leg", sqlmodel.sql.sqltypes.AutoString(length=1), nullable=False),
        sa.Column("dest_group", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=False),
        sa.Column("reserved", sa.Boolean(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.ForeignKeyConstraint(["period_id"], ["planperiod.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("call_id", "leg"),
    )
    with op.batch_alter_table("planusage", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_planusage_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_planusage_period_id"), ["period_id"], unique=False)

    op.create_table(
        "plannotice",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("period_end", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("plan", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("claimed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("sent_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.PrimaryKeyConstraint("account_id", "kind", "period_end"),
    )


def downgrade() -> None:
    op.drop_table("plannotice")
    with op.batch_alter_table("planusage", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_planusage_period_id"))
        batch_op.drop_index(batch_op.f("ix_planusage_account_id"))
    op.drop_table("planusage")
    with op.batch_alter_table("planperiod", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_planperiod_account_id"))
    op.drop_table("planperiod")
    with op.batch_alter_table("plansubscription", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plansubscription_period_end"))
    op.drop_table("plansubscription")
