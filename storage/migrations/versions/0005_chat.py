"""Chat safety: updates handled once, and limits on guessing link codes

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-12 10:00:00

- `chatupdate`: each update a chat network delivered (Telegram's update_id, per bot),
  claimed by the first instance that handles it (storage.updates); pruned after a day.
- `linkattempt`: wrong link codes written from one identity, with their time, so that
  every instance counts them (storage.accounts).
- `linkcode.failures`: wrong codes written anywhere while the code was live; at a few
  the code dies.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "chatupdate",
        sa.Column("source", _text(64), nullable=False),
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("seen_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("source", "update_id"),
    )
    with op.batch_alter_table("chatupdate", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chatupdate_seen_at"), ["seen_at"], unique=False)
    op.create_table(
        "linkattempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("network", _text(16), nullable=False),
        sa.Column("external_id", _text(255), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("linkattempt", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_linkattempt_at"), ["at"], unique=False)
        batch_op.create_index(
            "ix_linkattempt_identity_at", ["network", "external_id", "at"], unique=False
        )
    with op.batch_alter_table("linkcode", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failures", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("linkcode", schema=None) as batch_op:
        batch_op.drop_column("failures")
    with op.batch_alter_table("linkattempt", schema=None) as batch_op:
        batch_op.drop_index("ix_linkattempt_identity_at")
        batch_op.drop_index(batch_op.f("ix_linkattempt_at"))
    op.drop_table("linkattempt")
    with op.batch_alter_table("chatupdate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chatupdate_seen_at"))
    op.drop_table("chatupdate")
