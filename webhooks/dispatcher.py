"""The delivery loop: sends queued webhook deliveries, signed, retried with backoff.

Each due delivery is claimed with a lease (storage.webhooks.WebhookStore.claim), so
several instances share the work and each delivery is sent by one at a time; state lives
in the database, so a restart resumes where the last process stopped (a delivery whose
sender died is taken again when its lease ends). A POST of the event's JSON with
`EncryptoTel-Signature` (webhooks.signing), `EncryptoTel-Event-Id` and
`EncryptoTel-Event-Type`, WEBHOOK_TIMEOUT_SECONDS at most, redirects not followed. A 2xx
answer delivers it; anything else (another status, a timeout, a refused connection, an
address that now resolves to a private network) is an attempt kept in the log, and the
next one comes after BASE_DELAY × 2^(n-1) seconds (n: attempts so far) less up to a
quarter of jitter, at most MAX_DELAY, until WEBHOOK_RETRY_HOURS after the event: then the
delivery has `failed`. At most `concurrency` requests run at once, so a slow receiver
holds one slot and never the others. One endpoint's deliveries claimed together are sent
one after the other, oldest event first, so a receiver that answers sees call.ringing
before call.answered; a retried delivery comes later than newer ones, so receivers order
by the event's `created_at` (as with every webhook sender that retries). A delivery whose
lease would end before its turn is left for the next claim, never sent twice.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

import httpx

from domain.clock import sleep_unless_stopped, utcnow
from outbound import addresses
from settings import Settings
from storage.webhooks import Claimed, WebhookStore, aware
from webhooks import signing

log = logging.getLogger(__name__)

BASE_DELAY = 10.0  # seconds before the second attempt
MAX_DELAY = 3600.0  # the longest wait between two attempts
JITTER = 0.25  # each wait is shortened by up to this share, so retries spread out
LEASE_MARGIN = 60.0  # seconds a claim outlives the request's timeout
USER_AGENT = "EncryptoTel-Webhooks/1.0"


@dataclass(frozen=True)
class Outcome:
    """What one attempt got: the HTTP status, or the error; how long it took (ms)."""

    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _forget(last: dict[str, asyncio.Task], endpoint: str, done: asyncio.Task) -> None:
    if last.get(endpoint) is done:
        del last[endpoint]


def retry_delay(attempts: int, jitter: float) -> float:
    """Seconds to wait after the `attempts`-th failed attempt (1, 2, …): BASE_DELAY ×
    2^(attempts-1), capped at MAX_DELAY, less `jitter` (0..1) × JITTER of it."""
    delay = min(MAX_DELAY, BASE_DELAY * 2 ** min(max(attempts - 1, 0), 30))
    return delay * (1 - JITTER * jitter)


class Dispatcher:
    """Sends the deliveries of every account (one per service instance; several may run
    on one database)."""

    def __init__(
        self,
        store: WebhookStore,
        *,
        timeout: float = 10.0,
        retry_hours: float = 24.0,
        allow_private: bool = False,
        concurrency: int = 16,
        interval: float = 1.0,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.store = store
        self.timeout = timeout
        self.retry_window = timedelta(hours=retry_hours)
        self.allow_private = allow_private
        self.concurrency = concurrency
        self.interval = interval
        self.jitter = jitter
        self.lease = timedelta(seconds=timeout + LEASE_MARGIN)

    @classmethod
    def from_settings(cls, store: WebhookStore, settings: Settings) -> Dispatcher:
        """One with WEBHOOK_TIMEOUT_SECONDS, WEBHOOK_RETRY_HOURS, WEBHOOK_ALLOW_PRIVATE."""
        return cls(
            store,
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            retry_hours=settings.WEBHOOK_RETRY_HOURS,
            allow_private=settings.WEBHOOK_ALLOW_PRIVATE,
        )

    def client(self) -> httpx.AsyncClient:
        """The HTTP client: no redirects followed, no proxies from the environment."""
        return httpx.AsyncClient(
            timeout=self.timeout,
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": USER_AGENT},
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Send due deliveries every `interval` seconds until `stop`; requests in flight
        then get their timeout to finish (an unfinished one is sent again later)."""
        running: set[asyncio.Task] = set()
        last: dict[str, asyncio.Task] = {}  # endpoint id -> its newest delivery's task
        async with self.client() as client:
            while not stop.is_set():
                free = self.concurrency - len(running)
                if free > 0:
                    try:
                        claimed = await asyncio.to_thread(
                            self.store.claim, utcnow(), self.lease, free
                        )
                    except Exception:
                        log.exception("webhook deliveries could not be claimed; trying again")
                        claimed = []
                    for item in claimed:
                        endpoint = item.delivery.endpoint_id
                        before = last.get(endpoint)
                        task = asyncio.create_task(self._safely(client, item, before))
                        running.add(task)
                        last[endpoint] = task
                        task.add_done_callback(running.discard)
                        task.add_done_callback(partial(_forget, last, endpoint))
                    if len(claimed) == free:
                        await asyncio.sleep(0)  # more may be due: claim again at once
                        continue
                await sleep_unless_stopped(stop, self.interval)
            if running:
                await asyncio.wait(running, timeout=self.timeout)
                for task in running:
                    task.cancel()

    async def dispatch_due(self, now: datetime | None = None, limit: int = 100) -> list[str]:
        """Claim the deliveries due at `now` (default: now) and send them all, at most
        `concurrency` at once; the new state of each ("delivered", "pending", "failed").
        `now` also dates the attempts and their retries (tests drive the clock with it)."""
        moment = now or utcnow()
        claimed = await asyncio.to_thread(self.store.claim, moment, self.lease, limit)
        if not claimed:
            return []
        slots = asyncio.Semaphore(self.concurrency)
        by_endpoint: dict[str, list[Claimed]] = {}
        for item in claimed:
            by_endpoint.setdefault(item.delivery.endpoint_id, []).append(item)
        states: dict[str, str] = {}
        async with self.client() as client:

            async def in_order(items: list[Claimed]) -> None:
                for item in items:
                    async with slots:
                        states[item.delivery.id] = await self.deliver(client, item, moment)

            await asyncio.gather(*(in_order(items) for items in by_endpoint.values()))
        return [states[item.delivery.id] for item in claimed]

    async def _safely(
        self, client: httpx.AsyncClient, item: Claimed, after: asyncio.Task | None
    ) -> None:
        if after is not None:
            await asyncio.wait([after])  # the endpoint's earlier event goes first
            lease_end = item.delivery.claimed_until
            if lease_end is not None and aware(lease_end) < utcnow() + timedelta(
                seconds=self.timeout
            ):
                return  # it could outlive its lease: the next claim sends it, once
        try:
            await self.deliver(client, item, utcnow())
        except Exception:
            log.exception("webhook delivery %s failed unexpectedly", item.delivery.id)

    async def deliver(self, client: httpx.AsyncClient, item: Claimed, now: datetime) -> str:
        """Send one claimed delivery and record the attempt; its new state."""
        outcome = await self.post(client, item)
        delivery = item.delivery
        attempts = delivery.attempts + 1
        next_at = (
            None if outcome.delivered else self.next_attempt(delivery.created_at, attempts, now)
        )
        state = await asyncio.to_thread(
            self.store.record_attempt,
            delivery.id,
            at=now,
            status_code=outcome.status_code,
            error=outcome.error,
            duration_ms=outcome.duration_ms,
            delivered=outcome.delivered,
            next_attempt_at=next_at,
        )
        log.info(
            "webhook %s (%s) to endpoint %s: %s -> %s",
            delivery.event_id,
            delivery.event_type,
            delivery.endpoint_id,
            outcome.status_code or outcome.error,
            state,
        )
        return state

    def next_attempt(self, created_at: datetime, attempts: int, now: datetime) -> datetime | None:
        """When to try again after `attempts` failed ones: None once the retry window
        (WEBHOOK_RETRY_HOURS from the event) is over; never later than its end."""
        deadline = aware(created_at) + self.retry_window
        if now >= deadline:
            return None
        wait = timedelta(seconds=retry_delay(attempts, self.jitter()))
        return min(now + wait, deadline)

    async def post(self, client: httpx.AsyncClient, item: Claimed) -> Outcome:
        """POST the delivery's body, signed now, to the address its host resolves to
        (checked again: DNS rebinding), with the host name in `Host` and TLS SNI."""
        began = time.monotonic()

        def took() -> int:
            return int((time.monotonic() - began) * 1000)

        delivery = item.delivery
        try:
            request = await self._request(client, item)
        except addresses.UnsafeUrl as refused:
            return Outcome(None, f"refused: {refused}", took())
        except (httpx.InvalidURL, ValueError) as invalid:  # a URL stored before a check
            return Outcome(None, f"invalid URL: {invalid}"[:256], took())
        body = delivery.payload.encode()
        request.headers[signing.SIGNATURE_HEADER] = signing.header(
            item.secret, body, int(time.time())
        )
        try:
            response = await client.send(request, stream=True)
            await response.aclose()  # the receiver's body is not needed
        except httpx.TimeoutException:
            return Outcome(None, f"timeout after {self.timeout:g} s", took())
        except httpx.HTTPError as error:
            return Outcome(None, f"{type(error).__name__}: {error}"[:256], took())
        return Outcome(response.status_code, None, took())

    async def _request(self, client: httpx.AsyncClient, item: Claimed) -> httpx.Request:
        resolved = await addresses.resolve_async(item.url, self.allow_private)
        url = httpx.URL(item.url)
        delivery = item.delivery
        headers = {
            "Content-Type": "application/json",
            "Host": url.netloc.decode("ascii"),
            signing.EVENT_ID_HEADER: delivery.event_id,
            signing.EVENT_TYPE_HEADER: delivery.event_type,
        }
        extensions = {"sni_hostname": url.host} if url.scheme == "https" else {}
        return client.build_request(
            "POST",
            url.copy_with(host=resolved[0]),
            content=delivery.payload.encode(),
            headers=headers,
            extensions=extensions,
        )
