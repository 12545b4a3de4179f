"""Cutting the numbers of old call records and fraud refusals, deleting what the API keeps
for a while (privacy/retention.py runs it).

A call record keeps its numbers in full for CDR_RETENTION_DAYS after the call, for disputes;
then `a_number`, `b_number` and `forwarded_to` become their cut form (domain.numbers.
cut_number, "+44 20 7…"), the digits dialled after the answer (`dtmf`) are dropped, the
numbers in its events' `detail` (a SIP error can quote a URI) are cut too, and
`numbers_cut_at` is set. Duration, cost and every other column stay, for the ledger.

Work goes in batches of `batch` records, each in its own transaction, so that a first run
over years of records never holds the database for long. A record is cut once
(`numbers_cut_at`); a call not ended yet is never touched, however old.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, bindparam, delete, func, update
from sqlmodel import Session, col, select

from domain.calls import CallState
from domain.numbers import cut_number, cut_numbers_in
from storage.db import is_sqlite, transaction
from storage.models import (
    CallEvent,
    CallRecord,
    FraudRefusal,
    IdempotentRequest,
    Verification,
    WebhookAttempt,
    WebhookDelivery,
)

BATCH = 500
ENDED = CallState.ENDED.value
_CUT_RECORD = (
    update(CallRecord)
    .where(col(CallRecord.id) == bindparam("record_id"), col(CallRecord.numbers_cut_at).is_(None))
    .values(
        a_number=bindparam("a"),
        b_number=bindparam("b"),
        forwarded_to=bindparam("forwarded"),
        dtmf="",
        numbers_cut_at=bindparam("at"),
    )
)
_SET_EVENT_DETAIL = (
    update(CallEvent)
    .where(col(CallEvent.id) == bindparam("event_id"))
    .values(detail=bindparam("new_detail"))
)
_CUT_REFUSAL = (
    update(FraudRefusal)
    .where(col(FraudRefusal.id) == bindparam("refusal_id"))
    .values(number=bindparam("new_number"), detail=bindparam("new_detail"))
)


def cut_calls(engine: Engine, before: datetime, now: datetime, *, batch: int = BATCH) -> int:
    """Cut the numbers of every ended call that ended before `before` (a call that never
    rang: created before it) and is not cut yet; `now` is stored as `numbers_cut_at`.
    How many records were cut."""
    total = 0
    while True:
        with transaction(engine) as session:
            done = _cut_call_batch(session, is_sqlite(engine), before, now, batch)
        total += done
        if done < batch:
            return total


def _cut_call_batch(
    session: Session, sqlite: bool, before: datetime, now: datetime, batch: int
) -> int:
    query = (
        select(CallRecord.id, CallRecord.a_number, CallRecord.b_number, CallRecord.forwarded_to)
        .where(
            col(CallRecord.numbers_cut_at).is_(None),
            CallRecord.state == ENDED,
            func.coalesce(CallRecord.ended_at, CallRecord.created_at) < before,
        )
        .order_by(col(CallRecord.id))
        .limit(batch)
    )
    if not sqlite:  # SQLite: BEGIN IMMEDIATE already serialises the passes
        query = query.with_for_update(skip_locked=True)
    rows = session.exec(query).all()
    if not rows:
        return 0
    connection = session.connection()
    connection.execute(
        _CUT_RECORD,
        [
            {
                "record_id": record_id,
                "a": cut_number(a_number),
                "b": cut_number(b_number),
                "forwarded": cut_number(forwarded) if forwarded else forwarded,
                "at": now,
            }
            for record_id, a_number, b_number, forwarded in rows
        ],
    )
    _cut_event_details(session, [row[0] for row in rows])
    return len(rows)


def _cut_event_details(session: Session, call_ids: list[str]) -> None:
    events = session.exec(
        select(CallEvent.id, CallEvent.detail).where(
            col(CallEvent.call_id).in_(call_ids), col(CallEvent.detail).is_not(None)
        )
    ).all()
    changed = [
        {"event_id": event_id, "new_detail": cut}
        for event_id, detail in events
        if detail and (cut := cut_numbers_in(detail)) != detail
    ]
    if changed:
        session.connection().execute(_SET_EVENT_DETAIL, changed)


def cut_refusals(engine: Engine, before: datetime, *, batch: int = BATCH) -> int:
    """Cut the number (and the numbers in the detail) of every fraud refusal made before
    `before`; how many rows changed. Rows already cut, or holding no number, are left as
    they are, so a second run changes nothing."""
    total, after = 0, 0
    while True:
        with transaction(engine) as session:
            rows = session.exec(
                select(FraudRefusal.id, FraudRefusal.number, FraudRefusal.detail)
                .where(col(FraudRefusal.created_at) < before, col(FraudRefusal.id) > after)
                .order_by(col(FraudRefusal.id))
                .limit(batch)
            ).all()
            changed = []
            for refusal_id, number, detail in rows:
                new_number = cut_number(number) if number else number
                new_detail = cut_numbers_in(detail)
                if (new_number, new_detail) != (number, detail):
                    changed.append(
                        {
                            "refusal_id": refusal_id,
                            "new_number": new_number,
                            "new_detail": new_detail,
                        }
                    )
            if changed:
                session.connection().execute(_CUT_REFUSAL, changed)
        total += len(changed)
        if len(rows) < batch:
            return total
        after = rows[-1][0]


def delete_api_leftovers(
    engine: Engine, *, before: datetime, idempotent_before: datetime
) -> dict[str, int]:
    """Delete what the API keeps only for a while; rows deleted by table.

    - idempotent requests made before `idempotent_before` (IDEMPOTENCY_HOURS: a retry
      later than that is a new request);
    - voice 2FA verifications expired before `before` (CDR_RETENTION_DAYS: they name the
      number; their call records are cut like any other, their charges stay in the ledger);
    - webhook deliveries done (delivered or failed) that happened before `before`, with
      their attempts: their payloads name numbers.
    """
    with engine.begin() as connection:
        done = select(WebhookDelivery.id).where(
            col(WebhookDelivery.state).in_(("delivered", "failed")),
            col(WebhookDelivery.created_at) < before,
        )
        attempts = connection.execute(
            delete(WebhookAttempt).where(col(WebhookAttempt.delivery_id).in_(done))
        ).rowcount
        deliveries = connection.execute(
            delete(WebhookDelivery).where(
                col(WebhookDelivery.state).in_(("delivered", "failed")),
                col(WebhookDelivery.created_at) < before,
            )
        ).rowcount
        verifications = connection.execute(
            delete(Verification).where(col(Verification.expires_at) < before)
        ).rowcount
        requests = connection.execute(
            delete(IdempotentRequest).where(col(IdempotentRequest.created_at) < idempotent_before)
        ).rowcount
    return {
        "webhookattempt": int(attempts or 0),
        "webhookdelivery": int(deliveries or 0),
        "verification": int(verifications or 0),
        "idempotentrequest": int(requests or 0),
    }
