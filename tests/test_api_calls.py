"""GET /v1/calls: the account's call records a page at a time (cursor, since/until), as
JSON or CSV; another account's call is a 404."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta, timezone

from storage.models import CallRecord
from tests.api_pages import all_pages
from tests.conftest_api import ApiEnv

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def add_call(env: ApiEnv, account_id: int, call_id: str, minutes: int, **fields) -> None:
    env.services.calls.create(
        CallRecord(
            id=call_id,
            account_id=account_id,
            a_number="+33612345678",
            b_number="+12125550123",
            state=fields.pop("state", "ended"),
            created_at=T0 + timedelta(minutes=minutes),
            cost=fields.pop("cost", 1500),
            cost_asset="ETT",
            **fields,
        )
    )


def five_calls(env: ApiEnv) -> tuple[int, list[str]]:
    """An account with 5 calls (two at the same moment), newest first; other calls that
    are not listed: another account's, a scheduled one, a verification call."""
    holder_id = env.account().account_id
    for call_id, minutes in (("c1", 0), ("c2", 1), ("c3", 2), ("c4", 2), ("c5", 3)):
        add_call(env, holder_id, f"{holder_id}-{call_id}", minutes)
    add_call(env, holder_id, f"{holder_id}-sched", 4, state="scheduled")
    add_call(env, holder_id, f"{holder_id}-verify", 4, kind="verification")
    other = env.account().account_id
    add_call(env, other, f"{other}-c1", 1)
    newest_first = [f"{holder_id}-{c}" for c in ("c5", "c4", "c3", "c2", "c1")]
    return holder_id, newest_first


def test_calls_come_newest_first_in_pages_without_duplicates(api_env: ApiEnv) -> None:
    account_id, expected = five_calls(api_env)
    holder = api_env.key(account_id, ("read",))
    pages = all_pages(api_env, holder, "/v1/calls", limit=2)
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [call["id"] for page in pages for call in page] == expected
    first = pages[0][0]
    assert first["cost"] == {"units": 1500, "asset": "ETT"}
    assert first["from"] == "+33612345678" and first["to"] == "+12125550123"
    everything = api_env.request(holder, "GET", "/v1/calls").json()
    assert [c["id"] for c in everything["data"]] == expected
    assert everything["next_cursor"] is None


def test_since_and_until_filter_by_creation_time(api_env: ApiEnv) -> None:
    account_id, expected = five_calls(api_env)
    holder = api_env.key(account_id, ("read",))
    since = (T0 + timedelta(minutes=1)).isoformat()
    until = (T0 + timedelta(minutes=3)).isoformat()
    pages = all_pages(api_env, holder, "/v1/calls", limit=2, since=since, until=until)
    assert [c["id"] for page in pages for c in page] == expected[1:4]
    # A time with another offset is the same instant.
    paris = (T0 + timedelta(minutes=3)).astimezone(timezone(timedelta(hours=2))).isoformat()
    later = api_env.request(holder, "GET", "/v1/calls", params={"since": paris}).json()
    assert [c["id"] for c in later["data"]] == expected[:1]


def test_a_cursor_that_is_not_ours_is_a_422_problem(api_env: ApiEnv) -> None:
    holder = api_env.account(scopes=("read",))
    for cursor in ("not-a-cursor", "Zm9v", "%%%"):
        answer = api_env.request(holder, "GET", "/v1/calls", params={"cursor": cursor})
        assert answer.status_code == 422, cursor
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["type"] == "/problems/bad-cursor"
    for limit in (0, 201):
        assert api_env.request(holder, "GET", f"/v1/calls?limit={limit}").status_code == 422


def test_csv_parses_and_holds_what_the_json_holds(api_env: ApiEnv) -> None:
    account_id, expected = five_calls(api_env)
    holder = api_env.key(account_id, ("read",))
    json_page = api_env.request(holder, "GET", "/v1/calls", params={"limit": 3}).json()
    by_query = api_env.request(holder, "GET", "/v1/calls", params={"limit": 3, "format": "csv"})
    by_accept = api_env.request(
        holder, "GET", "/v1/calls", params={"limit": 3}, headers={"Accept": "text/csv"}
    )
    for answer in (by_query, by_accept):
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(answer.text)))
        assert [row["id"] for row in rows] == expected[:3]
        for row, call in zip(rows, json_page["data"], strict=True):
            assert row["from"] == call["from"] and row["to"] == call["to"]
            assert row["state"] == call["state"] and row["kind"] == call["kind"]
            assert int(row["cost_units"]) == call["cost"]["units"]
            assert row["cost_asset"] == call["cost"]["asset"]
            assert datetime.fromisoformat(row["created_at"]) == datetime.fromisoformat(
                call["created_at"].replace("Z", "+00:00")
            )
            assert float(row["duration_seconds"]) == call["duration_seconds"]
            assert row["anonymous"] == ("true" if call["anonymous"] else "false")
        link = answer.headers["link"]
        assert link.endswith('>; rel="next"') and "cursor=" in link
    rest = api_env.request(holder, "GET", by_query.headers["link"][1:].split(">")[0])
    assert [row["id"] for row in csv.DictReader(io.StringIO(rest.text))] == expected[3:]
    assert "link" not in rest.headers


def test_one_call_is_readable_only_by_its_account(api_env: ApiEnv) -> None:
    account_id, expected = five_calls(api_env)
    holder = api_env.key(account_id, ("read",))
    own = api_env.request(holder, "GET", f"/v1/calls/{expected[0]}")
    assert own.status_code == 200 and own.json()["id"] == expected[0]
    stranger = api_env.account()
    answer = api_env.request(stranger, "GET", f"/v1/calls/{expected[0]}")
    assert answer.status_code == 404
    assert answer.json()["type"] == "/problems/not-found"
    assert api_env.request(stranger, "GET", "/v1/calls").json()["data"] == []
    too_long = api_env.request(holder, "GET", "/v1/calls/" + "x" * 33)
    assert too_long.status_code == 422
