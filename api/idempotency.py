"""`Idempotency-Key` on POST requests (as Stripe does it): a retry gets the first answer.

The first request with a key reserves it (storage.idempotency), runs, and its answer is
kept IDEMPOTENCY_HOURS; a retry with the same key and the same request gets that answer
again with `Idempotent-Replayed: true` (nothing runs twice: no second call, no second
withdrawal); the same key with another request is 422; while the first still runs, 409.
Answers that changed nothing are not kept, so a retry runs again: 401, 403, 429 and 5xx.
Keys are per account (the key's account): requests without a valid API key pass through
to be refused by the route.
"""

from __future__ import annotations

import json

from fastapi import Request, Response
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from api.auth import key_of
from api.problems import Problem, language, response
from bot.assistant.i18n import t
from storage.idempotency import IdempotencyStore, Mismatch, Pending, fingerprint

HEADER = "idempotency-key"
MAX_KEY_LENGTH = 255
NOT_KEPT = {401, 403, 429}
REPLAYED_HEADERS = ("content-type", "location")


class IdempotencyMiddleware(BaseHTTPMiddleware):
    """Replays the first answer of a POST to its retries (same account, same key)."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        key = request.headers.get(HEADER)
        if request.method != "POST" or key is None:
            return await call_next(request)
        lang = language(request)
        if not 1 <= len(key) <= MAX_KEY_LENGTH:
            detail = f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters"
            return response(request, Problem("validation", detail))
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        api_key = key_of(request, token.strip()) if scheme.lower() == "bearer" else None
        if api_key is None:
            return await call_next(request)  # refused by the route, never kept
        store: IdempotencyStore = request.app.state.idempotency
        body = await request.body()
        print_ = fingerprint(request.method, request.url.path, body)
        found = await _in_thread(store.reserve, api_key.account_id, key, print_)
        if isinstance(found, Mismatch):
            return response(
                request, Problem("idempotency-key-reused", t(lang, "api_idempotency_reused"))
            )
        if isinstance(found, Pending):
            problem = Problem(
                "idempotency-key-in-use",
                t(lang, "api_idempotency_in_use"),
                headers={"Retry-After": "1"},
            )
            return response(request, problem)
        if found is not None:
            headers = json.loads(found.headers or "{}")
            headers["Idempotent-Replayed"] = "true"
            return Response(found.body, status_code=found.status, headers=headers)
        try:
            answer = await call_next(request)
        except BaseException:
            await _in_thread(store.release, api_key.account_id, key)
            raise
        if answer.status_code in NOT_KEPT or answer.status_code >= 500:
            await _in_thread(store.release, api_key.account_id, key)
            return answer
        content = b"".join([chunk async for chunk in answer.body_iterator])  # type: ignore[attr-defined]
        kept = {name: answer.headers[name] for name in REPLAYED_HEADERS if name in answer.headers}
        await _in_thread(
            store.store,
            api_key.account_id,
            key,
            answer.status_code,
            content.decode(),
            json.dumps(kept),
        )
        return Response(
            content,
            status_code=answer.status_code,
            headers=dict(answer.headers),
            media_type=answer.media_type,
        )


async def _in_thread(function, *args):  # noqa: ANN001
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(function, *args)
