"""Reminders: a message (or a call to the account's verified number) at a time.

The same rules as the chat's "remind me …" (bot.features.reminders.chat.check): a time
still to come, at most MAX_TEXT characters; and, as a call places only to a number the
account proved is its own (bot.features.calls.placing.first_leg), a call reminder needs
the account's verified number. Stored only where the reminder scheduler runs (the service,
`python main.py api`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Calling, Reader, ServicesDep
from api.cursors import MAX_ROW_ID, Cursor, Limit, decode_int, next_cursor, utc
from api.problems import Problem, from_refusal
from api.schemas import PROBLEMS, ProblemDoc
from bot.assistant import Refusal
from bot.assistant.i18n import t
from bot.features.calls.placing import first_leg
from bot.features.reminders.chat import check
from domain.clock import utcnow
from storage.models import Reminder
from storage.reminders import MAX_TEXT

router = APIRouter(prefix="/v1/reminders", tags=["reminders"], responses=PROBLEMS)
ReminderId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="the reminder's id")]
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"model": ProblemDoc, "content": {"application/problem+json": {}}}
}


class ReminderRequest(BaseModel):
    """A reminder to store."""

    model_config = ConfigDict(extra="forbid")

    at: datetime = Field(description="when (RFC 3339; without an offset: your time zone)")
    text: str = Field("", max_length=MAX_TEXT)
    channel: Literal["message", "call"] = Field(
        "message", description="a chat message, or a call to your verified number"
    )


class ReminderOut(BaseModel):
    """A reminder still to come."""

    id: int
    at: datetime
    text: str
    channel: str
    state: str = Field(description="pending, firing, fired, failed or cancelled")
    created_at: datetime

    @classmethod
    def of(cls, row: Reminder) -> ReminderOut:
        return cls(
            id=row.id,
            at=row.fire_at,
            text=row.text,
            channel=row.channel,
            state=row.state,
            created_at=row.created_at,
        )


class ReminderPage(BaseModel):
    """One page of reminders, soonest first; `next_cursor` fetches the next."""

    data: list[ReminderOut]
    next_cursor: str | None = None


@router.get("")
def list_reminders(
    services: ServicesDep, caller: Reader, limit: Limit = 50, cursor: Cursor = None
) -> ReminderPage:
    """The account's reminders still to come, soonest first."""
    after = decode_int(cursor, caller.lang) if cursor else None
    rows = services.reminders.upcoming(caller.account.id, limit=limit + 1, after=after)
    page, following = next_cursor(rows, limit, lambda r: (r.fire_at, r.id))
    return ReminderPage(data=[ReminderOut.of(row) for row in page], next_cursor=following)


@router.post("", status_code=201, responses=UNAVAILABLE)
def create_reminder(
    body: ReminderRequest, services: ServicesDep, caller: Calling, response: Response
) -> ReminderOut:
    """Store a reminder. Refusals: `remind-in-past`, `remind-too-long`, for a call
    `call-need-own-number` / `call-need-verified`; 503 without a reminder scheduler."""
    if services.scheduler is None:
        detail = t(caller.lang, "scheduler_not_configured")
        raise Problem("scheduler_not_configured", detail, status=503)
    account = caller.account
    at = body.at
    fire_at = utc(at.replace(tzinfo=ZoneInfo(account.timezone)) if at.tzinfo is None else at)
    try:
        if body.channel == "call":
            first_leg(account, None)
        check(account, fire_at, body.text.strip(), utcnow())
    except Refusal as refusal:
        raise from_refusal(refusal, caller.lang) from None
    except OverflowError:  # a time of year 1 shown in the account's zone
        raise Problem("validation", f"{body.at.isoformat()}: out of range") from None
    row = services.reminders.add(account.id, fire_at, body.channel, body.text.strip())
    response.headers["Location"] = f"/v1/reminders/{row.id}"
    return ReminderOut.of(row)


@router.delete("/{reminder_id}", status_code=204)
def cancel_reminder(reminder_id: ReminderId, services: ServicesDep, caller: Calling) -> Response:
    """Cancel a reminder still to come (404 for one that fired, or is not the account's)."""
    if not services.reminders.cancel(reminder_id, caller.account.id):
        raise Problem("not-found", t(caller.lang, "api_not_found", what="reminder"))
    return Response(status_code=204)
