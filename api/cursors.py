"""Pages of lists: the query parameters every list takes, and its opaque cursors.

A cursor is the base64url (RFC 4648 §5, without padding) of "<RFC 3339 time>|<id>": the
sort key of the last item of the page before. Clients treat it as opaque; one that does
not decode is a 422 problem. Times given without an offset are read as UTC.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Annotated, TypeVar

from fastapi import Query

from api.problems import Problem
from bot.assistant.i18n import t

T = TypeVar("T")
MAX_LIMIT = 200
MAX_CURSOR = 200
# The largest integer row id (the tables' INTEGER keys are 32-bit on PostgreSQL).
MAX_ROW_ID = 2**31 - 1

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="items on a page (1 to 200)")]
Cursor = Annotated[
    str | None,
    Query(max_length=MAX_CURSOR, description="the `next_cursor` of the page before"),
]
Since = Annotated[datetime | None, Query(description="only items at or after this time (RFC 3339)")]
Until = Annotated[datetime | None, Query(description="only items before this time (RFC 3339)")]


def encode(moment: datetime, key: str | int) -> str:
    """The cursor after an item sorted by (`moment`, `key`)."""
    raw = f"{utc(moment).isoformat()}|{key}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, lang: str) -> tuple[datetime, str]:
    """(time, id) of a cursor made by `encode`; Problem "validation" (422) when it is not
    one (the message in `lang`)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, sep, key = raw.partition("|")
        if not sep or not key:
            raise ValueError(raw)
        return utc(datetime.fromisoformat(moment)), key
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise Problem("bad-cursor", t(lang, "apires_bad_cursor")) from None


def decode_int(cursor: str, lang: str) -> tuple[datetime, int]:
    """`decode` for lists whose ids are integers (same Problem when the id is not one)."""
    moment, key = decode(cursor, lang)
    if not key.isdigit() or len(key) > 10 or int(key) > MAX_ROW_ID:
        raise Problem("bad-cursor", t(lang, "apires_bad_cursor"))
    return moment, int(key)


def utc(moment: datetime) -> datetime:
    """An aware time in UTC (a naive one is taken as UTC already). Problem "validation"
    for one whose UTC time is out of datetime's range (years 1 to 9999)."""
    try:
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:
        raise Problem("validation", f"{moment.isoformat()}: out of range in UTC") from None


def optional_utc(moment: datetime | None) -> datetime | None:
    """`utc` of a filter that may be absent."""
    return None if moment is None else utc(moment)


def next_cursor(
    rows: Sequence[T], limit: int, key: Callable[[T], tuple[datetime, str | int]]
) -> tuple[list[T], str | None]:
    """The page (the first `limit` of `rows`, fetched with one more) and the cursor of the
    next page, None when there is none."""
    page = list(rows[:limit])
    if len(rows) <= limit or not page:
        return page, None
    return page, encode(*key(page[-1]))
