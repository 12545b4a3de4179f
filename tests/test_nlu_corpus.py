"""The shared worked examples (shared/nlu/dev_corpus.jsonl) must all pass."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from nlu import parse
from tests.test_nlu_cases import check

ROOT = Path(__file__).resolve().parents[1]


def _shared() -> Path:
    env = os.environ.get("ENCRYPTOTEL_SHARED")
    for cand in (
        Path(env) / "nlu" if env else None,
        Path(env) if env else None,
        Path(__file__).resolve().parents[2] / "shared" / "nlu",
    ):
        if cand is not None and (cand / "dev_corpus.jsonl").is_file():
            return cand
    pytest.skip("shared/nlu not found (set ENCRYPTOTEL_SHARED)")


def _cases() -> list[dict]:
    path = _shared() / "dev_corpus.jsonl"
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def test_dev_corpus_in_process():
    failures = []
    for case in _cases():
        now = datetime.fromisoformat(case["now"]) if case.get("now") else None
        got = parse(case["text"], now, case.get("tz") or "UTC", case.get("region"))
        bad = check(case["expect"], got)
        if bad:
            failures.append((case["id"], bad, got))
    assert not failures, failures


def test_shared_scorer_reports_100_percent():
    score = _shared() / "score.py"
    run = subprocess.run(
        [
            sys.executable,
            str(score),
            "--min",
            "1.0",
            "--show-failures",
            "--cmd",
            f"{sys.executable} main.py parse --batch",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "(100.0%)" in run.stdout
