"""GET /v1/balance, /v1/ledger and /v1/deposit without Waves: the account's own books only."""

from __future__ import annotations

from domain.books import REVENUE, TransferKind
from storage.ledger_store import account_book
from tests.api_pages import all_pages
from tests.conftest_api import ApiEnv
from tests.wallet_helpers import fund

ETT = 10**8


def test_balance_shows_available_held_and_total_per_asset(api_env: ApiEnv) -> None:
    holder = api_env.account(scopes=("read",))
    fund(api_env.services.engine, holder.account_id, "10")
    fund(api_env.services.engine, holder.account_id, "2", "WAVES")
    api_env.services.ledger.place_hold(
        key="hold-1", book=account_book(holder.account_id), asset="ETT", amount=3 * ETT
    )
    stranger = api_env.account()
    body = api_env.request(holder, "GET", "/v1/balance").json()
    assert body["ETT"] == {
        "available": {"units": 7 * ETT, "asset": "ETT"},
        "held": {"units": 3 * ETT, "asset": "ETT"},
        "total": {"units": 10 * ETT, "asset": "ETT"},
    }
    assert body["WAVES"]["available"] == {"units": 2 * ETT, "asset": "WAVES"}
    nothing = api_env.request(stranger, "GET", "/v1/balance").json()
    assert nothing["ETT"]["total"]["units"] == 0 and nothing["WAVES"]["total"]["units"] == 0
    assert api_env.request(None, "GET", "/v1/balance").status_code == 401


def test_ledger_pages_signed_movements_newest_first(api_env: ApiEnv) -> None:
    holder = api_env.account(scopes=("read",))
    engine = api_env.services.engine
    for amount in ("1", "2", "3", "4"):
        fund(engine, holder.account_id, amount)
    api_env.services.ledger.transfer(
        key="charge-1",
        kind=TransferKind.CALL,
        asset="ETT",
        amount=ETT // 2,
        debit=account_book(holder.account_id),
        credit=REVENUE,
        reason="call to +12125550123",
        ref="call-1",
    )
    fund(engine, api_env.account().account_id, "9")  # another account's
    pages = all_pages(api_env, holder, "/v1/ledger", limit=2)
    assert [len(page) for page in pages] == [2, 2, 1]
    lines = [line for page in pages for line in page]
    assert len({line["id"] for line in lines}) == 5
    units = [line["amount"]["units"] for line in lines]
    assert units == [-ETT // 2, 4 * ETT, 3 * ETT, 2 * ETT, ETT]
    charge = lines[0]
    assert charge["kind"] == TransferKind.CALL.value and charge["reference"] == "call-1"
    assert charge["reason"] == "call to +12125550123"
    since = lines[2]["time"]
    recent = all_pages(api_env, holder, "/v1/ledger", limit=2, since=since)
    assert [line["id"] for page in recent for line in page] == [line["id"] for line in lines[:3]]
    older = all_pages(api_env, holder, "/v1/ledger", until=since)
    assert [line["id"] for page in older for line in page] == [line["id"] for line in lines[3:]]
    bad = api_env.request(holder, "GET", "/v1/ledger", params={"cursor": "bm9wZQ"})
    assert bad.status_code == 422


def test_deposit_and_withdrawal_without_waves_are_503(api_env: ApiEnv) -> None:
    holder = api_env.account()
    answer = api_env.request(holder, "GET", "/v1/deposit", params={"asset": "WAVES"})
    assert answer.status_code == 503
    assert answer.json()["type"] == "/problems/deposit-not-configured"
    body = {"amount": {"units": ETT, "asset": "ETT"}, "address": "3Pxyz"}
    sent = api_env.request(holder, "POST", "/v1/withdrawals", json=body)
    assert sent.status_code == 503
    assert sent.json()["type"] == "/problems/withdraw-not-configured"
    assert api_env.request(holder, "GET", "/v1/deposit?asset=BTC").status_code == 422
    assert api_env.request(holder, "GET", "/v1/withdrawals").json()["data"] == []
