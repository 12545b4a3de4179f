"""Monthly plans in the database: each account's subscription, its paid periods, the
included seconds call legs used, and the renewal notices sent.

Exactly-once rules live in the schema: one `PlanPeriod` per account and start, one
`PlanUsage` per call and leg, one `PlanNotice` per account, kind and period end; the
subscription row moves on only from the period it was read at (a conditional UPDATE), so
instances racing over the same renewal agree. Times are aware UTC datetimes; amounts are
integers in smallest units; included and used amounts are seconds.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, Table, and_, case, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import SQLModel

from domain.clock import utcnow
from storage.db import is_sqlite, read
from storage.models import PlanNotice, PlanPeriod, PlanSubscription, PlanUsage

ACTIVE = "active"  # paid to period_end, renewed then
CANCELLED = "cancelled"  # paid to period_end, not renewed
PENDING = "pending"  # the first period is being paid
ENDED = "ended"
LAPSED = "lapsed"  # a renewal the balance could not pay
LIVE_STATES = (ACTIVE, CANCELLED)
# A first payment still PENDING after this was cut short (a crash): the duty settles it.
PENDING_STALE = timedelta(minutes=5)


def _table(model: type[SQLModel]) -> Table:
    return model.metadata.tables[str(model.__tablename__)]


_sub = _table(PlanSubscription)
_period = _table(PlanPeriod)
_usage = _table(PlanUsage)
_notice = _table(PlanNotice)


@dataclass(frozen=True)
class Usage:
    """A period's included seconds per group and how many were used."""

    period: PlanPeriod
    included: dict[str, int]
    used: dict[str, int]

    def left(self, group: str) -> int:
        """Included seconds of `group` still unused (0 for a group the plan leaves out)."""
        return max(0, self.included.get(group, 0) - self.used.get(group, 0))


class PlanStore:
    """Subscriptions, periods, usage and notices of monthly plans."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._insert = sqlite_insert if is_sqlite(engine) else pg_insert

    # --- reading --------------------------------------------------------------------

    def subscription(self, account_id: int) -> PlanSubscription | None:
        """The account's subscription row (whatever its state), None if it never had one."""
        with read(self.engine) as conn:
            row = conn.execute(select(_sub).where(_sub.c.account_id == account_id)).first()
        return PlanSubscription(**row._mapping) if row else None

    def period_at(self, account_id: int, at: datetime) -> PlanPeriod | None:
        """The account's paid period covering the moment `at`, if any."""
        query = select(_period).where(
            _period.c.account_id == account_id,
            _period.c.starts_at <= at,
            _period.c.ends_at > at,
        )
        with read(self.engine) as conn:
            row = conn.execute(query.order_by(_period.c.starts_at.desc())).first()
        return PlanPeriod(**row._mapping) if row else None

    def periods(self, account_id: int) -> list[PlanPeriod]:
        """The account's paid periods, oldest first."""
        query = select(_period).where(_period.c.account_id == account_id)
        with read(self.engine) as conn:
            rows = conn.execute(query.order_by(_period.c.starts_at)).all()
        return [PlanPeriod(**row._mapping) for row in rows]

    def usage(self, period: PlanPeriod, *, excluding: str | None = None) -> Usage:
        """Included and used seconds per group of a period; used counts the seconds
        reserved by calls in progress, except those of the call `excluding`."""
        query = (
            select(_usage.c.dest_group, func.sum(_usage.c.seconds))
            .where(_usage.c.period_id == period.id)
            .group_by(_usage.c.dest_group)
        )
        if excluding is not None:
            query = query.where(_usage.c.call_id != excluding)
        with read(self.engine) as conn:
            used = {group: int(total) for group, total in conn.execute(query)}
        return Usage(period, json.loads(period.included), used)

    def used_by_call(self, call_id: str) -> dict[str, int]:
        """Included seconds each leg ("a", "b") of a call used."""
        query = select(_usage.c.leg, _usage.c.seconds).where(
            _usage.c.call_id == call_id, _usage.c.reserved.is_(False)
        )
        with read(self.engine) as conn:
            return {leg: int(seconds) for leg, seconds in conn.execute(query)}

    def due(self, now: datetime, limit: int = 500) -> list[PlanSubscription]:
        """Subscriptions whose period ended by `now` that are still live, and first
        payments left PENDING for PENDING_STALE (an instance died while paying)."""
        stale = and_(_sub.c.state == PENDING, _sub.c.updated_at <= now - PENDING_STALE)
        ended = and_(_sub.c.period_end <= now, _sub.c.state.in_(LIVE_STATES))
        query = select(_sub).where(or_(ended, stale)).order_by(_sub.c.period_end).limit(limit)
        with read(self.engine) as conn:
            return [PlanSubscription(**row._mapping) for row in conn.execute(query)]

    def ending_between(self, start: datetime, end: datetime) -> list[PlanSubscription]:
        """Active subscriptions (to be renewed) whose period ends in [start, end)."""
        query = select(_sub).where(
            _sub.c.state == ACTIVE, _sub.c.period_end >= start, _sub.c.period_end < end
        )
        with read(self.engine) as conn:
            return [PlanSubscription(**row._mapping) for row in conn.execute(query)]

    # --- writing --------------------------------------------------------------------

    def claim_start(
        self, account_id: int, plan: str, start: datetime, end: datetime, anchor_day: int
    ) -> bool:
        """Make the account's subscription PENDING for a first period [start, end) unless
        it has a live or pending one; True when this call claimed it (then it pays)."""
        values = {
            "plan": plan,
            "next_plan": None,
            "anchor_day": anchor_day,
            "period_start": start,
            "period_end": end,
            "state": PENDING,
            "updated_at": utcnow(),
        }
        with self.engine.begin() as conn:
            inserted = conn.execute(
                self._insert(_sub)
                .values(account_id=account_id, created_at=utcnow(), **values)
                .on_conflict_do_nothing(index_elements=["account_id"])
                .returning(_sub.c.account_id)
            ).first()
            if inserted is not None:
                return True
            changed = conn.execute(
                update(_sub)
                .where(_sub.c.account_id == account_id, _sub.c.state.in_((ENDED, LAPSED)))
                .values(**values)
                .returning(_sub.c.account_id)
            ).first()
        return changed is not None

    def abandon_start(
        self, account_id: int, start: datetime, previous: PlanSubscription | None
    ) -> None:
        """Undo `claim_start` of a first period at `start` that could not be paid: the
        subscription as it was before (`previous`), or none."""
        pending = (
            _sub.c.account_id == account_id,
            _sub.c.state == PENDING,
            _sub.c.period_start == start,
        )
        with self.engine.begin() as conn:
            if previous is None:
                conn.execute(delete(_sub).where(*pending))
                return
            kept = ("plan", "next_plan", "anchor_day", "period_start", "period_end", "state")
            conn.execute(
                update(_sub)
                .where(*pending)
                .values(
                    {**{name: getattr(previous, name) for name in kept}, "updated_at": utcnow()}
                )
            )

    def record_period(
        self,
        account_id: int,
        plan: str,
        start: datetime,
        end: datetime,
        *,
        price: int,
        asset: str,
        amount: int,
        transfer_key: str,
        included: dict[str, int],
    ) -> bool:
        """Record a paid period (once per account and start); True when recorded now."""
        statement = (
            self._insert(_period)
            .values(
                account_id=account_id,
                plan=plan,
                starts_at=start,
                ends_at=end,
                price=price,
                asset=asset,
                amount=amount,
                transfer_key=transfer_key,
                included=json.dumps(included, sort_keys=True),
                created_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["account_id", "starts_at"])
            .returning(_period.c.id)
        )
        with self.engine.begin() as conn:
            return conn.execute(statement).first() is not None

    def activate(
        self,
        account_id: int,
        from_start: datetime,
        plan: str,
        start: datetime,
        end: datetime,
        *,
        next_plan_read: str | None = None,
        cancel: bool = False,
    ) -> bool:
        """Move the subscription read at period start `from_start` (with `next_plan_read`)
        to the paid period [start, end) of `plan`. It becomes ACTIVE (a paid renewal wins
        over a lapse made meanwhile) unless it was cancelled (or ended) meanwhile: then it
        stays CANCELLED, running to `end`. Its next plan is cleared only if it is still
        the one read (a switch made meanwhile is kept). False when another instance moved
        it already. `cancel`: CANCELLED whatever its state (a plan no longer offered)."""
        stopped = _sub.c.state.in_((CANCELLED, ENDED))
        same_next = (
            _sub.c.next_plan.is_(None)
            if next_plan_read is None
            else _sub.c.next_plan == next_plan_read
        )
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(_sub)
                .where(_sub.c.account_id == account_id, _sub.c.period_start == from_start)
                .values(
                    plan=plan,
                    next_plan=case((same_next, None), else_=_sub.c.next_plan),
                    period_start=start,
                    period_end=end,
                    state=CANCELLED if cancel else case((stopped, CANCELLED), else_=ACTIVE),
                    updated_at=utcnow(),
                )
                .returning(_sub.c.account_id)
            ).first()
        return changed is not None

    def set_state(
        self, account_id: int, state: str, *, period_start: datetime, was: tuple[str, ...]
    ) -> bool:
        """Set the state of the subscription still at `period_start` in one of `was`."""
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(_sub)
                .where(
                    _sub.c.account_id == account_id,
                    _sub.c.period_start == period_start,
                    _sub.c.state.in_(was),
                )
                .values(state=state, updated_at=utcnow())
                .returning(_sub.c.account_id)
            ).first()
        return changed is not None

    def set_next(self, account_id: int, next_plan: str | None, *, resume: bool) -> bool:
        """Switch a live subscription to `next_plan` from its next period (None: stay);
        `resume`: renew it again if it was cancelled. False when none is live."""
        values: dict = {"next_plan": next_plan, "updated_at": utcnow()}
        if resume:
            values["state"] = ACTIVE
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(_sub)
                .where(_sub.c.account_id == account_id, _sub.c.state.in_(LIVE_STATES))
                .values(**values)
                .returning(_sub.c.account_id)
            ).first()
        return changed is not None

    def claim_notice(
        self, account_id: int, kind: str, period_end: datetime, plan: str = "", price: int = 0
    ) -> bool:
        """Add the notice `kind` about the period ending `period_end` (of `plan`, `price`
        ETT units due), unsent: True once only. `claim_unsent` hands it out to send."""
        with self.engine.begin() as conn:
            return self._add_notice(conn, account_id, kind, period_end, plan, price)

    def lapse(
        self, account_id: int, period_start: datetime, notice: tuple[str, datetime, str, int]
    ) -> bool:
        """Lapse the ACTIVE subscription still at `period_start` and add its `notice`
        (kind, period end, plan, price) in the same transaction, so a lapse is never left
        untold; False when it was not ACTIVE at that period any more."""
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(_sub)
                .where(
                    _sub.c.account_id == account_id,
                    _sub.c.period_start == period_start,
                    _sub.c.state == ACTIVE,
                )
                .values(state=LAPSED, updated_at=utcnow())
                .returning(_sub.c.account_id)
            ).first()
            if changed is None:
                return False
            self._add_notice(conn, account_id, *notice)
        return True

    def claim_unsent(self, now: datetime, lease: timedelta) -> list[PlanNotice]:
        """Claim the notices not delivered yet, never claimed or claimed before `now`
        less `lease` (the instance that claimed them died, or sending failed): each goes
        to one caller per lease."""
        unsent = and_(
            _notice.c.sent_at.is_(None),
            or_(_notice.c.claimed_at.is_(None), _notice.c.claimed_at <= now - lease),
        )
        with self.engine.begin() as conn:
            rows = conn.execute(
                update(_notice).where(unsent).values(claimed_at=now).returning(*_notice.c)
            ).all()
        return [PlanNotice(**row._mapping) for row in rows]

    def mark_sent(self, account_id: int, kind: str, period_end: datetime) -> None:
        """Record that a notice was delivered (it is not claimed again)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(_notice)
                .where(
                    _notice.c.account_id == account_id,
                    _notice.c.kind == kind,
                    _notice.c.period_end == period_end,
                )
                .values(sent_at=utcnow())
            )

    def _add_notice(
        self, conn: Connection, account_id: int, kind: str, end: datetime, plan: str, price: int
    ) -> bool:
        statement = (
            self._insert(_notice)
            .values(account_id=account_id, kind=kind, period_end=end, plan=plan, price=price)
            .on_conflict_do_nothing()
            .returning(_notice.c.account_id)
        )
        return conn.execute(statement).first() is not None

    def use_included(
        self, account_id: int, call_id: str, leg: str, group: str, at: datetime, wanted: int
    ) -> int:
        """Use up to `wanted` included seconds of `group` in the account's period covering
        `at` for one leg of a call; return the seconds used (0: no period or none left).

        Once per call and leg: asked again, it returns what was used the first time. The
        period row is locked (SQLite: the write lock of BEGIN IMMEDIATE) while the seconds
        left are read and the use recorded, so two calls never use the same seconds.
        """
        final = (_usage.c.call_id == call_id, _usage.c.leg == leg, _usage.c.reserved.is_(False))
        with self.engine.begin() as conn:
            done = conn.execute(select(_usage.c.seconds).where(*final)).first()
            if done is not None:
                return int(done[0])
            if wanted <= 0:
                return 0
            period = conn.execute(
                select(_period.c.id, _period.c.included)
                .where(
                    _period.c.account_id == account_id,
                    _period.c.starts_at <= at,
                    _period.c.ends_at > at,
                )
                .with_for_update()
            ).first()
            if period is None:
                return 0
            # Checked again under the lock: a settlement of the same call racing this one
            # (PostgreSQL) may have recorded the leg while this one waited.
            done = conn.execute(select(_usage.c.seconds).where(*final)).first()
            if done is not None:
                return int(done[0])
            included = int(json.loads(period.included).get(group, 0))
            used = conn.execute(
                select(func.coalesce(func.sum(_usage.c.seconds), 0)).where(
                    _usage.c.period_id == period.id,
                    _usage.c.dest_group == group,
                    # its own reservation is trued up here
                    or_(_usage.c.call_id != call_id, _usage.c.reserved.is_(False)),
                )
            ).scalar_one()
            seconds = max(0, min(wanted, included - int(used)))
            conn.execute(
                delete(_usage).where(
                    _usage.c.call_id == call_id, _usage.c.leg == leg, _usage.c.reserved
                )
            )
            if seconds == 0:
                return 0
            _add_usage(conn, period.id, account_id, call_id, leg, group, seconds, reserved=False)
        return seconds

    def reserve_included(
        self,
        account_id: int,
        call_id: str,
        at: datetime,
        legs: dict[str, str],
        fit: Callable[[int], int],
    ) -> int:
        """Reserve for a call in progress the included seconds it may use: `legs` maps
        each priced leg ("a", "b") to its group. Per group, the seconds left less what
        other calls used or reserved, divided among the call's legs in the group; the
        least over the groups, passed through `fit` (the longest a leg may last for its
        billable seconds to fit); that many reserved per leg (replacing the call's
        earlier reservation). Returns the seconds (0: no period covering `at`, none left).
        Under the period's lock, like `use_included`; `release_reserved` undoes it.
        """
        counts: dict[str, int] = {}
        for group in legs.values():
            counts[group] = counts.get(group, 0) + 1
        with self.engine.begin() as conn:
            period = conn.execute(
                select(_period.c.id, _period.c.included)
                .where(
                    _period.c.account_id == account_id,
                    _period.c.starts_at <= at,
                    _period.c.ends_at > at,
                )
                .with_for_update()
            ).first()
            conn.execute(delete(_usage).where(_usage.c.call_id == call_id, _usage.c.reserved))
            if period is None or not legs:
                return 0
            included = json.loads(period.included)
            used = dict(
                conn.execute(
                    select(_usage.c.dest_group, func.sum(_usage.c.seconds))
                    .where(_usage.c.period_id == period.id, _usage.c.call_id != call_id)
                    .group_by(_usage.c.dest_group)
                ).all()
            )
            seconds = fit(
                min(
                    max(0, int(included.get(group, 0)) - int(used.get(group, 0))) // count
                    for group, count in counts.items()
                )
            )
            if seconds <= 0:
                return 0
            for leg, group in legs.items():
                _add_usage(conn, period.id, account_id, call_id, leg, group, seconds, reserved=True)
        return seconds

    def release_reserved(self, call_id: str) -> None:
        """Drop what a call reserved and did not use (it ended or was never placed)."""
        with self.engine.begin() as conn:
            conn.execute(delete(_usage).where(_usage.c.call_id == call_id, _usage.c.reserved))


def _add_usage(
    conn: Connection,
    period_id: int,
    account_id: int,
    call_id: str,
    leg: str,
    group: str,
    seconds: int,
    *,
    reserved: bool,
) -> None:
    """One row of included seconds a call's leg used (or, `reserved`, may use)."""
    conn.execute(
        _usage.insert().values(
            period_id=period_id,
            account_id=account_id,
            call_id=call_id,
            leg=leg,
            dest_group=group,
            seconds=seconds,
            reserved=reserved,
            created_at=utcnow(),
        )
    )
