"""`Idempotency-Key` on POST requests (as Stripe does it): a retry gets the first answer.

The first request with a key reserves it (storage.idempotency), runs, and its answer is
kept IDEMPOTENCY_HOURS; a retry with the same key and the same request gets that answer
again with `Idempotent-Replayed: true` (nothing runs twice: no second call, no second
withdrawal); the same key with another request is 422; while the first still runs, 409.
Answers that changed nothing are not kept, so a retry runs again: 401, 403, 429 and 5xx;
nor is an answer marked `Cache-Control: no-store` (a secret shown once).
Keys are per account (the key's account): requests without a valid API key pass through
to be refused by the route.
"""

from __future__ import annotations

import json

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import key_of
from api.problems import Problem, language, response
from bot.assistant.i18n import t
from storage.idempotency import IdempotencyStore, Mismatch, Pending, fingerprint

HEADER = "idempotency-key"
MAX_KEY_LENGTH = 255
NOT_KEPT = {401, 403, 429}
REPLAYED_HEADERS = ("content-type", "location")


class IdempotencyMiddleware:
    """Replays the first answer of a POST to its retries (same account, same key).

    A plain ASGI middleware: requests without the header pass straight through (Starlette's
    BaseHTTPMiddleware would cost every request a task and a stream)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        request = Request(scope, receive)
        key = request.headers.get(HEADER)
        if key is None:
            return await self.app(scope, receive, send)
        early = await self._early_answer(request, key)
        if early is not None:
            return await early(scope, receive, send)
        await self._first(request, key, send)

    async def _early_answer(self, request: Request, key: str) -> Response | None:
        """The answer when the request does not run: a bad key, a reused one, one in use,
        or the replay of the first answer. None: it runs (reserved, or no API key)."""
        lang = language(request)
        if not 1 <= len(key) <= MAX_KEY_LENGTH:
            detail = f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters"
            return response(request, Problem("validation", detail))
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        api_key = key_of(request, token.strip()) if scheme.lower() == "bearer" else None
        if api_key is None:
            return None  # refused by the route, never kept
        store: IdempotencyStore = request.app.state.idempotency
        print_ = fingerprint(request.method, request.url.path, await request.body())
        found = await run_in_threadpool(store.reserve, api_key.account_id, key, print_)
        if isinstance(found, Mismatch):
            problem = Problem("idempotency-key-reused", t(lang, "api_idempotency_reused"))
            return response(request, problem)
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
        request.state.idempotency_account = api_key.account_id
        return None

    async def _first(self, request: Request, key: str, send: Send) -> None:
        """Run the request that reserved `key` and keep its answer (or free the key when
        the answer changed nothing) before the client gets it: a retry sent the moment
        the first answer arrives finds it kept, never "still running"."""
        account_id = getattr(request.state, "idempotency_account", None)
        body = await request.body()
        start: Message | None = None
        chunks: list[bytes] = []
        settled = False

        async def replay_body() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        async def keep(message: Message) -> None:
            nonlocal start, settled
            if account_id is None:
                return await send(message)
            if message["type"] == "http.response.start":
                start = message  # held until the answer is kept
            elif message["type"] == "http.response.body" and start is not None:
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                await self._settle(store, account_id, key, start, b"".join(chunks))
                settled = True
                await send(start)
                await send({"type": "http.response.body", "body": b"".join(chunks)})
            else:
                await send(message)

        store: IdempotencyStore = request.app.state.idempotency
        try:
            await self.app(request.scope, replay_body, keep)
        except BaseException:
            if account_id is not None and not settled:
                await run_in_threadpool(store.release, account_id, key)
            raise
        if account_id is not None and not settled:  # no complete answer was sent
            await run_in_threadpool(store.release, account_id, key)

    @staticmethod
    async def _settle(
        store: IdempotencyStore, account_id: int, key: str, start: Message, content: bytes
    ) -> None:
        """Keep the answer for retries, or free the key when it changed nothing."""
        status = start["status"]
        headers = {k.decode().lower(): v.decode() for k, v in start.get("headers", [])}
        # An answer marked no-store holds a secret shown once (a new SIP password): it is not
        # kept, and a retry makes a new one (the earlier stops working).
        no_store = "no-store" in headers.get("cache-control", "")
        if status in NOT_KEPT or status >= 500 or no_store:
            await run_in_threadpool(store.release, account_id, key)
            return
        kept = {name: headers[name] for name in REPLAYED_HEADERS if name in headers}
        await run_in_threadpool(
            store.store, account_id, key, status, content.decode(), json.dumps(kept)
        )
