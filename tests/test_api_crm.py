"""A CRM's day over real HTTP: a key made in the chat, a webhook receiver, a callback placed
through the API against the SIP lab (kamailio + baresip), its retry with the same
Idempotency-Key, the signed events, the call record in JSON and CSV.

The API is served by uvicorn on the service's loop, as `python main.py serve` does; the
CRM side is httpx (the API) and an aiohttp server (the webhook receiver), both on
127.0.0.1.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from aiohttp import web

from api.app import create_app
from api.server import run_api
from domain.money import to_units
from storage.calls import leg_seconds
from testbed.sip_lab import ANSWER, SipLab
from tests.call_env import CallEnv
from tests.wallet_helpers import fund
from webhooks.dispatcher import Dispatcher
from webhooks.signing import verify

pytestmark = pytest.mark.sip

ME, CALLEE = "+33612345678", "+442079460000"


@pytest.fixture(scope="module")
def lab() -> Iterator[SipLab]:
    lab = SipLab()
    lab.plan_phone(ME[1:], ANSWER, 440.0)
    lab.plan_phone(CALLEE[1:], ANSWER, 1000.0)
    lab.start()
    yield lab
    lab.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Receiver:
    """The CRM's webhook endpoint: keeps every POST (headers and raw body)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hooks", self._hook)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def _hook(self, request: web.Request) -> web.Response:
        self.received.append((dict(request.headers), await request.read()))
        return web.Response(status=204)

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    def events(self) -> list[dict]:
        return [json.loads(body) for _headers, body in self.received]


@pytest.fixture
def crm(db_url, lab):
    """The service (CallEnv) with its API on a real port, its webhook dispatcher running,
    and the CRM's receiver."""
    env = CallEnv(db_url, lab, API_RATE_LIMIT="1000/second", WEBHOOK_ALLOW_PRIVATE=True)
    port = free_port()
    stop, up = asyncio.Event(), asyncio.Event()
    receiver = Receiver()
    env.run(receiver.start())
    app = create_app(env.services)
    serving = asyncio.run_coroutine_threadsafe(
        run_api(app, "127.0.0.1", port, stop, started=up), env.loop
    )
    env.run(asyncio.wait_for(up.wait(), 10))
    dispatcher = Dispatcher.from_settings(env.services.webhooks.store, env.services.settings)
    duty = asyncio.run_coroutine_threadsafe(dispatcher.run(stop), env.loop)
    yield env, f"http://127.0.0.1:{port}", receiver
    env.loop.call_soon_threadsafe(stop.set)
    serving.result(10)
    duty.result(10)
    env.run(receiver.stop())
    env.close()


def wait_until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{what} within {timeout} s")


def test_a_crm_places_a_callback_through_the_api_and_follows_it_by_signed_webhooks(crm, lab):
    env, url, receiver = crm
    sender = env.user("crm-owner")
    (answer,) = env.say(sender, "api key with payments")
    token = re.search(r"ett_[A-Za-z0-9_-]+", answer.text).group(0)
    account = env.services.accounts.find_by_identity(sender.network, sender.external_id)
    env.services.accounts.update(account.id, phone_number=ME, phone_verified=True)
    fund(env.services.engine, account.id, "10")
    api = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    hook = api.post("/v1/webhooks", json={"url": f"http://127.0.0.1:{receiver.port}/hooks"})
    assert hook.status_code == 201, hook.text
    secret = hook.json()["secret"]

    order = {"Idempotency-Key": "crm-order-7781"}
    placed = api.post("/v1/callbacks", json={"to": "+44 20 7946 0000"}, headers=order)
    assert placed.status_code == 201, placed.text
    call = placed.json()["call"]
    assert (call["from"], call["to"], call["state"]) == (ME, CALLEE, "created")
    assert placed.headers["location"] == f"/v1/callbacks/{call['id']}"
    # The CRM's retry after a timeout: the same answer, and still one call.
    again = api.post("/v1/callbacks", json={"to": "+44 20 7946 0000"}, headers=order)
    assert again.status_code == 201 and again.json() == placed.json()
    assert again.headers["idempotent-replayed"] == "true"

    wait_until(
        lambda: api.get(f"/v1/callbacks/{call['id']}").json()["state"] == "bridged",
        40,
        "the callback was not bridged",
    )
    time.sleep(2)
    hung = api.post(f"/v1/callbacks/{call['id']}/hangup")
    assert hung.status_code == 200
    env.wait_idle()
    ended = api.get(f"/v1/callbacks/{call['id']}").json()
    record = env.services.calls.get(call["id"])
    assert ended["state"] == "ended" and ended["hangup_cause"] == "hangup"
    expected = env.services.billing.tariffs.cost(to_units("0.08", "ETT"), leg_seconds(record, "a"))
    expected += env.services.billing.tariffs.cost(to_units("0.03", "ETT"), leg_seconds(record, "b"))
    assert ended["cost"] == {"units": expected, "asset": "ETT"} and expected > 0

    calls = api.get("/v1/calls").json()["data"]
    assert [c["id"] for c in calls] == [call["id"]]  # one call, not two
    assert calls[0]["cost"]["units"] == expected
    table = list(csv.DictReader(io.StringIO(api.get("/v1/calls", params={"format": "csv"}).text)))
    assert [row["id"] for row in table] == [call["id"]]

    events = wait_until(
        lambda: [e for e in receiver.events() if e["type"] == "call.ended"] and receiver.events(),
        30,
        "call.ended was not delivered",
    )
    kinds = [e["type"] for e in events if e["data"].get("id") == call["id"]]
    assert kinds[:1] == ["call.ringing"] and "call.answered" in kinds and kinds[-1] == "call.ended"
    assert len(kinds) == len(set(kinds))  # each event once
    final = next(e for e in events if e["type"] == "call.ended")
    assert final["data"]["cost"] == {"units": expected, "asset": "ETT"}
    for headers, body in receiver.received:
        verify(secret, headers["EncryptoTel-Signature"], body)  # raises when it does not hold
    forged = receiver.received[0][1].replace(b"call.", b"calx.")
    with pytest.raises(Exception, match="(?i)signature"):
        verify(secret, receiver.received[0][0]["EncryptoTel-Signature"], forged)

    # Another account's key cannot make the service ring this account's phone.
    (other,) = env.say(env.user("someone-else"), "api key")
    stranger = re.search(r"ett_[A-Za-z0-9_-]+", other.text).group(0)
    refused = httpx.post(
        f"{url}/v1/callbacks",
        json={"to": "+44 20 7946 0000", "from": ME},
        headers={"Authorization": f"Bearer {stranger}"},
    )
    assert refused.status_code == 422 and refused.json()["type"] == "/problems/call-from-unverified"

    log = api.get(f"/v1/webhooks/{hook.json()['id']}/deliveries").json()["data"]
    assert {d["state"] for d in log} == {"delivered"} and len(log) == len(receiver.received)
