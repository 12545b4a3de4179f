"""One withdrawal per transaction id

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 15:00:00

Two withdrawals can never be booked against one transfer on chain: `withdrawal.tx_id`
becomes unique (NULL, a withdrawal not yet signed, stays allowed many times). Before it,
two withdrawals of the same amount to the same address created in the same millisecond
signed the same transfer; the node took it once and both were booked sent.
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("withdrawal", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_withdrawal_tx_id", ["tx_id"])


def downgrade() -> None:
    with op.batch_alter_table("withdrawal", schema=None) as batch_op:
        batch_op.drop_constraint("uq_withdrawal_tx_id", type_="unique")
