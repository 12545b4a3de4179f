"""`/metrics` for Prometheus (prometheus_client): the calls, money and queues of the
exchange, read from the database at scrape time, and what this instance counts itself.

Two sources, said in every HELP text:
- "(database)": read when scraped from the database every instance shares, so every
  instance answers the same (aggregate them with max(), not sum());
- "(this instance)": counted in this process since it started (sum() them over instances;
  `rate()` handles the restart of a process).

Calls are counted from their records (storage/operator_view.py says when a call is
answered, its set-up time and duration). ASR (answer-seizure ratio) = answered calls /
attempted calls, where a call refused before dialling (toll-fraud rules, balance) or a
scheduled call cancelled is no attempt; ACD (average call duration) = the mean duration
of the answered calls, in seconds. Both are given as gauges over the last hour, the last
day and every record kept, and can be computed from the counters in PromQL:
    sum(rate(encryptotel_calls_total{outcome="answered"}[1h]))
      / sum(rate(encryptotel_calls_total{outcome!~"refused|cancelled"}[1h]))
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import Engine

from domain.calls import REFUSED_PREFIX, HangupCause
from domain.clock import utcnow
from exchange.config import existing_control_token
from exchange.rpc import KamailioRpc, RpcError
from ops.call_tally import CallTally, RevenueTally, Totals
from storage import operator_view
from storage.operator_view import EndedCall

log = logging.getLogger(__name__)
PREFIX = "encryptotel"
# Set-up time buckets, seconds: a phone rings in 1-3 s, a person answers within 30 s.
SETUP_BUCKETS = (0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 30.0, 45.0, 60.0)
WINDOWS = (("1h", timedelta(hours=1)), ("24h", timedelta(days=1)), ("all", None))
# Outcome of an unanswered call by its hang-up cause; any other cause is "failed".
OUTCOMES = {
    HangupCause.BUSY.value: "busy",
    HangupCause.DECLINED.value: "declined",
    HangupCause.NOT_FOUND.value: "not_found",
    HangupCause.NO_ANSWER.value: "no_answer",
    HangupCause.CANCELLED.value: "cancelled",
    HangupCause.HANGUP.value: "abandoned",  # the caller ended it before the answer
    HangupCause.HANGUP_A.value: "abandoned",
}
NOT_ATTEMPTS = {"refused", "cancelled"}  # never reached the network: no seizure
RPC_TIMEOUT = 1.0  # seconds: kamailio answers from memory; a scrape must not hang
EXTENSION_AOR = re.compile(r"^\d{2,6}(@.*)?$")  # a softphone's AoR (our dialers are named)


def outcome(cause: str | None, answered: bool) -> str:
    """The outcome label of an ended call: answered, busy, declined, not_found,
    no_answer, abandoned, refused, cancelled or failed."""
    if answered:
        return "answered"
    if cause and cause.startswith(REFUSED_PREFIX):
        return "refused"
    return OUTCOMES.get(cause or "", "failed")


Family = TypeVar("Family", GaugeMetricFamily, CounterMetricFamily, HistogramMetricFamily)


def _family(kind: type[Family], name: str, doc: str, labels: Iterable[str] = ()) -> Family:
    return kind(f"{PREFIX}_{name}", doc, labels=list(labels))


class DatabaseCollector(Collector):
    """The metrics read from the database at each scrape (a few small queries; ended
    calls incrementally, ops/call_tally.py). `clock`: monotonic seconds, for the tallies'
    grace period (a bench or test may move it on)."""

    def __init__(self, engine: Engine, clock: Callable[[], float] = time.monotonic) -> None:
        self.engine = engine
        self.tally = CallTally(SETUP_BUCKETS, outcome, clock=clock)
        self.revenue = RevenueTally(clock=clock)

    def collect(self) -> Iterator[Metric]:
        started = time.perf_counter()
        totals, recent = self.tally.read(self.engine)
        yield from _unfinished(operator_view.unfinished_calls(self.engine))
        yield from _ended(totals)
        yield from _ratios(totals, recent)
        revenue = _family(
            GaugeMetricFamily,
            "revenue_smallest_units",
            "What the ledger's REVENUE book gained, by asset and by kind of transfer (call, "
            "plan, admin_refund as a negative amount, …), in the asset's smallest unit "
            "(1e-8 ETT or WAVES); sum by asset for the net revenue (database)",
            ["asset", "kind"],
        )
        for (asset, kind), units in sorted(self.revenue.read(self.engine).items()):
            revenue.add_metric([asset, kind], units)
        yield revenue
        count = _family(
            GaugeMetricFamily,
            "deposits_pending",
            "Deposits seen on chain and not credited yet: state pending (an account's, "
            "being credited) or unattributed (no account named: for an operator) (database)",
            ["state", "asset"],
        )
        amount = _family(
            GaugeMetricFamily,
            "deposits_pending_smallest_units",
            "Their amount, in the asset's smallest unit (database)",
            ["state", "asset"],
        )
        for (state, asset), (n, units) in sorted(
            operator_view.waiting_deposits(self.engine).items()
        ):
            count.add_metric([state, asset], n)
            amount.add_metric([state, asset], units)
        yield count
        yield amount
        webhooks = _family(
            GaugeMetricFamily,
            "webhook_deliveries_pending",
            "Webhook deliveries waiting to be sent or retried (database)",
        )
        webhooks.add_metric([], operator_view.pending_webhook_deliveries(self.engine))
        yield webhooks
        took = _family(
            GaugeMetricFamily,
            "metrics_database_seconds",
            "Time this scrape spent reading the database, seconds (this instance)",
        )
        took.add_metric([], time.perf_counter() - started)
        yield took


def _unfinished(unfinished: dict[tuple[str, str], int]) -> Iterator[Metric]:
    in_progress = _family(
        GaugeMetricFamily,
        "calls_in_progress",
        "Calls placed and not ended yet (ringing, answered or bridged), by kind (database)",
        ["kind"],
    )
    scheduled = _family(
        GaugeMetricFamily, "calls_scheduled", "Calls stored to be placed later (database)"
    )
    for (kind, phase), n in sorted(unfinished.items()):
        if phase == operator_view.ACTIVE:
            in_progress.add_metric([kind], n)
    waiting = sum(n for (_kind, phase), n in unfinished.items() if phase != operator_view.ACTIVE)
    scheduled.add_metric([], waiting)
    yield in_progress
    yield scheduled


def _ended(totals: Totals) -> Iterator[Metric]:
    """The counters and the histogram of every ended call."""
    total = _family(
        CounterMetricFamily,
        "calls",
        "Ended calls by kind and outcome: answered, busy, declined, not_found, no_answer, "
        "abandoned, failed, refused (toll-fraud rules or balance, never dialled), "
        "cancelled (scheduled, cancelled) (database)",
        ["kind", "outcome"],
    )
    for (kind, result), n in sorted(totals.calls.items()):
        total.add_metric([kind, result], n)
    talk = _family(
        CounterMetricFamily,
        "calls_answered_seconds",
        "Summed duration of the answered calls, seconds, by kind (database)",
        ["kind"],
    )
    for kind, seconds in sorted(totals.talk.items()):
        talk.add_metric([kind], seconds)
    histogram = _family(
        HistogramMetricFamily,
        "call_setup_seconds",
        "Set-up time of answered calls, seconds: from dialling the called party (a "
        "callback: once the caller's phone answered) to its answer, by kind (database)",
        ["kind"],
    )
    for kind, within in sorted(totals.within.items()):
        buckets = [(repr(float(b)), float(n)) for b, n in zip(SETUP_BUCKETS, within, strict=True)]
        count = float(totals.setup_count[kind])
        histogram.add_metric([kind], [*buckets, ("+Inf", count)], totals.setup_sum[kind])
    yield from (total, talk, histogram)


def _ratios(totals: Totals, recent: list[EndedCall]) -> Iterator[Metric]:
    """ASR and ACD over each window (a window without attempts gives no sample)."""
    asr = _family(
        GaugeMetricFamily,
        "calls_asr_ratio",
        "Answer-seizure ratio: answered calls / attempted calls (refused and cancelled "
        "calls are no attempts), of the calls ended in the window: 1h, 24h, all (database)",
        ["window"],
    )
    acd = _family(
        GaugeMetricFamily,
        "calls_acd_seconds",
        "Average call duration: mean duration of the answered calls ended in the window, "
        "seconds (database)",
        ["window"],
    )
    now = utcnow()
    for window, span in WINDOWS:
        if span is None:
            counts = totals.calls
            talk = sum(totals.talk.values())
        else:
            inside = Totals(SETUP_BUCKETS, outcome).plus(
                c for c in recent if c.ended_at >= now - span
            )
            counts, talk = inside.calls, sum(inside.talk.values())
        attempts = sum(n for (_kind, o), n in counts.items() if o not in NOT_ATTEMPTS)
        answered = sum(n for (_kind, o), n in counts.items() if o == "answered")
        if attempts:
            asr.add_metric([window], answered / attempts)
        if answered:
            acd.add_metric([window], talk / answered)
    yield asr
    yield acd


RegistrationReader = Callable[[], object]


class RegistrationCollector(Collector):
    """Softphones registered on the exchange, from kamailio's location table (usrloc,
    JSON-RPC `ul.dump`) at each scrape: `read()` returns ul.dump's result or raises.
    Our own dialers' registrations are not counted (not extensions)."""

    def __init__(self, read: RegistrationReader) -> None:
        self.read = read

    def collect(self) -> Iterator[Metric]:
        up = _family(
            GaugeMetricFamily,
            "exchange_registrar_up",
            "1 when kamailio's location table could be read at this scrape, else 0 "
            "(the exchange this instance runs or talks to)",
        )
        try:
            dump = self.read()
        except Exception as error:  # any failure is "not readable now"
            log.debug("registrations not read: %s", error)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        extensions, contacts = registered(dump)
        aors = _family(
            GaugeMetricFamily,
            "registered_extensions",
            "Extensions with at least one softphone registered (the exchange's kamailio)",
        )
        aors.add_metric([], extensions)
        phones = _family(
            GaugeMetricFamily,
            "registered_contacts",
            "Softphone registrations (contacts; one extension may have several phones) "
            "(the exchange's kamailio)",
        )
        phones.add_metric([], contacts)
        yield aors
        yield phones


def registered(dump: object) -> tuple[int, int]:
    """(extensions, contacts) in the result of kamailio's `ul.dump`:
    {"Domains": [{"Domain": {"AoRs": [{"Info": {"AoR": …, "Contacts": [{…}, …]}}]}}]}."""
    extensions = contacts = 0
    domains = dump.get("Domains", []) if isinstance(dump, dict) else []
    for domain in domains:
        for entry in (domain.get("Domain") or {}).get("AoRs") or []:
            info = entry.get("Info") or {}
            if EXTENSION_AOR.match(str(info.get("AoR", ""))):
                extensions += 1
                contacts += len(info.get("Contacts") or [])
    return extensions, contacts


class ErrorCounter(logging.Handler):
    """Counts the ERROR and CRITICAL records logged in this process by component (the
    first part of the logger's name: exchange, dialer, bot, wallet…) and exception type
    (the logged exception's class, "none" without one). A handler on the root logger:
    `install()` / `uninstall()`."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.counts: dict[tuple[str, str], int] = {}
        self._lock_counts = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        component = record.name.split(".", 1)[0] or "root"
        kind = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else "none"
        with self._lock_counts:
            key = (component, kind)
            self.counts[key] = self.counts.get(key, 0) + 1

    def install(self) -> None:
        root = logging.getLogger()
        if self not in root.handlers:
            root.addHandler(self)

    def uninstall(self) -> None:
        logging.getLogger().removeHandler(self)

    def collect(self) -> Iterator[Metric]:
        errors = _family(
            CounterMetricFamily,
            "errors",
            "ERROR and CRITICAL log records by component and exception type (this instance)",
            ["component", "exception"],
        )
        with self._lock_counts:
            counts = sorted(self.counts.items())
        for (component, kind), n in counts:
            errors.add_metric([component, kind], n)
        yield errors


@dataclass(eq=False)
class InstanceGauges(Collector):
    """Gauges this instance reads from itself at scrape time: name -> (help, read())."""

    gauges: dict[str, tuple[str, Callable[[], float]]] = field(default_factory=dict)

    def collect(self) -> Iterator[Metric]:
        for name, (doc, value) in sorted(self.gauges.items()):
            gauge = _family(GaugeMetricFamily, name, f"{doc} (this instance)")
            gauge.add_metric([], value())
            yield gauge


def build_registry(
    engine: Engine,
    *,
    errors: ErrorCounter | None = None,
    registrations: RegistrationReader | None = None,
    instance: InstanceGauges | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> CollectorRegistry:
    """The registry `/metrics` shows: the database's metrics, kamailio's registrations
    (when `registrations` reads them), this instance's error counts and gauges, and the
    process's own (CPU, memory, open files, Python's collector). `clock`: see
    DatabaseCollector."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(engine, clock))
    if registrations is not None:
        registry.register(RegistrationCollector(registrations))
    if errors is not None:
        registry.register(errors)
    if instance is not None:
        registry.register(instance)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


def kamailio_registrations(run_dir: Path, rpc_port: int) -> RegistrationReader:
    """A reader of the location table of the kamailio our exchange runs (PBX_RUN_DIR's
    control token, JSON-RPC on 127.0.0.1:PBX_RPC_PORT); it raises while none runs."""
    url = f"http://127.0.0.1:{rpc_port}/RPC"

    def read() -> object:
        token = existing_control_token(run_dir)
        if token is None:
            raise RpcError("the exchange has not run here")
        return KamailioRpc(url, token, timeout=RPC_TIMEOUT).call("ul.dump")

    return read
