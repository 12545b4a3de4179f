"""The assistant with a started dialer on a SIP lab, its loop in a thread, and what it pushed.

Used by the call-flow tests: `CallEnv(db_url, lab)` gives `assistant`, `services`,
`user(...)` senders, `pushed` (every Reply the outbox sent, by external id) and
`run(coroutine)` on the service loop. Lab phones are registered under the digits
of E.164 numbers and the dialer strips the "+", as with a real trunk.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import defaultdict
from typing import Any

from bot.app import build_assistant, build_services
from bot.assistant import Reply, Sender
from dialer import Dialer, SipConfig
from storage import open_database
from testbed.prosody_lab import close_loop
from testbed.sip_lab import SipLab
from tests.conftest_chat import service_settings
from tests.wallet_helpers import TEST_SETTINGS

NETWORK = "console"  # the outbox network the pushed messages are collected on


class CallEnv:
    """An Assistant whose skills can place real calls through `lab`."""

    def __init__(self, db_url: str, lab: SipLab, **overrides: Any) -> None:
        settings = service_settings(
            db_url, **lab.settings_overrides(SIP_STRIP_PLUS=True), **TEST_SETTINGS, **overrides
        )
        self.dialer = Dialer(SipConfig.from_settings(settings))
        self.services = build_services(settings, engine=open_database(db_url), dialer=self.dialer)
        self.assistant = build_assistant(self.services)
        self.pushed: dict[str, list[Reply]] = defaultdict(list)
        self._pushed_lock = threading.Lock()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.services.background.attach(self.loop)
        self.services.outbox.register(NETWORK, self._collect)
        self.run(self.dialer.start())

    async def _collect(self, external_id: str, reply: Reply) -> None:
        with self._pushed_lock:
            self.pushed[external_id].append(reply)

    def run(self, coroutine: Any, timeout: float = 60) -> Any:
        """Run a coroutine on the service loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def user(self, name: str, language: str | None = "en") -> Sender:
        return Sender(NETWORK, name, language)

    def say(self, sender: Sender, text: str) -> list[Reply]:
        return self.assistant.handle_sync(sender, text)

    def press(self, sender: Sender, data: str) -> list[Reply]:
        return self.assistant.press_sync(sender, data)

    def wait_pushed(self, sender: Sender, predicate, timeout: float = 40) -> Reply:
        """The first pushed reply for `sender` that satisfies `predicate` (waits for it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._pushed_lock:
                found = [r for r in self.pushed[sender.external_id] if predicate(r)]
            if found:
                return found[0]
            time.sleep(0.05)
        with self._pushed_lock:
            texts = [r.text for r in self.pushed[sender.external_id]]
        raise AssertionError(f"nothing pushed matched within {timeout} s; pushed: {texts}")

    def wait_idle(self, timeout: float = 40) -> None:
        """Wait until every call started in the background has finished."""
        deadline = time.monotonic() + timeout
        while self.services.background.running and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not self.services.background.running, "calls still running"

    def close(self) -> None:
        self.run(self.services.dialer.stop())
        self.run(self.services.background.wait(5))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        close_loop(self.loop)
        self.services.engine.dispose()
