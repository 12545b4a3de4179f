"""The HTTP API: keys, idempotent requests, webhooks and their deliveries, voice 2FA codes

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 00:00:00

- `apikey`: an account's API keys (only the token's SHA-256 kept), with scopes;
- `idempotentrequest`: the first answer to a POST with an Idempotency-Key, replayed to a retry;
- `webhookendpoint`, `webhookdelivery`, `webhookattempt`: where an account's events are sent,
  each event's delivery to each endpoint (retried from here, across restarts), each attempt;
- `verification`: second-factor codes sent by voice call (only the code's HMAC kept);
  their calls are call records of the new kind `two_factor`.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

KINDS_BEFORE = "kind IN ('callback', 'verification', 'reminder', 'internal', 'outbound', 'inbound')"
KINDS_AFTER = (
    "kind IN ('callback', 'verification', 'reminder', 'internal', 'outbound', 'inbound', "
    "'two_factor')"
)


def upgrade() -> None:
    with op.batch_alter_table("callrecord") as batch_op:
        batch_op.drop_constraint("ck_callrecord_kind", type_="check")
        batch_op.create_check_constraint("ck_callrecord_kind", KINDS_AFTER)
    op.create_table(
        "apikey",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("scopes", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("last_used_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("revoked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("apikey", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_apikey_account_id"), ["account_id"], unique=False)

    op.create_table(
        "idempotentrequest",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("fingerprint", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("headers", sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
        ),
        sa.PrimaryKeyConstraint("account_id", "key"),
    )
    with op.batch_alter_table("idempotentrequest", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_idempotentrequest_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "verification",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("key_id", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("number", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("code_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("checks", sa.Integer(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("call_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("call_outcome", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("cost", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.CheckConstraint("channel IN ('speak', 'keypad')", name="verification_channel"),
        sa.CheckConstraint(
            "state IN ('pending', 'approved', 'failed', 'expired')", name="verification_state"
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("verification", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_verification_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_verification_key_id"), ["key_id"], unique=False)
        batch_op.create_index(
            "ix_verification_number_created", ["number", "created_at"], unique=False
        )

    op.create_table(
        "webhookendpoint",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("url", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=False),
        sa.Column("events", sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=False),
        sa.Column("secret", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("disabled_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("webhookendpoint", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhookendpoint_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "webhookdelivery",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("endpoint_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("event_type", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("claimed_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("delivered_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'delivered', 'failed')", name="webhookdelivery_state"
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhookendpoint.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("endpoint_id", "event_id"),
    )
    with op.batch_alter_table("webhookdelivery", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhookdelivery_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index("ix_webhookdelivery_due", ["state", "next_attempt_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_webhookdelivery_endpoint_id"), ["endpoint_id"], unique=False
        )

    op.create_table(
        "webhookattempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=256), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["webhookdelivery.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("webhookattempt", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhookattempt_delivery_id"), ["delivery_id"], unique=False
        )


def downgrade() -> None:
    # Refused by the database while two-factor call records exist.
    with op.batch_alter_table("callrecord") as batch_op:
        batch_op.drop_constraint("ck_callrecord_kind", type_="check")
        batch_op.create_check_constraint("ck_callrecord_kind", KINDS_BEFORE)
    with op.batch_alter_table("webhookattempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhookattempt_delivery_id"))

    op.drop_table("webhookattempt")
    with op.batch_alter_table("webhookdelivery", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhookdelivery_endpoint_id"))
        batch_op.drop_index("ix_webhookdelivery_due")
        batch_op.drop_index(batch_op.f("ix_webhookdelivery_account_id"))

    op.drop_table("webhookdelivery")
    with op.batch_alter_table("webhookendpoint", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhookendpoint_account_id"))

    op.drop_table("webhookendpoint")
    with op.batch_alter_table("verification", schema=None) as batch_op:
        batch_op.drop_index("ix_verification_number_created")
        batch_op.drop_index(batch_op.f("ix_verification_key_id"))
        batch_op.drop_index(batch_op.f("ix_verification_account_id"))

    op.drop_table("verification")
    with op.batch_alter_table("idempotentrequest", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotentrequest_created_at"))

    op.drop_table("idempotentrequest")
    with op.batch_alter_table("apikey", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_apikey_account_id"))

    op.drop_table("apikey")
