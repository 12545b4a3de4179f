"""Monthly plans over the HTTP API on the real services (SQLite and PostgreSQL): the
catalogue with its WAVES prices, subscribing (payments scope, charged once also when a
request is retried with its Idempotency-Key), the plan and its usage, switching,
cancelling, and refusals as problem documents in the caller's language."""

from __future__ import annotations

from datetime import datetime

from bot.assistant.i18n import t
from storage.plans import PlanStore
from tests.conftest_api import ApiEnv
from tests.wallet_helpers import available, fund

ETT = 10**8


def test_the_catalogue_lists_prices_in_ett_and_waves_and_the_groups(api_env: ApiEnv):
    reader = api_env.account(scopes=("read",))
    answer = api_env.request(reader, "GET", "/v1/plans")
    assert answer.status_code == 200
    body = answer.json()
    business = next(p for p in body["plans"] if p["name"] == "Business")
    assert business["price"] == {"units": 20 * ETT, "asset": "ETT"}
    # 20 ETT at 100 ETT a WAVES plus the 25 % surcharge
    assert business["price_waves"] == {"units": 25_000_000, "asset": "WAVES"}
    assert business["minutes"]["france"] == 1000
    assert (business["dids"], business["ivr"], business["voicemail"]) == (1, True, True)
    assert "33" in body["groups"]["france"] and "79" in body["groups"]["russia"]


def test_subscribe_see_usage_switch_and_cancel(api_env: ApiEnv):
    holder = api_env.account()
    fund(api_env.services.engine, holder.account_id, "30")
    assert api_env.request(holder, "GET", "/v1/plan").json()["plan"] is None
    headers = {"Idempotency-Key": "sub-1"}
    made = api_env.request(holder, "POST", "/v1/plan", json={"plan": "business"}, headers=headers)
    assert made.status_code == 201, made.text
    assert made.json()["charged"] == {"units": 20 * ETT, "asset": "ETT"}
    # the same request retried: the first answer again, nothing charged twice
    again = api_env.request(holder, "POST", "/v1/plan", json={"plan": "business"}, headers=headers)
    assert (again.status_code, again.json()) == (201, made.json())
    assert available(api_env.services.engine, holder.account_id) == 10 * ETT

    current = api_env.request(holder, "GET", "/v1/plan").json()
    assert (current["plan"], current["state"], current["renews"]) == ("Business", "active", True)
    france = next(u for u in current["usage"] if u["group"] == "france")
    assert france == {
        "group": "france",
        "included_seconds": 60_000,
        "used_seconds": 0,
        "left_seconds": 60_000,
    }
    period_end = datetime.fromisoformat(current["period_end"])

    switched = api_env.request(holder, "POST", "/v1/plan", json={"plan": "Starter"})
    assert switched.status_code == 200
    assert switched.json()["action"] == "switched"
    assert datetime.fromisoformat(switched.json()["starts"]) == period_end
    assert api_env.request(holder, "GET", "/v1/plan").json()["next_plan"] == "Starter"

    cancelled = api_env.request(holder, "DELETE", "/v1/plan")
    assert cancelled.status_code == 200
    assert datetime.fromisoformat(cancelled.json()["ends"]) == period_end
    after = api_env.request(holder, "GET", "/v1/plan").json()
    assert (after["state"], after["renews"], after["next_plan"]) == ("cancelled", False, None)
    assert available(api_env.services.engine, holder.account_id) == 10 * ETT


def test_refusals_are_problems_in_the_callers_language(api_env: ApiEnv):
    holder = api_env.account()
    fund(api_env.services.engine, holder.account_id, "1")
    fr = {"Accept-Language": "fr"}
    unknown = api_env.request(holder, "POST", "/v1/plan", json={"plan": "Gold"}, headers=fr)
    assert unknown.status_code == 404
    assert unknown.json()["type"] == "/problems/plans-unknown"
    assert unknown.json()["detail"] == t(
        "fr", "plans_unknown", name="Gold", names="Starter, Business, Enterprise"
    )
    poor = api_env.request(holder, "POST", "/v1/plan", json={"plan": "Starter"}, headers=fr)
    assert (poor.status_code, poor.json()["type"]) == (402, "/problems/plans-no-funds")
    assert poor.json()["detail"].startswith("Votre solde ne couvre pas Starter")
    none = api_env.request(holder, "DELETE", "/v1/plan", headers={"Accept-Language": "ru"})
    assert (none.status_code, none.json()["detail"]) == (404, t("ru", "plans_api_none"))
    assert PlanStore(api_env.services.engine).subscription(holder.account_id) is None
    assert available(api_env.services.engine, holder.account_id) == ETT


def test_subscribing_needs_the_payments_scope(api_env: ApiEnv):
    reader = api_env.account(scopes=("read", "calls"))
    fund(api_env.services.engine, reader.account_id, "30")
    for method, body in (("POST", {"plan": "Starter"}), ("DELETE", None)):
        answer = api_env.request(reader, method, "/v1/plan", json=body)
        assert answer.status_code == 403
    assert available(api_env.services.engine, reader.account_id) == 30 * ETT
