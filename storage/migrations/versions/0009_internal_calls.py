"""Calls between extensions of the exchange

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 16:00:00

`callrecord.kind` may be `internal`: a call kamailio relays between two extensions (free,
its record written from kamailio's dialog events by exchange/service.py).
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BEFORE = "kind IN ('callback', 'verification', 'reminder')"
AFTER = "kind IN ('callback', 'verification', 'reminder', 'internal')"


def _check(condition: str) -> None:
    with op.batch_alter_table("callrecord") as batch_op:
        batch_op.drop_constraint("ck_callrecord_kind", type_="check")
        batch_op.create_check_constraint("ck_callrecord_kind", condition)


def upgrade() -> None:
    _check(AFTER)


def downgrade() -> None:
    # Refused by the database while internal call records exist: they are not deleted.
    _check(BEFORE)
