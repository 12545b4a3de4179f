"""A per-sender token bucket: one sender's flood is not answered message by message.

Each sender (network, external id) has a bucket of `burst` tokens that refills at
`per_minute` tokens a minute; a message takes one. A message that finds the bucket empty
is refused: the first refusal is told to slow down, the next ones are dropped in silence
until the bucket is full again (the sender calmed down). Kept in memory per instance and
bounded; the buckets of senders not seen lately are forgotten first (a forgotten bucket
is a full one).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from enum import Enum

MAX_SENDERS = 100_000


class Verdict(Enum):
    """What to do with one message."""

    ANSWER = "answer"
    SLOW_DOWN = "slow_down"  # the first refused message: say so once
    DROP = "drop"  # refused again: silence


class _Bucket:
    __slots__ = ("tokens", "at", "warned")

    def __init__(self, tokens: float, at: float) -> None:
        self.tokens = tokens
        self.at = at
        self.warned = False


class SenderLimiter:
    """Token buckets by sender key. `per_minute` 0 turns the limit off."""

    def __init__(
        self,
        per_minute: int,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        limit: int = MAX_SENDERS,
    ) -> None:
        self.rate = per_minute / 60.0  # tokens a second
        self.burst = float(max(1, burst))
        self.clock = clock
        self.limit = limit
        self._buckets: OrderedDict[tuple[str, str], _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """Whether messages are limited at all."""
        return self.rate > 0

    def admit(self, key: tuple[str, str]) -> Verdict:
        """Take a token for one message of `key`'s sender, or say why not."""
        if self.rate <= 0:
            return Verdict.ANSWER
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(self.burst, now)
                while len(self._buckets) > self.limit:
                    self._buckets.popitem(last=False)
            else:
                self._buckets.move_to_end(key)
                bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
                bucket.at = now
                if bucket.tokens >= self.burst:
                    bucket.warned = False  # calmed down: a new flood is told again
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return Verdict.ANSWER
            if bucket.warned:
                return Verdict.DROP
            bucket.warned = True
            return Verdict.SLOW_DOWN
