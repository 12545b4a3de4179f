"""Serving `/metrics` on METRICS_LISTEN, apart from the public API (never on API_LISTEN):
uvicorn on the service's event loop, in `serve` and in `python main.py api` alike.

Only `GET /metrics` (the Prometheus text format, or OpenMetrics when the scraper asks for
it); the database is read in a worker thread, so a scrape never holds the loop.
"""

from __future__ import annotations

import asyncio
import logging

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ops.asgi import serve_asgi

log = logging.getLogger(__name__)


def metrics_app(registry: CollectorRegistry) -> Starlette:
    """The ASGI app: `GET /metrics` renders `registry`; anything else is 404."""

    async def metrics(request: Request) -> Response:
        encoder, content_type = choose_encoder(request.headers.get("accept", ""))
        body = await run_in_threadpool(encoder, registry)
        return Response(body, media_type=content_type)

    return Starlette(routes=[Route("/metrics", metrics, methods=["GET"])])


async def serve_metrics(
    registry: CollectorRegistry,
    host: str,
    port: int,
    stop: asyncio.Event,
    *,
    started: asyncio.Event | None = None,
) -> None:
    """Serve `/metrics` on host:port until `stop` is set. OSError when the address cannot
    be bound. `started` is set once it listens."""

    def listening() -> None:
        log.info("metrics at http://%s:%d/metrics", host, port)
        if started is not None:
            started.set()

    await serve_asgi(
        metrics_app(registry), host, port, stop, name="/metrics", listening=listening,
        grace_seconds=2,
    )  # fmt: skip
