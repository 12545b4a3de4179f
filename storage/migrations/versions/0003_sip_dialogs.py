"""SIP dialogs of live call legs, so a restarted instance can end them

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-09 10:00:00

One row per leg of a call in progress (storage.models.SipDialog): Call-ID, tags,
CSeq, top Via, route set and remote target, written as the dialog is established and
deleted when the leg ends. After a crash the instance that closes the call sends BYE
(answered legs) or CANCEL (ringing legs) from these rows.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "sipdialog",
        sa.Column("sip_call_id", _text(255), nullable=False),
        sa.Column("call_id", _text(64), nullable=False),
        sa.Column("leg", _text(1), nullable=False),
        sa.Column("state", _text(16), nullable=False),
        sa.Column("request_uri", _text(512), nullable=False),
        sa.Column("via", _text(512), nullable=False),
        sa.Column("from_header", _text(512), nullable=False),
        sa.Column("to_header", _text(512), nullable=False),
        sa.Column("cseq", sa.Integer(), nullable=False),
        sa.Column("remote_target", _text(512), nullable=False),
        sa.Column("route_set", _text(2048), nullable=False),
        sa.Column("owner", _text(255), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("sip_call_id"),
    )
    with op.batch_alter_table("sipdialog", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sipdialog_call_id"), ["call_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sipdialog", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sipdialog_call_id"))
    op.drop_table("sipdialog")
