"""Bench: N simultaneous bridged callbacks through kamailio between baresip phones.

    .venv/bin/python bench/dialer.py [--calls 10 50 100] [--seconds 30]

For each N it starts kamailio and 2N baresip phones (each plays its own tone and
records what it hears), places N callbacks at once with one Dialer, holds them
for the given seconds and prints: CPU of our process (as % of one core) while
the calls are bridged, its threads and memory, the share of calls whose tones
arrived intact both ways (>= 99 % of the energy at the tone), and the CPU of
baresip (all phones) and kamailio over the same time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dialer import CallbackRequest, Dialer, SipConfig
from settings import load_settings
from testbed.sip_lab import ANSWER, SipLab, tone_share

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of these processes so far."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICKS


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def tone(index: int, side: int) -> float:
    # distinct frequencies, away from each other by more than the analysis band
    return 300.0 + 40.0 * index if side == 0 else 2300.0 + 40.0 * (index % 30)


def bench(calls: int, seconds: int) -> dict:
    lab = SipLab()
    pairs = []
    for i in range(calls):
        a = lab.plan_phone(f"5{i:03d}0", ANSWER, tone(i % 45, 0))
        b = lab.plan_phone(f"5{i:03d}1", ANSWER, tone(i, 1))
        pairs.append((a, b))
    lab.start()
    try:
        config = SipConfig.from_settings(load_settings(**lab.settings_overrides()))
        result: dict = {}

        async def run() -> list:
            dialer = Dialer(config)
            await dialer.start()
            bridged = 0
            everyone = asyncio.Event()

            def on_event(event) -> None:
                nonlocal bridged
                if event.event == "bridged":
                    bridged += 1
                    if bridged == calls:
                        everyone.set()

            tasks = [
                asyncio.create_task(
                    dialer.callback(
                        CallbackRequest(f"bench{i}", a.user, b.user, max_seconds=seconds + 15),
                        on_event,
                    )
                )
                for i, (a, b) in enumerate(pairs)
            ]
            try:
                await asyncio.wait_for(everyone.wait(), 120)
            except TimeoutError:
                pass
            result["bridged"] = bridged
            phones = [p.process.pid for pair in pairs for p in pair if p.process]
            kam = lab.kamailio.pids()
            ours0, phones0, kam0 = cpu_seconds([os.getpid()]), cpu_seconds(phones), cpu_seconds(kam)
            start = time.monotonic()
            await asyncio.sleep(seconds)
            elapsed = time.monotonic() - start
            result["ours_cpu"] = 100 * (cpu_seconds([os.getpid()]) - ours0) / elapsed
            result["baresip_cpu"] = 100 * (cpu_seconds(phones) - phones0) / elapsed
            result["kamailio_cpu"] = 100 * (cpu_seconds(kam) - kam0) / elapsed
            # minus the lab's ctrl_tcp reader thread of each phone, which live in this process
            result["threads"] = threading.active_count() - 2 * calls
            result["rss_mb"] = rss_mb()
            for i in range(calls):
                await dialer.hangup(f"bench{i}")
            summaries = await asyncio.gather(*tasks)
            await dialer.stop()
            return summaries

        summaries = asyncio.run(run())
        intact = 0
        for a, b in pairs:
            try:
                b.wait_event("CALL_CLOSED", timeout=30)
                ok = (
                    tone_share(b.heard(), a.tone_hz) >= 0.99
                    and tone_share(a.heard(), b.tone_hz) >= 0.99
                )
            except TimeoutError:
                ok = False
            intact += ok
        result["intact"] = intact / calls
        result["bridged_calls"] = sum(s.bridged for s in summaries)
        return result
    finally:
        lab.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, nargs="+", default=[10, 50, 100])
    parser.add_argument("--seconds", type=int, default=30)
    args = parser.parse_args()
    print("calls  bridged  intact  ours_cpu%  threads  rss_MB  baresip_cpu%  kamailio_cpu%")
    for calls in args.calls:
        r = bench(calls, args.seconds)
        print(
            f"{calls:5d}  {r['bridged']:7d}  {100 * r['intact']:5.1f}%  {r['ours_cpu']:9.1f}"
            f"  {r['threads']:7d}  {r['rss_mb']:6.1f}  {r['baresip_cpu']:12.1f}"
            f"  {r['kamailio_cpu']:13.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
