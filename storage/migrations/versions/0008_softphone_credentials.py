"""Softphone (SIP) credentials of every account

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 16:00:00

`account.sip_ha1`: the digest HA1 (RFC 8760 / RFC 2617, MD5 of
`extension:domain:password`, 32 lowercase hex digits) with which the account's
softphones register as its extension; the password itself is never stored.
`account.sip_password_at`: when that password was made. Both NULL: no softphone yet.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sip_ha1", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )
        batch_op.add_column(
            sa.Column("sip_password_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.drop_column("sip_password_at")
        batch_op.drop_column("sip_ha1")
