"""Calendar reading benchmark: one read of a big calendar into reminders, and repeating
reminders' occurrences stored by the scheduler.

    .venv/bin/python bench/calendars.py [--events 2000] [--series 5000] [--backend sqlite]

A feed of `--events` events (a tenth of them weekly for a year, with an exception date
and a moved instance; the rest single, in three time zones, some with their own alarm)
is expanded 35 days ahead (`calendars.ics.alarms`) and kept as reminders
(`CalendarStore.apply_alarms`): the first read (every alarm new), then a read that finds
nothing changed. `--series` repeating reminders fall due at once and are stored by
`store_due_occurrences`. References in the same run: icalendar's parse alone of the same
text, and inserting as many plain reminders (`ReminderStore.add`). Prints JSON: seconds.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from icalendar import Calendar, Timezone

from bot.features.reminders.series import store_due_occurrences
from calendars import ics
from storage import open_database
from storage.accounts import AccountStore
from storage.calendars import AlarmRow, CalendarStore
from storage.reminder_series import SeriesStore
from storage.reminders import ReminderStore
from testbed.dbs import BACKENDS, isolated_database

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
ZONES = ("Europe/Paris", "America/New_York", "Asia/Tokyo")
ALARM = "BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:x\r\nTRIGGER:-PT30M\r\nEND:VALARM\r\n"


def feed(events: int) -> str:
    """A VCALENDAR of `events` events starting after NOW (see the module's docstring)."""
    parts = [Timezone.from_tzid(zone).to_ical().decode() for zone in ZONES]
    for n in range(events):
        zone = ZONES[n % 3]
        start = (NOW + timedelta(hours=7 * n % (24 * 30), minutes=15 * (n % 4))).astimezone(UTC)
        stamp = start.strftime("%Y%m%dT%H%M%S")
        body = f"UID:ev-{n}\r\nDTSTAMP:20261201T000000Z\r\nDTSTART;TZID={zone}:{stamp}\r\n"
        body += f"DURATION:PT1H\r\nSUMMARY:Event {n}\r\n"
        if n % 10 == 0:
            skipped = (start + timedelta(weeks=2)).strftime("%Y%m%dT%H%M%S")
            body += f"RRULE:FREQ=WEEKLY;COUNT=52\r\nEXDATE;TZID={zone}:{skipped}\r\n"
        if n % 4 == 0:
            body += ALARM
        parts.append(f"BEGIN:VEVENT\r\n{body}END:VEVENT\r\n")
        if n % 10 == 0:
            moved = (start + timedelta(weeks=1)).strftime("%Y%m%dT%H%M%S")
            later = (start + timedelta(weeks=1, hours=2)).strftime("%Y%m%dT%H%M%S")
            parts.append(
                f"BEGIN:VEVENT\r\nUID:ev-{n}\r\nDTSTAMP:20261201T000000Z\r\n"
                f"RECURRENCE-ID;TZID={zone}:{moved}\r\nDTSTART;TZID={zone}:{later}\r\n"
                f"DURATION:PT1H\r\nSUMMARY:Event {n} (moved)\r\nEND:VEVENT\r\n"
            )
    head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\n"
    return head + "".join(parts) + "END:VCALENDAR\r\n"


def best(run: Callable[[], object], repeat: int = 3) -> float:
    """The best of `repeat` timings of `run()`, seconds."""
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return min(times)


def measure(url: str, events: int, series: int) -> dict[str, float | int]:
    """Seconds of each step on the database at `url`."""
    engine = open_database(url)
    account = AccountStore(engine).resolve("console", "bench")
    text = feed(events)
    store = CalendarStore(engine)
    source, _ = store.add(account.id, "file", label="bench.ics", body=json.dumps([text]))

    def expand() -> list[ics.Alarm]:
        return ics.alarms(text, zone="Europe/Paris", start=NOW, end=NOW + timedelta(days=35),
                          default_before=timedelta(minutes=15), max_events=100_000)  # fmt: skip

    alarms = expand()
    rows = [AlarmRow(a.key, a.fire_at, a.start, a.summary, "message") for a in alarms]
    result: dict[str, float | int] = {"alarms": len(rows)}
    result["parse_reference"] = best(lambda: Calendar.from_ical(text))
    result["expand"] = best(expand)
    began = time.perf_counter()
    store.apply_alarms(source, rows, now=NOW)
    result["apply_first"] = time.perf_counter() - began
    result["apply_unchanged"] = best(lambda: store.apply_alarms(source, rows, now=NOW))
    reminders = ReminderStore(engine)
    began = time.perf_counter()
    for row in rows:
        reminders.add(account.id, row.fire_at, "message", row.text)
    result["insert_reference"] = time.perf_counter() - began

    series_store = SeriesStore(engine)
    for n in range(series):
        start = datetime(2026, 11, 1, 8, n % 60)
        series_store.add(account.id, "FREQ=DAILY", start, "Europe/Paris", "message", f"s{n}",
                         NOW - timedelta(minutes=1))  # fmt: skip
    began = time.perf_counter()
    stored = 0
    while batch := store_due_occurrences(series_store, NOW):
        stored += batch
    result["series_stored"] = stored
    result["series_seconds"] = time.perf_counter() - began
    engine.dispose()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--series", type=int, default=5000)
    parser.add_argument("--backend", choices=BACKENDS, action="append")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    results = {}
    for backend in args.backend or list(BACKENDS):
        with tempfile.TemporaryDirectory() as tmp, isolated_database(backend, Path(tmp)) as url:
            results[backend] = measure(url, args.events, args.series)
    print(json.dumps({"events": args.events, "series": args.series, "seconds": results},
                     indent=2))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
