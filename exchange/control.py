"""The control API kamailio asks, on loopback: HTTP GET, JSON answers (aiohttp).

kamailio's `http_client_query` calls (deploy/exchange/kamailio.cfg):
- `GET /auth?user=EXT` → 200 `{"ha1": "<32 hex>"}`, or 404 for nobody (kamailio then fails
  the check exactly as for a wrong password);
- `GET /route?caller=EXT&callee=USER&call_id=ID[&source=trunk][&leg=N&at=EPOCH&code=SIP]`
  → 200 with `exchange.service.Route` (step `leg` of the call that started at `at`, the
  step before having ended with `code`);
- `GET /event?type=answered|ended|failed&call_id=ID[&leg=N][&code=SIP][&cause=…]
  [&ftag=…&ttag=…]` → 204 (the tags of an answered call: rtpengine's names of its two
  parties, for recording).
Why HTTP: one code path whatever the database (SQLite or PostgreSQL), answers measured at
0.56 ms median uncached and 0.07 ms from kamailio's cache (exchange.md); the queries are
synchronous in kamailio, so each handler answers from one indexed read or one write.
Only loopback peers that show the run directory's token (header X-Exchange-Token:
`exchange.config.control_token`) are served: the listener binds 127.0.0.1, and other
local users reach loopback too.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Callable, Coroutine, Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from domain.logcontext import in_call
from exchange.recording import CallRecordings
from exchange.service import CARRIER, PHONE, Exchange, record_id

log = logging.getLogger(__name__)
LOOPBACK = ("127.0.0.1", "::1")
TOKEN_HEADER = "X-Exchange-Token"


def build_app(
    exchange: Exchange, token: str, recordings: CallRecordings | None = None
) -> web.Application:
    """The aiohttp application of the control API over `exchange`, for callers that show
    `token`; answered calls are handed to `recordings` (none: not recorded)."""

    app = web.Application(middlewares=[_only_ours(token)])
    later: set[asyncio.Task] = set()

    def in_background(work: Coroutine[Any, Any, None]) -> None:
        # kamailio waits for our answer in a SIP worker: the media fork goes on after it.
        task = asyncio.create_task(work)
        later.add(task)
        task.add_done_callback(later.discard)

    async def auth(request: web.Request) -> web.Response:
        user = request.query.get("user", "")
        ha1 = await asyncio.to_thread(exchange.ha1, user) if user else None
        if ha1 is None:
            return web.json_response({"error": "unknown user"}, status=404)
        return web.json_response({"ha1": ha1})

    @in_call("request.query.call_id", record_id)  # log lines carry the call record's id
    async def route(request: web.Request) -> web.Response:
        query = request.query
        at = _number(query, "at")
        decision = await asyncio.to_thread(
            exchange.route,
            query.get("caller", ""),
            query.get("callee", ""),
            query["call_id"],
            source=CARRIER if query.get("source") == CARRIER else PHONE,
            leg=_number(query, "leg"),
            at=datetime.fromtimestamp(at, UTC) if at else None,
            code=_number(query, "code"),
        )
        return web.json_response(decision.as_json())

    @in_call("request.query.call_id", record_id)
    async def event(request: web.Request) -> web.Response:
        await _event(exchange, recordings, request.query, in_background)
        return web.Response(status=204)

    app.router.add_get("/auth", auth)
    app.router.add_get("/route", route)
    app.router.add_get("/event", event)
    return app


async def _event(
    exchange: Exchange,
    recordings: CallRecordings | None,
    query: Mapping[str, str],
    in_background: Callable[[Coroutine[Any, Any, None]], None],
) -> None:
    """Record one call event; an answered call's recording starts (and an ended call's
    stops) in the background."""
    kind, call_id = query.get("type"), query.get("call_id", "")
    if not call_id:
        raise web.HTTPBadRequest(text="call_id is required")
    leg = _number(query, "leg")
    if kind == "answered":
        await asyncio.to_thread(exchange.answered, call_id, leg)
        if recordings is not None:
            tags = query.get("ftag", ""), query.get("ttag", "")
            in_background(_record(exchange, recordings, call_id, leg, tags))
    elif kind == "ended":
        await asyncio.to_thread(exchange.ended, call_id, query.get("cause", ""), leg)
        if recordings is not None:
            in_background(recordings.ended(call_id))
    elif kind == "failed":
        await asyncio.to_thread(exchange.failed, call_id, _number(query, "code"), leg)
    else:
        raise web.HTTPBadRequest(text="type must be answered, ended or failed")


async def _record(
    exchange: Exchange,
    recordings: CallRecordings,
    call_id: str,
    leg: int,
    tags: tuple[str, str],
) -> None:
    """Start the recordings of an answered call (after kamailio has its answer)."""
    records = await asyncio.to_thread(exchange.records, call_id, leg)
    await recordings.answered(call_id, records, *tags)


def _number(query: Mapping[str, str], name: str) -> int:
    """A whole number of the query, 0 when absent or not digits (kamailio sends "" for an
    unset variable)."""
    value = query.get(name, "")
    return int(value) if value.isdigit() else 0


def _only_ours(token: str) -> Middleware:
    """Refuse (403) a caller that is not on loopback or does not show `token`."""

    @web.middleware
    async def only_ours(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.remote not in LOOPBACK:
            raise web.HTTPForbidden(text="loopback only")
        shown = request.headers.get(TOKEN_HEADER, "").encode()
        if not token or not hmac.compare_digest(shown, token.encode()):
            raise web.HTTPForbidden(text="no valid token")
        try:
            return await handler(request)
        except KeyError as missing:
            raise web.HTTPBadRequest(text=f"{missing} is required") from None

    return only_ours


class ControlServer:
    """The control API listening on 127.0.0.1:`port` until `stop`, beside the other
    instances' (the port is shared)."""

    def __init__(
        self,
        exchange: Exchange,
        port: int,
        token: str,
        recordings: CallRecordings | None = None,
    ) -> None:
        self.app = build_app(exchange, token, recordings)
        self.port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Listen (raises OSError when the port is taken)."""
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        # SO_REUSEPORT: every instance on this machine listens on the same port and the
        # kernel shares kamailio's connections among them; when one stops, kamailio's
        # next connection reaches another (several instances serving one kamailio).
        await web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_port=True).start()
        log.info("exchange control API on 127.0.0.1:%d", self.port)

    async def stop(self) -> None:
        """Stop listening and finish the requests in flight."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
