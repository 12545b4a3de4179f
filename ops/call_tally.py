"""Ended calls tallied for `/metrics` without reading the whole history at each scrape.

The same for the revenue book's ledger entries (ids increasing, never changed). The end of
a call is a call event (storage/operator_view.ended_calls), whose ids increase
and whose record never changes after it: each scrape reads only the ends above a
watermark, and folds into running totals those it can be sure no slower transaction
will still slip under (an event id seen GRACE_SECONDS ago or more: PostgreSQL hands out
ids before the transactions holding them commit, so a higher id can be visible before a
lower one). The ends above the watermark are read again at the next scrape, never
counted twice. The first scrape reads every end once.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine

from domain.clock import utcnow
from storage.operator_view import EndedCall, ended_calls, revenue_entries

GRACE_SECONDS = 60.0  # far longer than any transaction that records a call's end
RECENT = timedelta(days=1)  # the longest window of the ASR / ACD gauges


@dataclass
class Totals:
    """Running totals of ended calls: counts by (kind, outcome), answered seconds by
    kind, and the set-up time histogram by kind (counts within each of `bounds`, sum,
    count)."""

    bounds: tuple[float, ...]
    outcome_of: Callable[[str | None, bool], str]
    calls: dict[tuple[str, str], int] = field(default_factory=dict)
    talk: dict[str, float] = field(default_factory=dict)
    within: dict[str, list[int]] = field(default_factory=dict)
    setup_sum: dict[str, float] = field(default_factory=dict)
    setup_count: dict[str, int] = field(default_factory=dict)

    def add(self, call: EndedCall) -> None:
        """Count one ended call."""
        key = (call.kind, self.outcome_of(call.cause, call.setup_seconds is not None))
        self.calls[key] = self.calls.get(key, 0) + 1
        if call.setup_seconds is None:
            return
        self.talk[call.kind] = self.talk.get(call.kind, 0.0) + (call.talk_seconds or 0.0)
        counts = self.within.setdefault(call.kind, [0] * len(self.bounds))
        for i, bound in enumerate(self.bounds):
            if call.setup_seconds <= bound:
                counts[i] += 1
        self.setup_sum[call.kind] = self.setup_sum.get(call.kind, 0.0) + call.setup_seconds
        self.setup_count[call.kind] = self.setup_count.get(call.kind, 0) + 1

    def plus(self, calls: Iterable[EndedCall]) -> Totals:
        """A copy with `calls` counted too."""
        copy = Totals(
            self.bounds,
            self.outcome_of,
            dict(self.calls),
            dict(self.talk),
            {kind: list(counts) for kind, counts in self.within.items()},
            dict(self.setup_sum),
            dict(self.setup_count),
        )
        for call in calls:
            copy.add(call)
        return copy


class Watermark:
    """The highest id of an append-only table below which no row can still appear (rows
    are read by id above it; see the module's doc). Not thread-safe: its owner locks."""

    def __init__(self, grace: float, clock: Callable[[], float]) -> None:
        self.value = 0
        self.grace = grace
        self.clock = clock
        self._seen: deque[tuple[float, int]] = deque()  # (when, highest id seen)
        self._started = False

    def advance(self, rows: list[tuple[int, datetime]]) -> int:
        """Note the rows read above `value` ((id, when written), by id) and return the new
        watermark: on the first read, the ids of rows older than the grace; then the
        highest id seen at a read at least `grace` seconds ago."""
        now, wall = self.clock(), utcnow()
        safe = self.value
        if not self._started:
            self._started = True
            for row_id, written in rows:
                if written >= wall - timedelta(seconds=self.grace):
                    break
                safe = row_id
        while self._seen and self._seen[0][0] <= now - self.grace:
            safe = max(safe, self._seen.popleft()[1])
        self._seen.append((now, max((row_id for row_id, _ in rows), default=self.value)))
        self.value = max(self.value, safe)
        return self.value


class CallTally:
    """The ended calls of one database, read incrementally (see the module's doc).
    Thread-safe: scrapes may overlap."""

    def __init__(
        self,
        bounds: tuple[float, ...],
        outcome_of: Callable[[str | None, bool], str],
        *,
        grace: float = GRACE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.folded = Totals(bounds, outcome_of)
        self.mark = Watermark(grace, clock)  # every end up to its value is in `folded`
        self.recent: list[EndedCall] = []  # folded ends within RECENT
        self._lock = threading.Lock()

    @property
    def watermark(self) -> int:
        return self.mark.value

    def read(self, engine: Engine) -> tuple[Totals, list[EndedCall]]:
        """(Every ended call counted, the calls ended within RECENT)."""
        with self._lock:
            wall = utcnow()
            fresh = ended_calls(engine, self.mark.value)
            before = self.mark.value
            safe = self.mark.advance([(c.event_id, c.ended_at) for c in fresh])
            for call in fresh:
                if before < call.event_id <= safe:
                    self.folded.add(call)
                    if call.ended_at >= wall - RECENT:
                        self.recent.append(call)
            rest = [call for call in fresh if call.event_id > safe]
            self.recent = [c for c in self.recent if c.ended_at >= wall - RECENT]
            recent = self.recent + [c for c in rest if c.ended_at >= wall - RECENT]
            return self.folded.plus(rest), recent


class RevenueTally:
    """The REVENUE book's balance per asset, its ledger entries read incrementally."""

    def __init__(
        self, *, grace: float = GRACE_SECONDS, clock: Callable[[], float] = time.monotonic
    ):
        self.folded: dict[str, int] = {}
        self.mark = Watermark(grace, clock)
        self._lock = threading.Lock()

    def read(self, engine: Engine) -> dict[str, int]:
        """Asset -> balance in the asset's smallest unit."""
        with self._lock:
            fresh = revenue_entries(engine, self.mark.value)
            before = self.mark.value
            safe = self.mark.advance([(entry_id, at) for entry_id, _a, _n, at in fresh])
            totals = dict(self.folded)
            for entry_id, asset, amount, _at in fresh:
                totals[asset] = totals.get(asset, 0) + amount
                if before < entry_id <= safe:
                    self.folded[asset] = self.folded.get(asset, 0) + amount
            return totals
