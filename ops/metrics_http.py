"""Serving `/metrics` on METRICS_LISTEN, apart from the public API (never on API_LISTEN):
uvicorn on the service's event loop, in `serve` and in `python main.py api` alike.

Only `GET /metrics` (the Prometheus text format, or OpenMetrics when the scraper asks for
it); the database is read in a worker thread, so a scrape never holds the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

import uvicorn
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

log = logging.getLogger(__name__)


def metrics_app(registry: CollectorRegistry) -> Starlette:
    """The ASGI app: `GET /metrics` renders `registry`; anything else is 404."""

    async def metrics(request: Request) -> Response:
        encoder, content_type = choose_encoder(request.headers.get("accept", ""))
        body = await run_in_threadpool(encoder, registry)
        return Response(body, media_type=content_type)

    return Starlette(routes=[Route("/metrics", metrics, methods=["GET"])])


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the service handles SIGINT/SIGTERM and sets `stop`


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
    config = uvicorn.Config(
        metrics_app(registry),
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="off",
        server_header=False,
        timeout_graceful_shutdown=2,
    )
    server = _Server(config)
    serving = asyncio.create_task(server.serve(), name="metrics server")
    while not server.started and not serving.done():
        await asyncio.sleep(0.02)
    if serving.done():  # uvicorn logs why and exits when it cannot bind
        with contextlib.suppress(SystemExit):
            serving.result()
        raise OSError(f"/metrics cannot listen on {host}:{port}")
    log.info("metrics at http://%s:%d/metrics", host, port)
    if started is not None:
        started.set()
    waiting = asyncio.create_task(stop.wait())
    await asyncio.wait({serving, waiting}, return_when=asyncio.FIRST_COMPLETED)
    server.should_exit = True
    waiting.cancel()
    await serving
