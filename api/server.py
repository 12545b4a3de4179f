"""Serving the API with uvicorn on the service's own event loop (`python main.py serve`),
or in a process of its own (`python main.py api`, see bot.app.serve).

Signals stay the service's: uvicorn's own handlers would replace the loop's, so the server
is told to exit when the service's `stop` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the service handles SIGINT/SIGTERM and sets `stop`


async def run_api(
    app: FastAPI,
    host: str,
    port: int,
    stop: asyncio.Event,
    *,
    started: asyncio.Event | None = None,
) -> None:
    """Serve `app` on host:port until `stop` is set (requests in progress finish first).
    OSError when the address cannot be bound. `started` is set once it listens."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="off",
        server_header=False,
        timeout_graceful_shutdown=3,
    )
    server = _Server(config)
    serving = asyncio.create_task(server.serve(), name="api server")
    waiting = asyncio.create_task(stop.wait())
    while not server.started and not serving.done():
        await asyncio.sleep(0.02)
    if serving.done():  # could not bind: uvicorn logs it and exits
        waiting.cancel()
        with contextlib.suppress(SystemExit):  # uvicorn exits when it cannot bind
            serving.result()
        raise OSError(f"the API cannot listen on {host}:{port}")
    log.info("API listening on http://%s:%d (docs at /docs)", host, port)
    if started is not None:
        started.set()
    await asyncio.wait({serving, waiting}, return_when=asyncio.FIRST_COMPLETED)
    server.should_exit = True
    waiting.cancel()
    await serving
