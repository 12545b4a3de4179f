"""What the operator's metrics read from the database (ops/metrics.py), in a few aggregate
queries: the same answer on every instance sharing the database.

Calls: those ended since a given call event (a range of its primary key) and those not
ended (two ranges of the state index), so a scrape's cost does not grow with the history.
A call is *answered* when its called party
answered (leg b; leg a for the calls the service places to one phone: verification,
reminder, two-factor); its *set-up time* runs from the moment the called party is dialled
(a callback: when leg a answered, the dialer then rings b; any other call: its record's
creation, when the INVITE arrived or the call was placed) to that answer; its *duration*
from that answer to the end of the called party's leg (storage.calls.leg_seconds).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, or_, select

from domain.books import REVENUE
from domain.calls import CallKind, CallState
from storage.db import read
from storage.deposits import PENDING as DEPOSIT_PENDING
from storage.deposits import UNATTRIBUTED as DEPOSIT_UNATTRIBUTED
from storage.models import (
    CallEvent,
    CallRecord,
    Deposit,
    LedgerEntry,
    LedgerTransfer,
    WebhookDelivery,
)
from storage.webhooks import PENDING as DELIVERY_PENDING

ONE_LEG_KINDS = (
    CallKind.VERIFICATION.value,
    CallKind.REMINDER.value,
    CallKind.TWO_FACTOR.value,
)
ACTIVE, SCHEDULED, ENDED = "active", CallState.SCHEDULED.value, CallState.ENDED.value

_calls = CallRecord.__table__  # type: ignore[attr-defined]
_events = CallEvent.__table__  # type: ignore[attr-defined]
_entries = LedgerEntry.__table__  # type: ignore[attr-defined]
_transfers = LedgerTransfer.__table__  # type: ignore[attr-defined]
_deposits = Deposit.__table__  # type: ignore[attr-defined]
_deliveries = WebhookDelivery.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class EndedCall:
    """One ended call: `event_id` of its end (call_events.id, increasing), its kind and
    hang-up cause, when it ended, and for an answered call its set-up time and duration in
    seconds (None when not answered)."""

    event_id: int
    kind: str
    cause: str | None
    ended_at: datetime
    setup_seconds: float | None
    talk_seconds: float | None


def ended_calls(
    engine: Engine, after_event_id: int = 0, event_ids: Collection[int] | None = None
) -> list[EndedCall]:
    """The calls whose end was recorded by a call event with an id above
    `after_event_id` (and among `event_ids` when given), in that order: a range of the
    events' primary key, so a scrape reads only the calls ended since the last one (the
    record of an ended call never changes what is read here)."""
    if event_ids is not None:
        found: list[EndedCall] = []
        for chunk in _chunks(sorted(event_ids)):
            found += _ended_calls(engine, after_event_id, chunk)
        return found
    return _ended_calls(engine, after_event_id, None)


def ended_call_ids(engine: Engine, after_event_id: int, up_to: int) -> list[int]:
    """The ids of the call events recording a call's end in (`after_event_id`,
    `up_to`], in order: the key range alone, to find which a reader has not seen yet."""
    e = _events.c
    query = (
        select(e.id)
        .where(e.id > after_event_id, e.id <= up_to, e.event == ENDED, e.leg.is_(None))
        .order_by(e.id)
    )
    with read(engine) as conn:
        return [int(i) for i in conn.scalars(query)]


def _ended_calls(engine: Engine, after: int, only: list[int] | None) -> list[EndedCall]:
    c, e = _calls.c, _events.c
    query = (
        select(
            e.id,
            e.at,
            c.kind,
            c.hangup_cause,
            c.ended_at,
            c.created_at,
            c.a_answered_at,
            c.b_answered_at,
            c.a_ended_at,
            c.b_ended_at,
        )
        .join(_calls, c.id == e.call_id)
        .where(e.id > after, e.event == ENDED, e.leg.is_(None))
        .order_by(e.id)
    )
    if only is not None:
        query = query.where(e.id.in_(only))
    with read(engine) as conn:
        rows: list[Any] = list(conn.execute(query))
    return [_ended(*row) for row in rows]


def _ended(
    event_id: int,
    event_at: datetime,
    kind: str,
    cause: str | None,
    ended_at: datetime | None,
    created_at: datetime,
    a_answered_at: datetime | None,
    b_answered_at: datetime | None,
    a_ended_at: datetime | None,
    b_ended_at: datetime | None,
) -> EndedCall:
    ended = _aware(ended_at or event_at)
    one_leg = kind in ONE_LEG_KINDS
    answer = a_answered_at if one_leg else b_answered_at
    hung_up = _aware((a_ended_at if one_leg else b_ended_at) or ended)
    dialled = a_answered_at if kind == CallKind.CALLBACK.value else created_at
    if answer is None or dialled is None:
        return EndedCall(event_id, kind, cause, ended, None, None)
    answer = _aware(answer)
    setup = max(0.0, (answer - _aware(dialled)).total_seconds())
    talk = max(0.0, (hung_up - answer).total_seconds())
    return EndedCall(event_id, kind, cause, ended, setup, talk)


def _aware(moment: datetime) -> datetime:
    """A stored time as UTC (SQLite gives them back naive)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def unfinished_calls(engine: Engine) -> dict[tuple[str, str], int]:
    """Calls not ended, by (kind, phase): phase `scheduled` (to be placed later) or
    `active` (placed: created, ringing, answered, bridged). Two ranges of the state
    index, whatever the number of ended calls."""
    c = _calls.c
    query = (
        select(c.kind, c.state, func.count())
        .where(or_(c.state < ENDED, c.state > ENDED))
        .group_by(c.kind, c.state)
    )
    found: dict[tuple[str, str], int] = {}
    with read(engine) as conn:
        for kind, state, n in conn.execute(query):
            key = (kind, SCHEDULED if state == SCHEDULED else ACTIVE)
            found[key] = found.get(key, 0) + int(n)
    return found


def revenue_entries(
    engine: Engine, after_entry_id: int = 0, entry_ids: Collection[int] | None = None
) -> list[tuple[int, str, str, int, datetime]]:
    """The REVENUE book's ledger entries with an id above `after_entry_id` (and among
    `entry_ids` when given) (calls', plans' and 2FA charges, and operators' refunds as
    negative amounts), by id: (id, asset, kind of its transfer — domain.books.TransferKind,
    amount in the asset's smallest unit, when written)."""
    e, tr = _entries.c, _transfers.c
    query = (
        select(e.id, e.asset, tr.kind, e.amount, e.created_at)
        .join_from(_entries, _transfers, tr.id == e.transfer_id)
        .where(e.id > after_entry_id, e.book == REVENUE)
        .order_by(e.id)
    )
    chunks = [None] if entry_ids is None else _chunks(sorted(entry_ids))
    found: list[tuple[int, str, str, int, datetime]] = []
    with read(engine) as conn:
        for chunk in chunks:
            rows = conn.execute(query if chunk is None else query.where(e.id.in_(chunk)))
            found += [(int(i), asset, kind, int(n), _aware(at)) for i, asset, kind, n, at in rows]
    return found


def revenue_entry_ids(engine: Engine, after_entry_id: int, up_to: int) -> list[int]:
    """The ids of the REVENUE book's ledger entries in (`after_entry_id`, `up_to`], in
    order: the key range alone, to find which a reader has not seen yet."""
    e = _entries.c
    query = (
        select(e.id).where(e.id > after_entry_id, e.id <= up_to, e.book == REVENUE).order_by(e.id)
    )
    with read(engine) as conn:
        return [int(i) for i in conn.scalars(query)]


def _chunks(ids: list[int], size: int = 500) -> list[list[int]]:
    """`ids` in lists of at most `size` (the bound parameters of one statement)."""
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def waiting_deposits(engine: Engine) -> dict[tuple[str, str], tuple[int, int]]:
    """Deposits seen on chain and not credited, by (state, asset): (how many, amount in
    the asset's smallest unit). State `pending`: an account's, being credited;
    `unattributed`: no account named, waiting for an operator (`admin deposits`)."""
    d = _deposits.c
    query = (
        select(d.state, d.asset, func.count(), func.sum(d.amount))
        .where(d.state.in_((DEPOSIT_PENDING, DEPOSIT_UNATTRIBUTED)))
        .group_by(d.state, d.asset)
    )
    with read(engine) as conn:
        return {
            (state, asset): (int(n), int(amount or 0))
            for state, asset, n, amount in conn.execute(query)
        }


def pending_webhook_deliveries(engine: Engine) -> int:
    """Webhook deliveries still to send or retry (all accounts)."""
    query = (
        select(func.count()).select_from(_deliveries).where(_deliveries.c.state == DELIVERY_PENDING)
    )
    with read(engine) as conn:
        return int(conn.execute(query).scalar_one())
