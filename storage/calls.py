"""Call records: one row per call, one event row per transition, written at once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, bindparam, or_, update
from sqlalchemy import select as core_select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.instrumentation import manager_of_class
from sqlmodel import col, select

from domain.calls import CallKind, CallState, HangupCause, LegEvent
from domain.clock import utcnow
from storage.db import FastRead, read, transaction
from storage.models import CallEvent, CallRecord

# The words of domain.calls as the plain strings the columns hold.
CREATED, SCHEDULED, ENDED = (
    CallState.CREATED.value,
    CallState.SCHEDULED.value,
    CallState.ENDED.value,
)
CAUSE_CANCELLED = HangupCause.CANCELLED.value
CAUSE_FAILED = HangupCause.FAILED.value
CAUSE_INTERRUPTED = HangupCause.INTERRUPTED.value
# CallRecord.kind: a callback the user asked for, or a free call the service places to
# the user's own phone.
CALLBACK = CallKind.CALLBACK.value
VERIFICATION = CallKind.VERIFICATION.value
REMINDER = CallKind.REMINDER.value
TWO_FACTOR = CallKind.TWO_FACTOR.value
INTERNAL = CallKind.INTERNAL.value
EXCHANGE_KINDS = (INTERNAL, CallKind.OUTBOUND.value, CallKind.INBOUND.value)
LEG_EVENTS = (LegEvent.RINGING.value, LegEvent.ANSWERED.value, LegEvent.ENDED.value)
RINGING = CallState.RINGING.value
_INSERT_RECORD = CallRecord.__table__.insert()  # type: ignore[attr-defined]
_INSERT_EVENT = CallEvent.__table__.insert()  # type: ignore[attr-defined]
_SET_FORWARDED = (
    update(CallRecord)
    .where(col(CallRecord.id) == bindparam("call_id"))
    .values(forwarded_to=bindparam("target"), updated_at=bindparam("at"))
)
_RECORDS = CallRecord.__table__  # type: ignore[attr-defined]
_FAST_BY_ID = FastRead(core_select(_RECORDS).where(_RECORDS.c.id == bindparam("call_id")))
_RECORD_KEYS = [column.key for column in _RECORDS.columns]
_SET_MAX_SECONDS = (
    update(CallRecord)
    .where(col(CallRecord.id) == bindparam("call_id"))
    .values(max_seconds=bindparam("max_seconds"))
)


class CallStore:
    """Create call records and record every transition of a call."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, record: CallRecord) -> CallRecord:
        """Store a new call record (state `created`, or `scheduled` with scheduled_at)."""
        with transaction(self.engine) as session:
            session.add(record)
            session.flush()  # the event row refers to the record
            session.add(CallEvent(call_id=record.id, event=record.state, at=record.created_at))
        return record

    def create_once(self, record: CallRecord) -> bool:
        """Store a new call record unless one already has its id; False then."""
        try:
            self.create(record)
        except IntegrityError:
            return False
        return True

    def open_internal(self, call_id: str, account_id: int, a_number: str, b_number: str) -> bool:
        """Store the record of a call between two extensions (kind internal): `open_call`."""
        return self.open_call(call_id, INTERNAL, account_id, a_number, b_number)

    def open_call(
        self,
        call_id: str,
        kind: str,
        account_id: int,
        a_number: str,
        b_number: str,
        *,
        anonymous: bool = False,
    ) -> bool:
        """Store the record of a call the exchange relays (kind internal, outbound or
        inbound), ringing now, with its first event, unless one has this id; False then.
        One Core INSERT pair: this runs once per INVITE kamailio asks about
        (bench/exchange.py)."""
        at = utcnow()
        record = {
            "id": call_id,
            "account_id": account_id,
            "kind": kind,
            "a_number": a_number[:64],
            "b_number": b_number[:64],
            "dtmf": "",
            "state": RINGING,
            "anonymous": anonymous,
            "record": False,
            "created_at": at,
            "updated_at": at,
            "cost": 0,
        }
        try:
            with self.engine.begin() as connection:
                connection.execute(_INSERT_RECORD, record)
                connection.execute(_INSERT_EVENT, {"call_id": call_id, "event": RINGING, "at": at})
        except IntegrityError:
            return False
        return True

    def set_forwarded(self, call_id: str, target: str) -> None:
        """Note where an inbound call (or a call to an extension) was forwarded (one Core
        UPDATE, on every forwarded call kamailio asks about)."""
        values = {"call_id": call_id, "target": target[:64], "at": utcnow()}
        with self.engine.begin() as connection:
            connection.execute(_SET_FORWARDED, values)

    def end_unfinished(self, call_id: str, cause: str = CAUSE_FAILED) -> None:
        """End a call not ended yet (never dialled, or its end was not recorded);
        an ended call stays as it is."""
        self.record_event(call_id, ENDED, cause=cause)

    def get(self, call_id: str) -> CallRecord | None:
        """The call record with this id (a plain read: no transaction, which on SQLite
        would take the write lock; the API's clients poll it)."""
        rows = _FAST_BY_ID.rows(self.engine, call_id=call_id)
        return _record(rows[0]) if rows else None

    def events(self, call_id: str) -> list[CallEvent]:
        """The transitions of a call, oldest first."""
        with transaction(self.engine) as session:
            return list(
                session.exec(
                    select(CallEvent)
                    .where(CallEvent.call_id == call_id)
                    .order_by(col(CallEvent.id))
                )
            )

    def record_event(
        self,
        call_id: str,
        event: str,
        *,
        leg: str | None = None,
        cause: str | None = None,
        detail: str | None = None,
        at: datetime | None = None,
    ) -> CallRecord:
        """Write one transition: a leg event (`ringing`, `answered`, `ended` with leg
        `a` or `b`) or a call event (`dialing`, `bridged`, `ended`, ...)."""
        at = at or utcnow()
        with transaction(self.engine) as session:
            call = session.get(CallRecord, call_id, with_for_update=True)
            if call is None:
                raise KeyError(call_id)
            if call.state == ENDED:
                return call  # a late event of a finished call changes nothing
            if leg:
                if leg not in ("a", "b") or event not in LEG_EVENTS:
                    raise ValueError(f"bad leg event {leg}/{event}")
                column = f"{leg}_{event}_at"
                if getattr(call, column) is None:
                    setattr(call, column, at)
                call.state = f"{leg}_{event}"
            else:
                call.state = event
                if event == LegEvent.BRIDGED:
                    call.bridged_at = at
                elif event == ENDED:
                    _close(call, at, cause)
            if cause and not call.hangup_cause:
                call.hangup_cause = cause
            call.updated_at = at
            session.add(call)
            session.add(
                CallEvent(call_id=call_id, event=event, leg=leg, detail=detail or cause, at=at)
            )
            return call

    def heartbeat(self, call_id: str) -> None:
        """Mark an active call as alive now (used to close it after a crash).

        One conditional UPDATE: a beat that races the call's end never lands after it.
        """
        with transaction(self.engine) as session:
            session.exec(
                update(CallRecord)
                .where(col(CallRecord.id) == call_id, col(CallRecord.state) != ENDED)
                .values(heartbeat_at=utcnow())
            )

    def close_interrupted(self, *, older_than: datetime | None = None) -> list[str]:
        """Close calls left unfinished by a crash at their last sign of life.

        A call counts as left unfinished when it is neither ended nor scheduled and
        its last heartbeat or update is older than `older_than` (default: now). Calls
        the exchange relays (EXCHANGE_KINDS) are not: kamailio keeps them, and they are
        closed from its list of dialogs (`unfinished_exchange_calls`, exchange.service).
        """
        limit = older_than or utcnow()
        closed = []
        with transaction(self.engine) as session:
            calls = session.exec(
                select(CallRecord).where(
                    col(CallRecord.state).not_in([ENDED, SCHEDULED]),
                    col(CallRecord.updated_at) <= limit,
                    col(CallRecord.kind).not_in(EXCHANGE_KINDS),
                )
            ).all()
            for call in calls:
                last_alive = max(t for t in (call.heartbeat_at, call.updated_at) if t)
                if last_alive > limit:
                    continue
                call.state = ENDED
                _close(call, last_alive, CAUSE_INTERRUPTED)
                call.hangup_cause = call.hangup_cause or CAUSE_INTERRUPTED
                session.add(call)
                session.add(
                    CallEvent(call_id=call.id, event=ENDED, detail=CAUSE_INTERRUPTED, at=last_alive)
                )
                closed.append(call.id)
        return closed

    def unfinished_exchange_calls(self, *, created_before: datetime) -> list[CallRecord]:
        """Calls the exchange relays (kinds internal, outbound, inbound) not ended yet,
        created before `created_before`."""
        with transaction(self.engine) as session:
            return list(
                session.exec(
                    select(CallRecord).where(
                        col(CallRecord.kind).in_(EXCHANGE_KINDS),
                        CallRecord.state != ENDED,
                        col(CallRecord.created_at) < created_before,
                    )
                )
            )

    def history(self, account_id: int, limit: int = 10) -> list[CallRecord]:
        """The account's newest callbacks, calls from its phones (internal, outbound) and
        calls to its direct numbers (inbound); not the verification and reminder calls."""
        with transaction(self.engine) as session:
            return list(
                session.exec(
                    select(CallRecord)
                    .where(
                        CallRecord.account_id == account_id,
                        CallRecord.state != SCHEDULED,
                        col(CallRecord.kind).in_([CALLBACK, *EXCHANGE_KINDS]),
                    )
                    .order_by(col(CallRecord.created_at).desc())
                    .limit(limit)
                )
            )

    def page(
        self,
        account_id: int,
        *,
        limit: int,
        before: tuple[datetime, str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[CallRecord]:
        """A page of the account's call records as `history` chooses them (callbacks,
        calls of its phones and to its direct numbers; not scheduled ones), newest first by
        (created_at, id): at most `limit`, those strictly before `before` (the last of the
        previous page), created at or after `since` and before `until` (aware times)."""
        query = select(CallRecord).where(
            CallRecord.account_id == account_id,
            CallRecord.state != SCHEDULED,
            col(CallRecord.kind).in_([CALLBACK, *EXCHANGE_KINDS]),
        )
        if since is not None:
            query = query.where(col(CallRecord.created_at) >= since)
        if until is not None:
            query = query.where(col(CallRecord.created_at) < until)
        if before is not None:
            moment, call_id = before
            query = query.where(
                or_(
                    col(CallRecord.created_at) < moment,
                    and_(col(CallRecord.created_at) == moment, col(CallRecord.id) < call_id),
                )
            )
        query = query.order_by(col(CallRecord.created_at).desc(), col(CallRecord.id).desc())
        with read(self.engine) as connection:
            return [_record(row) for row in connection.execute(query.limit(limit))]

    def active(self, account_id: int) -> list[CallRecord]:
        """The account's calls in progress."""
        with transaction(self.engine) as session:
            return list(
                session.exec(
                    select(CallRecord).where(
                        CallRecord.account_id == account_id,
                        col(CallRecord.state).not_in([ENDED, SCHEDULED]),
                    )
                )
            )

    def due_scheduled(self, now: datetime | None = None) -> list[CallRecord]:
        """Scheduled calls whose time has come."""
        with transaction(self.engine) as session:
            return list(
                session.exec(
                    select(CallRecord).where(
                        CallRecord.state == SCHEDULED,
                        col(CallRecord.scheduled_at) <= (now or utcnow()),
                    )
                )
            )

    def unsettled(self) -> list[CallRecord]:
        """Ended calls whose cost was not settled yet."""
        with transaction(self.engine) as session:
            return list(
                session.exec(
                    select(CallRecord).where(
                        CallRecord.state == ENDED,
                        col(CallRecord.settled_at).is_(None),
                        col(CallRecord.account_id).is_not(None),
                    )
                )
            )

    def claim_scheduled(self, call_id: str) -> CallRecord | None:
        """Move a scheduled call to `created` (to be dialled now); None if another took it."""
        with transaction(self.engine) as session:
            claimed = session.exec(
                update(CallRecord)
                .where(col(CallRecord.id) == call_id, col(CallRecord.state) == SCHEDULED)
                .values(state=CREATED, updated_at=utcnow())
            ).rowcount
            if not claimed:
                return None
            session.add(CallEvent(call_id=call_id, event=CREATED, detail="scheduled time"))
            return session.get(CallRecord, call_id)

    def cancel_scheduled(self, account_id: int, call_id: str | None = None) -> list[CallRecord]:
        """End the account's scheduled calls (only `call_id` when given; cause
        `cancelled`); return them."""
        with transaction(self.engine) as session:
            query = select(CallRecord).where(
                CallRecord.account_id == account_id,
                CallRecord.state == SCHEDULED,
                col(CallRecord.scheduled_at).is_not(None),
            )
            if call_id is not None:
                query = query.where(CallRecord.id == call_id)
            calls = session.exec(query).all()
            now = utcnow()
            for call in calls:
                call.state, call.hangup_cause, call.ended_at, call.updated_at = (
                    ENDED, CAUSE_CANCELLED, now, now,
                )  # fmt: skip
                session.add(call)
                session.add(CallEvent(call_id=call.id, event=ENDED, detail=CAUSE_CANCELLED))
            return list(calls)

    def set_max_seconds(self, call_id: str, max_seconds: int) -> None:
        """Record the longest duration the call was authorised for (one Core UPDATE: it
        runs on every outside call kamailio asks about)."""
        with self.engine.begin() as connection:
            connection.execute(_SET_MAX_SECONDS, {"call_id": call_id, "max_seconds": max_seconds})

    def mark_settled(self, call_id: str, cost: int, asset: str) -> None:
        """Record the settled cost of a call."""
        with transaction(self.engine) as session:
            call = session.get(CallRecord, call_id)
            if call is None:
                raise KeyError(call_id)
            call.cost, call.cost_asset, call.settled_at = cost, asset, utcnow()
            session.add(call)


def _close(call: CallRecord, at: datetime, cause: str | None) -> None:
    call.ended_at = call.ended_at or at
    if call.heartbeat_at and call.heartbeat_at > call.ended_at:
        # A beat taken while the end was on its way: alive no later than the end.
        call.heartbeat_at = call.ended_at
    for leg in ("a", "b"):
        if getattr(call, f"{leg}_answered_at") and not getattr(call, f"{leg}_ended_at"):
            setattr(call, f"{leg}_ended_at", at)
    if cause and not call.hangup_cause:
        call.hangup_cause = cause


def leg_seconds(call: CallRecord, leg: str) -> float:
    """How long a leg was answered, in seconds (0 for a leg never answered)."""
    answered = getattr(call, f"{leg}_answered_at")
    ended = getattr(call, f"{leg}_ended_at") or call.ended_at
    if not answered or not ended:
        return 0.0
    return max(0.0, (ended - answered).total_seconds())


def _record(row: Sequence[Any]) -> CallRecord:
    """A row of the call record table (its columns in order) as a detached CallRecord, as
    a closed session would return it (no validation: the database's values as they are)."""
    record: CallRecord = manager_of_class(CallRecord).new_instance()
    record.__dict__.update(zip(_RECORD_KEYS, row, strict=True))
    make_transient_to_detached(record)
    return record
