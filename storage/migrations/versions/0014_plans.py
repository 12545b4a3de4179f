"""Monthly plans: subscriptions, their paid periods, included minutes used

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 00:00:00

(Being written: issue 16, monthly plans.)
"""

from __future__ import annotations

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
