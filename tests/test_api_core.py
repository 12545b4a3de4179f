"""The API's ground rules on both databases: keys and scopes, problem documents in the
caller's language, Idempotency-Key, rate limits, callbacks' quote and refusals."""

from __future__ import annotations

import pytest

from tests.conftest_api import ApiEnv
from tests.wallet_helpers import fund
from wallet.billing import Billing

PROBLEM = "application/problem+json"
VERIFIED = {"phone_number": "+33612345678", "phone_verified": True}


def test_without_a_key_or_with_a_revoked_one_the_answer_is_401(api_env: ApiEnv) -> None:
    holder = api_env.account(**VERIFIED)
    missing = api_env.request(None, "GET", "/v1/callbacks/x")
    assert missing.status_code == 401
    assert missing.headers["content-type"] == PROBLEM
    assert missing.headers["www-authenticate"] == "Bearer"
    assert missing.json()["type"] == "/problems/unauthorized"
    assert api_env.services.api_keys.revoke(holder.account_id) == [holder.key_id]
    revoked = api_env.request(holder, "GET", "/v1/callbacks/x")
    assert revoked.status_code == 401
    forged = api_env.request(
        None, "GET", "/v1/callbacks/x", headers={"Authorization": "Bearer ett_0_x"}
    )
    assert forged.status_code == 401


def test_a_key_without_the_scope_is_refused_with_403(api_env: ApiEnv) -> None:
    reader = api_env.account(scopes=("read",), **VERIFIED)
    answer = api_env.request(
        reader, "POST", "/v1/callbacks", json={"to": "+12125550123", "quote_only": True}
    )
    assert answer.status_code == 403
    assert answer.json()["type"] == "/problems/forbidden-scope"
    assert answer.json()["scope"] == "calls"


def test_a_refusal_is_the_chats_reason_in_the_callers_language(api_env: ApiEnv) -> None:
    holder = api_env.account()  # no number of its own yet
    body = {"to": "+12125550123", "quote_only": True}
    answer = api_env.request(
        holder, "POST", "/v1/callbacks", json=body, headers={"Accept-Language": "ru, en;q=0.5"}
    )
    assert answer.status_code == 422
    problem = answer.json()
    assert problem["type"] == "/problems/call-need-own-number"
    assert "номер" in problem["detail"]
    assert problem["instance"] == "/v1/callbacks"
    described = api_env.http.get(problem["type"]).json()
    assert described["status"] == 422 and set(described["detail"]) == {"en", "fr", "ru"}
    poor = api_env.account(**VERIFIED)
    french = api_env.request(
        poor, "POST", "/v1/callbacks", json=body, headers={"Accept-Language": "fr-CA"}
    )
    assert french.status_code == 402
    assert french.json()["type"] == "/problems/refused-insufficient-funds"
    assert "0,1 ETT" in french.json()["detail"]
    premium = api_env.request(
        poor, "POST", "/v1/callbacks", json={"to": "+19005550123", "quote_only": True}
    )
    assert premium.status_code == 403
    assert premium.json()["type"] == "/problems/refused-premium-rate"


def test_a_bad_request_names_each_field_with_a_json_pointer(api_env: ApiEnv) -> None:
    holder = api_env.account(**VERIFIED)
    answer = api_env.request(
        holder, "POST", "/v1/callbacks", json={"to": "call my mum", "dtmf": "12a"}
    )
    assert answer.status_code == 422
    pointers = {error["pointer"] for error in answer.json()["errors"]}
    assert pointers == {"/body/to", "/body/dtmf"}


def test_a_quote_only_request_places_nothing(api_env: ApiEnv) -> None:
    holder = api_env.account(**VERIFIED)
    fund(api_env.services.engine, holder.account_id, "10")
    answer = api_env.request(
        holder, "POST", "/v1/callbacks", json={"to": "+1 212 555 0123", "quote_only": True}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["call"] is None
    quote = body["quote"]
    assert quote["paid_in"] == "ETT"
    assert quote["price_per_minute"]["asset"] == "ETT"
    billing: Billing = api_env.services.billing
    expected = billing.quote(holder.account_id, "+33612345678", "+12125550123")
    assert quote["price_per_minute"]["units"] == expected.price_per_minute
    assert quote["max_seconds"] == expected.max_seconds
    assert api_env.services.calls.history(holder.account_id) == []


def test_an_idempotency_key_replays_the_first_answer_and_refuses_another_request(
    api_env: ApiEnv,
) -> None:
    holder = api_env.account(**VERIFIED)
    fund(api_env.services.engine, holder.account_id, "10")
    key = {"Idempotency-Key": "order-42"}
    body = {"to": "+12125550123", "quote_only": True}
    first = api_env.request(holder, "POST", "/v1/callbacks", json=body, headers=key)
    again = api_env.request(holder, "POST", "/v1/callbacks", json=body, headers=key)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    other = api_env.request(
        holder, "POST", "/v1/callbacks", json={**body, "to": "+12125550124"}, headers=key
    )
    assert other.status_code == 422
    assert other.json()["type"] == "/problems/idempotency-key-reused"
    # Another account's identical key is its own.
    stranger = api_env.account(**VERIFIED)
    theirs = api_env.request(stranger, "POST", "/v1/callbacks", json=body, headers=key)
    assert theirs.status_code == 402
    assert "idempotent-replayed" not in theirs.headers


def test_the_first_answer_is_kept_before_the_client_gets_it(api_env: ApiEnv) -> None:
    # A CRM that retries the moment the first answer arrives must get the replay, never
    # "still running": the answer is kept before its first byte is sent.
    import asyncio
    import json

    from storage.idempotency import Pending, fingerprint

    holder = api_env.account(**VERIFIED)
    fund(api_env.services.engine, holder.account_id, "10")
    body = json.dumps({"to": "+12125550123", "quote_only": True}).encode()
    headers = [
        (b"host", b"testserver"),
        (b"authorization", f"Bearer {holder.token}".encode()),
        (b"idempotency-key", b"order-at-once"),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/v1/callbacks", "raw_path": b"/v1/callbacks",
        "query_string": b"", "root_path": "", "headers": headers,
        "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
    }  # fmt: skip
    store = api_env.app.state.idempotency
    seen: list[object] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            print_ = fingerprint("POST", "/v1/callbacks", body)
            seen.append(store.reserve(holder.account_id, "order-at-once", print_))
            seen.append(message["status"])

    asyncio.run(api_env.app(scope, receive, send))
    found, status = seen
    assert status == 200 and found is not None and not isinstance(found, Pending)
    assert found.status == 200


def test_past_the_keys_rate_the_answer_is_429_with_retry_after(db_url: str) -> None:
    env = ApiEnv(db_url, API_RATE_LIMIT="3/minute")
    try:
        holder = env.account(**VERIFIED)
        statuses = [env.request(holder, "GET", "/v1/callbacks/x").status_code for _ in range(4)]
        assert statuses == [404, 404, 404, 429]
        limited = env.request(holder, "GET", "/v1/callbacks/x")
        assert limited.headers["content-type"] == PROBLEM
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        other = env.account(**VERIFIED)  # each key has its own rate
        assert env.request(other, "GET", "/v1/callbacks/x").status_code == 404
    finally:
        env.close()


@pytest.mark.parametrize(
    "reason", ["refused-daily-cap", "call-in-past", "validation", "unauthorized"]
)
def test_every_error_type_is_described(api_env: ApiEnv, reason: str) -> None:
    answer = api_env.http.get(f"/problems/{reason}")
    assert answer.status_code == 200
    assert answer.json()["type"] == f"/problems/{reason}"
    assert api_env.http.get("/problems/no-such-thing").status_code == 404


def test_an_answer_holding_a_secret_is_never_kept_for_retries(api_env: ApiEnv) -> None:
    from sqlalchemy import text

    holder = api_env.account()
    key = {"Idempotency-Key": "sip-password-1"}
    first = api_env.request(holder, "POST", "/v1/softphone/password", headers=key)
    assert first.status_code in (200, 201), first.text
    assert first.headers["cache-control"] == "no-store"
    password = first.json()["password"]
    with api_env.services.engine.connect() as conn:
        kept = conn.execute(text("SELECT count(*) FROM idempotentrequest")).scalar_one()
    assert kept == 0  # the SIP password is not in the database, not even for a retry
    again = api_env.request(holder, "POST", "/v1/softphone/password", headers=key)
    assert "idempotent-replayed" not in again.headers
    assert again.json()["password"] != password


def test_a_quote_needs_no_verified_number_and_a_call_without_a_dialer_says_so_first(
    api_env: ApiEnv,
) -> None:
    holder = api_env.account(phone_number="+33612345678", phone_verified=False)
    fund(api_env.services.engine, holder.account_id, "10")
    quote = api_env.request(
        holder, "POST", "/v1/callbacks", json={"to": "+12125550123", "quote_only": True}
    )
    assert quote.status_code == 200 and quote.json()["quote"]["paid_in"] == "ETT"
    priced_from = api_env.request(
        holder,
        "POST",
        "/v1/callbacks",
        json={"to": "+12125550123", "from": "+442079460000", "quote_only": True},
    )
    assert priced_from.status_code == 200  # nobody is rung: any first leg can be priced
    placed = api_env.request(holder, "POST", "/v1/callbacks", json={"to": "+12125550123"})
    assert placed.status_code == 503
    assert placed.json()["type"] == "/problems/dialer-not-configured"
    assert placed.json()["title"] == "Calls are not configured on this server"
