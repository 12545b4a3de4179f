"""Log lines as text (the format of before, unchanged) or one JSON object per line
(LOG_FORMAT=json), with the call id on every JSON line about a call.

The service's one handler (main.py) gets, in this order, privacy.logs.PrivacyFilter
(secrets, numbers and addresses masked: it rewrites the message and the traceback, which
both formats then show as they are), CallIdFilter (the call id of the work that logged,
domain.logcontext) and one of the formatters below.

A JSON line holds `time` (RFC 3339, UTC, milliseconds), `level`, `logger`, `message`,
`call_id` (only on lines about a call), and `exc_info` / `stack_info` when the record has
them. Other attributes given with `extra=` are not written (the text format does not show
them either, and the privacy filter does not read them).
"""

from __future__ import annotations

import copy
import logging
from datetime import UTC, datetime
from typing import Any, Literal

from pythonjsonlogger.json import JsonFormatter as _LibraryJsonFormatter

from domain.logcontext import current_call_id

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class CallIdFilter(logging.Filter):
    """Set `record.call_id` to the call the logging work is about (None outside a call),
    unless the call site gave one with `extra={"call_id": …}`. Always lets the record
    through."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "call_id", None) is None:
            record.call_id = current_call_id()
        return True


class JsonFormatter(_LibraryJsonFormatter):
    """One JSON object per record (python-json-logger), the fields of the module's doc."""

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_text:
            # The traceback as the privacy filter cleaned it, not formatted again from
            # the exception (which would show what the filter masked).
            record = copy.copy(record)
            record.exc_info = None
        return super().format(record)

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        log_data["time"] = datetime.fromtimestamp(record.created, UTC).isoformat(
            timespec="milliseconds"
        )
        log_data["level"] = record.levelname
        log_data["logger"] = record.name
        log_data["message"] = record.getMessage()
        call_id = getattr(record, "call_id", None)
        if call_id:
            log_data["call_id"] = call_id
        for key in ("exc_info", "stack_info"):
            if message_dict.get(key):
                log_data[key] = message_dict[key]


def formatter(log_format: Literal["text", "json"]) -> logging.Formatter:
    """The formatter of LOG_FORMAT ("text" or "json")."""
    return JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
