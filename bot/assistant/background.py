"""Work that outlives a message: coroutines started by skills, run on the service's loop.

Skills run in worker threads (`Assistant.handle` hops off the event loop); a call,
a verification call or a withdrawal that must go on after the answer is sent is
handed to `Background.spawn`, which starts it on the loop of `python main.py serve`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


class Background:
    """Starts coroutines on one event loop from any thread and keeps them until done."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task] = set()
        self._lock = threading.Lock()

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Run spawned work on `loop` (the service's loop) from now on."""
        self._loop = loop

    @property
    def available(self) -> bool:
        """Whether spawned work can run (a service loop is attached and running)."""
        return self._loop is not None and self._loop.is_running()

    def spawn(self, coroutine: Coroutine[Any, Any, Any], name: str) -> None:
        """Start `coroutine` on the service loop; RuntimeError when none is attached."""
        loop = self._loop
        if loop is None or not loop.is_running():
            coroutine.close()
            raise RuntimeError("no service event loop to run background work on")
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._start(coroutine, name)
        else:
            loop.call_soon_threadsafe(self._start, coroutine, name)

    def _start(self, coroutine: Coroutine[Any, Any, Any], name: str) -> None:
        task = asyncio.get_running_loop().create_task(self._guarded(coroutine, name), name=name)
        with self._lock:
            self._tasks.add(task)
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task) -> None:
        with self._lock:
            self._tasks.discard(task)

    @staticmethod
    async def _guarded(coroutine: Coroutine[Any, Any, Any], name: str) -> None:
        try:
            await coroutine
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background work %s failed", name)

    @property
    def running(self) -> int:
        """How many spawned coroutines have not finished."""
        with self._lock:
            return len(self._tasks)

    async def wait(self, timeout: float) -> int:
        """Wait up to `timeout` seconds for spawned work; cancel the rest; return how many."""
        with self._lock:
            tasks = set(self._tasks)
        if not tasks:
            return 0
        _done, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=1.0)
        return len(pending)
