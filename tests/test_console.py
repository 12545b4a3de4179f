"""The console chat: `python main.py` over a pipe, and its shutdown on signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.assistant.i18n import t

ROOT = Path(__file__).resolve().parent.parent


def _env(db_url: str) -> dict:
    env = {**os.environ, "DATABASE_URL": db_url, "PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING"}
    for name in ("TELEGRAM_BOT_TOKEN", "XMPP_JID", "XMPP_PASSWORD", "SIP_SERVER", "WAVES_NODE_URL"):
        env.pop(name, None)
    return env


def test_piped_lines_are_answered_then_exit_at_eof(db_url, tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "main.py")],
        input="help\nbalance\n\nsolde\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_env(db_url),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "\n".join(
        [
            t("en", "help"),
            t("en", "balance", balances="0 ETT, 0 WAVES"),
            t("fr", "balance", balances="0 ETT, 0 WAVES"),
            "",
        ]
    )


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_console_stops_within_5_s_on_signal(db_url, tmp_path, signum):
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "console"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=tmp_path,
        env=_env(db_url),
    )
    try:
        process.stdin.write("extension\n")
        process.stdin.flush()  # the pipe stays open: only the signal can end the console
        assert process.stdout.readline().strip() == t("en", "extension", extension="1001")
        began = time.monotonic()
        process.send_signal(signum)
        assert process.wait(10) == 0
        assert time.monotonic() - began < 5
    finally:
        if process.poll() is None:
            process.kill()
        process.stdin.close()
        process.stdout.close()
