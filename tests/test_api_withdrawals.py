"""POST /v1/withdrawals on the Waves node emulator: the chat's checks, and a retry with the
same Idempotency-Key never sends twice (even once the kept answer is forgotten)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from storage.idempotency import IdempotencyStore
from storage.ledger_store import account_book
from testbed.waves_node import random_seed
from tests.conftest_api import ApiEnv, Holder
from tests.conftest_waves import WavesChain
from wallet.deposits import DepositWatcher
from wallet.memo import memo_for

ETT = 10**8


@pytest.fixture
def waves_env(db_url: str, waves_chain: WavesChain) -> Iterator[ApiEnv]:
    env = ApiEnv(db_url, **waves_chain.settings_overrides())
    yield env
    env.close()


def funded(env: ApiEnv, chain: WavesChain, scopes=("read", "payments")) -> Holder:
    """An account holding 10 ETT deposited on chain; the service holding WAVES for fees."""
    holder = env.account(scopes=scopes)
    chain.send_deposit(memo_for(holder.account_id), 10 * ETT)
    chain.send_deposit("fees", ETT, asset=None)
    watcher = env.services.deposits
    assert isinstance(watcher, DepositWatcher)
    watcher.poll_once()
    return holder


def available(env: ApiEnv, holder: Holder) -> int:
    return env.services.ledger.balance(account_book(holder.account_id), "ETT").available


def test_a_withdrawal_retried_with_its_key_is_sent_once(
    waves_env: ApiEnv, waves_chain: WavesChain
) -> None:
    holder = funded(waves_env, waves_chain)
    address = waves_chain.address_of(random_seed())
    body = {"amount": {"units": 3 * ETT, "asset": "ETT"}, "address": address}
    headers = {"Idempotency-Key": "payout-42"}
    first = waves_env.request(holder, "POST", "/v1/withdrawals", json=body, headers=headers)
    assert first.status_code == 201, first.text
    sent = first.json()
    assert sent["state"] == "sent" and sent["tx_id"]
    assert sent["amount"] == {"units": 3 * ETT, "asset": "ETT"}
    assert first.headers["location"] == f"/v1/withdrawals/{sent['id']}"
    again = waves_env.request(holder, "POST", "/v1/withdrawals", json=body, headers=headers)
    assert again.status_code == 201 and again.json() == sent
    assert again.headers["idempotent-replayed"] == "true"
    # The kept answer forgotten (as after IDEMPOTENCY_HOURS): the withdrawal's own key
    # still finds the first one.
    IdempotencyStore(waves_env.services.engine).forget_older_than(0)
    late = waves_env.request(holder, "POST", "/v1/withdrawals", json=body, headers=headers)
    assert late.status_code == 201 and late.json()["id"] == sent["id"]
    assert late.json()["tx_id"] == sent["tx_id"]
    assert waves_chain.node.balance(address, waves_chain.ett_asset_id) == 3 * ETT
    assert available(waves_env, holder) == 7 * ETT
    listed = waves_env.request(holder, "GET", "/v1/withdrawals").json()["data"]
    assert [w["id"] for w in listed] == [sent["id"]]
    one = waves_env.request(holder, "GET", f"/v1/withdrawals/{sent['id']}")
    assert one.json() == sent
    stranger = waves_env.account()
    assert waves_env.request(stranger, "GET", f"/v1/withdrawals/{sent['id']}").status_code == 404
    assert waves_env.request(stranger, "GET", "/v1/withdrawals").json()["data"] == []


def test_withdrawals_are_refused_for_the_chats_reasons(
    waves_env: ApiEnv, waves_chain: WavesChain
) -> None:
    holder = funded(waves_env, waves_chain)
    address = waves_chain.address_of(random_seed())

    def post(units: int, to: str, holder: Holder = holder) -> dict:
        body = {"amount": {"units": units, "asset": "ETT"}, "address": to}
        answer = waves_env.request(holder, "POST", "/v1/withdrawals", json=body)
        assert answer.headers["content-type"] == "application/problem+json", answer.text
        return {"status": answer.status_code, **answer.json()}

    bad = post(ETT, "3PnotAnAddress")
    assert (bad["status"], bad["type"]) == (422, "/problems/withdraw-bad-address")
    poor = post(11 * ETT, address)
    assert (poor["status"], poor["type"]) == (402, "/problems/withdraw-insufficient")
    assert "10" in poor["detail"]
    zero = post(0, address)
    assert (zero["status"], zero["type"]) == (422, "/problems/amount-invalid")
    reader = waves_env.key(holder.account_id, ("read",))
    scoped = post(ETT, address, reader)
    assert (scoped["status"], scoped["type"]) == (403, "/problems/forbidden-scope")
    assert available(waves_env, holder) == 10 * ETT
    assert waves_chain.node.balance(address, waves_chain.ett_asset_id) == 0


def test_deposit_gives_the_service_address_and_the_accounts_memo(
    waves_env: ApiEnv, waves_chain: WavesChain
) -> None:
    holder = waves_env.account(scopes=("read",))
    for asset in ("ETT", "WAVES"):
        answer = waves_env.request(
            holder, "GET", "/v1/deposit", params={"asset": asset, "amount": 5 * ETT}
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["address"] == waves_chain.service_address
        assert body["memo"] == memo_for(holder.account_id)
        assert body["asset"] == asset and body["link"]
        assert body["asset_id"] == (waves_chain.ett_asset_id if asset == "ETT" else "WAVES")
