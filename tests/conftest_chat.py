"""Fixtures for the chat adapters: the Bot API emulator, a prosody lab, the running service."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from settings import Settings, load_settings
from testbed.prosody_lab import ProsodyLab, XMPPUser, close_loop
from testbed.telegram_api import BotAPIEmulator

START_TIMEOUT = 60


class RunningService:
    """`bot.app.serve` running in its own thread and event loop, as in production."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.assistant: Any = None
        self.adapters: dict[str, Any] = {}
        self.exit_code: int | None = None
        self.error: BaseException | None = None
        self._started = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, daemon=True, name="service")

    def start(self) -> RunningService:
        """Start the service; return once its adapters exist."""
        self._thread.start()
        if not self._started.wait(START_TIMEOUT):
            raise AssertionError(f"the service did not start: {self.error!r}")
        if self.error is not None:
            raise AssertionError(f"the service failed to start: {self.error!r}")
        return self

    def _main(self) -> None:
        from bot.app import serve

        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._stop = asyncio.Event()
            self.exit_code = loop.run_until_complete(
                serve(self.settings, console=False, stop=self._stop, on_started=self._on_started)
            )
        except BaseException as error:  # reported by start() / stop()
            self.error = error
        finally:
            self._started.set()
            close_loop(loop)

    def _on_started(self, assistant: Any, adapters: list) -> None:
        self.assistant = assistant
        self.adapters = {adapter.network: adapter for adapter in adapters}
        self._started.set()

    def run(self, coroutine: Any, timeout: float = 30) -> Any:
        """Run a coroutine on the service's event loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def wait_ready(self, network: str, timeout: float = 30) -> None:
        """Wait until the adapter of `network` is connected."""
        adapter = self.adapters[network]
        self.run(asyncio.wait_for(adapter.ready.wait(), timeout), timeout + 5)

    def stop(self, timeout: float = 10) -> float:
        """Ask the service to stop (as SIGTERM does); return how long it took."""
        import time

        if not self._thread.is_alive():
            return 0.0
        began = time.monotonic()
        try:
            self._loop.call_soon_threadsafe(self._stop.set)
        except RuntimeError:  # the service ended by itself meanwhile (its loop is closed)
            pass
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError(f"the service did not stop within {timeout} s")
        if self.error is not None:
            raise AssertionError(f"the service failed: {self.error!r}")
        return time.monotonic() - began


def service_settings(db_url: str, **overrides: Any) -> Settings:
    """Settings for a test service: this test's database, nothing from the environment."""
    values = {
        "DATABASE_URL": db_url,
        "TELEGRAM_BOT_TOKEN": None,
        "XMPP_JID": None,
        "XMPP_PASSWORD": None,
        "SIP_SERVER": None,
        "WAVES_NODE_URL": None,
        "LOG_LEVEL": "INFO",
    }
    values.update(overrides)
    return load_settings(_env_file=None, **values)


def telegram_settings(db_url: str, api: BotAPIEmulator, **overrides: Any) -> dict:
    """Setting values for a service that talks to the emulator."""
    return {"TELEGRAM_BOT_TOKEN": api.token, "TELEGRAM_API_URL": api.url, **overrides}


def xmpp_settings(lab: ProsodyLab, jid: str, password: str, **overrides: Any) -> dict:
    """Setting values for a service that logs in to the prosody lab over verified TLS."""
    return {
        "XMPP_JID": jid,
        "XMPP_PASSWORD": password,
        "XMPP_HOST": "127.0.0.1",
        "XMPP_PORT": lab.port,
        "XMPP_CA_FILE": str(lab.cert_file),
        **overrides,
    }


@pytest.fixture
def telegram_api() -> Iterator[BotAPIEmulator]:
    """A fresh Bot API emulator on a free port of 127.0.0.1."""
    api = BotAPIEmulator().start()
    yield api
    api.stop()


@pytest.fixture
def start_service(db_url: str) -> Iterator[Any]:
    """`start_service(**settings)` runs the service on this test's database; stopped after."""
    services: list[RunningService] = []

    def start(**overrides: Any) -> RunningService:
        service = RunningService(service_settings(db_url, **overrides))
        services.append(service)
        return service.start()

    yield start
    errors = []
    for service in services:
        try:
            service.stop()
        except AssertionError as error:
            errors.append(error)
    if errors:
        raise errors[0]


@pytest.fixture(scope="session")
def prosody(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProsodyLab]:
    """One prosody server for the session (tests use their own accounts)."""
    lab = ProsodyLab(Path(tmp_path_factory.mktemp("prosody")))
    lab.start()
    yield lab
    lab.stop()


@pytest.fixture
def own_prosody(tmp_path: Path) -> Iterator[ProsodyLab]:
    """A prosody server for this test alone (it may restart it)."""
    lab = ProsodyLab(tmp_path / "prosody")
    lab.start()
    yield lab
    lab.stop()


@pytest.fixture
def xmpp_user() -> Iterator[Any]:
    """`xmpp_user(lab)` registers a person on the lab and logs them in; logged out after."""
    users: list[XMPPUser] = []

    def make(lab: ProsodyLab) -> XMPPUser:
        jid, password = lab.register()
        user = XMPPUser(lab, jid, password)
        users.append(user)
        return user.start()

    yield make
    for user in users:
        user.stop()
