"""`admin report --month`: a month of real calls, charges, deposits, refunds and refusals
(made through the stores and billing) on SQLite and PostgreSQL, with calls and ledger
entries on both sides of the month's boundaries.

Time: the stores stamp ledger entries, refusals and settlements with the service's clock
(domain.clock.utcnow, imported by name in each module); `at_time` sets that clock to a
fixed instant for the data of one day, so that a November can be made on any day the
tests run. Call events carry their own times (CallStore.record_event(at=...)).
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

import domain.clock
from api.verify import _charge as verify_charge
from domain.books import DEPOSITS, REVENUE
from domain.calls import refused_cause
from domain.money import to_units
from ops.report import Destination, as_json, build, parse_month
from ops.report_cli import main
from storage.calls import CallStore
from storage.ledger_store import LedgerStore, account_book
from storage.models import CallRecord, Verification
from storage.retention import cut_calls
from tests.wallet_helpers import new_account, wallet_settings
from wallet.admin import main as admin_main
from wallet.billing import Billing
from wallet.fraud import CallRefused
from wallet.tariffs import Tariffs

ROOT = Path(__file__).resolve().parent.parent
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PARIS = "+33142685300"  # France, 0.03 ETT/min
LONDON = "+442079460958"  # United Kingdom, 0.03
FR_MOBILE = "+33612345678"  # France mobile, 0.08
MOSCOW_MOBILE = "+79161234567"  # Russia mobile, 0.15
NEW_YORK = "+12125550100"  # United States / Canada, 0.02
UNALLOCATED = "+999123456789"  # no country: refused as "premium_rate" (unknown type)
NOV = datetime(2026, 11, 1, tzinfo=UTC)
DEC = datetime(2026, 12, 1, tzinfo=UTC)


@contextmanager
def at_time(monkeypatch: pytest.MonkeyPatch, when: datetime) -> Iterator[None]:
    """The service's clock reads `when` (plus the real time elapsed) inside the block."""
    real = domain.clock.utcnow
    started = real()

    def clock() -> datetime:
        return when + (real() - started)

    with monkeypatch.context() as patch:
        for module in list(sys.modules.values()):
            name = getattr(module, "__name__", "")
            if name.startswith(("storage.", "wallet.")) and getattr(module, "utcnow", None) is real:
                patch.setattr(module, "utcnow", clock)
        yield


def deposit(engine, account_id: int, amount: str, asset: str = "ETT") -> int:
    units = to_units(amount, asset)
    LedgerStore(engine).transfer(
        key=f"deposit:test-{uuid.uuid4().hex}",
        kind="deposit",
        asset=asset,
        amount=units,
        debit=DEPOSITS,
        credit=account_book(account_id),
        reason="test deposit",
    )
    return units


def callback(
    engine,
    billing: Billing,
    account_id: int,
    a: str,
    b: str,
    placed: datetime,
    a_seconds: float | None,
    b_seconds: float | None,
    *,
    cause: str = "hangup_a",
) -> tuple[str, int]:
    """A callback placed at `placed`, authorised, its legs answered for the given
    seconds (leg b answered 10 s after leg a), ended and settled; (call id, charge)."""
    calls = CallStore(engine)
    call_id = uuid.uuid4().hex[:16]
    calls.create(CallRecord(id=call_id, account_id=account_id, a_number=a, b_number=b,
                            created_at=placed, updated_at=placed))  # fmt: skip
    billing.authorize(account_id, call_id, a, b)
    end = placed + timedelta(seconds=5 + (a_seconds or 0))
    if a_seconds is not None:
        calls.record_event(call_id, "answered", leg="a", at=placed + timedelta(seconds=5))
        calls.record_event(call_id, "ended", leg="a", at=end)
    if b_seconds is not None:
        calls.record_event(call_id, "answered", leg="b", at=end - timedelta(seconds=b_seconds))
        calls.record_event(call_id, "ended", leg="b", at=end)
    calls.record_event(call_id, "ended", cause=cause, at=end)
    return call_id, billing.settle(call_id)


def exchange_call(
    engine, kind: str, account_id: int, a: str, b: str, placed: datetime, seconds: float
) -> None:
    """A call the exchange relays (internal, inbound), opened at the clock's time (call
    it inside `at_time(placed)`): leg b answered for `seconds`."""
    calls = CallStore(engine)
    call_id = uuid.uuid4().hex[:16]
    assert calls.open_call(call_id, kind, account_id, a, b)
    answered = placed + timedelta(seconds=3)
    calls.record_event(call_id, "answered", leg="b", at=answered)
    calls.record_event(call_id, "ended", leg="b", at=answered + timedelta(seconds=seconds))
    calls.record_event(call_id, "ended", cause="hangup_a", at=answered + timedelta(seconds=seconds))


def refused(engine, billing: Billing, account_id: int, a: str, b: str, placed: datetime) -> str:
    """A call the wallet refuses before dialling, as the chat's runner ends it."""
    calls = CallStore(engine)
    call_id = uuid.uuid4().hex[:16]
    calls.create(CallRecord(id=call_id, account_id=account_id, a_number=a, b_number=b,
                            created_at=placed, updated_at=placed))  # fmt: skip
    with pytest.raises(CallRefused) as refusal:
        billing.authorize(account_id, call_id, a, b)
    calls.record_event(call_id, "ended", cause=refused_cause(refusal.value.rule), at=placed)
    return refusal.value.rule


@pytest.fixture
def november(db_url, engine, monkeypatch):
    """A month of traffic around November 2026, with the figures it must report."""
    billing = Billing.from_settings(engine, wallet_settings())
    tariffs = Tariffs.load()
    ann, wes, poor = new_account(engine), new_account(engine), new_account(engine)
    old, late = new_account(engine), new_account(engine)
    minute = tariffs.min_seconds

    def day(month: int, d: int, h: int = 12, m: int = 0, s: int = 0) -> datetime:
        return datetime(2026, month, d, h, m, s, tzinfo=UTC)

    # October: all of it, even a minute before midnight, stays out of November.
    with at_time(monkeypatch, day(10, 20)):
        deposit(engine, ann, "10")
        deposit(engine, old, "1")
    with at_time(monkeypatch, day(10, 31, 23, 59)):
        callback(engine, billing, ann, PARIS, LONDON, day(10, 31, 23, 59), 90, 80)  # to 00:00:35
        refused(engine, billing, poor, PARIS, LONDON, day(10, 31, 23, 59, 30))
    with at_time(monkeypatch, day(10, 31, 23, 59, 59)):
        deposit(engine, old, "1")
    # November.
    with at_time(monkeypatch, day(11, 2)):
        deposit(engine, wes, "2", "WAVES")
    with at_time(monkeypatch, day(11, 5, 10)):
        first, c1 = callback(engine, billing, ann, PARIS, LONDON, day(11, 5, 10), 130, 120)
    with at_time(monkeypatch, day(11, 5, 11)):
        _, c2 = callback(
            engine, billing, ann, FR_MOBILE, MOSCOW_MOBILE, day(11, 5, 11), 20, None,
            cause="no_answer",
        )  # fmt: skip
    with at_time(monkeypatch, day(11, 6)):
        _, c3 = callback(engine, billing, wes, NEW_YORK, PARIS, day(11, 6), 71.5, 61.5)
    with at_time(monkeypatch, day(11, 7)):
        exchange_call(engine, "internal", ann, "1001", "1002", day(11, 7), 45)
    with at_time(monkeypatch, day(11, 8)):
        exchange_call(engine, "inbound", ann, LONDON, "+33199000100", day(11, 8), 30)
    with at_time(monkeypatch, day(11, 9)):
        rules = [
            refused(engine, billing, poor, PARIS, LONDON, day(11, 9)),
            refused(engine, billing, poor, PARIS, UNALLOCATED, day(11, 9)),
            refused(engine, billing, poor, FR_MOBILE, LONDON, day(11, 9)),
        ]
    with at_time(monkeypatch, day(11, 20)):
        assert admin_main(["--database", db_url, "refund", first, "--reason", "echo",
                           "--amount", "0.01"]) == 0  # fmt: skip
    # December, from its first instant.
    with at_time(monkeypatch, DEC):
        callback(engine, billing, ann, PARIS, LONDON, DEC, 30, 30)
        refused(engine, billing, poor, PARIS, UNALLOCATED, DEC)
        deposit(engine, late, "1")

    assert rules == ["insufficient_funds", "premium_rate", "insufficient_funds"]
    # Each leg's cost, as billing prices it, adds up to what was charged.
    price = tariffs.price_per_minute
    assert c1 == tariffs.cost(price(PARIS), 130) + tariffs.cost(price(LONDON), 120)
    assert c2 == tariffs.cost(price(FR_MOBILE), minute)
    assert c3 == billing.rates.in_asset(
        tariffs.cost(price(NEW_YORK), 72) + tariffs.cost(price(PARIS), 62), "WAVES"
    )
    return {
        "ett_calls": c1 + c2,
        "waves_calls": c3,
        "refund": to_units("0.01", "ETT"),
        "first": first,
    }


def test_the_month_reports_exact_figures(engine, november):
    report = build(engine, Tariffs.load(), parse_month("2026-11"))
    data = as_json(report)
    ett, waves = data["revenue"]["ETT"], data["revenue"]["WAVES"]
    assert ett["by_kind"]["call"]["credited_units"] == november["ett_calls"]
    assert ett["by_kind"]["admin_refund"] == {
        "credited_units": 0,
        "refunded_units": november["refund"],
        "net_units": -november["refund"],
        "net": "-0.01000000",
    }
    assert ett["net_units"] == november["ett_calls"] - november["refund"]
    assert waves == {
        "by_kind": {
            "call": {
                "credited_units": november["waves_calls"],
                "refunded_units": 0,
                "net_units": november["waves_calls"],
                "net": f"{november['waves_calls'] / 10**8:.8f}",
            }
        },
        "net_units": november["waves_calls"],
        "net": f"{november['waves_calls'] / 10**8:.8f}",
    }
    assert "deposit" not in ett["by_kind"]  # deposits are the customers' money, not revenue
    # Both legs of each callback under their own number; free calls on their own lines.
    assert report.destinations == [
        Destination("France", 2, 130 + 62),
        Destination("United Kingdom", 1, 120),
        Destination("United States / Canada", 1, 72),
        Destination("France mobile", 1, 60),
        Destination("Inbound (to direct numbers)", 1, 60),
        Destination("Internal (extension to extension)", 1, 60),
    ]
    assert data["minutes_by_destination"][0]["minutes"] == "3.20"
    # 5 calls placed (refused ones are not attempts); the one to Moscow was not answered.
    assert data["calls"] == {"attempted": 5, "answered": 4, "asr": 0.8, "acd_seconds": 64.1}
    assert report.acd_seconds == pytest.approx((120 + 61.5 + 45 + 30) / 4)
    assert data["active_accounts"] == 3  # ann, wes, poor (its refused calls); not old, late
    assert data["refusals"] == {
        "total": 3,
        "top": [{"rule": "insufficient_funds", "count": 2}, {"rule": "premium_rate", "count": 1}],
    }


def test_the_revenue_book_balances_with_the_report_over_all_months(engine, november):
    tariffs = Tariffs.load()
    total = 0
    for month in ("2026-10", "2026-11", "2026-12"):
        data = as_json(build(engine, tariffs, parse_month(month)))
        total += data["revenue"].get("ETT", {}).get("net_units", 0)
    assert total == LedgerStore(engine).entries_sum(REVENUE, "ETT") > 0
    october = as_json(build(engine, tariffs, parse_month("2026-10")))
    assert october["calls"]["attempted"] == 1
    assert october["refusals"]["total"] == 1
    assert october["active_accounts"] == 3  # ann, old, poor
    december = as_json(build(engine, tariffs, parse_month("2026-12")))
    assert (december["calls"]["attempted"], december["active_accounts"]) == (1, 3)


def test_the_cli_prints_json_and_a_table_without_numbers(db_url, november, capsys):
    assert main(["report", "--month", "2026-11", "--json", "--top", "1", "--database", db_url]) == 0
    out = capsys.readouterr().out
    data = json.loads(out)
    assert data["refusals"]["top"] == [{"rule": "insufficient_funds", "count": 2}]
    assert data["month"] == "2026-11"
    assert data["from"] == "2026-11-01T00:00:00+00:00"
    assert data["until"] == "2026-12-01T00:00:00+00:00"
    assert main(["--database", db_url, "report", "--month", "2026-11"]) == 0
    table = capsys.readouterr().out
    assert "ASR 80.0 %, ACD 1:04 (64.1 s)" in table
    assert "Active accounts: 3" in table
    france = next(line for line in table.splitlines() if line.strip().startswith("France "))
    assert france.split()[-2:] == ["2", "3.20"]
    for text in (out, table):  # aggregates only: no number, no account book
        for number in (PARIS, LONDON, FR_MOBILE, NEW_YORK, UNALLOCATED, "+33199000100", "1001"):
            assert number.lstrip("+") not in text
        assert "account:" not in text


def test_main_py_writes_the_chart_and_refuses_a_bad_month(db_url, november, tmp_path):
    png = tmp_path / "report.png"
    command = [sys.executable, "main.py", "admin", "--database", db_url, "report",
               "--month", "2026-11", "--png", str(png)]  # fmt: skip
    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "Minutes by destination" in out.stdout
    data = png.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert len(data) > 20_000
    for bad in ("2026-13", "2026-1", "November", "2026-11-01", "0000-01"):
        command = [sys.executable, "main.py", "admin", "report", "--month", bad,
                   "--database", db_url]  # fmt: skip
        out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert out.returncode == 2
        assert out.stderr.strip() == (
            f"error: --month must be a month as YYYY-MM, such as 2026-11, not {bad!r}"
        )
        assert out.stdout == ""


def test_an_empty_month_and_month_bounds():
    month = parse_month("2026-12")
    assert (month.start, month.end) == (DEC, datetime(2027, 1, 1, tzinfo=UTC))
    assert parse_month(" 2024-02 ").end == datetime(2024, 3, 1, tzinfo=UTC)
    assert parse_month("2026-11").start == NOV


def test_an_empty_month_reports_zeros(db_url, capsys, tmp_path):
    png = tmp_path / "empty.png"
    assert main(["report", "--month", "2030-01", "--database", db_url, "--png", str(png)]) == 0
    assert "attempted 0, answered 0, ASR -, ACD -" in capsys.readouterr().out
    assert png.read_bytes()[:8] == PNG_MAGIC
    assert main(["report", "--month", "2030-01", "--database", db_url, "--top", "0"]) == 2
    assert main(["report", "--month", "2030-01", "--database", db_url,
                 "--png", str(tmp_path / "no" / "x.png")]) == 2  # fmt: skip


def test_any_kind_credited_to_revenue_appears_by_itself(engine, november, monkeypatch):
    # A kind the report does not know by name (the monthly plans' own, say) gets its line.
    ann = new_account(engine)
    with at_time(monkeypatch, datetime(2026, 11, 15, tzinfo=UTC)):
        deposit(engine, ann, "5")
        LedgerStore(engine).transfer(
            key=f"test-plan:{uuid.uuid4().hex}",
            kind="plan",
            asset="ETT",
            amount=to_units("4.5", "ETT"),
            debit=account_book(ann),
            credit=REVENUE,
            reason="a monthly plan",
        )
        # A voice 2FA code of the API, charged by the API's own function (kind call).
        services = SimpleNamespace(ledger=LedgerStore(engine))
        verify_charge(services, Verification(id="v1", account_id=ann, cost=to_units("0.1", "ETT")))
    data = as_json(build(engine, Tariffs.load(), parse_month("2026-11")))
    by_kind = data["revenue"]["ETT"]["by_kind"]
    assert by_kind["plan"]["net"] == "4.50000000"
    assert by_kind["verification"]["net"] == "0.10000000"
    assert by_kind["call"]["credited_units"] == november["ett_calls"]  # 2FA not in it
    assert data["revenue"]["ETT"]["net_units"] == (
        november["ett_calls"] - november["refund"] + to_units("4.6", "ETT")
    )
    assert data["active_accounts"] == 4


def test_records_cut_after_retention_keep_their_destination(engine, november):
    tariffs = Tariffs.load()
    before = build(engine, tariffs, parse_month("2026-11"))
    assert cut_calls(engine, DEC + timedelta(days=1), DEC + timedelta(days=1)) == 12
    record = CallStore(engine).get(november["first"])
    assert (record.a_number, record.b_number) == ("+33 1 42…", "+44 20 7…")
    after = build(engine, tariffs, parse_month("2026-11"))
    assert after.destinations == before.destinations
    assert as_json(after) == as_json(before)


def test_legs_are_rounded_and_labelled_by_the_billing_settings(
    db_url, november, monkeypatch, capsys, tmp_path
):
    tariffs = tmp_path / "tariffs.csv"
    tariffs.write_text("prefix,ett_per_minute,destination\n33,0.03,Francia\n1,0.02,NANP\n")
    monkeypatch.setenv("WALLET_MIN_BILLED_SECONDS", "30")
    monkeypatch.setenv("WALLET_BILLING_INCREMENT", "6")
    monkeypatch.setenv("WALLET_TARIFFS_FILE", str(tariffs))
    assert main(["report", "--month", "2026-11", "--json", "--database", db_url]) == 0
    lines = {
        row["destination"]: (row["legs"], row["billable_seconds"])
        for row in json.loads(capsys.readouterr().out)["minutes_by_destination"]
    }
    assert lines == {
        "Francia": (3, 132 + 66 + 30),  # 130 s, 61.5 s, and 20 s to the mobile: >= 30, by 6
        "No tariff": (1, 120),  # London is not in this file
        "NANP": (1, 72),  # 71.5 s
        "Internal (extension to extension)": (1, 48),  # 45 s
        "Inbound (to direct numbers)": (1, 30),
    }
    tariffs.write_text("prefix,ett_per_minute\n33,abc\n")
    assert main(["report", "--month", "2026-11", "--database", db_url]) == 2
    assert "bad price" in capsys.readouterr().err


def test_a_scheduled_call_counts_in_the_month_it_is_placed(engine, monkeypatch):
    calls, account = CallStore(engine), new_account(engine)
    asked = datetime(2026, 10, 30, 9, tzinfo=UTC)
    placed = datetime(2026, 11, 3, 9, tzinfo=UTC)
    ids = []
    with at_time(monkeypatch, asked):
        for _ in range(2):
            ids.append(uuid.uuid4().hex[:16])
            calls.create(CallRecord(id=ids[-1], account_id=account, a_number=PARIS,
                                    b_number=LONDON, state="scheduled", scheduled_at=placed,
                                    created_at=asked, updated_at=asked))  # fmt: skip
    with at_time(monkeypatch, placed):
        assert [c.id for c in calls.cancel_scheduled(account, ids[1])] == [ids[1]]
        assert calls.claim_scheduled(ids[0]) is not None
        calls.record_event(ids[0], "answered", leg="a", at=placed)
        calls.record_event(ids[0], "answered", leg="b", at=placed + timedelta(seconds=10))
        calls.record_event(ids[0], "ended", cause="hangup_b", at=placed + timedelta(seconds=100))
    tariffs = Tariffs.load()
    october = build(engine, tariffs, parse_month("2026-10"))
    november = build(engine, tariffs, parse_month("2026-11"))
    assert (october.calls.attempted, october.destinations) == (0, [])
    assert (november.calls.attempted, november.calls.answered) == (1, 1)  # not the cancelled
    assert november.acd_seconds == 90
    assert november.destinations == [
        Destination("France", 1, 100),
        Destination("United Kingdom", 1, 90),
    ]
