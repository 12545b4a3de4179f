"""The API application: every resource's router, the problem handlers, idempotency.

`create_app(services)` is the one place that wires the API; the routes reach the
services through `request.app.state` (api.auth.services_of).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import problems
from api.auth import RateLimits
from api.idempotency import IdempotencyMiddleware
from api.routes import (
    callbacks,
    calls,
    forwarding,
    phones,
    plans,
    recordings,
    reminders,
    verify,
    wallet,
    webhooks,
)
from api.schemas import PROBLEMS
from bot.assistant import Services
from storage.idempotency import IdempotencyStore

DESCRIPTION = """\
Everything the EncryptoTel assistant does from the chat, for the systems of an account:
callbacks, call records, the wallet, reminders, forwarding, softphones, recordings,
webhooks and second-factor codes by voice call.

* **Keys**: write "api key" to the bot (scopes read, calls, payments); send it as
  `Authorization: Bearer ett_…`. Each key is limited in rate (429 with `Retry-After`).
* **Money** is `{"units": …, "asset": "ETT"}`, units being 1e-8 of the asset.
* **Errors** are `application/problem+json` (RFC 9457); `type` is stable per reason and
  `GET /problems/{reason}` describes it; `detail` follows `Accept-Language` (en, fr, ru).
* **Idempotency-Key** on every POST: a retry gets the first answer and changes nothing.
* **Webhooks** are signed: `EncryptoTel-Signature: t=<unix>,v1=<hex HMAC-SHA256 of
  "<t>.<body>">`.
"""

ROUTERS = (
    callbacks.router,
    calls.router,
    wallet.router,
    reminders.router,
    forwarding.router,
    phones.router,
    recordings.router,
    webhooks.router,
    verify.router,
    plans.router,
)


def create_app(services: Services) -> FastAPI:
    """The API of `services`' accounts (one per service instance or `python main.py api`)."""
    app = FastAPI(
        title="EncryptoTel API",
        version="1.0.0",
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.services = services
    app.state.api_keys = services.api_keys
    app.state.idempotency = IdempotencyStore(services.engine)
    app.state.rate_limits = RateLimits(services.settings.API_RATE_LIMIT)
    app.add_middleware(IdempotencyMiddleware)
    app.add_exception_handler(problems.Problem, problems.problem_handler)
    app.add_exception_handler(RequestValidationError, problems.validation_handler)
    app.add_exception_handler(StarletteHTTPException, problems.http_handler)
    app.add_exception_handler(Exception, problems.internal_handler)
    for router in ROUTERS:
        app.include_router(router)
    app.add_api_route(
        "/problems/{reason}",
        _describe,
        methods=["GET"],
        tags=["problems"],
        summary="What an error type means",
        responses=PROBLEMS,
    )
    return app


def _describe(reason: str) -> dict:
    """The status, title and sentences (en, fr, ru) of an error `type`."""
    try:
        return problems.describe(reason)
    except KeyError:
        raise problems.Problem("not-found", f"no error type {reason!r}") from None
