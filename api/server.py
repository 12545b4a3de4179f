"""Serving the API with uvicorn on the service's own event loop (`python main.py serve`),
or in a process of its own (`python main.py api`, see bot.app.serve).
(ops.asgi: signals stay the service's).
"""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI

from ops.asgi import serve_asgi

log = logging.getLogger(__name__)


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

    def listening() -> None:
        log.info("API listening on http://%s:%d (docs at /docs)", host, port)
        if started is not None:
            started.set()

    await serve_asgi(app, host, port, stop, name="the API", listening=listening)
