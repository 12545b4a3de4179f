"""The digits a call dials once its callee answers

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 15:30:00

`callrecord.dtmf`: a number's extension ("+44 20 7946 0123 ext. 456"), dialled as
RFC 4733 events on leg b once it answers, before the legs are bridged. Stored with the
call so that a scheduled call dials it too; "" for none.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("callrecord", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "dtmf",
                sqlmodel.sql.sqltypes.AutoString(length=64),
                nullable=False,
                server_default="",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("callrecord", schema=None) as batch_op:
        batch_op.drop_column("dtmf")
