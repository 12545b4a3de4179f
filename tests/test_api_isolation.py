"""Another account's key never reads or changes this account's data, on every endpoint.

Ann has one object of every kind the API names by id (a call, a withdrawal, a reminder, a
forwarding rule, a recording, a webhook, a verification) and money. Bob, with a key of
every scope, asks for each of them by id with every method the schema offers: each answer
is 404 (never 403: nothing says the object exists). Every list Bob reads holds nothing of
Ann's; what Bob creates is his. Afterwards Ann's objects and balance are as they were.
The operations come from the OpenAPI schema itself: a new endpoint without a case here
fails the test.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlmodel import SQLModel

from domain.books import account_book
from domain.clock import utcnow
from storage.db import transaction
from storage.forwarding import ForwardingStore
from storage.models import (
    CallRecord,
    Recording,
    Verification,
    WebhookEndpoint,
    Withdrawal,
)
from storage.plans import PlanStore
from storage.reminders import ReminderStore
from tests.conftest_api import ApiEnv
from tests.wallet_helpers import fund

ANN_PHONE, BOB_PHONE = "+33612345678", "+33698765432"
ANN_TEXT = "call the notary about the flat"
ANN_UNITS = 777_000_000  # 7.77 ETT
# Bodies for the operations that take one (by path): valid, so only ownership refuses.
BODIES = {
    "/v1/verify/{verification_id}/check": {"code": "123456"},
}
# Operations on the caller's own collection: what they read or make is the caller's alone
# (checked below: lists hold nothing of Ann's; Bob's creations change nothing of hers).
COLLECTION_POSTS = {
    "/v1/callbacks": {"to": "+442079460000", "quote_only": True},
    "/v1/withdrawals": None,  # needs Waves: answered 503 here, and Ann's balance unchanged
    "/v1/reminders": None,
    "/v1/forwarding": None,
    "/v1/softphone/password": {},
    "/v1/webhooks": {"url": "https://crm.example/hooks"},
    "/v1/verify": {"number": ANN_PHONE, "channel": "speak"},
    "/v1/plan": {"plan": "Starter"},  # (POST subscribes Bob; DELETE, asked so, cancels his)
}


def _anns_objects(env: ApiEnv, ann: int) -> dict[str, str]:
    """One object of Ann's of every kind named in a path, by the path parameter's name."""
    engine = env.services.engine
    call_id = f"{ann}-annscall"
    env.services.calls.create(
        CallRecord(
            id=call_id,
            account_id=ann,
            a_number=ANN_PHONE,
            b_number="+442079460000",
            state="bridged",
            cost=0,
        )
    )
    reminder = ReminderStore(engine).add(ann, utcnow() + timedelta(days=1), "message", ANN_TEXT)
    rule = ForwardingStore(engine).set_rule(ann, "+442079460123")
    with transaction(engine) as session:
        withdrawal = Withdrawal(
            idempotency_key="ann-w-1",
            account_id=ann,
            asset="ETT",
            amount=10**8,
            address="3PAnnsAddressxxxxxxxxxxxxxxxxxxxxxx",
            state="sent",
        )
        session.add(withdrawal)
        session.add(
            Recording(id="a0cafe01", account_id=ann, call_id=call_id, file_name="a0cafe01.ett-rec")
        )
        session.add(
            WebhookEndpoint(id="we_ann01", account_id=ann, url="https://ann.example/h", secret="s")
        )
        session.add(
            Verification(
                id=f"{ann}-annsverify",
                account_id=ann,
                number=ANN_PHONE,
                channel="speak",
                code_hash="0" * 64,
                expires_at=utcnow() + timedelta(minutes=10),
            )
        )
        session.flush()
        withdrawal_id = str(withdrawal.id)
    return {
        "call_id": call_id,
        "withdrawal_id": withdrawal_id,
        "reminder_id": str(reminder.id),
        "rule_id": str(rule.id),
        "recording_id": "a0cafe01",
        "webhook_id": "we_ann01",
        "verification_id": f"{ann}-annsverify",
    }


def _anns_plan(env: ApiEnv, ann: int) -> None:
    """Ann's Enterprise plan (its period recorded without a charge: her balance stays)."""
    plans = PlanStore(env.services.engine)
    start = utcnow() - timedelta(days=1)
    end = start + timedelta(days=30)
    plans.claim_start(ann, "Enterprise", start, end, start.day)
    plans.record_period(
        ann, "Enterprise", start, end, price=1, asset="ETT", amount=1, transfer_key="t",
        included={"france": 60},
    )  # fmt: skip
    plans.activate(ann, start, "Enterprise", start, end)


def _snapshot(env: ApiEnv, ann: int) -> dict[str, list]:
    """Every row of every table that names Ann, as it is."""
    rows: dict[str, list] = {}
    with env.services.engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            if "account_id" in table.columns and table.name not in {"apikey"}:
                query = select(table).where(table.c.account_id == ann)
                rows[table.name] = sorted(map(repr, conn.execute(query).all()))
    return rows


def test_another_accounts_key_never_reads_or_changes_this_accounts_data(api_env: ApiEnv) -> None:
    ann = api_env.account(phone_number=ANN_PHONE, phone_verified=True)
    bob = api_env.account(phone_number=BOB_PHONE, phone_verified=True)
    fund(api_env.services.engine, ann.account_id, "7.77")
    fund(api_env.services.engine, bob.account_id, "10")
    objects = _anns_objects(api_env, ann.account_id)
    _anns_plan(api_env, ann.account_id)
    before = _snapshot(api_env, ann.account_id)
    anns_balance = api_env.services.ledger.balance(account_book(ann.account_id), "ETT")

    paths = api_env.app.openapi()["paths"]
    covered = 0
    for path, operations in paths.items():
        if not path.startswith("/v1/"):
            continue
        params = re.findall(r"{(\w+)}", path)
        for method in operations:
            if params:
                unknown = set(params) - set(objects)
                assert not unknown, f"{method.upper()} {path}: add Ann's object for {unknown}"
                url = path.format(**{name: objects[name] for name in params})
                answer = api_env.request(bob, method.upper(), url, json=BODIES.get(path))
                assert answer.status_code == 404, f"{method.upper()} {url}: {answer.text}"
                assert answer.json()["type"] == "/problems/not-found"
            elif method == "get":
                answer = api_env.request(bob, "GET", path)
                assert answer.status_code in (200, 503), f"GET {path}: {answer.text}"
                for name, value in objects.items():
                    named = rf'"(?:\w+_)?id"\s*:\s*"?{re.escape(value)}"?\s*[,}}]'
                    assert not re.search(named, answer.text), f"GET {path} shows Ann's {name}"
                assert ANN_PHONE not in answer.text and ANN_TEXT not in answer.text
                assert str(ANN_UNITS) not in answer.text  # her balance
                assert "Enterprise" not in answer.text or path == "/v1/plans"  # her plan
            else:
                assert path in COLLECTION_POSTS, f"{method.upper()} {path}: add a case here"
                body = COLLECTION_POSTS[path]
                if body is not None:
                    answer = api_env.request(bob, "POST", path, json=body)
                    assert answer.status_code < 500 or answer.status_code == 503, answer.text
            covered += 1
    assert covered >= 25

    # (That Bob's callbacks cannot ring Ann's phone as their first leg is checked with a
    # running dialer, in test_api_crm.)
    assert _snapshot(api_env, ann.account_id) == before
    after = api_env.services.ledger.balance(account_book(ann.account_id), "ETT")
    assert (after.amount, after.held) == (anns_balance.amount, anns_balance.held)


@pytest.mark.parametrize("scopes", [("read",), ("calls",), ("payments",)])
def test_each_scope_opens_only_its_own_operations(api_env: ApiEnv, scopes) -> None:
    holder = api_env.account(scopes=scopes, phone_number=ANN_PHONE, phone_verified=True)
    reads = api_env.request(holder, "GET", "/v1/calls")
    places = api_env.request(
        holder, "POST", "/v1/callbacks", json={"to": "+442079460000", "quote_only": True}
    )
    pays = api_env.request(
        holder,
        "POST",
        "/v1/withdrawals",
        json={"amount": {"units": 10**8, "asset": "ETT"}, "address": "3P" + "x" * 33},
    )
    assert (reads.status_code == 403) == ("read" not in scopes)
    assert (places.status_code == 403) == ("calls" not in scopes)
    assert (pays.status_code == 403) == ("payments" not in scopes)
