"""`/metrics` of a running service (`python main.py api`, METRICS_LISTEN) fetched over HTTP
and read with Prometheus' own text parser, while real callbacks go through the SIP lab
(kamailio + baresip phones) on the same database, as another instance would place them.

The requester's phone is +33 6 12 34 56 78, the callee +44 20 7946 0000, a busy line
+1 212 555 0199 (tests/test_calls.py has the same lab).
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from domain.books import REVENUE
from ops.metrics import SETUP_BUCKETS, ErrorCounter, build_registry, outcome
from storage.calls import leg_seconds
from testbed.sip_lab import ANSWER, BUSY, SipLab
from tests.call_env import CallEnv
from tests.test_calls import confirm_button, verified_user

ROOT = Path(__file__).resolve().parents[1]
ME, CALLEE, BUSY_CALLEE = "+33612345678", "+442079460000", "+12125550199"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def samples(text: str) -> Samples:
    """Every sample of an exposition, by (name, sorted labels), through the parser."""
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: Samples, name: str, **labels: str) -> float | None:
    return found.get((name, tuple(sorted(labels.items()))))


class Service:
    """`python main.py api` on `db_url` with /metrics on a port of its own (no API key
    needed: /metrics is apart from the API)."""

    def __init__(self, db_url: str, **env: str) -> None:
        self.metrics_port, self.api_port = free_port(), free_port()
        environ = {
            **os.environ,
            "DATABASE_URL": db_url,
            "PBX_ENABLED": "false",
            "API_LISTEN": f"127.0.0.1:{self.api_port}",
            "METRICS_LISTEN": f"127.0.0.1:{self.metrics_port}",
            "LOG_FORMAT": "json",
            **env,
        }
        self.process = subprocess.Popen(
            [sys.executable, "main.py", "api"],
            cwd=ROOT,
            env=environ,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.url = f"http://127.0.0.1:{self.metrics_port}/metrics"

    def wait_up(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.process.communicate()[1]
            try:
                if httpx.get(self.url, timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError("/metrics never answered")

    def scrape(self) -> Samples:
        reply = httpx.get(self.url, timeout=10)
        assert reply.status_code == 200
        assert reply.headers["content-type"].startswith("text/plain; version=0.0.4")
        return samples(reply.text)

    def stop(self) -> str:
        """Stop it (SIGTERM) and return what it logged."""
        self.process.terminate()
        _out, err = self.process.communicate(timeout=20)
        return err


@pytest.fixture(scope="module")
def lab() -> Iterator[SipLab]:
    lab = SipLab()
    lab.plan_phone(ME[1:], ANSWER, 440.0)
    lab.plan_phone(CALLEE[1:], ANSWER, 1000.0)
    lab.plan_phone(BUSY_CALLEE[1:], BUSY, 440.0)
    lab.start()
    yield lab
    lab.stop()


@pytest.mark.sip
def test_metrics_count_the_calls_made(db_url, lab):
    service = Service(db_url)
    env = CallEnv(db_url, lab)
    try:
        service.wait_up()
        before = service.scrape()
        assert value(before, "encryptotel_calls_scheduled") == 0
        assert not any(name.startswith("encryptotel_calls_total") for name, _ in before)
        assert value(before, "encryptotel_webhook_deliveries_pending") == 0

        ann, _account = verified_user(env)
        (status,) = env.press(ann, confirm_button(env.say(ann, "call +44 20 7946 0000")))
        answered_id = status.key.removeprefix("call:")
        env.wait_pushed(ann, lambda r: r.text.startswith("📞 Connected"))
        during = service.scrape()
        assert value(during, "encryptotel_calls_in_progress", kind="callback") == 1
        time.sleep(2)
        env.say(ann, "hang up")
        env.wait_pushed(ann, lambda r: "ended after" in r.text)
        env.wait_idle()

        bob, _ = verified_user(env, "bob", lang="fr")
        (busy,) = env.press(bob, confirm_button(env.say(bob, "appelle le +1 212 555 0199")))
        env.wait_pushed(bob, lambda r: r.text.startswith("Appel non connecté"))
        env.wait_idle()

        after = service.scrape()
    finally:
        env.close()
        logged = service.stop()

    answered = env.services.calls.get(answered_id)
    assert env.services.calls.get(busy.key.removeprefix("call:")).hangup_cause == "busy"
    calls = {
        dict(labels)["outcome"]: n
        for (name, labels), n in after.items()
        if name == "encryptotel_calls_total"
    }
    assert calls == {"answered": 1, "busy": 1}
    assert value(after, "encryptotel_calls_in_progress", kind="callback") is None
    for window in ("1h", "24h", "all"):
        assert value(after, "encryptotel_calls_asr_ratio", window=window) == 0.5
    talk = leg_seconds(answered, "b")
    assert 2 <= talk < 15
    acd = value(after, "encryptotel_calls_acd_seconds", window="all")
    assert acd == pytest.approx(talk, abs=0.01)
    assert value(after, "encryptotel_calls_answered_seconds_total", kind="callback") == acd
    setup = (answered.b_answered_at - answered.a_answered_at).total_seconds()
    assert value(after, "encryptotel_call_setup_seconds_count", kind="callback") == 1
    assert value(after, "encryptotel_call_setup_seconds_sum", kind="callback") == pytest.approx(
        setup, abs=0.01
    )
    for bound in SETUP_BUCKETS:
        le = repr(float(bound))
        within = value(after, "encryptotel_call_setup_seconds_bucket", kind="callback", le=le)
        assert within == (1 if setup <= bound else 0), bound
    revenue = env.services.ledger.balance(REVENUE, "ETT").amount
    assert revenue > 0
    assert value(after, "encryptotel_revenue_smallest_units", asset="ETT", kind="call") == revenue
    assert value(after, "process_resident_memory_bytes")
    assert value(after, "encryptotel_background_tasks") == 0
    assert value(after, "encryptotel_metrics_database_seconds") < 1.0
    # LOG_FORMAT=json: every line the service wrote is one JSON object.
    lines = [json_line(line) for line in logged.splitlines() if line.strip()]
    assert any("metrics at http://127.0.0.1" in line["message"] for line in lines)


def json_line(line: str) -> dict:
    import json

    parsed = json.loads(line)
    assert {"time", "level", "logger", "message"} <= set(parsed), line
    return parsed


def test_metrics_listen_is_apart_from_the_api_and_off_when_asked(db_url):
    service = Service(db_url)
    try:
        service.wait_up()
        api = f"http://127.0.0.1:{service.api_port}"
        assert httpx.get(f"{api}/metrics", timeout=5).status_code == 404  # never public
        metrics = f"http://127.0.0.1:{service.metrics_port}"
        assert httpx.get(f"{metrics}/", timeout=5).status_code == 404
        assert httpx.get(f"{metrics}/v1/balance", timeout=5).status_code == 404
        openmetrics = httpx.get(
            service.url, headers={"Accept": "application/openmetrics-text"}, timeout=5
        )
        assert openmetrics.text.rstrip().endswith("# EOF")
    finally:
        service.stop()
    off = Service(db_url, METRICS_LISTEN="off")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the API answers: the service is up
            try:
                httpx.get(f"http://127.0.0.1:{off.api_port}/openapi.json", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        with pytest.raises(httpx.TransportError):
            httpx.get(off.url, timeout=2)
    finally:
        off.stop()


def test_errors_are_counted_by_component_and_exception(engine):
    counter = ErrorCounter()
    counter.install()
    try:
        logging.getLogger("wallet.deposits").warning("not an error")
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("wallet.deposits").exception("failed")
        logging.getLogger("exchange.control").error("no exception")
    finally:
        counter.uninstall()
    logging.getLogger("wallet.deposits").error("after uninstall: not counted")
    found = samples(generate_latest(build_registry(engine, errors=counter)).decode())
    assert value(found, "encryptotel_errors_total", component="wallet", exception="ValueError") == 1
    assert value(found, "encryptotel_errors_total", component="exchange", exception="none") == 1
    assert sum(n for (name, _), n in found.items() if name == "encryptotel_errors_total") == 2


@pytest.mark.parametrize(
    ("cause", "answered", "expected"),
    [
        (None, True, "answered"),
        ("busy", False, "busy"),
        ("refused:daily_cap", False, "refused"),
        ("hangup_a", False, "abandoned"),
        ("interrupted", False, "failed"),
        ("cancelled", False, "cancelled"),
    ],
)
def test_outcomes_of_ended_calls(cause, answered, expected):
    assert outcome(cause, answered) == expected


def _ended_record(
    engine, call_id: str, cause: str, event_id: int | None = None, ago: float = 0.0
) -> None:
    """A call record ended with `cause` `ago` seconds ago and its end event (with
    `event_id` when given: an id handed out earlier by a transaction that commits only
    now)."""
    from datetime import timedelta

    from domain.clock import utcnow
    from storage.models import CallEvent, CallRecord

    now = utcnow() - timedelta(seconds=ago)
    with engine.begin() as conn:
        conn.execute(
            CallRecord.__table__.insert(),
            {
                "id": call_id, "kind": "callback", "a_number": ME, "b_number": CALLEE,
                "dtmf": "", "state": "ended", "anonymous": False, "record": False,
                "created_at": now, "updated_at": now, "ended_at": now,
                "hangup_cause": cause, "cost": 0,
            },
        )  # fmt: skip
        end = {"call_id": call_id, "event": "ended", "leg": None, "at": now}
        conn.execute(
            CallEvent.__table__.insert(), {**end, **({"id": event_id} if event_id else {})}
        )


def test_ended_calls_are_counted_once_and_a_late_commit_is_not_lost(engine):
    from ops.call_tally import CallTally

    now = [0.0]
    tally = CallTally(SETUP_BUCKETS, outcome, grace=60, clock=lambda: now[0])

    def busy() -> int:
        return tally.read(engine)[0].calls.get(("callback", "busy"), 0)

    _ended_record(engine, "c1", "busy")
    _ended_record(engine, "c2", "busy")
    assert busy() == 2 and busy() == 2  # read again: not counted twice
    _ended_record(engine, "c3", "busy", event_id=1000)  # a higher id visible first…
    now[0] = 30
    assert busy() == 3
    _ended_record(engine, "c4", "busy", event_id=990)  # …and a lower one committed later
    now[0] = 61
    assert busy() == 4 and tally.watermark == 2  # ids seen at 0 are settled, not yet 1000
    now[0] = 91
    assert busy() == 4 and tally.watermark == 1000  # folded into the running totals
    now[0] = 200
    _ended_record(engine, "c5", "no_answer", event_id=2000)  # (explicit ids above: PG sequence)
    totals, recent = tally.read(engine)
    assert (totals.calls[("callback", "busy")], totals.calls[("callback", "no_answer")]) == (4, 1)
    assert sorted(c.kind for c in recent) == ["callback"] * 5


def test_an_old_dated_end_does_not_hide_a_lower_id_committed_later(engine):
    # close_interrupted (run at start-up) dates an end at the call's last heartbeat: an
    # end committed now may carry a date far in the past, and its id says nothing of the
    # lower ids still held by open transactions (PostgreSQL hands ids out before commit).
    from ops.call_tally import CallTally, RevenueTally

    now = [0.0]
    tally = CallTally(SETUP_BUCKETS, outcome, grace=60, clock=lambda: now[0])
    revenue = RevenueTally(grace=60, clock=lambda: now[0])

    def failed() -> int:
        return tally.read(engine)[0].calls.get(("callback", "failed"), 0)

    _ended_record(engine, "old", "interrupted", event_id=1000, ago=3 * 3600)
    _revenue_entry(engine, 1000, 7, ago=3 * 3600)
    assert failed() == 1 and revenue.read(engine) == {("ETT", "call"): 7}  # the first scrape
    _ended_record(engine, "late", "interrupted", event_id=990, ago=3 * 3600)
    _revenue_entry(engine, 990, 5, ago=3 * 3600)
    now[0] = 30
    assert failed() == 2 and revenue.read(engine) == {("ETT", "call"): 12}
    now[0] = 61
    assert failed() == 2 and tally.watermark == 1000  # settled, counted once
    assert revenue.read(engine) == {("ETT", "call"): 12} and revenue.mark.value == 1000
    now[0] = 200
    assert failed() == 2 and revenue.read(engine) == {("ETT", "call"): 12}


def _revenue_entry(engine, entry_id: int, amount: int, ago: float) -> None:
    """A REVENUE ledger entry of `amount` ETT units with id `entry_id`, `ago` seconds old."""
    from datetime import timedelta

    from domain.clock import utcnow
    from storage.models import LedgerEntry, LedgerTransfer

    at = utcnow() - timedelta(seconds=ago)
    with engine.begin() as conn:
        transfer = conn.execute(
            LedgerTransfer.__table__.insert().returning(LedgerTransfer.__table__.c.id),
            {
                "idempotency_key": f"t{entry_id}", "kind": "call", "asset": "ETT",
                "amount": amount, "debit_book": "account:1", "credit_book": REVENUE,
                "reason": "", "created_at": at,
            },
        ).scalar_one()  # fmt: skip
        conn.execute(
            LedgerEntry.__table__.insert(),
            {
                "id": entry_id, "transfer_id": transfer, "book": REVENUE, "asset": "ETT",
                "amount": amount, "created_at": at,
            },
        )  # fmt: skip
