"""Privacy: sealed recordings, a linked wallet's key, call records' numbers cut, "forget me"

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 20:30:00

- `account.record_calls`: every call of the account recorded ("record all my calls");
- `account.recording_key`: the Curve25519 public key its recordings are sealed to;
- `account.wallet_address`: the Waves address whose ownership the user proved;
- `account.forgotten_at`: when "forget me" deleted the account's personal data;
- `callrecord.numbers_cut_at`: when the record's numbers were cut to country and first
  digits (CDR_RETENTION_DAYS);
- `recording`: the sealed files of recorded calls, until they expire;
- `walletlink`: a pending proof of a wallet's ownership (a nonce to sign or send as memo).
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_str = sqlmodel.sql.sqltypes.AutoString
_time = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("account") as batch_op:
        batch_op.add_column(
            sa.Column("record_calls", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("recording_key", _str(length=64), nullable=True))
        batch_op.add_column(sa.Column("wallet_address", _str(length=64), nullable=True))
        batch_op.add_column(sa.Column("forgotten_at", _time(), nullable=True))
    with op.batch_alter_table("callrecord") as batch_op:
        batch_op.add_column(sa.Column("numbers_cut_at", _time(), nullable=True))
    op.create_table(
        "recording",
        sa.Column("id", _str(length=32), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("call_id", _str(length=64), nullable=True),
        sa.Column("file_name", _str(length=128), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("delivered_at", _time(), nullable=True),
        sa.Column("expires_at", _time(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("recording") as batch_op:
        batch_op.create_index(batch_op.f("ix_recording_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_recording_call_id"), ["call_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_recording_expires_at"), ["expires_at"], unique=False)
    op.create_table(
        "walletlink",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("address", _str(length=64), nullable=False),
        sa.Column("nonce", _str(length=64), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("expires_at", _time(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.PrimaryKeyConstraint("account_id"),
        sa.UniqueConstraint("nonce"),
    )


def downgrade() -> None:
    op.drop_table("walletlink")
    with op.batch_alter_table("recording") as batch_op:
        batch_op.drop_index(batch_op.f("ix_recording_expires_at"))
        batch_op.drop_index(batch_op.f("ix_recording_call_id"))
        batch_op.drop_index(batch_op.f("ix_recording_account_id"))
    op.drop_table("recording")
    with op.batch_alter_table("callrecord") as batch_op:
        batch_op.drop_column("numbers_cut_at")
    with op.batch_alter_table("account") as batch_op:
        batch_op.drop_column("forgotten_at")
        batch_op.drop_column("wallet_address")
        batch_op.drop_column("recording_key")
        batch_op.drop_column("record_calls")
