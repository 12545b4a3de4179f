"""The one clock of the storage layer: timezone-aware UTC datetimes."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current time in UTC (how every table stores time)."""
    return datetime.now(UTC)
