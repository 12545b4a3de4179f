"""Reminders, forwarding rules, extension and softphone over the API: the chat's rules and
refusals, pages, and another account's objects answered 404."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from bot.assistant import Reply
from bot.features.reminders.scheduler import Scheduler
from domain.clock import utcnow
from exchange.softphones import digest_ha1
from tests.api_pages import all_pages
from tests.conftest_api import ApiEnv

VERIFIED = {"phone_number": "+33612345678", "phone_verified": True}


@pytest.fixture
def reminder_env(db_url: str) -> Iterator[ApiEnv]:
    """The API of a service whose reminder scheduler runs (as `serve` and `api` make it)."""
    env = ApiEnv(db_url)

    async def deliver(_account_id: int, _reply: Reply) -> int:
        return 1

    scheduler = Scheduler(env.services.reminders, env.services.accounts, deliver)
    env.services = replace(env.services, scheduler=scheduler)
    env.app = create_app(env.services)
    env.http.close()
    env.http = TestClient(env.app, raise_server_exceptions=False)
    yield env
    env.close()


def soon(hours: int) -> str:
    return (utcnow() + timedelta(hours=hours)).isoformat()


# --- reminders ---------------------------------------------------------------------------


def test_reminders_are_stored_listed_in_pages_and_cancelled(reminder_env: ApiEnv) -> None:
    env = reminder_env
    holder = env.account(timezone="Europe/Paris", **VERIFIED)
    made = []
    for hours in (5, 1, 3, 2, 4):
        answer = env.request(
            holder, "POST", "/v1/reminders", json={"at": soon(hours), "text": f"in {hours} h"}
        )
        assert answer.status_code == 201, answer.text
        assert answer.headers["location"] == f"/v1/reminders/{answer.json()['id']}"
        made.append(answer.json())
    pages = all_pages(env, holder, "/v1/reminders", limit=2)
    assert [len(page) for page in pages] == [2, 2, 1]
    texts = [r["text"] for page in pages for r in page]
    assert texts == [f"in {h} h" for h in (1, 2, 3, 4, 5)]
    # Without an offset, the time is the account's (Paris: UTC+1 in January).
    naive = env.request(
        holder, "POST", "/v1/reminders", json={"at": "2099-01-02T10:00:00", "channel": "call"}
    )
    assert naive.status_code == 201
    stored = env.services.reminders.get(naive.json()["id"])
    assert stored is not None and stored.fire_at == datetime(2099, 1, 2, 9, 0, tzinfo=UTC)
    assert stored.channel == "call"
    stranger = env.account()
    first = made[1]["id"]
    refused = env.request(stranger, "DELETE", f"/v1/reminders/{first}")
    assert refused.status_code == 404 and refused.json()["type"] == "/problems/not-found"
    assert env.request(stranger, "GET", "/v1/reminders").json()["data"] == []
    assert env.request(holder, "DELETE", f"/v1/reminders/{first}").status_code == 204
    assert env.request(holder, "DELETE", f"/v1/reminders/{first}").status_code == 404
    left = [r["id"] for page in all_pages(env, holder, "/v1/reminders") for r in page]
    assert first not in left and len(left) == 5


def test_reminders_are_refused_as_the_chat_refuses_them(reminder_env: ApiEnv) -> None:
    env = reminder_env
    holder = env.account()  # no number of its own
    past = env.request(holder, "POST", "/v1/reminders", json={"at": soon(-1), "text": "too late"})
    assert past.status_code == 422 and past.json()["type"] == "/problems/remind-in-past"
    call = env.request(holder, "POST", "/v1/reminders", json={"at": soon(1), "channel": "call"})
    assert call.json()["type"] == "/problems/call-need-own-number"
    env.services.accounts.update(holder.account_id, phone_number="+33612345678")
    unverified = env.request(
        holder,
        "POST",
        "/v1/reminders",
        json={"at": soon(1), "channel": "call"},
        headers={"Accept-Language": "fr"},
    )
    assert unverified.json()["type"] == "/problems/call-need-verified"
    assert "vérifié" in unverified.json()["detail"]
    long = env.request(holder, "POST", "/v1/reminders", json={"at": soon(1), "text": "x" * 1001})
    assert long.status_code == 422
    for at in ("0001-01-01T00:00:00+05:00", "0001-01-01T01:00:00Z", "9999-12-31T23:00:00-05:00"):
        edge = env.request(
            env.account(timezone="America/New_York"), "POST", "/v1/reminders", json={"at": at}
        )
        assert edge.status_code == 422, (at, edge.text)
    reader = env.key(holder.account_id, ("read",))
    scoped = env.request(reader, "POST", "/v1/reminders", json={"at": soon(1)})
    assert scoped.status_code == 403
    assert env.services.reminders.pending(holder.account_id) == []


def test_without_a_scheduler_reminders_are_not_stored(api_env: ApiEnv) -> None:
    holder = api_env.account()
    answer = api_env.request(holder, "POST", "/v1/reminders", json={"at": soon(1)})
    assert answer.status_code == 503
    assert answer.json()["type"] == "/problems/scheduler-not-configured"
    assert api_env.services.reminders.pending(holder.account_id) == []


# --- forwarding --------------------------------------------------------------------------


def test_forwarding_rules_are_the_chats_rules(api_env: ApiEnv) -> None:
    holder = api_env.account()
    colleague = api_env.services.accounts.extension(api_env.account().account_id)
    body = {
        "to": colleague,
        "ring_seconds": 20,
        "then": [{"number": "+33 6 12 34 56 78"}],
        "days": ["sat", "mon"],
        "start": "09:00",
        "end": "18:00",
    }
    made = api_env.request(holder, "POST", "/v1/forwarding", json=body)
    assert made.status_code == 201, made.text
    rule = made.json()
    assert rule["to"] == colleague and rule["ring_seconds"] == 20
    assert rule["then"] == [{"number": "+33612345678", "ring_seconds": None}]
    assert rule["days"] == ["mon", "sat"] and rule["caller"] is None
    monday_noon = datetime(2026, 3, 2, 12, 0)  # the account's zone (UTC)
    matched = api_env.services.forwarding.match(holder.account_id, "+12125550123", monday_noon)
    assert matched is not None and matched.id == rule["id"]
    vip = api_env.request(
        holder, "POST", "/v1/forwarding", json={"to": "+12125550199", "caller": "+1 212 555 0100"}
    )
    assert vip.status_code == 201 and vip.json()["caller"] == "+12125550100"
    listed = api_env.request(holder, "GET", "/v1/forwarding").json()["data"]
    assert [r["id"] for r in listed] == [vip.json()["id"], rule["id"]]
    # A new rule for everyone replaces the one for everyone.
    again = api_env.request(holder, "POST", "/v1/forwarding", json={"to": "+12125550123"})
    listed = api_env.request(holder, "GET", "/v1/forwarding").json()["data"]
    assert {r["id"] for r in listed} == {vip.json()["id"], again.json()["id"]}
    stranger = api_env.account()
    assert api_env.request(stranger, "GET", "/v1/forwarding").json()["data"] == []
    gone = api_env.request(stranger, "DELETE", f"/v1/forwarding/{vip.json()['id']}")
    assert gone.status_code == 404
    deleted = api_env.request(holder, "DELETE", f"/v1/forwarding/{vip.json()['id']}")
    assert deleted.status_code == 204
    assert [r["id"] for r in api_env.request(holder, "GET", "/v1/forwarding").json()["data"]] == [
        again.json()["id"]
    ]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"to": "1999"}, "forward-unknown-extension"),
        ({"to": "+12125550123", "then": [{"number": "+12125550124"}]}, "forward-ring-needed"),
        ({"to": "+12125550123", "ring_seconds": 400, "then": [{"number": "+12125550124"}]}, None),
        ({"to": "+1"}, "forward-invalid"),
        ({"to": "+12125550123", "ring_seconds": 2, "then": [{"number": "+12125550124"}]}, None),
    ],
)
def test_forwarding_refusals_are_the_chats(api_env: ApiEnv, body: dict, reason: str) -> None:
    holder = api_env.account(scopes=("read", "calls"))
    answer = api_env.request(
        holder, "POST", "/v1/forwarding", json=body, headers={"Accept-Language": "ru"}
    )
    assert answer.status_code == 422
    assert answer.json()["type"] == f"/problems/{reason or 'forward-ring-range'}"
    assert api_env.services.forwarding.rules(holder.account_id) == []


def test_forwarding_needs_the_calls_scope(api_env: ApiEnv) -> None:
    reader = api_env.account(scopes=("read",))
    answer = api_env.request(reader, "POST", "/v1/forwarding", json={"to": "+12125550123"})
    assert answer.status_code == 403
    assert api_env.request(reader, "DELETE", "/v1/forwarding/1").status_code == 403


# --- extension and softphone -------------------------------------------------------------


def test_extension_and_direct_numbers(api_env: ApiEnv) -> None:
    holder = api_env.account(scopes=("read",), hide_caller_id=True)
    api_env.services.dids.sync_pool(["+33199000001", "+33199000002"])
    api_env.services.dids.assign("+33199000002", holder.account_id)
    body = api_env.request(holder, "GET", "/v1/extension").json()
    assert body["extension"] == api_env.services.accounts.extension(holder.account_id)
    assert body["direct_numbers"] == ["+33199000002"] and body["caller_id_hidden"] is True
    other = api_env.request(api_env.account(), "GET", "/v1/extension").json()
    assert other["direct_numbers"] == [] and other["extension"] != body["extension"]


def test_softphone_password_is_shown_once_and_replaces_the_old_one(api_env: ApiEnv) -> None:
    holder = api_env.account()
    settings = api_env.services.settings
    shown = api_env.request(holder, "GET", "/v1/softphone").json()
    assert "password" not in shown and shown["password_set"] is False
    assert shown["domain"] == settings.PBX_DOMAIN and shown["udp_port"] == settings.PBX_SIP_PORT
    account = api_env.services.accounts.get(holder.account_id)
    assert account is not None and account.sip_ha1 is None  # reading made none

    def ha1() -> str | None:
        found = api_env.services.accounts.get(holder.account_id)
        return found.sip_ha1 if found else None

    made = api_env.request(holder, "POST", "/v1/softphone/password")
    assert made.status_code == 201 and made.headers["cache-control"] == "no-store"
    first = made.json()
    assert first["username"] == shown["username"]
    assert ha1() == digest_ha1(first["username"], settings.PBX_DOMAIN, first["password"])
    second = api_env.request(holder, "POST", "/v1/softphone/password").json()
    assert second["password"] != first["password"]
    assert ha1() == digest_ha1(second["username"], settings.PBX_DOMAIN, second["password"])
    assert api_env.request(holder, "GET", "/v1/softphone").json()["password_set"] is True
    reader = api_env.key(holder.account_id, ("read",))
    assert api_env.request(reader, "POST", "/v1/softphone/password").status_code == 403
    assert ha1() == digest_ha1(second["username"], settings.PBX_DOMAIN, second["password"])
