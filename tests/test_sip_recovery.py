"""After kill -9 mid-call, the restarted instance releases the phones (BYE/CANCEL).

The killed `main.py call` had saved each leg's SIP dialog (storage/dialogs.py) as it
was established; the next `main.py call` finds them (their process is gone, or their
call was closed as interrupted), ends every leg from them and forgets them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from storage import open_database
from storage.dialogs import DialogStore
from testbed.dbs import isolated_database
from testbed.sip_lab import wait_for

pytestmark = pytest.mark.sip
REPO = Path(__file__).resolve().parent.parent


def cli(sip_lab, db_url: str, *args: str) -> subprocess.Popen:
    env = dict(os.environ)
    env.update({k: str(v) for k, v in sip_lab.settings_overrides().items()})
    env.update({"DATABASE_URL": db_url, "LOG_LEVEL": "WARNING"})
    return subprocess.Popen(
        [sys.executable, "-m", "dialer.cli", "call", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def read_until(process: subprocess.Popen, done) -> list[dict]:
    lines: list[dict] = []
    while not any(done(line) for line in lines):
        line = process.stdout.readline()
        assert line, f"main.py call ended early: {lines}"
        lines.append(json.loads(line))
    return lines


def in_call(phone) -> bool:
    return len(phone.calls_with("CALL_ESTABLISHED")) > len(phone.calls_with("CALL_CLOSED"))


@pytest.mark.parametrize(
    ("to", "until"),
    [("1002", "bridged"), ("1004", "ringing")],
    ids=["both-answered", "b-ringing"],
)
def test_restart_releases_the_phones_of_a_killed_call(sip_lab, tmp_path, to, until):
    a, b = sip_lab.phones["1001"], sip_lab.phones[to]
    closed_a, closed_b = len(a.calls_with("CALL_CLOSED")), len(b.calls_with("CALL_CLOSED"))
    with isolated_database("sqlite", tmp_path) as db_url:
        killed = cli(sip_lab, db_url, to, "--from", "1001", "--max-seconds", "120")
        try:
            read_until(killed, lambda line: line.get("event") == until and line.get("leg") != "a")
            time.sleep(0.5)
        finally:
            killed.send_signal(signal.SIGKILL)
            killed.wait(10)
        engine = open_database(db_url, migrate=False)
        store = DialogStore(engine)
        assert {d.leg for d in store.all()} == {"a", "b"}
        time.sleep(1.0)
        assert in_call(a) and len(b.calls_with("CALL_CLOSED")) == closed_b  # left up

        restarted_at = time.monotonic()
        restarted = cli(sip_lab, db_url, "1003", "--from", "1003")  # a busy line: ends at once
        output, _ = restarted.communicate(timeout=60)
        lines = [json.loads(line) for line in output.splitlines()]
        assert {"event": "released", "legs": 2} in lines
        a.wait_event("CALL_CLOSED", closed_a + 1, timeout=10)
        b.wait_event("CALL_CLOSED", closed_b + 1, timeout=10)
        assert time.monotonic() - restarted_at < 15
        wait_for(lambda: not in_call(a) and not in_call(b), 5, "phones free")
        assert store.all() == []
        engine.dispose()
