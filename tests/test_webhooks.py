"""Signed webhooks over real HTTP: endpoints made through the API, events queued by the
real emission points, delivered by the dispatcher to a receiver on 127.0.0.1, retried
with backoff (the clock driven through `dispatch_due(now)`), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from bot.features.calls.exchange_notices import exchange_notifier
from bot.features.payments import credit_notifier, withdrawal_notifier
from domain.clock import utcnow
from exchange.notices import MissedCall
from storage import open_database
from storage.models import Withdrawal
from storage.webhooks import WebhookStore, aware
from tests.conftest_api import ApiEnv, Holder
from tests.test_webhooks_receiver import Receiver, dead_url
from webhooks.dispatcher import BASE_DELAY, Dispatcher, retry_delay
from webhooks.events import EVENT_TYPES
from webhooks.signing import SignatureError, verify


@pytest.fixture
def env(db_url: str) -> Iterator[ApiEnv]:
    made = ApiEnv(db_url, WEBHOOK_ALLOW_PRIVATE=True, WEBHOOK_RETRY_HOURS=1)
    yield made
    made.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.close()


def dispatcher(env: ApiEnv, **options) -> Dispatcher:
    options = {"allow_private": True, "timeout": 5.0, "retry_hours": 1.0, **options}
    return Dispatcher(WebhookStore(env.services.engine), **options)


def create(env: ApiEnv, holder: Holder, url: str, events: list[str] | None = None) -> dict:
    body: dict = {"url": url}
    if events is not None:
        body["events"] = events
    answer = env.request(holder, "POST", "/v1/webhooks", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def deliveries(env: ApiEnv, holder: Holder, webhook_id: str, **params) -> dict:
    answer = env.request(holder, "GET", f"/v1/webhooks/{webhook_id}/deliveries", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def deposit(env: ApiEnv, account_id: int, tx_id: str, units: int = 150_000_000) -> None:
    """A deposit credited, told through the watcher's real `on_credit`."""
    services = env.services
    notify = credit_notifier(services.accounts, services.ledger, services.outbox, services.webhooks)
    asyncio.run(notify(account_id, "ETT", units, tx_id))


def run(coroutine):
    return asyncio.run(coroutine)


# --- endpoints -----------------------------------------------------------------------


def test_a_webhook_is_made_listed_without_its_secret_and_deleted(env, receiver):
    ann = env.account()
    made = create(env, ann, receiver.url, ["call.ended", "deposit.credited"])
    assert made["secret"].startswith("whsec_") and len(made["secret"]) > 40
    assert made["events"] == ["call.ended", "deposit.credited"]
    everything = create(env, ann, receiver.url)
    assert everything["events"] == ["*"] and everything["secret"] != made["secret"]

    listed = env.request(ann, "GET", "/v1/webhooks").json()
    assert [w["id"] for w in listed["data"]] == [made["id"], everything["id"]]
    assert all("secret" not in w for w in listed["data"])

    assert env.request(ann, "DELETE", f"/v1/webhooks/{made['id']}").status_code == 204
    listed = env.request(ann, "GET", "/v1/webhooks").json()
    assert [w["id"] for w in listed["data"]] == [everything["id"]]
    assert env.request(ann, "DELETE", f"/v1/webhooks/{made['id']}").status_code == 404


def test_scopes_read_lists_and_calls_changes(env, receiver):
    ann = env.account()
    reader = env.key(ann.account_id, ("read",))
    made = create(env, ann, receiver.url)
    assert env.request(reader, "GET", "/v1/webhooks").status_code == 200
    refused = env.request(reader, "POST", "/v1/webhooks", json={"url": receiver.url})
    assert refused.status_code == 403
    assert env.request(reader, "DELETE", f"/v1/webhooks/{made['id']}").status_code == 403


def test_unknown_event_types_and_bad_urls_are_refused(env):
    ann = env.account()
    unknown = env.request(
        ann, "POST", "/v1/webhooks", json={"url": "http://x.test/", "events": ["call.rang"]}
    )
    assert unknown.status_code == 422
    none = env.request(ann, "POST", "/v1/webhooks", json={"url": "http://x.test/", "events": []})
    assert none.status_code == 422
    ftp = env.request(ann, "POST", "/v1/webhooks", json={"url": "ftp://example.com/hook"})
    assert ftp.status_code == 422 and ftp.json()["code"] == "url-scheme"
    assert "http:// or https://" in ftp.json()["detail"]
    nowhere = env.request(ann, "POST", "/v1/webhooks", json={"url": "http://nowhere.invalid/"})
    assert nowhere.status_code == 422 and nowhere.json()["code"] == "url-unresolved"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "https://10.1.2.3/hook",
        "http://192.168.1.10/",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[fe80::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
    ],
)
def test_a_private_url_is_refused_without_the_setting(api_env, url):
    ann = api_env.account()
    answer = api_env.request(ann, "POST", "/v1/webhooks", json={"url": url})
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "url-private"
    assert "private" in answer.json()["detail"]
    assert api_env.request(ann, "GET", "/v1/webhooks").json()["data"] == []


def test_an_account_has_at_most_ten_webhooks(env, receiver):
    ann = env.account()
    for _ in range(10):
        create(env, ann, receiver.url)
    answer = env.request(ann, "POST", "/v1/webhooks", json={"url": receiver.url})
    assert answer.status_code == 409 and answer.json()["type"] == "/problems/too-many-webhooks"
    assert "10 webhooks" in answer.json()["detail"]
    french = env.request(
        ann, "POST", "/v1/webhooks", json={"url": receiver.url}, headers={"Accept-Language": "fr"}
    )
    assert "10 webhooks" in french.json()["detail"] and "supprimez" in french.json()["detail"]


def test_another_key_cannot_see_or_change_an_accounts_webhooks(env, receiver):
    ann, bob = env.account(), env.account()
    theirs = Receiver()
    try:
        made = create(env, ann, receiver.url)
        create(env, bob, theirs.url)
        hook = made["id"]
        assert [w["url"] for w in env.request(bob, "GET", "/v1/webhooks").json()["data"]] == [
            theirs.url
        ]
        for method, path in (
            ("GET", f"/v1/webhooks/{hook}/deliveries"),
            ("DELETE", f"/v1/webhooks/{hook}"),
            ("POST", f"/v1/webhooks/{hook}/test"),
        ):
            answer = env.request(bob, method, path)
            assert answer.status_code == 404, (method, path, answer.text)
            assert answer.json()["type"].endswith("not-found")
        deposit(env, ann.account_id, "tx-ann")
        run(dispatcher(env).dispatch_due())
        assert [e["data"]["tx_id"] for e in receiver.events()] == ["tx-ann"]
        assert theirs.events() == []  # bob's endpoint never gets ann's events
        assert env.request(ann, "GET", "/v1/webhooks").json()["data"][0]["id"] == hook
    finally:
        theirs.close()


# --- signing -------------------------------------------------------------------------


def test_the_signature_verifies_with_the_secret_and_fails_tampered_or_old(env, receiver):
    ann = env.account()
    made = create(env, ann, receiver.url)
    ping = env.request(ann, "POST", f"/v1/webhooks/{made['id']}/test")
    assert ping.status_code == 202
    assert run(dispatcher(env).dispatch_due()) == ["delivered"]
    (request,) = receiver.wait_for(1)
    signature = request.headers["encryptotel-signature"]
    signed_at = verify(made["secret"], signature, request.body)
    event = request.event
    assert event["type"] == "ping" and event["id"] == ping.json()["event_id"]
    assert request.headers["encryptotel-event-id"] == event["id"]
    assert request.headers["encryptotel-event-type"] == "ping"
    assert request.headers["content-type"] == "application/json"
    assert datetime.fromisoformat(event["created_at"].replace("Z", "+00:00")).tzinfo
    assert event["data"] == {"endpoint_id": made["id"]}

    tampered = request.body.replace(b"ping", b"pong")
    with pytest.raises(SignatureError, match="does not match"):
        verify(made["secret"], signature, tampered)
    with pytest.raises(SignatureError, match="does not match"):
        verify("whsec_another", signature, request.body)
    with pytest.raises(SignatureError, match="old"):
        verify(made["secret"], signature, request.body, now=signed_at + 301)
    assert verify(made["secret"], signature, request.body, now=signed_at + 299) == signed_at
    for broken in (None, "", "v1=abc", "t=x,v1=abc", f"t={signed_at}"):
        with pytest.raises(SignatureError):
            verify(made["secret"], broken, request.body)


# --- delivery and retries ------------------------------------------------------------


def test_a_receiver_answering_500_then_200_gets_the_event_twice_and_the_log_has_both(env):
    receiver = Receiver([500])
    try:
        ann = env.account()
        made = create(env, ann, receiver.url)
        deposit(env, ann.account_id, "tx-1", 250_000_000)
        sender = dispatcher(env)
        start = utcnow()
        assert run(sender.dispatch_due(start)) == ["pending"]
        assert run(sender.dispatch_due(start)) == []  # not due again yet
        (pending,) = deliveries(env, ann, made["id"])["data"]
        assert pending["state"] == "pending" and len(pending["attempts"]) == 1
        retry_at = datetime.fromisoformat(pending["next_attempt_at"])
        wait = (retry_at - start).total_seconds()
        assert BASE_DELAY * 0.75 <= wait <= BASE_DELAY
        assert run(sender.dispatch_due(retry_at)) == ["delivered"]

        first, second = receiver.wait_for(2)
        assert first.body == second.body and first.event["type"] == "deposit.credited"
        assert first.event["data"] == {
            "amount": {"units": 250_000_000, "asset": "ETT"},
            "tx_id": "tx-1",
        }
        (log,) = deliveries(env, ann, made["id"])["data"]
        assert log["state"] == "delivered" and log["event_id"] == first.event["id"]
        assert log["event_type"] == "deposit.credited" and log["delivered_at"]
        assert [a["status_code"] for a in log["attempts"]] == [500, 200]
        assert all(a["error"] is None and a["duration_ms"] >= 0 for a in log["attempts"])
        assert log["next_attempt_at"] is None
    finally:
        receiver.close()


def test_a_dead_receiver_is_retried_with_growing_delays_then_failed(env):
    ann = env.account()
    made = create(env, ann, dead_url())
    deposit(env, ann.account_id, "tx-dead")
    store = WebhookStore(env.services.engine)
    sender = dispatcher(env)
    (log,) = deliveries(env, ann, made["id"])["data"]
    created = datetime.fromisoformat(log["created_at"])
    now, waits, states = created, [], []
    for _ in range(30):
        (state,) = run(sender.dispatch_due(now))
        states.append(state)
        if state != "pending":
            break
        row = store.get(log["id"])
        waits.append((aware(row.next_attempt_at) - now).total_seconds())
        now = aware(row.next_attempt_at)
    assert states[-1] == "failed" and set(states[:-1]) == {"pending"}
    assert all(later > earlier for earlier, later in zip(waits[:8], waits[1:8], strict=False))
    assert 7.5 <= waits[0] <= 10
    assert now == created + timedelta(hours=1)  # the last attempt at the end of the window
    (log,) = deliveries(env, ann, made["id"])["data"]
    assert log["state"] == "failed" and len(log["attempts"]) == len(states)
    assert all(a["status_code"] is None and a["error"] for a in log["attempts"])
    assert run(sender.dispatch_due(now + timedelta(days=1))) == []


def test_retry_delays_double_from_ten_seconds_up_to_an_hour():
    assert [retry_delay(n, 0.0) for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert retry_delay(9, 0.0) == 2560 and retry_delay(10, 0.0) == retry_delay(50, 0.0) == 3600
    assert retry_delay(1, 1.0) == 7.5


def test_a_restart_delivers_what_was_pending(env, db_url, receiver):
    ann = env.account()
    create(env, ann, receiver.url)
    deposit(env, ann.account_id, "tx-before-crash")
    deposit(env, ann.account_id, "tx-while-down")
    store = WebhookStore(env.services.engine)
    lease = timedelta(seconds=65)
    crashed = store.claim(utcnow(), lease, limit=1)  # an instance took one, then died
    assert len(crashed) == 1

    engine = open_database(db_url, migrate=False)  # a new process on the same database
    try:
        restarted = Dispatcher(WebhookStore(engine), allow_private=True, timeout=5.0)
        assert run(restarted.dispatch_due()) == ["delivered"]  # the unclaimed one
        later = utcnow() + lease + timedelta(seconds=1)
        assert run(restarted.dispatch_due(later)) == ["delivered"]  # the lease ran out
    finally:
        engine.dispose()
    assert sorted(e["data"]["tx_id"] for e in receiver.events()) == [
        "tx-before-crash",
        "tx-while-down",
    ]


def test_a_running_dispatcher_delivers_events_as_they_come_after_a_restart(env, receiver):
    ann = env.account()
    create(env, ann, receiver.url)
    deposit(env, ann.account_id, "tx-queued")

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(dispatcher(env, interval=0.05).run(stop))
        await asyncio.to_thread(receiver.wait_for, 1)
        await asyncio.to_thread(deposit, env, ann.account_id, "tx-live")
        await asyncio.to_thread(receiver.wait_for, 2)
        stop.set()
        await asyncio.wait_for(task, 10)

    run(scenario())
    assert [e["data"]["tx_id"] for e in receiver.events()] == ["tx-queued", "tx-live"]


def test_two_dispatchers_racing_deliver_each_event_once(env, db_url, receiver):
    ann = env.account()
    create(env, ann, receiver.url)
    for n in range(20):
        deposit(env, ann.account_id, f"tx-{n}")
    engines = [open_database(db_url, migrate=False) for _ in range(2)]
    try:
        racers = [
            Dispatcher(WebhookStore(e), allow_private=True, timeout=5.0, concurrency=4)
            for e in engines
        ]

        async def race() -> list[str]:
            results = await asyncio.gather(*(d.dispatch_due(limit=20) for d in racers))
            return [state for states in results for state in states]

        states = run(race())
    finally:
        for engine in engines:
            engine.dispose()
    assert states == ["delivered"] * 20
    ids = Counter(e["data"]["tx_id"] for e in receiver.events())
    assert sorted(ids) == sorted(f"tx-{n}" for n in range(20)) and set(ids.values()) == {1}


def test_one_endpoints_events_arrive_in_the_order_they_happened(env, receiver):
    ann = env.account()
    create(env, ann, receiver.url)
    for n in range(12):
        deposit(env, ann.account_id, f"tx-{n:02}")
    assert run(dispatcher(env).dispatch_due()) == ["delivered"] * 12
    for n in range(12, 24):
        deposit(env, ann.account_id, f"tx-{n:02}")

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(dispatcher(env, interval=0.05).run(stop))
        await asyncio.to_thread(receiver.wait_for, 24)
        stop.set()
        await asyncio.wait_for(task, 10)

    run(scenario())
    assert [e["data"]["tx_id"] for e in receiver.events()] == [f"tx-{n:02}" for n in range(24)]


def test_a_slow_receiver_does_not_hold_the_others(env):
    slow, fast = Receiver(hold=True), Receiver()
    try:
        ann, bob = env.account(), env.account()
        create(env, ann, slow.url)
        create(env, bob, fast.url)
        deposit(env, ann.account_id, "tx-slow")

        async def scenario() -> None:
            stop = asyncio.Event()
            task = asyncio.create_task(dispatcher(env, interval=0.05).run(stop))
            await asyncio.to_thread(slow.wait_for, 1)  # and it does not answer
            await asyncio.to_thread(deposit, env, bob.account_id, "tx-fast")
            await asyncio.to_thread(fast.wait_for, 1)
            slow.released.set()
            stop.set()
            await asyncio.wait_for(task, 10)

        run(scenario())
        assert [e["data"]["tx_id"] for e in fast.events()] == ["tx-fast"]
    finally:
        slow.close()
        fast.close()


def test_the_address_is_checked_again_when_sending(env, receiver):
    ann = env.account()
    create(env, ann, receiver.url)  # allowed then (WEBHOOK_ALLOW_PRIVATE)
    deposit(env, ann.account_id, "tx-rebound")
    strict = dispatcher(env, allow_private=False)
    assert run(strict.dispatch_due()) == ["pending"]
    assert receiver.events() == []
    (row,) = WebhookStore(env.services.engine).deliveries(
        ann.account_id, env.request(ann, "GET", "/v1/webhooks").json()["data"][0]["id"]
    )
    assert "private" in row.attempts[0].error


def test_a_redirect_is_not_followed(env, receiver):
    redirecting = Receiver([302])
    try:
        ann = env.account()
        create(env, ann, redirecting.url)
        deposit(env, ann.account_id, "tx-redirect")
        assert run(dispatcher(env).dispatch_due()) == ["pending"]
        assert len(redirecting.wait_for(1)) == 1 and receiver.events() == []
    finally:
        redirecting.close()


def test_a_deleted_webhook_gets_nothing_more(env, receiver):
    ann = env.account()
    made = create(env, ann, receiver.url)
    deposit(env, ann.account_id, "tx-before-delete")
    env.request(ann, "DELETE", f"/v1/webhooks/{made['id']}")
    deposit(env, ann.account_id, "tx-after-delete")
    assert run(dispatcher(env).dispatch_due()) == []
    assert receiver.events() == []


def test_the_delivery_log_is_paged_newest_first(env, receiver):
    ann = env.account()
    made = create(env, ann, receiver.url)
    for n in range(5):
        deposit(env, ann.account_id, f"tx-{n}")
    run(dispatcher(env).dispatch_due())
    seen, cursor = [], None
    for _ in range(5):
        page = deliveries(env, ann, made["id"], limit=2, **({"cursor": cursor} if cursor else {}))
        seen += [json.loads(json.dumps(d)) for d in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 5 and len({d["id"] for d in seen}) == 5
    times = [d["created_at"] for d in seen]
    assert times == sorted(times, reverse=True)
    by_event = {e["id"]: e["data"]["tx_id"] for e in receiver.events()}
    assert [by_event[d["event_id"]] for d in seen] == [f"tx-{n}" for n in range(4, -1, -1)]
    bad = env.request(ann, "GET", f"/v1/webhooks/{made['id']}/deliveries", params={"cursor": "x"})
    assert bad.status_code == 422 and bad.json()["code"] == "bad-cursor"


# --- events from the real places -----------------------------------------------------


def test_events_are_sent_only_to_the_endpoints_that_take_their_type(env, receiver):
    deposits_only = Receiver()
    try:
        ann = env.account()
        create(env, ann, deposits_only.url, ["deposit.credited"])
        create(env, ann, receiver.url)
        row = Withdrawal(
            id=7, idempotency_key="k7", account_id=ann.account_id, asset="ETT",
            amount=5 * 10**8, address="3MxyzAddress", tx_id="tx-out", state="sent",
        )  # fmt: skip
        services = env.services
        told = withdrawal_notifier(
            services.accounts, services.ledger, services.outbox, services.webhooks
        )
        run(told(row))
        deposit(env, ann.account_id, "tx-in")
        run(dispatcher(env).dispatch_due())
        assert [e["type"] for e in deposits_only.events()] == ["deposit.credited"]
        everything = {e["type"]: e["data"] for e in receiver.events()}
        assert everything["withdrawal.sent"] == {
            "id": 7,
            "amount": {"units": 5 * 10**8, "asset": "ETT"},
            "address": "3MxyzAddress",
            "tx_id": "tx-out",
        }
        assert set(everything) == {"withdrawal.sent", "deposit.credited"}
    finally:
        deposits_only.close()


def test_the_same_deposit_told_twice_is_one_event(env, receiver):
    ann = env.account()
    made = create(env, ann, receiver.url)
    deposit(env, ann.account_id, "tx-twice")
    deposit(env, ann.account_id, "tx-twice")
    assert len(deliveries(env, ann, made["id"])["data"]) == 1


def test_a_reminder_fired_by_the_scheduler_is_an_event(db_url, receiver):
    from bot.app import build_services
    from tests.conftest_chat import service_settings
    from tests.test_reminders import Inbox

    settings = service_settings(db_url, WEBHOOK_ALLOW_PRIVATE=True)
    services = build_services(settings, engine=open_database(db_url), scheduler=True)
    try:
        account = services.accounts.resolve("console", "me")
        assert services.webhooks is not None and services.scheduler is not None
        services.webhooks.store.create_endpoint(account.id, receiver.url, ["reminder.fired"])
        reminder = services.reminders.add(
            account.id, utcnow() - timedelta(seconds=1), "message", "call the plumber"
        )
        inbox = Inbox(services)
        assert run(services.scheduler.tick()) == 1  # type: ignore[attr-defined]
        assert inbox.received
        sender = Dispatcher(services.webhooks.store, allow_private=True)
        assert run(sender.dispatch_due()) == ["delivered"]
        (event,) = receiver.events()
        assert event["type"] == "reminder.fired"
        assert event["data"]["id"] == reminder.id and event["data"]["text"] == "call the plumber"
        assert event["data"]["channel"] == "message"
    finally:
        services.engine.dispose()


def test_a_missed_call_of_the_exchange_is_an_event(env, receiver):
    ann = env.account()
    create(env, ann, receiver.url, ["call.missed"])
    at = utcnow()

    async def missed() -> None:
        env.services.background.attach(asyncio.get_running_loop())
        notify = exchange_notifier(env.services)
        await asyncio.to_thread(notify, MissedCall(ann.account_id, "+33142685300", "1042", at))
        await env.services.background.wait(5)

    run(missed())
    run(dispatcher(env).dispatch_due())
    (event,) = receiver.events()
    assert event["type"] == "call.missed"
    assert event["data"]["from"] == "+33142685300" and event["data"]["to"] == "1042"


def test_an_account_without_webhooks_costs_one_read_and_builds_nothing(env, receiver):
    ann, bob = env.account(), env.account()
    create(env, bob, receiver.url)
    events = env.services.webhooks
    assert events is not None
    built = []

    def data() -> dict:
        built.append(1)
        return {"n": len(built)}

    assert events.emit(ann.account_id, "call.ringing", data) == 0
    assert built == []  # no endpoint of ann's: the payload is never built
    assert events.emit(bob.account_id, "call.ringing", data) == 1 and built == [1]
    assert events.call_of("call.ended", ann.account_id, "no-such-call") == 0


def test_every_event_type_is_a_stable_string():
    assert EVENT_TYPES == (
        "call.ringing",
        "call.answered",
        "call.ended",
        "call.missed",
        "deposit.credited",
        "withdrawal.sent",
        "reminder.fired",
        "ping",
    )


def test_a_receiver_slower_than_the_timeout_setting_is_tried_again(db_url):
    env = ApiEnv(db_url, WEBHOOK_ALLOW_PRIVATE=True, WEBHOOK_TIMEOUT_SECONDS=0.5)
    slow = Receiver(hold=True)
    try:
        ann = env.account()
        made = create(env, ann, slow.url)
        deposit(env, ann.account_id, "tx-timeout")
        settings = env.services.settings
        sender = Dispatcher.from_settings(WebhookStore(env.services.engine), settings)
        assert sender.timeout == 0.5
        assert run(sender.dispatch_due()) == ["pending"]  # no answer within 0.5 s
        log = env.request(ann, "GET", f"/v1/webhooks/{made['id']}/deliveries").json()["data"]
        (attempt,) = log[0]["attempts"]
        assert attempt["status_code"] is None and attempt["error"]
    finally:
        slow.released.set()
        slow.close()
        env.close()
