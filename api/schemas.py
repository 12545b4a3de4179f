"""Shapes the API shares between resources: money with its unit, a call record, a page.

Money is never a bare number: `{"units": 1500000, "asset": "ETT"}`, `units` being the
asset's smallest unit (8 decimals for ETT and WAVES: 1 ETT = 100000000 units). Times are
RFC 3339 in UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from storage.models import CallRecord
from webhooks.events import call_data

T = TypeVar("T")
# A phone number as people write it (+, digits, spaces, dots, dashes, brackets) or an
# extension; what it means is checked by the service (domain.numbers.normalize).
NUMBER_PATTERN = r"^\+?[0-9][0-9 ()./-]{0,38}$"


class Money(BaseModel):
    """An amount in the smallest unit of its asset (ETT and WAVES: 1e-8)."""

    units: int = Field(description="smallest units of `asset` (an integer)")
    asset: str = Field(description='"ETT" or "WAVES"')


class Call(BaseModel):
    """A call record (CDR): a callback, a call of the account's phones or to its direct
    numbers. A call never connected has no `duration_seconds` > 0: `hangup_cause` says why."""

    model_config = ConfigDict(populate_by_name=True)

    id: str
    kind: str = Field(description="callback, internal, outbound or inbound")
    state: str = Field(description="scheduled, created, ringing, answered, bridged or ended")
    from_: str = Field(alias="from", description="the first leg (E.164 or an extension)")
    to: str
    dtmf: str = Field(description="digits dialled once `to` answered")
    forwarded_to: str | None = None
    anonymous: bool
    record: bool
    created_at: datetime
    scheduled_at: datetime | None = None
    answered_at: datetime | None = Field(None, description="when the first leg answered")
    bridged_at: datetime | None = None
    ended_at: datetime | None = None
    hangup_cause: str | None = None
    duration_seconds: float = Field(description="seconds the parties were connected")
    max_seconds: int | None = Field(None, description="longest duration the balance allowed")
    cost: Money

    @classmethod
    def of(cls, record: CallRecord) -> Call:
        """The API's view of a stored call record (the same fields its webhooks carry:
        webhooks.events.call_data)."""
        return cls.model_validate(call_data(record))


class Page(BaseModel, Generic[T]):
    """One page of a list, newest first; `next_cursor` fetches the next (None: the last)."""

    data: list[T]
    next_cursor: str | None = None


class ProblemDoc(BaseModel):
    """An error (RFC 9457): `type` is stable per reason; `detail` in the caller's language."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None


# Documented on every route: the problem documents it may answer.
PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {"model": ProblemDoc, "content": {"application/problem+json": {}}}
    for status in (401, 402, 403, 404, 409, 422, 429, 503)
}
