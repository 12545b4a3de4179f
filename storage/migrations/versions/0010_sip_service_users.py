"""SIP users of our own on the exchange (the instances' callback dialers)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 17:00:00

`sipserviceuser`: name and digest HA1 of each instance's callback dialer, so that any
instance answering kamailio's questions can check any dialer's REGISTER and INVITE.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sipserviceuser",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("ha1", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("sipserviceuser")
