"""POST /v1/verify and its check on both databases, with a real dialer that is not
started (its calls fail at once: the call itself is tested in test_api_verify_call.py).

What is checked: validation, the toll-fraud rules, the charge in the ledger, 402, the
hourly limits per number and per key (429 + Retry-After), the checks (countdown, failure
after the last, expiry, one approval), idempotency, and that another account's key sees
nothing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from api import verify
from api.app import create_app
from dialer import Dialer, SipConfig
from domain.books import REVENUE, account_book
from domain.clock import utcnow
from domain.money import to_units
from storage.db import transaction
from storage.models import Verification
from storage.verifications import Limits, VerificationStore
from testbed.prosody_lab import close_loop
from tests.conftest_api import ApiEnv, Holder
from tests.wallet_helpers import fund

PROBLEM = "application/problem+json"
NUMBER = "+33612345678"
OTHER_NUMBER = "+33612345679"
PREMIUM = "+19005550123"
UNREACHABLE = SipConfig(server="127.0.0.1", user="dialer", password="unused")


class VerifyEnv(ApiEnv):
    """The API with a dialer that is never started and a service loop in a thread."""

    def __init__(self, db_url: str, **overrides: Any) -> None:
        super().__init__(db_url, **overrides)
        self.http.close()
        self.services = dataclasses.replace(self.services, dialer=Dialer(UNREACHABLE))
        self.app = create_app(self.services)
        self.http = TestClient(self.app, raise_server_exceptions=False)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.services.background.attach(self.loop)
        self.store = VerificationStore(self.services.engine)

    def funded(self, amount: str = "10", **fields: Any) -> Holder:
        holder = self.account(**fields)
        fund(self.services.engine, holder.account_id, amount)
        return holder

    def start(self, holder: Holder, number: str = NUMBER, headers: dict | None = None, **body: Any):
        return self.request(
            holder, "POST", "/v1/verify", json={"number": number, **body}, headers=headers
        )

    def balance(self, account_id: int) -> int:
        return self.services.ledger.balance(account_book(account_id), "ETT").available

    def insert(
        self, holder: Holder, code: str, *, channel: str = "speak", ago: float = 0
    ) -> Verification:
        """A verification of `holder` with a known code, started `ago` seconds ago."""
        now = utcnow() - timedelta(seconds=ago)
        ver_id = verify.verification_id(holder.account_id, None)
        record = Verification(
            id=ver_id,
            account_id=holder.account_id,
            key_id=holder.key_id,
            number=NUMBER,
            channel=channel,
            language="en",
            code_hash=verify.code_hash(ver_id, code),
            cost=0,
            expires_at=now + timedelta(seconds=self.services.settings.VERIFY_TTL_SECONDS),
        )
        return self.store.create(record, Limits(1000, 1000), now)

    def check(self, holder: Holder, ver_id: str, code: str):
        return self.request(holder, "POST", f"/v1/verify/{ver_id}/check", json={"code": code})

    def rows(self) -> list[Verification]:
        with transaction(self.services.engine) as session:
            return list(session.exec(select(Verification)))

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.services.background.wait(20), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        close_loop(self.loop)
        super().close()


@pytest.fixture
def make_env(db_url: str) -> Iterator[Callable[..., VerifyEnv]]:
    made: list[VerifyEnv] = []

    def make(**overrides: Any) -> VerifyEnv:
        made.append(VerifyEnv(db_url, **overrides))
        return made[-1]

    yield make
    for one in made:
        one.close()


@pytest.fixture
def env(make_env: Callable[..., VerifyEnv]) -> VerifyEnv:
    return make_env()


def _problem(answer, status: int, slug: str) -> dict:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM
    problem = answer.json()
    assert problem["type"] == f"/problems/{slug}"
    return problem


# --- starting a verification ------------------------------------------------------------


def test_a_bad_request_names_each_field(env: VerifyEnv) -> None:
    holder = env.funded()
    body = {"number": "0612345678", "length": 3, "channel": "sms", "language": "de"}
    problem = _problem(env.request(holder, "POST", "/v1/verify", json=body), 422, "validation")
    pointers = {error["pointer"] for error in problem["errors"]}
    assert pointers == {"/body/number", "/body/length", "/body/channel", "/body/language"}
    too_long = env.start(holder, length=11)
    assert {e["pointer"] for e in too_long.json()["errors"]} == {"/body/length"}
    extra = env.start(holder, sms=True)
    assert extra.status_code == 422
    assert env.rows() == []


def test_a_premium_number_is_refused_and_nothing_is_charged(env: VerifyEnv) -> None:
    holder = env.funded()
    before = env.balance(holder.account_id)
    _problem(env.start(holder, PREMIUM), 403, "refused-premium-rate")
    assert env.balance(holder.account_id) == before
    assert env.rows() == []


def test_a_verification_is_charged_its_price_once(env: VerifyEnv) -> None:
    holder = env.funded("10", language="fr")
    before = env.balance(holder.account_id)
    revenue = env.services.ledger.balance(REVENUE, "ETT").available
    answer = env.start(holder, headers={"Idempotency-Key": "v-1"})
    assert answer.status_code == 201, answer.text
    made = answer.json()
    price = to_units(env.services.settings.VERIFY_PRICE_ETT, "ETT")
    assert price > 0
    assert made["cost"] == {"units": price, "asset": "ETT"}
    assert (made["number"], made["channel"], made["language"]) == (NUMBER, "speak", "fr")
    assert made["code"] is None  # spoken: only the phone hears it
    assert answer.headers["location"] == f"/v1/verify/{made['id']}"
    assert env.balance(holder.account_id) == before - price
    assert env.services.ledger.balance(REVENUE, "ETT").available == revenue + price
    transfer = env.services.ledger.transfer_by_key(f"verify:{made['id']}")
    assert transfer is not None and transfer["amount"] == price and transfer["kind"] == "call"

    again = env.start(holder, headers={"Idempotency-Key": "v-1"})
    assert again.json()["id"] == made["id"]
    assert env.balance(holder.account_id) == before - price
    [row] = env.rows()
    assert row.expires_at - row.created_at == timedelta(seconds=600)


def test_a_racing_retry_with_the_same_key_starts_nothing_more(env: VerifyEnv) -> None:
    holder = env.funded()
    account = env.services.accounts.get(holder.account_id)
    assert account is not None
    arguments = dict(
        number=NUMBER, language="en", length=6, channel="keypad", idempotency_key="k", lang="en"
    )
    first = verify.start(env.services, account, holder.key_id, now=utcnow(), **arguments)
    second = verify.start(env.services, account, holder.key_id, now=utcnow(), **arguments)
    assert first.created and not second.created
    assert first.verification.id == second.verification.id
    assert first.code is not None and second.code is None
    price = to_units(env.services.settings.VERIFY_PRICE_ETT, "ETT")
    assert env.balance(holder.account_id) == to_units("10", "ETT") - price


def test_keypad_answers_the_code_and_stores_only_its_hmac(env: VerifyEnv) -> None:
    holder = env.funded()
    answer = env.start(holder, channel="keypad", length=8)
    assert answer.status_code == 201, answer.text
    code = answer.json()["code"]
    assert len(code) == 8 and code.isdigit()
    [row] = env.rows()
    assert code not in row.code_hash
    assert row.code_hash == verify.code_hash(row.id, code)
    assert row.code_hash != verify.code_hash(row.id, str((int(code) + 1) % 10**8).zfill(8))


def test_without_balance_the_answer_is_402(env: VerifyEnv) -> None:
    poor = env.account()
    problem = _problem(env.start(poor), 402, "refused-insufficient-funds")
    assert "balance" in problem["detail"]
    assert env.rows() == []


def test_without_a_dialer_the_answer_is_503(api_env: ApiEnv) -> None:
    holder = api_env.account()
    fund(api_env.services.engine, holder.account_id, "10")
    answer = api_env.request(holder, "POST", "/v1/verify", json={"number": NUMBER})
    _problem(answer, 503, "dialer-not-configured")


def test_a_number_gets_only_so_many_codes_an_hour_from_all_accounts(make_env) -> None:
    env = make_env(VERIFY_NUMBER_HOURLY=2)
    first, second = env.funded(), env.funded()
    assert env.start(first).status_code == 201
    assert env.start(second).status_code == 201
    before = env.balance(second.account_id)
    problem = _problem(env.start(second), 429, "rate-limited")
    assert 1 <= int(env.start(first).headers["retry-after"]) <= 3600
    assert problem["retry_after"] >= 1
    assert env.balance(second.account_id) == before  # a refused one is not charged
    assert env.start(second, OTHER_NUMBER).status_code == 201


def test_a_key_starts_only_so_many_verifications_an_hour(make_env) -> None:
    env = make_env(VERIFY_KEY_HOURLY=2)
    holder = env.funded()
    for number in (NUMBER, OTHER_NUMBER):
        assert env.start(holder, number).status_code == 201
    answer = env.start(holder, "+33612345670")
    _problem(answer, 429, "rate-limited")
    assert 3500 <= int(answer.headers["retry-after"]) <= 3601
    other_key = env.key(holder.account_id)
    assert env.start(other_key, "+33612345670").status_code == 201


# --- checking the code -------------------------------------------------------------------


def test_wrong_codes_count_down_and_the_last_one_fails(env: VerifyEnv) -> None:
    holder = env.account()
    made = env.insert(holder, "123456")
    for left in (4, 3, 2, 1):
        answer = env.check(holder, made.id, "654321")
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"state": "pending", "checks_left": left}
    assert env.check(holder, made.id, "000000").json() == {"state": "failed", "checks_left": 0}
    # The sixth check, even with the right code, finds it failed.
    assert env.check(holder, made.id, "123456").json() == {"state": "failed", "checks_left": 0}
    got = env.request(holder, "GET", f"/v1/verify/{made.id}").json()
    assert (got["state"], got["checks_left"]) == ("failed", 0)


def test_the_right_code_approves_once(env: VerifyEnv) -> None:
    holder = env.account()
    made = env.insert(holder, "482913")
    assert env.check(holder, made.id, "482910").json()["checks_left"] == 4
    assert env.check(holder, made.id, "482913").json() == {"state": "approved", "checks_left": 0}
    _problem(env.check(holder, made.id, "482913"), 422, "verification-already-approved")
    assert env.request(holder, "GET", f"/v1/verify/{made.id}").json()["state"] == "approved"


def test_a_code_expires_after_its_time(env: VerifyEnv) -> None:
    holder = env.account()
    ttl = env.services.settings.VERIFY_TTL_SECONDS
    made = env.insert(holder, "111222", ago=ttl + 1)
    assert env.request(holder, "GET", f"/v1/verify/{made.id}").json()["state"] == "expired"
    assert env.check(holder, made.id, "111222").json() == {"state": "expired", "checks_left": 0}
    store = env.store.get(made.id)
    assert store is not None and (store.state, store.checks) == ("expired", 0)
    fresh = env.insert(holder, "111222", ago=ttl - 30)
    assert env.check(holder, fresh.id, "111222").json()["state"] == "approved"


def test_a_keypad_code_is_approved_by_the_call_not_by_a_check(env: VerifyEnv) -> None:
    holder = env.account()
    made = env.insert(holder, "5555", channel="keypad")
    assert env.check(holder, made.id, "5555").json() == {"state": "pending", "checks_left": 5}


def test_another_accounts_key_sees_nothing(env: VerifyEnv) -> None:
    holder, stranger = env.account(), env.account()
    made = env.insert(holder, "424242")
    for answer in (
        env.request(stranger, "GET", f"/v1/verify/{made.id}"),
        env.check(stranger, made.id, "424242"),
        env.request(stranger, "GET", "/v1/verify/nothing-here"),
    ):
        _problem(answer, 404, "not-found")
    found = env.store.get(made.id)
    assert found is not None and (found.state, found.checks) == ("pending", 0)


def test_the_unstarted_dialers_call_fails_the_verification(env: VerifyEnv) -> None:
    holder = env.funded()
    made = env.start(holder).json()
    asyncio.run_coroutine_threadsafe(env.services.background.wait(20), env.loop).result(30)
    got = env.request(holder, "GET", f"/v1/verify/{made['id']}").json()
    assert (got["state"], got["call_outcome"]) == ("failed", "failed")


def test_the_number_of_checks_follows_the_setting(make_env) -> None:
    env = make_env(VERIFY_MAX_CHECKS=2)
    holder = env.account()
    made = env.insert(holder, "123456")
    assert env.check(holder, made.id, "654321").json() == {"state": "pending", "checks_left": 1}
    assert env.check(holder, made.id, "654321").json() == {"state": "failed", "checks_left": 0}


def test_the_codes_hmac_is_keyed_by_the_services_secret(make_env) -> None:
    env = make_env(VERIFY_SECRET="operator-secret-1")
    assert verify.secret_of(env.services) == "operator-secret-1"
    keyed = verify.code_hash("1-abc", "123456", verify.secret_of(env.services))
    assert keyed != verify.code_hash("1-abc", "123456", "another-secret")
    assert keyed != verify.code_hash("1-abc", "123456")  # the per-process secret
    assert keyed == verify.code_hash("1-abc", "123456", "operator-secret-1")
