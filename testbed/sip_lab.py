"""A SIP lab on 127.0.0.1 for tests and benches: kamailio plus headless baresip phones.

`Kamailio` runs deploy/kamailio/kamailio.cfg with digest auth (one password per user)
and optional record-routing. `Phone` is one baresip instance registered to it that
answers with a tone, rejects with 486, never answers or sends DTMF on request; it
records what it hears (module sndfile) and reports its events through ctrl_tcp.
`tone_share` tells how much of a recording's energy lies at one frequency.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
import wave
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from exchange.probes import options_ping

REPO = Path(__file__).resolve().parent.parent
KAMAILIO_CFG = REPO / "deploy" / "kamailio" / "kamailio.cfg"
SIP_PORT_BASE = 25060
RTP_PORT_LOW, RTP_PORT_HIGH = 30000, 39999
SAMPLE_RATE = 8000

ANSWER = "answer"  # auto-answer, play a tone
BUSY = "busy"  # reject every call with 486
NO_ANSWER = "noanswer"  # ring forever
DTMF = "dtmf"  # auto-answer, play a tone, send digits on request (ctrl_tcp)


class LabError(RuntimeError):
    """The lab could not start: a program is missing or did not come up."""


def require_programs(*names: str) -> None:
    """Fail (never skip) with a clear message when a lab program is not installed."""
    missing = [name for name in names if shutil.which(name) is None]
    if missing:
        raise LabError(
            f"SIP lab needs {', '.join(missing)}: install with apt-get install {' '.join(missing)}"
        )


class _PortPool:
    """Hands out loopback ports that are free now and not handed out before in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next_sip = SIP_PORT_BASE + (os.getpid() % 200) * 20
        self._next_rtp = RTP_PORT_LOW + (os.getpid() % 50) * 100

    def sip_port(self) -> int:
        with self._lock:
            # baresip also binds port + 1 (TLS), so hand out every other port
            for _ in range(2000):
                port = self._next_sip
                self._next_sip = port + 2 if port < 29990 else SIP_PORT_BASE
                if all(_udp_free(p) and _tcp_free(p) for p in (port, port + 1)):
                    return port
        raise LabError("no free SIP port in 25060-29999")

    def rtp_range(self, size: int) -> tuple[int, int]:
        with self._lock:
            for _ in range(400):
                low = self._next_rtp
                if low + size > RTP_PORT_HIGH:
                    low = RTP_PORT_LOW
                self._next_rtp = low + size
                if all(_udp_free(p) for p in range(low, low + size, 2)):
                    return low, low + size - 1
        raise LabError("no free RTP port range in 30000-39999")


def _udp_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _tcp_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


PORTS = _PortPool()


def wait_for(condition: Callable[[], object], timeout: float, what: str, step: float = 0.05):
    """Poll `condition` until it returns something truthy; raise TimeoutError naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(step)


def write_tone(path: Path, frequency: float, seconds: float = 10.0, level: float = 0.3) -> Path:
    """Write a sine tone as 8 kHz mono S16LE WAV (what baresip's aufile plays)."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    samples = (np.sin(2 * np.pi * frequency * t) * level * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(samples.tobytes())
    return path


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Samples (float, mono) and rate of a 16-bit WAV file."""
    with wave.open(str(path), "rb") as src:
        rate, channels = src.getframerate(), src.getnchannels()
        data = np.frombuffer(src.readframes(src.getnframes()), dtype="<i2").astype(float)
    if channels > 1:
        data = data.reshape(-1, channels).mean(axis=1)
    return data, rate


def tone_share(path: Path, frequency: float, tolerance: float = 15.0) -> float:
    """Share (0..1) of the recording's energy within `tolerance` Hz of `frequency`.

    Silence before and after the audio carries no energy, so it does not count.
    Returns 0.0 for a recording without any energy.
    """
    samples, rate = read_wav(path)
    return samples_tone_share(samples, rate, frequency, tolerance)


def samples_tone_share(
    samples: np.ndarray, rate: int, frequency: float, tolerance: float = 15.0
) -> float:
    """`tone_share` of samples at `rate` Hz."""
    if samples.size < rate // 10:
        return 0.0
    samples = samples - samples.mean()
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size))) ** 2
    freqs = np.fft.rfftfreq(samples.size, 1 / rate)
    total = spectrum[freqs > 20].sum()
    if total <= 0:
        return 0.0
    band = spectrum[(freqs >= frequency - tolerance) & (freqs <= frequency + tolerance)].sum()
    return float(band / total)


def audible_seconds(path: Path, threshold: float = 500.0) -> float:
    """How many seconds of the recording carry sound (20 ms frames above an RMS threshold)."""
    samples, rate = read_wav(path)
    frame = rate // 50
    count = samples.size // frame
    if count == 0:
        return 0.0
    frames = samples[: count * frame].reshape(count, frame)
    rms = np.sqrt((frames**2).mean(axis=1))
    return float((rms > threshold).sum() * 0.02)


def _netstring(payload: bytes) -> bytes:
    return str(len(payload)).encode() + b":" + payload + b","


@dataclass
class Kamailio:
    """kamailio as registrar and proxy on 127.0.0.1, with per-user digest passwords."""

    users: dict[str, str] = field(default_factory=dict)
    record_route: bool = False
    strict_route_set: bool = False
    fixed_answers: dict[str, int] = field(default_factory=dict)
    port: int = 0
    workdir: Path | None = None
    process: subprocess.Popen | None = None

    def start(self, timeout: float = 20.0) -> Kamailio:
        """Write the configuration, start kamailio and wait until it answers OPTIONS."""
        require_programs("kamailio")
        self.workdir = Path(tempfile.mkdtemp(prefix="kamailio-lab-"))
        if not self.port:
            self.port = PORTS.sip_port()
        self._write_config()
        self._spawn()
        self.wait_ready(timeout)
        return self

    def _write_config(self) -> None:
        assert self.workdir is not None
        shutil.copy(KAMAILIO_CFG, self.workdir / "kamailio.cfg")
        (self.workdir / "kamailio-local.cfg").write_text(f"listen=udp:127.0.0.1:{self.port}\n")
        lines = ["event_route[htable:mod-init] {"]
        for user, password in self.users.items():
            lines.append(f'\t$sht(users=>{user}) = "{password}";')
        for number, code in self.fixed_answers.items():
            lines.append(f'\t$sht(answers=>{number}) = "{code}";')
        lines.append("}")
        (self.workdir / "kamailio-accounts.cfg").write_text("\n".join(lines) + "\n")

    def _spawn(self) -> None:
        assert self.workdir is not None
        defines = ["-A", "TESTLAB", "-A", "WITH_AUTH"]
        if self.record_route:
            defines += ["-A", "WITH_RR"]
        if self.strict_route_set:
            defines += ["-A", "STRICT_ROUTE_SET"]
        rundir = self.workdir / "run"
        rundir.mkdir(exist_ok=True)
        command = ["kamailio", "-f", str(self.workdir / "kamailio.cfg"), "-DD", "-E"]
        command += ["-Y", str(rundir), "-P", str(rundir / "kamailio.pid"), "-m", "64", "-M", "8"]
        self.log_path = self.workdir / "kamailio.log"
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command + defines,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = 20.0) -> None:
        """Wait until kamailio answers an OPTIONS request on its port."""

        def answers() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise LabError(f"kamailio exited; log:\n{self.log_tail()}")
            return options_ping("127.0.0.1", self.port, timeout=0.5)

        wait_for(answers, timeout, f"kamailio on port {self.port}")

    def restart(self) -> None:
        """Stop and start again on the same port (registrations are lost: no database)."""
        self.stop(keep_files=True)
        self._spawn()
        self.wait_ready()

    def log_tail(self, lines: int = 40) -> str:
        """The end of kamailio's log."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except (OSError, AttributeError):
            return ""

    def log_text(self) -> str:
        """All of kamailio's log."""
        return self.log_path.read_text(errors="replace")

    def pids(self) -> list[int]:
        """Process ids of kamailio's main process and its children."""
        if self.process is None:
            return []
        return [self.process.pid, *_children(self.process.pid)]

    def stop(self, keep_files: bool = False) -> None:
        """Stop kamailio (its whole process group)."""
        if self.process is not None and self.process.poll() is None:
            _terminate_group(self.process)
        self.process = None
        if not keep_files and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)


@dataclass
class Phone:
    """One headless baresip phone registered to the lab's kamailio."""

    user: str
    password: str
    server_port: int
    behaviour: str = ANSWER
    tone_hz: float = 440.0
    # "tls": register and call over TLS (server_port is then the TLS port), with the CA
    # file `ca_file`; `mediaenc` a baresip media encryption ("srtp-mand", "srtp", "").
    transport: str = "udp"
    mediaenc: str = ""
    ca_file: Path | None = None
    video: bool = False  # offer VP8 video from baresip's test pattern (fakevideo)
    sip_port: int = 0
    ctrl_port: int = 0
    workdir: Path | None = None
    process: subprocess.Popen | None = None
    events: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._ctrl: socket.socket | None = None
        self._ctrl_lock = threading.Lock()
        self._reader: threading.Thread | None = None

    @property
    def recordings_dir(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "recordings"

    def start(self) -> Phone:
        """Write its configuration and start baresip (call wait_registered afterwards)."""
        require_programs("baresip")
        self.workdir = Path(tempfile.mkdtemp(prefix=f"baresip-{self.user}-"))
        self.recordings_dir.mkdir()
        self.sip_port = self.sip_port or PORTS.sip_port()
        self.ctrl_port = self.ctrl_port or PORTS.sip_port()
        rtp_low, rtp_high = PORTS.rtp_range(40)
        tone = write_tone(self.workdir / "tone.wav", self.tone_hz, seconds=120.0)
        answermode = "manual" if self.behaviour in (NO_ANSWER, BUSY) else "auto"
        config = f"""
poll_method epoll
sip_listen 127.0.0.1:{self.sip_port}
call_local_timeout 120
call_max_calls 8
audio_player aubridge,nullplay
audio_source aufile,{tone}
audio_alert aubridge,nullplay
ausrc_srate 8000
auplay_srate 8000
ausrc_channels 1
auplay_channels 1
audio_buffer 20-160
rtp_ports {rtp_low}-{rtp_high}
rtp_timeout 0
net_interface 127.0.0.1
module_path /usr/lib/baresip/modules
module g711.so
module aubridge.so
module aufile.so
module sndfile.so
module account.so
module menu.so
module ctrl_tcp.so
module_app uuid.so
ctrl_tcp_listen 127.0.0.1:{self.ctrl_port}
snd_path {self.recordings_dir}
"""
        aor = f"sip:{self.user}@127.0.0.1:{self.server_port}"
        extra = ""
        if self.transport == "tls":
            config += f"sip_cafile {self.ca_file}\n"
            aor += ";transport=tls"
        if self.video:
            config = config.replace(
                "module account.so", "module fakevideo.so\nmodule vp8.so\nmodule account.so"
            )
            config += "video_source fakevideo,nil\nvideo_display fakevideo,nil\n"
            config += "video_size 320x240\nvideo_fps 10\n"
        if self.mediaenc:  # loaded before account.so, which looks the encryption up
            config = config.replace("module account.so", "module srtp.so\nmodule account.so")
            extra = f";mediaenc={self.mediaenc}"
        (self.workdir / "config").write_text(config)
        (self.workdir / "accounts").write_text(
            f"<{aor}>;auth_pass={self.password};"
            f"answermode={answermode};regint=600;audio_codecs=PCMU,PCMA{extra}"
            + (";video_codecs=VP8" if self.video else "")
            + "\n"
        )
        (self.workdir / "contacts").write_text("")
        self.log_path = self.workdir / "baresip.log"
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                ["baresip", "-f", str(self.workdir)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=self.workdir,
            )
        return self

    def connect_ctrl(self, timeout: float = 20.0) -> None:
        """Connect to the phone's ctrl_tcp port and collect its events in the background."""

        def connect() -> socket.socket | None:
            if self.process is not None and self.process.poll() is not None:
                raise LabError(f"baresip {self.user} exited; log:\n{self.log_tail()}")
            try:
                return socket.create_connection(("127.0.0.1", self.ctrl_port), timeout=1)
            except OSError:
                return None

        self._ctrl = wait_for(connect, timeout, f"ctrl_tcp of phone {self.user}")
        self._ctrl.settimeout(None)
        self._reader = threading.Thread(target=self._read_events, daemon=True)
        self._reader.start()

    def _read_events(self) -> None:
        buffer = b""
        sock = self._ctrl
        while sock is not None:
            try:
                chunk = sock.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            while True:
                length, sep, rest = buffer.partition(b":")
                if not sep or not length.isdigit() or len(rest) < int(length) + 1:
                    break
                payload, buffer = rest[: int(length)], rest[int(length) + 1 :]
                try:
                    event = json.loads(payload)
                except ValueError:
                    continue
                self.events.append(event)
                if self.behaviour == BUSY and event.get("type") == "CALL_INCOMING":
                    # baresip rejects a ringing call it is told to hang up with 486
                    self.command("hangup")

    def command(self, command: str, params: str = "") -> None:
        """Send one ctrl_tcp command (e.g. `sndcode` with a digit, `hangup`)."""
        assert self._ctrl is not None, "connect_ctrl first"
        message = {"command": command, "params": params, "token": uuid.uuid4().hex[:8]}
        with self._ctrl_lock:
            self._ctrl.sendall(_netstring(json.dumps(message).encode()))

    def send_dtmf(self, digits: str, gap: float = 0.25) -> None:
        """Send digits as RFC 2833 events in the current call."""
        for digit in digits:
            self.command("sndcode", digit)
            time.sleep(gap)

    def event_types(self) -> list[str]:
        """Types of the events received so far (CALL_INCOMING, CALL_ESTABLISHED, ...)."""
        return [str(e.get("type")) for e in self.events if e.get("event")]

    def calls_with(self, event_type: str) -> list[dict]:
        """Events of one type, oldest first."""
        return [e for e in self.events if e.get("event") and e.get("type") == event_type]

    def wait_event(self, event_type: str, count: int = 1, timeout: float = 30.0) -> dict:
        """Wait until `count` events of this type arrived; return the last one."""
        wait_for(
            lambda: len(self.calls_with(event_type)) >= count,
            timeout,
            f"{event_type} x{count} on phone {self.user}",
        )
        return self.calls_with(event_type)[count - 1]

    def wait_registered(self, timeout: float = 30.0) -> None:
        """Wait until the phone reports a successful registration."""

        def registered() -> bool:
            self._failed_check()
            if self.calls_with("REGISTER_OK"):
                return True
            self.command("reginfo")
            time.sleep(0.2)
            return any(
                e.get("response")
                and "OK" in str(e.get("data", "")).replace("[32mOK", " OK")
                and "Expires" in str(e.get("data", ""))
                for e in self.events
            )

        wait_for(registered, timeout, f"registration of phone {self.user}", step=0.3)

    def _failed_check(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise LabError(f"baresip {self.user} exited; log:\n{self.log_tail()}")
        return False

    def recordings(self, kind: str = "dec") -> list[Path]:
        """The phone's recordings, oldest first: `dec` what it heard, `enc` what it sent."""
        return sorted(self.recordings_dir.glob(f"dump-*-{kind}.wav"))

    def heard(self, timeout: float = 10.0) -> Path:
        """The newest recording of what the phone heard (waits for a non-empty file)."""

        last_size = {}

        def ready() -> Path | None:
            files = [p for p in self.recordings("dec") if p.stat().st_size > 44]
            if not files:
                return None
            newest, size = files[-1], files[-1].stat().st_size
            stable = last_size.get(newest) == size
            last_size[newest] = size
            if not stable:
                return None
            try:
                with wave.open(str(newest), "rb") as src:
                    return newest if src.getnframes() > 0 else None
            except (wave.Error, EOFError):
                return None

        return wait_for(ready, timeout, f"a finished recording on phone {self.user}", step=0.3)

    def log_tail(self, lines: int = 30) -> str:
        """The end of baresip's output."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except (OSError, AttributeError):
            return ""

    def stop(self) -> None:
        """Stop baresip and remove its files."""
        if self._ctrl is not None:
            try:
                self._ctrl.close()
            except OSError:
                pass
            self._ctrl = None
        if self.process is not None and self.process.poll() is None:
            _terminate_group(self.process)
        self.process = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)


class SipLab:
    """kamailio plus phones: `lab.phone("1001", ANSWER, 440)`; dialer account `dialer`."""

    def __init__(
        self,
        *,
        record_route: bool = False,
        strict_route_set: bool = False,
        dialer_user: str = "dialer",
        dialer_password: str | None = None,
        fixed_answers: dict[str, int] | None = None,
    ) -> None:
        self.dialer_user = dialer_user
        self.dialer_password = dialer_password or uuid.uuid4().hex
        self.kamailio = Kamailio(
            users={dialer_user: self.dialer_password},
            record_route=record_route,
            strict_route_set=strict_route_set,
            fixed_answers=dict(fixed_answers or {}),
        )
        self.phones: dict[str, Phone] = {}
        self._planned: list[Phone] = []

    @property
    def port(self) -> int:
        return self.kamailio.port

    def plan_phone(self, user: str, behaviour: str = ANSWER, tone_hz: float = 440.0) -> Phone:
        """Add a phone account before start() (kamailio learns its password at start)."""
        phone = Phone(user, uuid.uuid4().hex[:12], 0, behaviour, tone_hz)
        self.kamailio.users[user] = phone.password
        self._planned.append(phone)
        return phone

    def start(self) -> SipLab:
        """Start kamailio, then every planned phone, and wait until all are registered."""
        self.kamailio.start()
        try:
            self.start_phones(self._planned)
        except BaseException:
            self.stop()
            raise
        self._planned = []
        return self

    def start_phones(self, phones: Iterable[Phone]) -> None:
        """Start phones (planned before kamailio started) and wait for their registration."""
        phones = list(phones)
        for phone in phones:
            phone.server_port = self.port
            phone.start()
            self.phones[phone.user] = phone
        for phone in phones:
            phone.connect_ctrl()
        for phone in phones:
            phone.wait_registered()

    def settings_overrides(self, **extra: object) -> dict[str, object]:
        """SIP_* settings that point the dialer at this lab."""
        low, high = PORTS.rtp_range(400)
        values: dict[str, object] = {
            "SIP_SERVER": "127.0.0.1",
            "SIP_PORT": self.port,
            "SIP_USER": self.dialer_user,
            "SIP_PASSWORD": self.dialer_password,
            "SIP_LOCAL_IP": "127.0.0.1",
            "SIP_LOCAL_PORT": PORTS.sip_port(),
            "SIP_RTP_PORTS": f"{low}-{high}",
        }
        values.update(extra)
        return values

    def stop(self) -> None:
        """Stop every phone and kamailio."""
        for phone in self.phones.values():  # signal all first: each takes a moment to quit
            if phone.process is not None and phone.process.poll() is None:
                try:
                    os.killpg(phone.process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for phone in self.phones.values():
            phone.stop()
        self.phones.clear()
        self.kamailio.stop()


def _terminate_group(process: subprocess.Popen, timeout: float = 5.0) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout)


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    result = []
    for child in text.split():
        result.append(int(child))
        result.extend(_children(int(child)))
    return result
