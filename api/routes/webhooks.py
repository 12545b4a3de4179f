"""Webhooks: the account's URLs that receive its events, and each delivery's log.

Changing them needs the `calls` scope (a webhook receives the account's calls, deposits
and reminders as they happen); reading them needs `read`. The secret that signs the
events (webhooks.signing) is in the answer of the creation only. A URL must be http(s)
and resolve to public addresses (outbound.addresses) unless WEBHOOK_ALLOW_PRIVATE; an
account has at most MAX_ENDPOINTS. Refusals are `validation` problems whose `detail`
says why and whose `code` member is stable: url-scheme, url-host, url-unresolved,
url-private, too-many-webhooks, bad-cursor.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Annotated, Literal, get_args

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Caller, Calling, Reader, ServicesDep
from api.problems import Problem
from api.schemas import PROBLEMS, Page
from bot.assistant import Services
from bot.assistant.i18n import t
from outbound import addresses
from storage.models import WebhookEndpoint
from storage.webhooks import ALL_EVENTS, DeliveryLog, WebhookStore, aware
from webhooks.events import EVENT_TYPES, WebhookEvents

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"], responses=PROBLEMS)

MAX_ENDPOINTS = 10
EventType = Literal[
    "call.ringing",
    "call.answered",
    "call.ended",
    "call.missed",
    "deposit.credited",
    "withdrawal.sent",
    "reminder.fired",
    "ping",
]
assert set(get_args(EventType)) == set(EVENT_TYPES)
WebhookId = Annotated[str, Path(max_length=32, description="the webhook's id")]


class WebhookRequest(BaseModel):
    """A URL to receive the account's events."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=8, max_length=2048, description="http(s) URL on a public address")
    events: list[EventType] | None = Field(
        None,
        min_length=1,
        max_length=len(EVENT_TYPES),
        description="the types to send (default: all)",
    )


class WebhookOut(BaseModel):
    """A webhook of the account (its secret is shown only when it is made)."""

    id: str
    url: str
    events: list[str] = Field(description='the types sent; ["*"]: all of them')
    created_at: datetime


class WebhookCreated(WebhookOut):
    """A webhook just made, with the secret that signs its events (shown once)."""

    secret: str = Field(description="whsec_…: the HMAC-SHA256 key of EncryptoTel-Signature")


class AttemptOut(BaseModel):
    """One try at a delivery."""

    at: datetime
    status_code: int | None = Field(description="the receiver's HTTP status; None: no answer")
    error: str | None = Field(description="why no answer came (timeout, connection refused…)")
    duration_ms: int


class DeliveryOut(BaseModel):
    """An event sent (or being sent) to the webhook, and each attempt."""

    id: str
    event_id: str
    event_type: str
    state: str = Field(description="pending, delivered or failed")
    created_at: datetime
    next_attempt_at: datetime | None = Field(description="when it is tried again (pending)")
    delivered_at: datetime | None
    attempts: list[AttemptOut] = Field(description="oldest first")


class PingOut(BaseModel):
    """The `ping` event queued for the webhook."""

    event_id: str


@router.post("", status_code=201)
def create_webhook(
    body: WebhookRequest, services: ServicesDep, caller: Calling, response: Response
) -> WebhookCreated:
    """Send the account's events (`events`, default all) to `url`, signed with the secret
    in this answer (it is never shown again)."""
    store = _store(services, caller)
    _check_url(services, caller, body.url)
    count = len(store.endpoints(caller.account.id))
    if count >= MAX_ENDPOINTS:
        raise Problem(
            "too-many-webhooks",
            t(caller.lang, "apiwh_too_many", count=count),
            code="too-many-webhooks",
        )
    made = store.create_endpoint(caller.account.id, body.url, body.events)
    response.headers["Location"] = f"/v1/webhooks/{made.id}"
    return WebhookCreated(**_out(made).model_dump(), secret=made.secret)


@router.get("")
def list_webhooks(services: ServicesDep, caller: Reader) -> Page[WebhookOut]:
    """The account's webhooks, oldest first (all on one page: at most MAX_ENDPOINTS)."""
    store = _store(services, caller)
    return Page[WebhookOut](data=[_out(e) for e in store.endpoints(caller.account.id)])


@router.delete("/{webhook_id}", status_code=204)
def delete_webhook(webhook_id: WebhookId, services: ServicesDep, caller: Calling) -> Response:
    """Stop sending to this webhook; its deliveries still pending fail, its log stays."""
    store = _store(services, caller)
    if not store.disable(caller.account.id, webhook_id):
        raise _not_found(caller)
    return Response(status_code=204)


@router.get("/{webhook_id}/deliveries")
def list_deliveries(
    webhook_id: WebhookId,
    services: ServicesDep,
    caller: Reader,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[DeliveryOut]:
    """The events sent to this webhook, newest first, each with its attempts."""
    store = _store(services, caller)
    if store.endpoint(caller.account.id, webhook_id) is None:
        raise _not_found(caller)
    before = _decode(cursor, caller) if cursor else None
    logs = store.deliveries(caller.account.id, webhook_id, limit=limit + 1, before=before)
    more = len(logs) > limit
    logs = logs[:limit]
    last = logs[-1].delivery if more else None
    return Page[DeliveryOut](
        data=[_delivery(log) for log in logs],
        next_cursor=_encode(aware(last.created_at), last.id) if last is not None else None,
    )


@router.post("/{webhook_id}/test", status_code=202)
def test_webhook(webhook_id: WebhookId, services: ServicesDep, caller: Calling) -> PingOut:
    """Send a `ping` event to this webhook (see its deliveries for the outcome)."""
    events = _events(services, caller)
    if events.store.endpoint(caller.account.id, webhook_id) is None:
        raise _not_found(caller)
    event_id = events.ping(caller.account.id, webhook_id)
    if event_id is None:
        raise Problem("unavailable")
    return PingOut(event_id=event_id)


def _events(services: Services, caller: Caller) -> WebhookEvents:
    if services.webhooks is None:
        raise Problem("not-configured", "webhooks are not configured on this server")
    return services.webhooks


def _store(services: Services, caller: Caller) -> WebhookStore:
    return _events(services, caller).store


def _check_url(services: Services, caller: Caller, url: str) -> None:
    """422 unless `url` is http(s) on public addresses (or WEBHOOK_ALLOW_PRIVATE)."""
    try:
        addresses.resolve(url, services.settings.WEBHOOK_ALLOW_PRIVATE)
    except addresses.UnsafeUrl as unsafe:
        detail = t(
            caller.lang,
            f"apiwh_url_{unsafe.code}",
            reason=str(unsafe),
            host=unsafe.subject,
        )
        raise Problem(f"webhook-url-{unsafe.code}", detail, code=f"url-{unsafe.code}") from None


def _not_found(caller: Caller) -> Problem:
    return Problem("not-found", t(caller.lang, "api_not_found", what="webhook"))


def _out(endpoint: WebhookEndpoint) -> WebhookOut:
    events = [ALL_EVENTS] if endpoint.events == ALL_EVENTS else endpoint.events.split(",")
    return WebhookOut(
        id=endpoint.id, url=endpoint.url, events=events, created_at=endpoint.created_at
    )


def _delivery(log: DeliveryLog) -> DeliveryOut:
    row = log.delivery
    return DeliveryOut(
        id=row.id,
        event_id=row.event_id,
        event_type=row.event_type,
        state=row.state,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at if row.state == "pending" else None,
        delivered_at=row.delivered_at,
        attempts=[
            AttemptOut(at=a.at, status_code=a.status_code, error=a.error, duration_ms=a.duration_ms)
            for a in log.attempts
        ],
    )


def _encode(created_at: datetime, delivery_id: str) -> str:
    raw = json.dumps([created_at.isoformat(), delivery_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, caller: Caller) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, delivery_id = json.loads(raw)
        return aware(datetime.fromisoformat(at)), str(delivery_id)
    except (ValueError, TypeError, binascii.Error):
        raise Problem("bad-cursor", t(caller.lang, "apiwh_bad_cursor"), code="bad-cursor") from None
