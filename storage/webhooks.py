"""Webhook endpoints, their deliveries (an outbox of events) and each delivery's attempts.

A delivery is `pending` until the receiver answers 2xx (`delivered`) or its retry window
ends (`failed`). Instances share the work through a lease: `claim` sets `claimed_until`
with a conditional UPDATE (WHERE the row is still pending and unclaimed or its lease has
run out), so each due delivery is sent by one instance at a time, on SQLite and PostgreSQL
alike, and one whose instance died is taken again once its lease ends.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, and_, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from domain.clock import utcnow
from storage.db import read, transaction
from storage.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
ALL_EVENTS = "*"
SECRET_PREFIX = "whsec_"


def aware(moment: datetime) -> datetime:
    """`moment` as aware UTC (a naive one is taken as UTC)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Claimed:
    """A delivery this instance holds the lease of, with where to send it."""

    delivery: WebhookDelivery
    url: str
    secret: str


@dataclass(frozen=True)
class DeliveryLog:
    """A delivery and its attempts, oldest attempt first."""

    delivery: WebhookDelivery
    attempts: list[WebhookAttempt]


def wants(endpoint_events: str, event_type: str) -> bool:
    """Whether an endpoint's `events` ("*" or comma-separated types) takes `event_type`.
    A `ping` goes only to the endpoint it tests (see `WebhookStore.enqueue`)."""
    return endpoint_events == ALL_EVENTS or event_type in endpoint_events.split(",")


class WebhookStore:
    """All SQL on WebhookEndpoint, WebhookDelivery and WebhookAttempt."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- endpoints -----------------------------------------------------------------

    def create_endpoint(
        self, account_id: int, url: str, events: Sequence[str] | None = None
    ) -> WebhookEndpoint:
        """A new live endpoint of the account for `events` (None or empty: all), with a
        new random secret `whsec_<43 base64url characters>` (256 bits)."""
        row = WebhookEndpoint(
            id="we_" + secrets.token_hex(8),
            account_id=account_id,
            url=url,
            events=",".join(dict.fromkeys(events)) if events else ALL_EVENTS,
            secret=SECRET_PREFIX + secrets.token_urlsafe(32),
        )
        with transaction(self.engine) as session:
            session.add(row)
        return row

    def endpoints(self, account_id: int) -> list[WebhookEndpoint]:
        """The account's live endpoints, oldest first."""
        with transaction(self.engine) as session:
            return list(
                session.exec(
                    select(WebhookEndpoint)
                    .where(
                        WebhookEndpoint.account_id == account_id,
                        col(WebhookEndpoint.disabled_at).is_(None),
                    )
                    .order_by(col(WebhookEndpoint.created_at), col(WebhookEndpoint.id))
                )
            )

    def endpoint(self, account_id: int, endpoint_id: str) -> WebhookEndpoint | None:
        """The account's live endpoint `endpoint_id`; None for one of another account."""
        with transaction(self.engine) as session:
            found = session.get(WebhookEndpoint, endpoint_id)
        if found is None or found.account_id != account_id or found.disabled_at is not None:
            return None
        return found

    def disable(self, account_id: int, endpoint_id: str) -> bool:
        """Delete (disable) the account's endpoint: nothing more is sent to it, its pending
        deliveries fail; its log stays. False when it is not the account's live endpoint."""
        now = utcnow()
        with transaction(self.engine) as session:
            changed = session.exec(
                update(WebhookEndpoint)
                .where(
                    col(WebhookEndpoint.id) == endpoint_id,
                    col(WebhookEndpoint.account_id) == account_id,
                    col(WebhookEndpoint.disabled_at).is_(None),
                )
                .values(disabled_at=now)
            ).rowcount
            if changed:
                session.execute(
                    update(WebhookDelivery)
                    .where(
                        col(WebhookDelivery.endpoint_id) == endpoint_id,
                        col(WebhookDelivery.state) == PENDING,
                    )
                    .values(state=FAILED, claimed_until=None)
                )
        return bool(changed)

    # --- emission (the outbox) -----------------------------------------------------

    def enqueue(
        self,
        account_id: int,
        event_id: str,
        event_type: str,
        payload: str | Callable[[], str | None],
        *,
        now: datetime | None = None,
        endpoint_id: str | None = None,
    ) -> int:
        """Queue the event (its JSON `payload`) for each live endpoint of the account
        that takes `event_type` (only `endpoint_id` when given), in one transaction; how
        many deliveries were made. One indexed read when the account has no endpoint
        (a callable `payload` is called only when one takes the event; None: no event).
        An event already queued for an endpoint (same `event_id`) is not queued again."""
        moment = now or utcnow()
        try:
            return self._enqueue(account_id, event_id, event_type, payload, moment, endpoint_id)
        except IntegrityError:  # another instance queued the same event at the same time
            return 0

    def _enqueue(
        self,
        account_id: int,
        event_id: str,
        event_type: str,
        payload: str | Callable[[], str | None],
        moment: datetime,
        endpoint_id: str | None,
    ) -> int:
        query = select(WebhookEndpoint.id, WebhookEndpoint.events).where(
            WebhookEndpoint.account_id == account_id,
            col(WebhookEndpoint.disabled_at).is_(None),
        )
        if endpoint_id is not None:
            query = query.where(WebhookEndpoint.id == endpoint_id)

        def targets_in(rows: Iterable[tuple[str, str]]) -> list[str]:
            return [eid for eid, events in rows if endpoint_id or wants(events, event_type)]

        # A plain read first (no write lock): most accounts have no endpoint. The payload
        # is built outside any transaction (it may read the database itself: on SQLite a
        # nested write transaction would wait for this one).
        with read(self.engine) as connection:
            if not targets_in(connection.execute(query).all()):
                return 0
        body = payload() if callable(payload) else payload
        if body is None:
            return 0
        with transaction(self.engine) as session:
            targets = targets_in(session.exec(query))
            if not targets:
                return 0
            already = set(
                session.exec(
                    select(WebhookDelivery.endpoint_id).where(
                        col(WebhookDelivery.endpoint_id).in_(targets),
                        WebhookDelivery.event_id == event_id,
                    )
                )
            )
            made = 0
            for target in targets:
                if target in already:
                    continue
                session.add(
                    WebhookDelivery(
                        id="whd_" + secrets.token_hex(12),
                        endpoint_id=target,
                        account_id=account_id,
                        event_id=event_id,
                        event_type=event_type,
                        payload=body,
                        created_at=moment,
                        next_attempt_at=moment,
                    )
                )
                made += 1
        return made

    # --- the dispatcher's side -----------------------------------------------------

    def claim(self, now: datetime, lease: timedelta, limit: int = 50) -> list[Claimed]:
        """Take the lease (until `now + lease`) of up to `limit` pending deliveries due at
        `now`, oldest due first (then oldest event first, so one endpoint's events come
        in the order they happened); each row is taken by one caller only (conditional
        UPDATE)."""
        free = or_(
            col(WebhookDelivery.claimed_until).is_(None), col(WebhookDelivery.claimed_until) < now
        )
        due = and_(
            col(WebhookDelivery.state) == PENDING, col(WebhookDelivery.next_attempt_at) <= now
        )
        with transaction(self.engine) as session:
            candidates = list(
                session.exec(
                    select(WebhookDelivery.id)
                    .where(due, free)
                    .order_by(
                        col(WebhookDelivery.next_attempt_at),
                        col(WebhookDelivery.created_at),
                        col(WebhookDelivery.id),
                    )
                    .limit(limit)
                )
            )
        taken = []
        for delivery_id in candidates:
            with transaction(self.engine) as session:
                won = session.exec(
                    update(WebhookDelivery)
                    .where(col(WebhookDelivery.id) == delivery_id, due, free)
                    .values(claimed_until=now + lease)
                ).rowcount
                if not won:
                    continue
                row = session.exec(
                    select(WebhookDelivery, WebhookEndpoint)
                    .join(WebhookEndpoint, col(WebhookEndpoint.id) == WebhookDelivery.endpoint_id)
                    .where(WebhookDelivery.id == delivery_id)
                ).one()
            delivery, endpoint = row
            taken.append(Claimed(delivery, endpoint.url, endpoint.secret))
        return taken

    def record_attempt(
        self,
        delivery_id: str,
        *,
        at: datetime,
        status_code: int | None,
        error: str | None,
        duration_ms: int,
        delivered: bool,
        next_attempt_at: datetime | None,
    ) -> str:
        """Keep one attempt and move its delivery on: `delivered`, else pending again at
        `next_attempt_at`, else (None) `failed`. The lease is given back. Returns the
        delivery's new state."""
        state = DELIVERED if delivered else (PENDING if next_attempt_at is not None else FAILED)
        values: dict[str, object] = {
            "state": state,
            "attempts": WebhookDelivery.attempts + 1,
            "claimed_until": None,
        }
        if delivered:
            values["delivered_at"] = at
        elif next_attempt_at is not None:
            values["next_attempt_at"] = next_attempt_at
        with transaction(self.engine) as session:
            session.add(
                WebhookAttempt(
                    delivery_id=delivery_id,
                    at=at,
                    status_code=status_code,
                    error=(error or None) and error[:256],
                    duration_ms=max(0, duration_ms),
                )
            )
            session.execute(
                update(WebhookDelivery)
                .where(
                    col(WebhookDelivery.id) == delivery_id, col(WebhookDelivery.state) == PENDING
                )
                .values(**values)
            )
        return state

    def get(self, delivery_id: str) -> WebhookDelivery | None:
        """A delivery by id (no account check: for the dispatcher and tests)."""
        with transaction(self.engine) as session:
            return session.get(WebhookDelivery, delivery_id)

    # --- the account's log ---------------------------------------------------------

    def deliveries(
        self,
        account_id: int,
        endpoint_id: str,
        *,
        limit: int = 50,
        before: tuple[datetime, str] | None = None,
    ) -> list[DeliveryLog]:
        """The endpoint's deliveries, newest first (created_at, then id, descending),
        those strictly after the cursor `before` = (created_at, id) of the last one seen;
        only the account's own (none for another account's endpoint)."""
        with transaction(self.engine) as session:
            query = select(WebhookDelivery).where(
                WebhookDelivery.account_id == account_id,
                WebhookDelivery.endpoint_id == endpoint_id,
            )
            if before is not None:
                at, last_id = before
                query = query.where(
                    or_(
                        col(WebhookDelivery.created_at) < at,
                        and_(
                            col(WebhookDelivery.created_at) == at,
                            col(WebhookDelivery.id) < last_id,
                        ),
                    )
                )
            rows = list(
                session.exec(
                    query.order_by(
                        col(WebhookDelivery.created_at).desc(), col(WebhookDelivery.id).desc()
                    ).limit(limit)
                )
            )
            attempts: dict[str, list[WebhookAttempt]] = {row.id: [] for row in rows}
            if rows:
                for attempt in session.exec(
                    select(WebhookAttempt)
                    .where(col(WebhookAttempt.delivery_id).in_(list(attempts)))
                    .order_by(col(WebhookAttempt.at), col(WebhookAttempt.id))
                ):
                    attempts[attempt.delivery_id].append(attempt)
        return [DeliveryLog(row, attempts[row.id]) for row in rows]

    def count_pending(self) -> int:
        """Deliveries still to send (all accounts): for logs and tests."""
        with transaction(self.engine) as session:
            return session.exec(
                select(func.count())
                .select_from(WebhookDelivery)
                .where(WebhookDelivery.state == PENDING)
            ).one()
