"""Call records (CDR): the account's callbacks, the calls of its phones and the calls to
its direct numbers, as the chat's "history" lists them (bot.features.calls.handlers;
storage.calls.CallStore.history): newest first, a page at a time, as JSON or CSV.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Request, Response

from api import csv_out
from api.auth import Reader, ServicesDep
from api.cursors import Cursor, Limit, Since, Until, decode, next_cursor, optional_utc
from api.problems import Problem
from api.schemas import PROBLEMS, Call, Page
from bot.assistant.i18n import t

router = APIRouter(prefix="/v1/calls", tags=["calls"], responses=PROBLEMS)
CallId = Annotated[str, Path(max_length=32, description="the call's id")]
COLUMNS = (
    "id",
    "kind",
    "state",
    "from",
    "to",
    "dtmf",
    "forwarded_to",
    "anonymous",
    "record",
    "created_at",
    "scheduled_at",
    "answered_at",
    "bridged_at",
    "ended_at",
    "hangup_cause",
    "duration_seconds",
    "max_seconds",
    "cost_units",
    "cost_asset",
)
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "a page of call records (JSON, or CSV with `Link: <…>; rel=next`)",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}


@router.get("", response_model=Page[Call], responses=CSV_RESPONSE)
def list_calls(
    request: Request,
    services: ServicesDep,
    caller: Reader,
    limit: Limit = 50,
    cursor: Cursor = None,
    since: Since = None,
    until: Until = None,
    format_: Annotated[
        Literal["json", "csv"] | None,
        Query(alias="format", description="csv: the same page as CSV"),
    ] = None,
    accept: Annotated[str | None, Header(max_length=1000, include_in_schema=False)] = None,
) -> Any:
    """The account's call records, newest first. `Accept: text/csv` or `?format=csv`
    answers CSV (a header row; money as `cost_units` and `cost_asset`), the next page in
    the `Link` header (RFC 8288)."""
    before = decode(cursor, caller.lang) if cursor else None
    rows = services.calls.page(
        caller.account.id,
        limit=limit + 1,
        before=before,
        since=optional_utc(since),
        until=optional_utc(until),
    )
    records, after = next_cursor(rows, limit, lambda r: (r.created_at, r.id))
    calls = [Call.of(record) for record in records]
    if not csv_out.wants_csv(accept, format_):
        return Page[Call](data=calls, next_cursor=after)
    headers = {}
    if after is not None:
        headers["Link"] = f'<{request.url.include_query_params(cursor=after)}>; rel="next"'
    body = csv_out.table(COLUMNS, (csv_row(call) for call in calls))
    return Response(body, media_type=f"{csv_out.MEDIA_TYPE}; charset=utf-8", headers=headers)


@router.get("/{call_id}")
def get_call(call_id: CallId, services: ServicesDep, caller: Reader) -> Call:
    """One call record of the account (404 for any other)."""
    record = services.calls.get(call_id)
    if record is None or record.account_id != caller.account.id:
        raise Problem("not-found", t(caller.lang, "api_not_found", what="call"))
    return Call.of(record)


def csv_row(call: Call) -> list[object]:
    """A call's CSV row, in COLUMNS' order (the JSON's values; money split in two)."""
    values = call.model_dump(by_alias=True)
    values["cost_units"], values["cost_asset"] = call.cost.units, call.cost.asset
    return [values[name] for name in COLUMNS]
