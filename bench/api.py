"""Bench: the HTTP API's rate and latency beside a bare FastAPI endpoint on the same server.

    .venv/bin/python bench/api.py [--rounds 5] [--seconds 3] [--concurrency 16]
                                  [--records 200] [--database URL]

One server process (uvicorn, one event loop, as `python main.py api` runs it) serves two
applications on two ports: ours (`api.app.create_app`, on a database holding `--records`
call records of the key's account and a balance) and a bare FastAPI application whose
endpoints answer the same shapes without authentication, database or rules: GET a page of
50 call records built once in memory, POST a body validated by the same pydantic model
that answers a quote. The load (this process, aiohttp's client with `--concurrency` requests in
flight over kept-alive connections) drives each case for `--seconds` seconds per round,
alternating ours and bare (ref, ours, ours, ref, …) so that whatever else the machine does
weighs on both. With 2 CPUs or more the server is pinned to one CPU and the load to
another.

Cases: `GET /v1/calls?limit=50` (the newest page of call records) and `POST /v1/callbacks`
with `quote_only` (the fraud rules and the quote from the tariffs and the balance, no
call placed). Printed per round: requests/s, p50 and p99 latency (ms), then the median of
ours/bare per case. The issue's goal: at least 50 % of the bare rate. Exit status 1 when
the median is below it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GOAL = 0.5
CASES = ("GET /v1/calls", "POST /v1/callbacks quote")
NUMBER = "+33612345678"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the server process ---------------------------------------------------------------


def serve(database: str, ours: int, bare: int, records: int, token_file: str) -> None:
    """Both applications on one loop; the key's token written to `token_file`."""
    import uvicorn
    from fastapi import FastAPI

    from api.app import create_app
    from api.routes.callbacks import CallbackOut, CallbackRequest, QuoteOut
    from api.schemas import Call, Money, Page
    from bot.app import GIL_SWITCH_SECONDS, build_services
    from domain.books import DEPOSITS, account_book
    from settings import load_settings
    from storage.models import CallRecord

    settings = load_settings(
        _env_file=None,
        DATABASE_URL=database,
        API_RATE_LIMIT="1000000/second",
        FRAUD_MAX_CALLS_SAME_NUMBER_DAILY=10000,
        TELEGRAM_BOT_TOKEN=None,
        XMPP_JID=None,
        SIP_SERVER=None,
        WAVES_NODE_URL=None,
        LOG_LEVEL="WARNING",
    )
    sys.setswitchinterval(GIL_SWITCH_SECONDS)  # as bot.app.serve runs the service
    services = build_services(settings)
    account = services.accounts.resolve("console", "bench")
    services.accounts.update(account.id, phone_number=NUMBER, phone_verified=True)
    services.ledger.transfer(
        key="bench-fund",
        kind="deposit",
        asset="ETT",
        amount=1000 * 10**8,
        debit=DEPOSITS,
        credit=account_book(account.id),
        reason="bench",
    )
    if not services.calls.history(account.id, limit=1):
        for n in range(records):
            services.calls.create(
                CallRecord(
                    id=f"{account.id}-bench{n:05d}",
                    account_id=account.id,
                    a_number=NUMBER,
                    b_number=f"+1212555{n % 10000:04d}",
                    state="ended",
                    hangup_cause="completed",
                    cost=1_500_000,
                    cost_asset="ETT",
                )
            )
    Path(token_file).write_text(services.api_keys.create(account.id, ("read", "calls")).token)

    page = Page[Call](data=[Call.of(r) for r in services.calls.history(account.id, limit=50)])
    quote = QuoteOut(
        price_per_minute=Money(units=2_000_000, asset="ETT"),
        a_price_per_minute=Money(units=1_000_000, asset="ETT"),
        b_price_per_minute=Money(units=1_000_000, asset="ETT"),
        first_minute=Money(units=2_000_000, asset="ETT"),
        paid_in="ETT",
        max_seconds=3600,
    )
    reference = FastAPI()

    # Models given to the decorators: this module's postponed annotations would name
    # classes local to this function, which FastAPI cannot resolve.
    @reference.get("/v1/calls", response_model=Page[Call])
    def calls():
        return page

    def callback(body):
        return CallbackOut(call=None, quote=quote)

    callback.__annotations__ = {"body": CallbackRequest}
    reference.add_api_route("/v1/callbacks", callback, methods=["POST"], response_model=CallbackOut)

    async def both() -> None:
        servers = [
            uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning", access_log=False))
            for app, port in ((create_app(services), ours), (reference, bare))
        ]
        await asyncio.gather(*(server.serve() for server in servers))

    asyncio.run(both())


# --- the load ---------------------------------------------------------------------------


async def drive(url: str, case: str, token: str, seconds: float, concurrency: int) -> dict:
    """Requests of `case` for `seconds` with `concurrency` in flight: rate and latencies.
    The load is aiohttp's client (httpx's costs about three times the CPU a request, and
    the load must not be what limits the rate)."""
    import aiohttp

    headers = {"Authorization": f"Bearer {token}"}
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(url, headers=headers, connector=connector) as client:

        async def one_worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                began = time.perf_counter()
                if case.startswith("GET"):
                    answer = await client.get("/v1/calls", params={"limit": 50})
                else:
                    body = {"to": "+12125550123", "quote_only": True}
                    answer = await client.post("/v1/callbacks", json=body)
                await answer.read()
                if answer.status != 200:
                    errors += 1
                latencies.append(time.perf_counter() - began)

        started = time.perf_counter()
        await asyncio.gather(*(one_worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rate": len(latencies) / elapsed,
        "p50": latencies[len(latencies) // 2] * 1000,
        "p99": latencies[int(len(latencies) * 0.99)] * 1000,
        "errors": errors,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--warm-up", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--records", type=int, default=200)
    parser.add_argument("--database", help="SQLAlchemy URL (default: a new SQLite file)")
    parser.add_argument("--serve", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        database, ours, bare, token_file = args.serve
        serve(database, int(ours), int(bare), args.records, token_file)
        return 0
    workdir = tempfile.mkdtemp(prefix="bench-api-")
    database = args.database or f"sqlite:///{workdir}/bench.db"
    ours, bare = free_port(), free_port()
    token_file = f"{workdir}/token"
    command = [sys.executable, __file__, "--records", str(args.records), "--serve"]
    command += [database, str(ours), str(bare), token_file]
    pin = (os.cpu_count() or 1) >= 2
    server = subprocess.Popen(
        (["taskset", "-c", "1"] if pin else []) + command,
        cwd=ROOT,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
    )
    if pin:
        os.sched_setaffinity(0, {0})
    try:
        return asyncio.run(_rounds(args, ours, bare, token_file))
    finally:
        server.terminate()
        server.wait(10)


async def _rounds(args: argparse.Namespace, ours: int, bare: int, token_file: str) -> int:
    urls = {"ours": f"http://127.0.0.1:{ours}", "bare": f"http://127.0.0.1:{bare}"}
    token = await _wait_for(token_file, urls)
    print(
        f"API bench: {args.rounds} rounds x {args.seconds:.1f} s per case and server, "
        f"{args.concurrency} requests in flight, {args.records} call records"
    )
    ratios: dict[str, list[float]] = {case: [] for case in CASES}
    for number in range(args.rounds):
        order = (
            ("bare", "ours", "ours", "bare")
            if number % 2 == 0
            else ("ours", "bare", "bare", "ours")
        )
        for case in CASES:
            figures: dict[str, list[dict]] = {"ours": [], "bare": []}
            for which in order:
                await drive(urls[which], case, token, args.warm_up, args.concurrency)
                figures[which].append(
                    await drive(urls[which], case, token, args.seconds, args.concurrency)
                )
            line = []
            rates = {}
            for which in ("ours", "bare"):
                rate = statistics.mean(f["rate"] for f in figures[which])
                p50 = statistics.mean(f["p50"] for f in figures[which])
                p99 = statistics.mean(f["p99"] for f in figures[which])
                errors = sum(f["errors"] for f in figures[which])
                rates[which] = rate
                line.append(
                    f"{which} {rate:7.0f} req/s p50 {p50:6.2f} ms p99 {p99:6.2f} ms"
                    + (f" ({errors} not 200)" if errors else "")
                )
            ratios[case].append(rates["ours"] / rates["bare"])
            print(
                f"round {number + 1} {case:26} "
                + " | ".join(line)
                + f" | ours/bare {ratios[case][-1]:.2f}"
            )
    failed = False
    for case in CASES:
        median = statistics.median(ratios[case])
        verdict = "meets" if median >= GOAL else "BELOW"
        failed |= median < GOAL
        print(
            f"{case:26} ours/bare median {median:.2f}, worst {min(ratios[case]):.2f} "
            f"({verdict} the goal of {GOAL:.0%})"
        )
    return 1 if failed else 0


async def _wait_for(token_file: str, urls: dict[str, str]) -> str:
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if Path(token_file).exists():
            try:
                async with httpx.AsyncClient() as client:
                    for url in urls.values():
                        await client.get(url + "/openapi.json")
                return Path(token_file).read_text()
            except httpx.HTTPError:
                pass
        await asyncio.sleep(0.2)
    raise SystemExit("the server did not start within 60 s")


if __name__ == "__main__":
    sys.exit(main())
