"""An ASGI app served by uvicorn on the service's own event loop (the HTTP API, `/metrics`).

Signals stay the service's: uvicorn's own handlers would replace the loop's, so the server
is told to exit when the service's `stop` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the service handles SIGINT/SIGTERM and sets `stop`


async def serve_asgi(
    app: Any,
    host: str,
    port: int,
    stop: asyncio.Event,
    *,
    name: str,
    listening: Callable[[], None] | None = None,
    grace_seconds: int = 3,
) -> None:
    """Serve the ASGI `app` on host:port until `stop` is set (requests in progress get
    `grace_seconds` to finish). OSError naming `name` when the address cannot be bound
    (uvicorn logs why). `listening()` is called once it listens."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="off",
        server_header=False,
        timeout_graceful_shutdown=grace_seconds,
    )
    server = _Server(config)
    serving = asyncio.create_task(server.serve(), name=f"{name} server")
    while not server.started and not serving.done():
        await asyncio.sleep(0.02)
    if serving.done():
        with contextlib.suppress(SystemExit):  # uvicorn exits when it cannot bind
            serving.result()
        raise OSError(f"{name} cannot listen on {host}:{port}")
    if listening is not None:
        listening()
    waiting = asyncio.create_task(stop.wait())
    await asyncio.wait({serving, waiting}, return_when=asyncio.FIRST_COMPLETED)
    server.should_exit = True
    waiting.cancel()
    await serving
