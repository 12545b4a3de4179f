"""Webhook events: their types, their payloads, and the emitter that queues them.

A payload is `{"id": "evt_…", "type": …, "created_at": RFC 3339 UTC, "data": {…}}`. For
`call.*` events `data` has the fields of the API's `Call` (api.schemas.Call; built here
from the record, since api is above this layer). Money is `{"units", "asset"}` in the
asset's smallest unit.

Emitting queues one delivery per matching live endpoint in one transaction (the outbox
pattern: storage.webhooks); the dispatcher sends them. The emitter never raises: an
event that cannot be queued is logged, and what emitted it (a call, a deposit) goes on.
Event ids are derived from what happened (the call and the event, the deposit's
transaction…) where one exists, so the same fact told twice is queued once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from domain.clock import utcnow
from storage.calls import CallStore, leg_seconds
from storage.models import CallRecord, Reminder, Withdrawal
from storage.webhooks import WebhookStore

log = logging.getLogger(__name__)

CALL_RINGING = "call.ringing"
CALL_ANSWERED = "call.answered"
CALL_ENDED = "call.ended"
CALL_MISSED = "call.missed"
DEPOSIT_CREDITED = "deposit.credited"
WITHDRAWAL_SENT = "withdrawal.sent"
REMINDER_FIRED = "reminder.fired"
PING = "ping"
# Every type an endpoint may subscribe to (stable strings; `ping` is sent on request only).
EVENT_TYPES = (
    CALL_RINGING,
    CALL_ANSWERED,
    CALL_ENDED,
    CALL_MISSED,
    DEPOSIT_CREDITED,
    WITHDRAWAL_SENT,
    REMINDER_FIRED,
    PING,
)


def rfc3339(moment: datetime | None) -> str | None:
    """A datetime as RFC 3339 in UTC ending in `Z` (a naive one is taken as UTC)."""
    if moment is None:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat() + "Z"


def money(units: int, asset: str) -> dict[str, Any]:
    """`{"units": …, "asset": …}` (units: the asset's smallest unit)."""
    return {"units": int(units), "asset": asset}


def call_data(record: CallRecord) -> dict[str, Any]:
    """A call record with the fields of api.schemas.Call (`from`, `to`, `duration_seconds`
    connected, `cost` in ETT units unless the record says otherwise, times RFC 3339)."""
    duration = 0.0
    if record.bridged_at is not None:
        if record.ended_at is not None:
            duration = max(0.0, (record.ended_at - record.bridged_at).total_seconds())
        else:
            duration = max(leg_seconds(record, "a"), leg_seconds(record, "b"))
    return {
        "id": record.id,
        "kind": record.kind,
        "state": record.state,
        "from": record.a_number,
        "to": record.b_number,
        "dtmf": record.dtmf,
        "forwarded_to": record.forwarded_to,
        "anonymous": record.anonymous,
        "record": record.record,
        "created_at": rfc3339(record.created_at),
        "scheduled_at": rfc3339(record.scheduled_at),
        "answered_at": rfc3339(record.a_answered_at),
        "bridged_at": rfc3339(record.bridged_at),
        "ended_at": rfc3339(record.ended_at),
        "hangup_cause": record.hangup_cause,
        "duration_seconds": round(duration, 3),
        "max_seconds": record.max_seconds,
        "cost": money(record.cost, record.cost_asset or "ETT"),
    }


def derived_id(*parts: object) -> str:
    """`evt_` and 24 hex digits of SHA-256 over `parts`: the same fact, the same id."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()
    return "evt_" + digest[:24]


def new_id() -> str:
    """A random event id, `evt_` and 24 hex digits."""
    return "evt_" + secrets.token_hex(12)


def payload(event_id: str, event_type: str, data: dict[str, Any], created_at: datetime) -> str:
    """The JSON body of an event (compact, keys in a stable order)."""
    return json.dumps(
        {"id": event_id, "type": event_type, "created_at": rfc3339(created_at), "data": data},
        separators=(",", ":"),
        ensure_ascii=False,
    )


class WebhookEvents:
    """The emitter: queues an account's events for its endpoints (blocking: call it in a
    thread from the event loop). No method raises; each returns how many deliveries it
    queued."""

    def __init__(self, store: WebhookStore, calls: CallStore | None = None) -> None:
        self.store = store
        self.calls = calls if calls is not None else CallStore(store.engine)

    def emit(
        self,
        account_id: int | None,
        event_type: str,
        data: dict[str, Any] | Callable[[], dict[str, Any] | None],
        *,
        event_id: str | None = None,
        now: datetime | None = None,
        endpoint_id: str | None = None,
    ) -> int:
        """Queue `event_type` with `data` for the account's endpoints that take it (only
        `endpoint_id` when given); `event_id` default: a random one. A callable `data` is
        called only when an endpoint takes the event (None from it: nothing is queued)."""
        if account_id is None:
            return 0
        moment = now or utcnow()
        ident = event_id or new_id()

        def body() -> str | None:
            found = data() if callable(data) else data
            return None if found is None else payload(ident, event_type, found, moment)

        try:
            return self.store.enqueue(
                account_id, ident, event_type, body, now=moment, endpoint_id=endpoint_id
            )
        except Exception:
            log.exception("webhook event %s of account %s not queued", event_type, account_id)
            return 0

    def call(self, event_type: str, record: CallRecord) -> int:
        """A `call.ringing`, `call.answered` or `call.ended` of a call record (once per
        call and type)."""
        return self.emit(
            record.account_id,
            event_type,
            call_data(record),
            event_id=derived_id(event_type, record.id),
        )

    def call_of(self, event_type: str, account_id: int | None, call_id: str) -> int:
        """As `call`, with the record as it stands now, read only when one of the
        account's endpoints takes the event (the runner's events cost one indexed read
        for an account without webhooks)."""

        def data() -> dict[str, Any] | None:
            record = self.calls.get(call_id)
            return None if record is None else call_data(record)

        return self.emit(account_id, event_type, data, event_id=derived_id(event_type, call_id))

    def missed(
        self, account_id: int, caller: str, dialled: str, at: datetime, call_id: str | None = None
    ) -> int:
        """`call.missed`: a call to the account (its direct number or extension) that
        nobody answered, from `caller` (a number, an extension or "anonymous")."""
        data = {"id": call_id, "from": caller, "to": dialled, "at": rfc3339(at)}
        return self.emit(
            account_id,
            CALL_MISSED,
            data,
            event_id=derived_id(CALL_MISSED, account_id, call_id or "", caller, dialled, at),
        )

    def deposit_credited(self, account_id: int, asset: str, amount: int, tx_id: str) -> int:
        """`deposit.credited`: `amount` smallest units of `asset` credited by `tx_id`."""
        data = {"amount": money(amount, asset), "tx_id": tx_id}
        return self.emit(
            account_id, DEPOSIT_CREDITED, data, event_id=derived_id(DEPOSIT_CREDITED, tx_id)
        )

    def withdrawal_sent(self, row: Withdrawal) -> int:
        """`withdrawal.sent`: a withdrawal broadcast to the chain."""
        data = {
            "id": row.id,
            "amount": money(row.amount, row.asset),
            "address": row.address,
            "tx_id": row.tx_id,
        }
        return self.emit(
            row.account_id, WITHDRAWAL_SENT, data, event_id=derived_id(WITHDRAWAL_SENT, row.id)
        )

    def reminder_fired(self, reminder: Reminder) -> int:
        """`reminder.fired`: a reminder delivered (by chat message or by call)."""
        data = {
            "id": reminder.id,
            "text": reminder.text,
            "channel": reminder.channel,
            "fire_at": rfc3339(reminder.fire_at),
        }
        return self.emit(
            reminder.account_id,
            REMINDER_FIRED,
            data,
            event_id=derived_id(REMINDER_FIRED, reminder.id),
        )

    def ping(self, account_id: int, endpoint_id: str) -> str | None:
        """A `ping` to one endpoint of the account: its event id (None: not queued)."""
        ident = new_id()
        made = self.emit(
            account_id,
            PING,
            {"endpoint_id": endpoint_id},
            event_id=ident,
            endpoint_id=endpoint_id,
        )
        return ident if made else None
