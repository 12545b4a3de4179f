"""Lists as CSV (RFC 4180, the `csv` module's dialect "excel": comma, CRLF, quoted when
needed) for spreadsheets and CRMs: one header row, then one row per item."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime

MEDIA_TYPE = "text/csv"


def cell(value: object) -> str:
    """A value as CSV text: times in RFC 3339, booleans true/false, None empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """The CSV text of `header` and `rows` (each as long as the header)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([cell(value) for value in row])
    return out.getvalue()


def wants_csv(accept: str | None, format_: str | None) -> bool:
    """Whether the client asked for CSV: `?format=csv`, or `text/csv` in Accept ahead of
    JSON (RFC 9110 §12.5.1, by order only)."""
    if format_ is not None:
        return format_ == "csv"
    for part in (accept or "").split(","):
        media = part.split(";")[0].strip().lower()
        if media == MEDIA_TYPE:
            return True
        if media in ("application/json", "*/*", "application/*"):
            return False
    return False
