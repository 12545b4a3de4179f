"""Ended calls tallied for `/metrics` without reading the whole history at each scrape.

The same for the revenue book's ledger entries (ids increasing, never changed). The end of
a call is a call event (storage/operator_view.ended_calls), whose ids increase and whose
record never changes after it. Each scrape reads the ends above a watermark and counts
those it has not counted before (by id). The watermark only passes an id once no slower
transaction can still commit a lower one: PostgreSQL hands ids out before the
transactions holding them commit, so a higher id can be visible before a lower one. It
moves to the highest id read by a scrape that ended GRACE_SECONDS or more before, judged
by this process's clock, never by a row's date (close_interrupted, at start-up, commits
ends dated at a call's last heartbeat). The first scrape reads every end once; those of
the next GRACE_SECONDS read them again and count only the new ones.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

from sqlalchemy import Engine

from domain.clock import utcnow
from storage.operator_view import (
    EndedCall,
    ended_call_ids,
    ended_calls,
    revenue_entries,
    revenue_entry_ids,
)

GRACE_SECONDS = 60.0  # far longer than any transaction that records a call's end
RECENT = timedelta(days=1)  # the longest window of the ASR / ACD gauges
Row = TypeVar("Row")


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
    """The highest id of an append-only table below which no row can still appear, and
    the ids above it already counted (rows are read by id above it; see the module's
    doc). Not thread-safe: its owner locks."""

    def __init__(self, grace: float, clock: Callable[[], float]) -> None:
        self.value = 0
        self.grace = grace
        self.clock = clock
        self.top = 0  # the highest id read
        self._seen: deque[tuple[float, int]] = deque()  # (read over by then, highest id)
        self._counted: set[int] = set()  # ids above `value` already counted

    def advance(self, ids: Iterable[int], began: float) -> set[int]:
        """Note the ids read above `value` by a read that began at `began` (`clock()`
        seconds) and return those not returned before, to count. `value` becomes the
        highest id read by a read over at least `grace` seconds before `began`: every
        lower id was handed out before that read, so its transaction has ended since and
        this read saw it if it committed. Row dates play no part (an end can be dated long
        before it is committed)."""
        read = list(ids)
        fresh = {row_id for row_id in read if row_id not in self._counted}
        self._counted |= fresh
        safe = self.value
        while self._seen and self._seen[0][0] <= began - self.grace:
            safe = max(safe, self._seen.popleft()[1])
        self.top = max(self.top, max(read, default=0))
        self._seen.append((self.clock(), self.top))
        if safe > self.value:
            self.value = safe
            self._counted = {row_id for row_id in self._counted if row_id > safe}
        return fresh


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
        self.counted = Totals(bounds, outcome_of)  # each end read so far, once
        self.mark = Watermark(grace, clock)
        self.recent: list[EndedCall] = []  # counted ends within RECENT
        self._lock = threading.Lock()

    @property
    def watermark(self) -> int:
        return self.mark.value

    def read(self, engine: Engine) -> tuple[Totals, list[EndedCall]]:
        """(Every ended call counted, the calls ended within RECENT)."""
        with self._lock:
            wall = utcnow()
            for call in _new_rows(
                self.mark,
                lambda after, up_to: ended_call_ids(engine, after, up_to),
                lambda after, only: ended_calls(engine, after, only),
                lambda call: call.event_id,
            ):
                self.counted.add(call)
                self.recent.append(call)
            self.recent = [c for c in self.recent if c.ended_at >= wall - RECENT]
            return self.counted.plus(()), list(self.recent)


class RevenueTally:
    """The REVENUE book's balance per (asset, transfer kind), its ledger entries read
    incrementally."""

    def __init__(
        self, *, grace: float = GRACE_SECONDS, clock: Callable[[], float] = time.monotonic
    ):
        self.counted: dict[tuple[str, str], int] = {}  # each entry read so far, once
        self.mark = Watermark(grace, clock)
        self._lock = threading.Lock()

    def read(self, engine: Engine) -> dict[tuple[str, str], int]:
        """(asset, kind) -> what the book gained by that kind of transfer, in the asset's
        smallest unit (refunds, kind admin_refund, negative)."""
        with self._lock:
            for _id, asset, kind, amount, _at in _new_rows(
                self.mark,
                lambda after, up_to: revenue_entry_ids(engine, after, up_to),
                lambda after, only: revenue_entries(engine, after, only),
                lambda entry: entry[0],
            ):
                key = (asset, kind)
                self.counted[key] = self.counted.get(key, 0) + amount
            return dict(self.counted)


def _new_rows(
    mark: Watermark,
    ids_between: Callable[[int, int], list[int]],
    rows: Callable[[int, list[int] | None], list[Row]],
    id_of: Callable[[Row], int],
) -> list[Row]:
    """The rows above `mark.value` not returned before, read cheaply: the ids alone up to
    the highest id read (`ids_between(after, up_to)`: rows read already, or a slower
    transaction's committed since), then whole rows above it and the few below it not
    read yet (`rows(after, ids or None for all)`)."""
    began, value, top = mark.clock(), mark.value, mark.top
    below = ids_between(value, top) if top > value else []
    above = rows(top, None)
    fresh = mark.advance([*below, *(id_of(row) for row in above)], began)
    late = [row_id for row_id in below if row_id in fresh]
    return above + (rows(value, late) if late else [])
