"""The exchange's outside world: direct numbers, caller ID, follow-me, outside calls

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 18:00:00

- `did`: the direct numbers of DID_POOL and the account each is assigned to;
- `account.hide_caller_id`: the account's calls go out with a withheld caller ID;
- `forwardingrule.ring_seconds`, `forwardingrule.follow_me`: a rule's ring time and the
  targets tried after the first (follow-me);
- `callrecord.kind` may be `outbound` (a phone calls out through the trunk) or `inbound`
  (the trunk calls a direct number); `callrecord.forwarded_to`: where an inbound call went.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

BEFORE = "kind IN ('callback', 'verification', 'reminder', 'internal')"
AFTER = "kind IN ('callback', 'verification', 'reminder', 'internal', 'outbound', 'inbound')"


def upgrade() -> None:
    op.create_table(
        "did",
        sa.Column("number", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("assigned_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.PrimaryKeyConstraint("number"),
    )
    with op.batch_alter_table("did") as batch_op:
        batch_op.create_index(batch_op.f("ix_did_account_id"), ["account_id"], unique=False)
    with op.batch_alter_table("account") as batch_op:
        batch_op.add_column(
            sa.Column("hide_caller_id", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("forwardingrule") as batch_op:
        batch_op.add_column(sa.Column("ring_seconds", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("follow_me", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True)
        )
    with op.batch_alter_table("callrecord") as batch_op:
        batch_op.add_column(
            sa.Column("forwarded_to", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.drop_constraint("ck_callrecord_kind", type_="check")
        batch_op.create_check_constraint("ck_callrecord_kind", AFTER)


def downgrade() -> None:
    # Refused by the database while outbound or inbound call records exist.
    with op.batch_alter_table("callrecord") as batch_op:
        batch_op.drop_constraint("ck_callrecord_kind", type_="check")
        batch_op.create_check_constraint("ck_callrecord_kind", BEFORE)
        batch_op.drop_column("forwarded_to")
    with op.batch_alter_table("forwardingrule") as batch_op:
        batch_op.drop_column("follow_me")
        batch_op.drop_column("ring_seconds")
    with op.batch_alter_table("account") as batch_op:
        batch_op.drop_column("hide_caller_id")
    with op.batch_alter_table("did") as batch_op:
        batch_op.drop_index(batch_op.f("ix_did_account_id"))
    op.drop_table("did")
