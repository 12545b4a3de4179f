"""Errors as `application/problem+json` (RFC 9457), with a stable `type` per reason.

`type` is `/problems/<reason>` (resolved against the API's URL; `GET /problems/<reason>`
describes it); `title` is the same for every occurrence of a reason (English); `detail`
is this occurrence in the caller's language (Accept-Language, else the account's), the
sentence the chat says for the same refusal. Extension members: `errors` for a request
that fails validation (each with its JSON pointer), `retry_after` with 429.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.assistant import Refusal
from bot.assistant.i18n import DEFAULT_LANGUAGE, LANGUAGES, catalogue, number_text, t
from wallet.fraud import CallRefused

MEDIA_TYPE = "application/problem+json"


@dataclass(frozen=True)
class Reason:
    """One kind of error: its HTTP status and its title."""

    status: int
    title: str


# Reasons of our own (the chat's refusals are added from their catalogue keys below).
REASONS: dict[str, Reason] = {
    "unauthorized": Reason(401, "Missing or invalid API key"),
    "forbidden-scope": Reason(403, "The API key lacks the scope this needs"),
    "not-found": Reason(404, "No such resource for this account"),
    "method-not-allowed": Reason(405, "Method not allowed"),
    "validation": Reason(422, "The request is not valid"),
    "rate-limited": Reason(429, "Too many requests for this API key"),
    "idempotency-key-reused": Reason(422, "This Idempotency-Key was used for a different request"),
    "idempotency-key-in-use": Reason(
        409, "A request with this Idempotency-Key is still being processed"
    ),
    "bad-cursor": Reason(422, "This cursor is not one a list of this API gave"),
    "webhook-url-scheme": Reason(422, "Webhook URLs are http or https"),
    "webhook-url-host": Reason(422, "This webhook URL is not valid"),
    "webhook-url-unresolved": Reason(422, "The webhook URL's host cannot be found"),
    "webhook-url-private": Reason(422, "Webhook URLs must reach a public address"),
    "too-many-webhooks": Reason(409, "The account has as many webhooks as it may"),
    "unavailable": Reason(503, "The service cannot do this right now"),
    "not-configured": Reason(503, "This service is not configured on this server"),
    "internal": Reason(500, "Internal error"),
    "http": Reason(400, "Bad request"),
}

# The chat's refusals (bot/features, wallet.fraud) by catalogue key: status and title.
REFUSAL_STATUS: dict[str, int] = {
    "refused_insufficient_funds": 402,
    "refused_premium_rate": 403,
    "refused_country_not_allowed": 403,
    "refused_daily_cap": 403,
    "refused_concurrent_calls": 429,
    "refused_same_number_daily": 429,
    "refused_rate_per_minute": 403,
    "refused_no_route": 422,
    "dialer_not_configured": 503,
    "deposit_not_configured": 503,
    "withdraw_not_configured": 503,
    "withdraw_node_down": 503,
    "scheduler_not_configured": 503,
    "withdraw_insufficient": 402,
    "apires_recording_in_progress": 409,
    "call_already": 409,
    "plans_unknown": 404,
    "plans_none": 404,
    "plans_no_funds": 402,
    "plans_already": 409,
    "plans_busy": 409,
}


# Titles of the chat's refusals (the same for every occurrence); others read from their key.
REFUSAL_TITLES: dict[str, str] = {
    "refused_insufficient_funds": "The balance does not pay for this",
    "refused_premium_rate": "Premium-rate and shared-cost numbers are refused",
    "refused_country_not_allowed": "Calls to this country are not allowed on the account",
    "refused_daily_cap": "The account's daily spending limit is reached",
    "refused_concurrent_calls": "Too many calls in progress",
    "refused_same_number_daily": "Too many calls to this number today",
    "refused_rate_per_minute": "The destination's price per minute is above the limit",
    "refused_no_route": "No route to this destination",
    "call_need_own_number": "The account has no number of its own yet",
    "call_need_verified": "The account's number is not verified yet",
    "call_from_unverified": "The first leg must be the account's verified number or extension",
    "call_invalid_number": "Not a valid phone number",
    "call_need_number": "A number to call is needed",
    "call_in_past": "This time has passed",
    "call_extension_too_long": "Too many digits to dial after the answer",
    "rec_call_needs_key": "Recording needs the account's recording key",
    "dialer_not_configured": "Calls are not configured on this server",
    "deposit_not_configured": "Deposits are not configured on this server",
    "withdraw_not_configured": "Withdrawals are not configured on this server",
    "withdraw_node_down": "The Waves node cannot be reached; nothing was sent",
    "withdraw_insufficient": "The balance does not pay for this withdrawal",
    "scheduler_not_configured": "Reminders are not running on this server",
    "plans_unknown": "No plan of this name",
    "plans_none": "The account has no monthly plan",
    "plans_no_funds": "The balance does not pay for the plan's period",
    "plans_already": "The account already has this plan",
    "plans_busy": "The plan is being changed by another request",
}


class Problem(Exception):
    """An error answered as a problem document: `reason` (a REASONS key or a chat catalogue
    key), the sentence `detail` in the caller's language, and extra members."""

    def __init__(
        self,
        reason: str,
        detail: str | None = None,
        *,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        **members: Any,
    ) -> None:
        super().__init__(reason)
        self.reason, self.detail, self.headers, self.members = reason, detail, headers, members
        self.status = status or reason_of(reason).status


def slug(reason: str) -> str:
    """A reason as it appears in `type`: catalogue keys with hyphens ("call-need-verified")."""
    return reason.replace("_", "-")


def reason_of(reason: str) -> Reason:
    """The status and title of a reason (a REASONS key, or a chat catalogue key)."""
    key = reason.replace("-", "_")
    if slug(reason) in REASONS:
        return REASONS[slug(reason)]
    if key in catalogue(DEFAULT_LANGUAGE):
        title = (
            REFUSAL_TITLES.get(key) or key.removeprefix("refused_").replace("_", " ").capitalize()
        )
        return Reason(REFUSAL_STATUS.get(key, 422), title)
    raise KeyError(reason)


def language(request: Request, default: str | None = None) -> str:
    """The caller's language: the first of Accept-Language we speak (RFC 9110 §12.5.4,
    without weights beyond their order), else `default`, else English."""
    header = request.headers.get("accept-language", "")
    ranked = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        ranked.append((-weight, index, tag.strip().lower()[:2]))
    for _weight, _index, tag in sorted(ranked):
        if tag in LANGUAGES:
            return tag
    return default if default in LANGUAGES else DEFAULT_LANGUAGE


def from_refusal(refusal: Refusal, lang: str) -> Problem:
    """A chat refusal (bot.assistant.Refusal) as a problem, in `lang`."""
    return Problem(refusal.key, t(lang, refusal.key, **refusal.values))


def from_call_refused(refusal: CallRefused, lang: str, first_minute: str = "") -> Problem:
    """A toll-fraud or funds refusal (wallet.fraud.CallRefused) as a problem, in `lang`."""
    key = f"refused_{refusal.rule}"
    values = {"number": number_text(refusal.number)}
    if refusal.rule == "insufficient_funds" and first_minute:
        return Problem(key, t(lang, f"{key}_quote", cost=first_minute, **values))
    return Problem(key, t(lang, key, **values))


def document(request: Request, problem: Problem) -> dict[str, Any]:
    """The problem document (RFC 9457 §3) of `problem` for `request`."""
    body: dict[str, Any] = {
        "type": f"/problems/{slug(problem.reason)}",
        "title": reason_of(problem.reason).title,
        "status": problem.status,
        "instance": request.url.path,
    }
    if problem.detail:
        body["detail"] = problem.detail
    body.update(problem.members)
    return body


def response(request: Request, problem: Problem) -> JSONResponse:
    """The HTTP answer of `problem`."""
    return JSONResponse(
        document(request, problem),
        status_code=problem.status,
        headers=problem.headers,
        media_type=MEDIA_TYPE,
    )


async def problem_handler(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, Problem)
    return response(request, error)


async def validation_handler(request: Request, error: Exception) -> JSONResponse:
    """A request FastAPI could not read: each error with its place as a JSON pointer."""
    assert isinstance(error, RequestValidationError)
    errors = [
        {
            "pointer": "/" + "/".join(str(part) for part in item.get("loc", ())),
            "detail": str(item.get("msg", "")),
        }
        for item in error.errors()
    ]
    detail = "; ".join(f"{e['pointer']}: {e['detail']}" for e in errors)[:1000]
    return response(request, Problem("validation", detail, errors=errors))


async def http_handler(request: Request, error: Exception) -> JSONResponse:
    """Starlette's own errors (no such route, wrong method) as problems."""
    assert isinstance(error, StarletteHTTPException)
    reason = {404: "not-found", 405: "method-not-allowed"}.get(error.status_code, "http")
    headers = dict(error.headers or {})
    return response(
        request, Problem(reason, str(error.detail), status=error.status_code, headers=headers)
    )


async def internal_handler(request: Request, _error: Exception) -> JSONResponse:
    """An unexpected error: a problem without its details (they are in the log)."""
    return response(request, Problem("internal"))


def describe(reason: str) -> dict[str, Any]:
    """What `GET /problems/<reason>` answers: status, title and the sentence in each
    language (with its placeholders). KeyError for an unknown reason."""
    found = reason_of(reason)
    key = reason.replace("-", "_")
    sentences = {
        lang: catalogue(lang).get(key) or catalogue(DEFAULT_LANGUAGE)[key]
        for lang in LANGUAGES
        if key in catalogue(DEFAULT_LANGUAGE)
    }
    return {"type": f"/problems/{slug(reason)}", "status": found.status, "title": found.title} | (
        {"detail": sentences} if sentences else {}
    )
