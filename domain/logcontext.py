"""The call a piece of work is about, for its log lines (ops/logs.py adds it to each).

A ContextVar: asyncio tasks and `asyncio.to_thread` copy the context they start in, so
the id set where a call's work starts is seen by everything that work does and starts,
and by nothing else. `in_call` marks such a start: a coroutine function whose call id is
one of its arguments (or an attribute or key of one).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable, Coroutine, Iterator, Mapping
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

_CALL_ID: ContextVar[str | None] = ContextVar("call_id", default=None)
P = ParamSpec("P")
R = TypeVar("R")
CallWork = Callable[P, Coroutine[Any, Any, R]]  # a coroutine function


def current_call_id() -> str | None:
    """The call id of the work running now, None outside a call."""
    return _CALL_ID.get()


@contextlib.contextmanager
def call_context(call_id: str | None) -> Iterator[None]:
    """Within the block (and the tasks and threads it starts), the work is about
    `call_id`; the previous value comes back after it. None or "" leaves it unchanged."""
    if not call_id:
        yield
        return
    token = _CALL_ID.set(call_id)
    try:
        yield
    finally:
        _CALL_ID.reset(token)


def in_call(
    path: str, derive: Callable[[str], str] | None = None
) -> Callable[[CallWork[P, R]], CallWork[P, R]]:
    """Decorate a coroutine function that runs a call's work: its call id is the argument
    named by `path`, dotted through attributes or mapping keys ("call_id", "record.id",
    "request.query.call_id"), turned into the call record's id by `derive` when given;
    an id that cannot be read leaves the context unchanged."""
    name, *rest = path.split(".")

    def decorate(function: CallWork[P, R]) -> CallWork[P, R]:
        signature = inspect.signature(function)

        @functools.wraps(function)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            bound = signature.bind_partial(*args, **kwargs)
            value: Any = bound.arguments.get(name)
            for part in rest:
                value = (
                    value.get(part) if isinstance(value, Mapping) else getattr(value, part, None)
                )
            call_id = value if isinstance(value, str) and value else None
            if call_id is not None and derive is not None:
                call_id = derive(call_id)
            with call_context(call_id):
                return await function(*args, **kwargs)

        return wrapper

    return decorate
