"""Call records written from the dialer's events, and their recovery after a crash."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dialer import CallbackRequest, Dialer
from dialer.records import CallRecorder
from storage import open_database
from storage.calls import CallStore, leg_seconds
from storage.models import CallRecord
from testbed.sip_lab import wait_for

pytestmark = pytest.mark.sip
REPO = Path(__file__).resolve().parent.parent


def test_recorder_writes_every_transition(sip_lab, lab_dialer_config, engine):
    store = CallStore(engine)
    store.create(CallRecord(id="rec1", a_number="1001", b_number="1002"))
    recorder = CallRecorder(store, heartbeat_seconds=0.5)

    async def scenario():
        dialer = Dialer(lab_dialer_config)
        await dialer.start()
        try:
            return await dialer.callback(
                CallbackRequest("rec1", "1001", "1002", max_seconds=3), recorder
            )
        finally:
            await recorder.close()
            await dialer.stop()

    summary = asyncio.run(scenario())
    call = store.get("rec1")
    assert call.state == "ended" and call.hangup_cause == "max_duration"
    for column in ("a_ringing_at", "a_answered_at", "b_answered_at", "bridged_at", "ended_at"):
        assert getattr(call, column) is not None, column
    assert call.heartbeat_at is not None and call.heartbeat_at <= call.ended_at
    assert abs(leg_seconds(call, "b") - summary.b_seconds) < 0.5
    events = [(e.event, e.leg) for e in store.events("rec1")]
    assert events[0] == ("created", None) and events[-1] == ("ended", None)
    assert ("bridged", None) in events and ("answered", "b") in events


def test_killed_process_leaves_a_call_that_is_closed_at_its_last_heartbeat(sip_lab, db_url):
    env = dict(os.environ)
    env.update({k: str(v) for k, v in sip_lab.settings_overrides().items()})
    env.update({"DATABASE_URL": db_url, "LOG_LEVEL": "WARNING"})
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dialer.cli",
            "call",
            "1002",
            "--from",
            "1001",
            "--max-seconds",
            "60",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    lines: list[dict] = []
    try:
        while not any(line.get("event") == "bridged" for line in lines):
            line = process.stdout.readline()
            assert line, f"main.py call ended early: {lines}"
            lines.append(json.loads(line))
        call_id = lines[0]["call_id"]
        engine = open_database(db_url, migrate=False)
        store = CallStore(engine)
        # wait for a heartbeat after the bridge, then crash
        bridged_at = wait_for(
            lambda: store.get(call_id).bridged_at, timeout=10, what="the bridge in the record"
        )
        wait_for(
            lambda: (store.get(call_id).heartbeat_at or bridged_at) > bridged_at,
            timeout=20,
            what="a heartbeat after the bridge",
            step=0.2,
        )
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        before = store.get(call_id)
        assert before.state != "ended"
        assert store.close_interrupted() == [call_id]
        after = store.get(call_id)
        assert after.state == "ended" and after.hangup_cause == "interrupted"
        assert after.ended_at == max(before.heartbeat_at, before.updated_at)
        assert after.a_ended_at == after.ended_at and after.b_ended_at == after.ended_at
        engine.dispose()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    time.sleep(0.5)  # let the phones see the call drop before the next test


def test_cli_places_a_call_and_prints_json_lines(sip_lab, tmp_path):
    env = dict(os.environ)
    env.update({k: str(v) for k, v in sip_lab.settings_overrides().items()})
    env.update({"DATABASE_URL": f"sqlite:///{tmp_path}/cli.db", "LOG_LEVEL": "WARNING"})
    result = subprocess.run(
        [sys.executable, "-m", "dialer.cli", "call", "1003", "--from", "1001"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == 1
    events = [(line["event"], line.get("leg"), line.get("cause")) for line in lines]
    # FROM is rung first; only once it answered is TO dialled, and TO's 486 ends TO's leg
    # first, then FROM's, then the call, all with the cause "busy". FROM's 180 is optional
    # (RFC 3261 §13.2.2.1) and the proxy's workers may deliver it after the 200, when it
    # no longer changes the leg: "ringing" shows at most once, before "answered".
    answered = events.index(("answered", "a", None))
    assert events[0] == ("created", None, None)
    assert events[1:answered] in ([], [("ringing", "a", None)])
    assert all(leg != "b" for _, leg, _ in events[:answered])
    assert events[-4:] == [
        ("ended", "b", "busy"),
        ("ended", "a", "busy"),
        ("ended", None, "busy"),
        ("summary", None, "busy"),
    ]
    assert lines[-4]["detail"] == "SIP 486"
    assert {line["call_id"] for line in lines} == {lines[0]["call_id"]}  # one call throughout
    assert lines[-1]["bridged"] is False and lines[-1]["b_seconds"] == 0
    assert env["SIP_PASSWORD"] not in result.stdout + result.stderr


def test_cli_help_and_bad_number(tmp_path, monkeypatch, capsys):
    from dialer.cli import build_parser, main
    from settings import get_settings

    assert "--to-first" in build_parser().format_help()
    env = {**os.environ, "SIP_SERVER": "127.0.0.1", "SIP_USER": "u", "SIP_PASSWORD": "p"}
    result = subprocess.run(
        [sys.executable, "-m", "dialer.cli", "call", "12x", "--from", "1001"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert json.loads(result.stdout) == {
        "event": "error",
        "error": "bad number '12x': use E.164 with + (e.g. +33612345678) or extension digits",
    }

    # In process: `main` refuses a bad TO or FROM before any call or database (exit 2,
    # one JSON error line each); a leading "call" is optional.
    for name, value in (("SIP_SERVER", "127.0.0.1"), ("SIP_USER", "u"), ("SIP_PASSWORD", "p")):
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/never.db")
    get_settings.cache_clear()
    try:
        assert main(["call", "12x", "--from", "1001"]) == 2
        assert main(["1001", "--from", "+33 6"]) == 2
    finally:
        get_settings.cache_clear()
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [p["event"] for p in printed] == ["error", "error"]
    assert printed[0]["error"].startswith("bad number '12x'")
    assert printed[1]["error"].startswith("bad number '+33 6'")
    assert not (tmp_path / "never.db").exists()
