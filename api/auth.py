"""Who calls the API: the account of a Bearer API key, its scopes, its rate.

`Authorization: Bearer ett_<id>_<secret>` (storage.api_keys). A route declares the scope
it needs with `Depends(scoped("calls"))` and gets a `Caller`. Each key's requests are
limited by API_RATE_LIMIT with a sliding window counter (the `limits` library, in this process's
memory: with several instances behind a balancer each counts its own share); past it the
answer is 429 with `Retry-After` (RFC 9110 §10.2.3).
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter

from api.problems import Problem, language
from bot.assistant import Services
from storage.api_keys import ApiKeyStore
from storage.models import Account, ApiKey

bearer = HTTPBearer(auto_error=False, description="An API key: `ett_<id>_<secret>`")


@dataclass(frozen=True)
class Caller:
    """The account a request acts for, the key it used, and the language of its answers."""

    account: Account
    key: ApiKey
    lang: str

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(self.key.scopes.split(","))


class RateLimits:
    """API_RATE_LIMIT per key, in this process (`limits` sliding window counter: O(1)
    a request, where its moving window keeps every request of the window)."""

    def __init__(self, rates: str) -> None:
        self.items: list[RateLimitItem] = parse_many(rates)
        self.limiter = SlidingWindowCounterRateLimiter(MemoryStorage())

    def retry_after(self, key_id: str) -> int | None:
        """Count one request of `key_id`: None when allowed, else the seconds to wait."""
        for item in self.items:
            if not self.limiter.hit(item, key_id):
                reset = self.limiter.get_window_stats(item, key_id).reset_time
                return max(1, math.ceil(reset - time.time()))
        return None


async def services_of(request: Request) -> Services:
    """The service's collaborators (api.app.create_app keeps them on the app). Async, as
    every dependency that does no I/O: FastAPI runs a sync one in a worker thread."""
    return request.app.state.services


def key_of(request: Request, token: str) -> ApiKey | None:
    """The live key of `token`, looked up once per request (the idempotency layer may have
    done it already)."""
    cached = getattr(request.state, "api_key", None)
    if cached is not None:
        return cached
    key = request.app.state.api_keys.by_token(token)
    request.state.api_key = key
    return key


def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    """The caller of a request: 401 without a live key, 429 past the key's rate."""
    lang = language(request)
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Problem("unauthorized", _unauthorized(lang), headers={"WWW-Authenticate": "Bearer"})
    key = key_of(request, credentials.credentials)
    services: Services = request.app.state.services
    account = services.accounts.get(key.account_id) if key is not None else None
    if key is None or account is None or account.forgotten_at is not None:
        raise Problem("unauthorized", _unauthorized(lang), headers={"WWW-Authenticate": "Bearer"})
    wait = request.app.state.rate_limits.retry_after(key.id)
    if wait is not None:
        raise Problem(
            "rate-limited",
            headers={"Retry-After": str(wait)},
            retry_after=wait,
        )
    keys: ApiKeyStore = request.app.state.api_keys
    keys.touch(key)
    return Caller(account, key, language(request, account.language))


def scoped(scope: str) -> Callable[..., Awaitable[Caller]]:
    """A dependency giving the caller when its key has `scope` (403 otherwise)."""

    async def needs(caller: Annotated[Caller, Depends(authenticate)]) -> Caller:
        if scope not in caller.scopes:
            raise Problem("forbidden-scope", f"this needs the '{scope}' scope", scope=scope)
        return caller

    needs.__name__ = f"scope_{scope}"
    return needs


def _unauthorized(lang: str) -> str:
    from bot.assistant.i18n import t

    return t(lang, "api_unauthorized")


# What a route's parameters declare: the caller with a scope, the services.
Reader = Annotated[Caller, Depends(scoped("read"))]
Calling = Annotated[Caller, Depends(scoped("calls"))]
Paying = Annotated[Caller, Depends(scoped("payments"))]
ServicesDep = Annotated[Services, Depends(services_of)]
