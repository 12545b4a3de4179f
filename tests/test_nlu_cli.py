"""`python main.py parse`, single message and --batch, through a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "main.py", "parse", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )


def test_single_message():
    r = run(
        "--now",
        "2026-11-28T10:00:00",
        "--tz",
        "Europe/Paris",
        "rappelle-moi demain à 9h de payer le loyer à Hélène",
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 1
    got = json.loads(lines[0])
    assert got["intent"] == "remind" and got["lang"] == "fr"
    assert got["at"] == "2026-11-29T09:00:00+01:00"
    assert got["text"] == "payer le loyer à Hélène"
    # The raw line keeps non-ASCII characters as they are (ensure_ascii=False), not \\u escapes.
    assert '"text": "payer le loyer à Hélène"' in r.stdout and "\\u" not in r.stdout


def test_region_option():
    r = run("--region", "FR", "appelle le 06 12 34 56 78")
    got = json.loads(r.stdout)
    assert got["intent"] == "call" and got["to"] == "+33612345678"


def test_unknown_exits_zero():
    r = run("qwertyuiop")
    assert r.returncode == 0
    assert json.loads(r.stdout)["intent"] == "unknown"


def test_bad_tz_and_now_exit_2():
    r = run("--tz", "Mars/Olympus", "balance")
    assert r.returncode == 2 and "time zone" in r.stderr and r.stdout == ""
    r = run("--now", "yesterday-ish", "balance")
    assert r.returncode == 2 and r.stderr


def test_help_works():
    r = run("--help")
    assert r.returncode == 0 and "--batch" in r.stdout


def test_batch_with_invalid_line():
    lines = [
        json.dumps({"text": "balance"}),
        "this is {not json",
        json.dumps({"text": "call +1 917 555 0146", "tz": "Nowhere/Bad"}),
        json.dumps(
            {
                "text": "напомни завтра в 8:00 купить хлеб",
                "now": "2026-11-28T10:00:00",
                "tz": "Europe/Moscow",
            },
            ensure_ascii=False,
        ),
        json.dumps({"text": "call 06 12 34 56 78", "region": "FR"}),
        json.dumps(["not", "an", "object"]),
    ]
    r = run("--batch", stdin="\n".join(lines) + "\n")
    assert r.returncode == 0, r.stderr
    out = [json.loads(x) for x in r.stdout.splitlines()]
    assert len(out) == len(lines)
    assert out[0]["intent"] == "balance"
    assert out[1]["intent"] == "unknown" and "error" in out[1]
    assert out[2]["intent"] == "unknown" and "error" in out[2]
    assert out[3]["intent"] == "remind" and out[3]["at"] == "2026-11-29T08:00:00+03:00"
    assert "купить хлеб" in r.stdout.splitlines()[3]  # Cyrillic unescaped in batch mode too
    assert out[4]["to"] == "+33612345678"
    assert out[5]["intent"] == "unknown"
