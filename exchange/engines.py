"""kamailio and rtpengine as children of our service: started, watched, restarted, stopped.

Each engine runs in the foreground in its own process group, its output in a log file of
the run directory (`kamailio.log`, `rtpengine.log`), and dies with our service (a
parent-death signal); one a killed service left anyway (its pid file) is ended before
the next start, and a port something else answers on is an error, not shared. `start`
returns once both answer (rtpengine's ng `ping`, kamailio's OPTIONS); `watch` restarts
one that exits, after a pause that doubles up to a minute while it keeps failing
(rtpengine 10.5 has been seen to dump core: exchange.md); `stop` ends both (SIGTERM, then
SIGKILL after STOP_TIMEOUT).
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import shutil
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from domain.clock import sleep_unless_stopped
from exchange import config as exchange_config
from exchange.config import ExchangeConfig
from exchange.probes import ng_ping, options_ping

log = logging.getLogger(__name__)

START_TIMEOUT = 20.0  # seconds for an engine to answer after it is spawned
STOP_TIMEOUT = 2.0  # within the service's own shutdown grace (bot.app.SHUTDOWN_GRACE)
PR_SET_PDEATHSIG = 1  # prctl(2)
MAX_BACKOFF = 60.0


class EngineError(RuntimeError):
    """An engine is missing, or did not start (the message says which, and its log)."""


@dataclass
class Engine:
    """One engine process: its command, the probe that says it answers, its log file."""

    name: str
    command: list[str]
    probe: Callable[[], bool]
    log_path: Path
    pid_path: Path
    process: asyncio.subprocess.Process | None = None
    restarts: int = 0
    _log: int | None = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def spawn(self) -> None:
        """Start the process (its output appended to `log_path`)."""
        if shutil.which(self.command[0]) is None:
            raise EngineError(f"{self.command[0]} is not installed (./setup.sh installs it)")
        await asyncio.to_thread(self._end_leftover)
        if await asyncio.to_thread(self.probe):
            raise EngineError(f"something already answers on {self.name}'s port")
        self._close_log()
        self._log = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self.process = await asyncio.create_subprocess_exec(
            *self.command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )

    async def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Return once the probe answers; EngineError when the process exits or the
        timeout (seconds) passes first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if not self.running:
                raise EngineError(f"{self.name} exited; its log ends:\n{self.log_tail()}")
            if await asyncio.to_thread(self.probe):
                return
            await asyncio.sleep(0.1)
        raise EngineError(f"{self.name} did not answer in {timeout:.0f} s:\n{self.log_tail()}")

    async def stop(self) -> None:
        """End the process group: SIGTERM, then SIGKILL if it lingers."""
        process = self.process
        if process is not None and process.returncode is None:
            _signal_group(process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
            except TimeoutError:
                _signal_group(process.pid, signal.SIGKILL)
                await process.wait()
        self._close_log()

    def _end_leftover(self) -> None:
        """End the engine a killed service left running (its pid file, when the process
        is still this engine): else two would share the ports."""
        try:
            pid = int(self.pid_path.read_text().strip())
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            return
        if Path(command[0].decode(errors="replace")).name != self.command[0]:
            return  # the pid now belongs to another program
        log.warning("%s left running by an earlier start (pid %d): ending it", self.name, pid)
        _signal_group(pid, signal.SIGKILL)
        for _ in range(50):
            if not Path(f"/proc/{pid}").exists():
                break
            time.sleep(0.05)

    def log_tail(self, lines: int = 30) -> str:
        """The end of the engine's log."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _close_log(self) -> None:
        if self._log is not None:
            os.close(self._log)
            self._log = None


class Engines:
    """rtpengine and kamailio for one exchange configuration."""

    def __init__(self, config: ExchangeConfig) -> None:
        self.config = config
        run = config.run_dir
        self.rtpengine = Engine(
            "rtpengine",
            exchange_config.rtpengine_command(config),
            lambda: ng_ping(config.rtpengine_port, timeout=0.5),
            run / "rtpengine.log",
            run / "rtpengine.pid",
        )
        self.kamailio = Engine(
            "kamailio",
            exchange_config.kamailio_command(config),
            lambda: options_ping(config.listen_ip, config.sip_port, timeout=0.5),
            run / "kamailio.log",
            run / "kamailio.pid",
        )

    @property
    def all(self) -> tuple[Engine, Engine]:
        return self.rtpengine, self.kamailio

    async def start(self) -> None:
        """Write the configurations, start rtpengine then kamailio, and wait until both
        answer. Raises EngineError (both stopped again) when one cannot start."""
        self.config = await asyncio.to_thread(exchange_config.write, self.config)
        try:
            for engine in self.all:
                await engine.spawn()
                await engine.wait_ready()
        except BaseException:
            await self.stop()
            raise
        log.info(
            "exchange up: SIP %s:%d (UDP, TCP), TLS %d, media %d-%d",
            self.config.listen_ip,
            self.config.sip_port,
            self.config.tls_port,
            *self.config.rtp_ports,
        )

    async def watch(self, stop: asyncio.Event) -> None:
        """Restart an engine that exits, until `stop` is set."""
        backoff = 1.0
        while not await sleep_unless_stopped(stop, 0.5):
            for engine in self.all:
                if engine.running or stop.is_set():
                    continue
                code = engine.process.returncode if engine.process else None
                log.error("%s exited (%s); restarting in %.0f s", engine.name, code, backoff)
                if await sleep_unless_stopped(stop, backoff):
                    return
                try:
                    await engine.spawn()
                    await engine.wait_ready()
                    engine.restarts += 1
                    backoff = 1.0
                    log.warning("%s restarted", engine.name)
                except EngineError as error:
                    log.error("%s", error)
                    backoff = min(backoff * 2, MAX_BACKOFF)

    async def stop(self) -> None:
        """Stop kamailio, then rtpengine."""
        for engine in reversed(self.all):
            await engine.stop()


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        log.error("engine process %d is not ours to stop", pid)


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when our service dies (prctl PR_SET_PDEATHSIG),
    so a killed service leaves no engine behind."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
