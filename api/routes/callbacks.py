"""Callbacks: ring the account's own phone (or extension), then the number asked, bridge
them. The same rules as the chat's "call …" (bot.features.calls.placing): the first leg must
be the account's verified number or its extension, the toll-fraud rules, the quote and the
hold (wallet.billing). `quote_only` answers the quote and places nothing.

With an Idempotency-Key, the call's id is made from the key: two requests racing with the
same key create one call record (storage.calls.create_once), whatever else happens.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Caller, Calling, Reader, ServicesDep
from api.problems import Problem, from_call_refused, from_refusal
from api.schemas import NUMBER_PATTERN, PROBLEMS, Call, Money
from bot.assistant import Refusal, Services
from bot.assistant.i18n import money_text, t
from bot.features.calls import placing
from bot.features.calls.runner import launch
from domain.calls import CallState
from domain.clock import utcnow
from storage.models import CallRecord
from wallet.billing import Quote
from wallet.fraud import CallRefused

router = APIRouter(prefix="/v1/callbacks", tags=["callbacks"], responses=PROBLEMS)
CallId = Annotated[str, Path(max_length=32, description="the call's id")]


class CallbackRequest(BaseModel):
    """A callback to place: ring `from` (default: your verified number), then `to`."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    to: str = Field(
        max_length=40,
        pattern=NUMBER_PATTERN,
        description="the number to call, E.164 (+…) or an extension",
    )
    from_: str | None = Field(
        None,
        alias="from",
        max_length=40,
        pattern=NUMBER_PATTERN,
        description="your verified number or your extension (default: your verified number)",
    )
    at: datetime | None = Field(
        None, description="when to place it (RFC 3339; without an offset: your time zone)"
    )
    anonymous: bool = Field(False, description="withhold your number from the called party")
    record: bool = Field(False, description="record the call, sealed to your recording key")
    dtmf: str = Field(
        "", max_length=16, pattern="^[0-9]*$", description="digits to dial once `to` answers"
    )
    quote_only: bool = Field(False, description="answer the price only; place nothing")


class QuoteOut(BaseModel):
    """What the call costs: both legs' prices a minute and what the balance allows."""

    price_per_minute: Money = Field(description="both legs together, a minute")
    a_price_per_minute: Money
    b_price_per_minute: Money
    first_minute: Money = Field(description="what the balance must cover to start")
    paid_in: str | None = Field(description="the asset debited; None: the balance cannot pay")
    max_seconds: int = Field(description="the longest call the balance (and daily cap) allows")


class CallbackOut(BaseModel):
    """A callback placed, scheduled or only quoted (then `call` is None)."""

    call: Call | None
    quote: QuoteOut


def quote_out(quote: Quote) -> QuoteOut:
    """The API's view of a quote (prices in ETT units)."""
    return QuoteOut(
        price_per_minute=Money(units=quote.price_per_minute, asset="ETT"),
        a_price_per_minute=Money(units=quote.a_price_per_minute, asset="ETT"),
        b_price_per_minute=Money(units=quote.b_price_per_minute, asset="ETT"),
        first_minute=Money(units=quote.first_minute, asset="ETT"),
        paid_in=quote.asset,
        max_seconds=quote.max_seconds,
    )


@router.post(
    "",
    status_code=201,
    responses={200: {"model": CallbackOut, "description": "quote only, or an earlier call"}},
)
def create_callback(
    body: CallbackRequest,
    services: ServicesDep,
    response: Response,
    caller: Calling,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> CallbackOut:
    """Quote a callback and, unless `quote_only`, place it now or schedule it at `at`.

    Refusals are problems with the chat's reasons: `call-need-verified`,
    `refused-insufficient-funds` (402), `refused-premium-rate` (403), …
    """
    if not body.quote_only and (services.dialer is None or not services.background.available):
        raise _no_dialer(caller)  # first: nothing else the caller could fix would help
    checked = _checked(services, caller, body)
    if body.quote_only:
        response.status_code = 200
        return CallbackOut(call=None, quote=quote_out(checked.quote))
    call_id = _call_id(caller.account.id, idempotency_key)
    scheduled = checked.when is not None
    record = CallRecord(
        id=call_id,
        account_id=caller.account.id,
        a_number=checked.first,
        b_number=checked.to,
        dtmf=checked.dtmf,
        anonymous=body.anonymous,
        record=body.record,
        state=(CallState.SCHEDULED if scheduled else CallState.CREATED).value,
        scheduled_at=checked.when,
    )
    if not services.calls.create_once(record):
        earlier = services.calls.get(call_id)
        assert earlier is not None
        response.status_code = 200
        return CallbackOut(call=Call.of(earlier), quote=quote_out(checked.quote))
    if not scheduled:
        try:
            launch(services, record, caller.lang)
        except CallRefused as refusal:
            raise _refused(caller, refusal, checked.quote) from None
        except RuntimeError:
            raise Problem(
                "dialer_not_configured", t(caller.lang, "dialer_not_configured")
            ) from None
    response.headers["Location"] = f"/v1/callbacks/{call_id}"
    stored = services.calls.get(call_id) or record
    return CallbackOut(call=Call.of(stored), quote=quote_out(checked.quote))


@router.get("/{call_id}")
def get_callback(call_id: CallId, services: ServicesDep, caller: Reader) -> Call:
    """A callback of the account, with its live state (poll it, or use webhooks)."""
    return Call.of(_own_call(services, caller, call_id))


@router.post("/{call_id}/hangup")
def hang_up(call_id: CallId, services: ServicesDep, caller: Calling) -> Call:
    """End a callback in progress, or cancel a scheduled one. A call that has ended is
    answered as it is."""
    call = _own_call(services, caller, call_id)
    if call.state == CallState.SCHEDULED:
        services.calls.cancel_scheduled(caller.account.id, call_id)
    elif call.state != CallState.ENDED and services.dialer is not None:
        dialer = services.dialer
        services.background.spawn(dialer.hangup(call_id), name=f"hangup {call_id}")
    return Call.of(services.calls.get(call_id) or call)


def _checked(services: Services, caller: Caller, body: CallbackRequest) -> placing.Checked:
    try:
        checked = placing.check(
            services,
            caller.account,
            to=body.to,
            source=body.from_,
            dtmf=body.dtmf,
            record=body.record,
            at=body.at,
            now=utcnow(),
            has_digits=any(ch.isdigit() for ch in body.to),
            quote_only=body.quote_only,
        )
    except Refusal as refusal:
        raise from_refusal(refusal, caller.lang) from None
    except CallRefused as refusal:
        raise _refused(caller, refusal) from None
    if checked.quote.asset is None:
        raise _refused(caller, CallRefused("insufficient_funds", "", None), checked.quote)
    return checked


def _refused(caller: Caller, refusal: CallRefused, quote: Quote | None = None) -> Problem:
    first = money_text(quote.first_minute, "ETT", caller.lang) if quote else ""
    return from_call_refused(refusal, caller.lang, first)


def _no_dialer(caller: Caller) -> Problem:
    return Problem("dialer_not_configured", t(caller.lang, "dialer_not_configured"))


def _own_call(services: Services, caller: Caller, call_id: str) -> CallRecord:
    """The account's call `call_id`; 404 for one that is not (never telling whose it is)."""
    call = services.calls.get(call_id)
    if call is None or call.account_id != caller.account.id:
        raise Problem("not-found", t(caller.lang, "api_not_found", what="call"))
    return call


def _call_id(account_id: int, idempotency_key: str | None) -> str:
    """`<account>-<token>` (at most 32 characters, as the chat's): from the key when given."""
    if idempotency_key is None:
        token = secrets.token_urlsafe(9)
    else:
        token = hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]
    return f"{account_id}-{token}"[:32]
