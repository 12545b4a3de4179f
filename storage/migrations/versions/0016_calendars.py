"""Repeating reminders and the users' calendars

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 00:00:00

- `reminderseries`: a repeating reminder (RFC 5545 rule, local start, zone, next occurrence);
- `calendarsource`: an iCalendar feed, CalDAV account or imported file of an account;
- `reminder`: each occurrence of a series or alarm of a calendar event is a row, named by
  `occurrence_key` (unique per series and per calendar), with the occurrences missed while
  no service ran and the event's start.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_STR = sqlmodel.sql.sqltypes.AutoString
_TIME = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "reminderseries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("rule", _STR(length=200), nullable=False),
        sa.Column("dtstart", _STR(length=19), nullable=False),
        sa.Column("timezone", _STR(length=64), nullable=False),
        sa.Column("channel", _STR(length=16), nullable=False),
        sa.Column("text", _STR(length=1000), nullable=False),
        sa.Column("next_at", _TIME(), nullable=True),
        sa.Column("state", _STR(length=16), nullable=False),
        sa.Column("created_at", _TIME(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("reminderseries", schema=None) as batch_op:
        for column in ("account_id", "next_at", "state"):
            batch_op.create_index(batch_op.f(f"ix_reminderseries_{column}"), [column])

    op.create_table(
        "calendarsource",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("kind", _STR(length=8), nullable=False),
        sa.Column("url", _STR(length=2048), nullable=True),
        sa.Column("username", _STR(length=200), nullable=True),
        sa.Column("password", _STR(length=500), nullable=True),
        sa.Column("label", _STR(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("file_sha256", _STR(length=64), nullable=True),
        sa.Column("etag", _STR(length=200), nullable=True),
        sa.Column("last_modified", _STR(length=64), nullable=True),
        sa.Column("fingerprint", _STR(length=200), nullable=True),
        sa.Column("minutes_before", sa.Integer(), nullable=False),
        sa.Column("channel", _STR(length=16), nullable=False),
        sa.Column("state", _STR(length=16), nullable=False),
        sa.Column("error", _STR(length=32), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("next_sync_at", _TIME(), nullable=False),
        sa.Column("synced_at", _TIME(), nullable=True),
        sa.Column("created_at", _TIME(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "file_sha256"),
    )
    with op.batch_alter_table("calendarsource", schema=None) as batch_op:
        for column in ("account_id", "next_sync_at", "state"):
            batch_op.create_index(batch_op.f(f"ix_calendarsource_{column}"), [column])

    with op.batch_alter_table("reminder", schema=None) as batch_op:
        batch_op.add_column(sa.Column("series_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("calendar_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("occurrence_key", _STR(length=400), nullable=True))
        batch_op.add_column(
            sa.Column("missed", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("event_at", _TIME(), nullable=True))
        batch_op.create_foreign_key(
            "fk_reminder_series_id", "reminderseries", ["series_id"], ["id"]
        )
        batch_op.create_foreign_key(
            "fk_reminder_calendar_id", "calendarsource", ["calendar_id"], ["id"]
        )
        batch_op.create_index(batch_op.f("ix_reminder_series_id"), ["series_id"])
        batch_op.create_index(batch_op.f("ix_reminder_calendar_id"), ["calendar_id"])
        batch_op.create_unique_constraint(
            "uq_reminder_series_id_occurrence_key", ["series_id", "occurrence_key"]
        )
        batch_op.create_unique_constraint(
            "uq_reminder_calendar_id_occurrence_key", ["calendar_id", "occurrence_key"]
        )


def downgrade() -> None:
    with op.batch_alter_table("reminder", schema=None) as batch_op:
        batch_op.drop_constraint("uq_reminder_calendar_id_occurrence_key", type_="unique")
        batch_op.drop_constraint("uq_reminder_series_id_occurrence_key", type_="unique")
        batch_op.drop_index(batch_op.f("ix_reminder_calendar_id"))
        batch_op.drop_index(batch_op.f("ix_reminder_series_id"))
        batch_op.drop_constraint("fk_reminder_calendar_id", type_="foreignkey")
        batch_op.drop_constraint("fk_reminder_series_id", type_="foreignkey")
        for column in ("event_at", "missed", "occurrence_key", "calendar_id", "series_id"):
            batch_op.drop_column(column)
    op.drop_table("calendarsource")
    op.drop_table("reminderseries")
