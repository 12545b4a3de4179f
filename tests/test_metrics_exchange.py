"""`/metrics` of the exchange: softphones registered on kamailio (its location table, read
over JSON-RPC at the scrape) and a call between two baresip softphones over TLS, fetched
over HTTP from the metrics server and read with Prometheus' text parser."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client import generate_latest

from ops.metrics import build_registry, kamailio_registrations
from ops.metrics_http import serve_metrics
from storage.calls import leg_seconds
from testbed.exchange_lab import ExchangeLab
from tests.test_metrics import free_port, samples, value

pytestmark = pytest.mark.sip


@pytest.fixture
def lab(db_url, tmp_path) -> Iterator[ExchangeLab]:
    lab = ExchangeLab(db_url, tmp_path).start()
    yield lab
    lab.stop()


def test_registrations_and_an_exchange_call_are_in_the_metrics(lab):
    port, stop, started = free_port(), asyncio.Event(), asyncio.Event()
    reader = kamailio_registrations(lab.config.run_dir, lab.settings.PBX_RPC_PORT)
    registry = build_registry(lab.engine, registrations=reader)
    serving = asyncio.run_coroutine_threadsafe(
        serve_metrics(registry, "127.0.0.1", port, stop, started=started), lab.loop
    )
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        lab.run(started.wait())
        alone = samples(httpx.get(url, timeout=10).text)
        assert value(alone, "encryptotel_exchange_registrar_up") == 1
        assert value(alone, "encryptotel_registered_extensions") == 0
        alice = lab.softphone("console:alice", tone_hz=440.0)
        bob = lab.softphone("console:bob", tone_hz=1000.0)
        registered = samples(httpx.get(url, timeout=10).text)
        assert value(registered, "encryptotel_registered_extensions") == 2
        assert value(registered, "encryptotel_registered_contacts") == 2  # our dialer: none
        lab.dial(alice, bob.user)
        bob.wait_event("CALL_ESTABLISHED")
        alice.wait_event("CALL_ESTABLISHED")
        during = samples(httpx.get(url, timeout=10).text)
        assert value(during, "encryptotel_calls_in_progress", kind="internal") == 1
        time.sleep(2)
        alice.command("hangup")
        alice.wait_event("CALL_CLOSED")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            after = samples(httpx.get(url, timeout=10).text)
            if value(after, "encryptotel_calls_total", kind="internal", outcome="answered"):
                break
            time.sleep(0.2)
    finally:
        lab.loop.call_soon_threadsafe(stop.set)
        serving.result(10)
    (record,) = [r for r in lab.calls.history(lab.accounts.by_extension(alice.user).id)]
    assert value(after, "encryptotel_calls_total", kind="internal", outcome="answered") == 1
    assert value(after, "encryptotel_calls_in_progress", kind="internal") is None
    setup = (record.b_answered_at - record.created_at).total_seconds()
    assert value(after, "encryptotel_call_setup_seconds_sum", kind="internal") == pytest.approx(
        setup, abs=0.01
    )
    talk = leg_seconds(record, "b")
    assert value(after, "encryptotel_calls_acd_seconds", window="1h") == pytest.approx(
        talk, abs=0.01
    )
    lab.run(lab.engines.stop())  # kamailio gone: the registrar is reported down
    down = samples(generate_latest(registry).decode())
    assert value(down, "encryptotel_exchange_registrar_up") == 0
    assert value(down, "encryptotel_registered_extensions") is None
