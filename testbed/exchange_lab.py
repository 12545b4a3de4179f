"""The exchange on 127.0.0.1 for tests and benches: kamailio and rtpengine started by our
own `exchange.engines` from the configuration `serve` writes, our control API, and
baresip phones registering with softphone credentials over TLS with SRTP.

    lab = ExchangeLab(db_url, tmp_path).start()
    alice = lab.softphone("console:alice", tone_hz=440.0)   # registered Phone
    ...
    lab.stop()
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from dialer.speech import synthesize
from exchange.config import ExchangeConfig, control_token
from exchange.control import ControlServer
from exchange.engines import Engines
from exchange.ng import NgClient
from exchange.notices import Notice
from exchange.recording import CallRecordings
from exchange.runtime import build_exchange
from exchange.softphones import Softphones
from privacy.recordings import RecordingDesk
from settings import Settings, load_settings
from storage import open_database
from storage.accounts import AccountStore
from storage.calls import CallStore
from storage.models import Recording
from storage.recordings import RecordingStore
from testbed.sip_lab import ANSWER, PORTS, Phone, require_programs
from wallet.billing import Billing


async def _notice(lang: str) -> Path:
    """The recording notice as the service speaks it (a fixed English text here)."""
    return await asyncio.to_thread(synthesize, "This call is recorded.", lang)


def exchange_settings(workdir: Path) -> dict[str, Any]:
    """PBX_* setting values of an exchange on free loopback ports, its files in `workdir`."""
    low, high = PORTS.rtp_range(200)
    return {
        "PBX_ENABLED": True,
        "PBX_RUN_DIR": str(workdir / "exchange"),
        "PBX_SIP_PORT": PORTS.sip_port(),
        "PBX_TLS_PORT": PORTS.sip_port(),
        "PBX_RPC_PORT": PORTS.sip_port(),
        "PBX_CONTROL_PORT": PORTS.sip_port(),
        "PBX_RTPENGINE_PORT": PORTS.sip_port(),
        "PBX_RTP_PORTS": f"{low}-{high}",
    }


def tls_phone(
    user: str,
    password: str,
    settings: Settings,
    *,
    tone_hz: float = 440.0,
    behaviour: str = ANSWER,
    mediaenc: str = "srtp-mand",
    video: bool = False,
    register: bool = True,
) -> Phone:
    """A started baresip phone of the exchange of `settings`, over TLS with `mediaenc`
    (and VP8 test video with `video`), trusting the exchange's certificate; registered
    unless `register` is False."""
    ca_file = Path(settings.PBX_TLS_CERT or Path(settings.PBX_RUN_DIR) / "exchange-cert.pem")
    phone = Phone(
        user,
        password,
        settings.PBX_TLS_PORT,
        behaviour=behaviour,
        tone_hz=tone_hz,
        transport="tls",
        mediaenc=mediaenc,
        ca_file=ca_file,
        video=video,
    )
    phone.start()
    phone.connect_ctrl()
    if register:
        phone.wait_registered()
    return phone


class ExchangeLab:
    """One exchange (engines + control API) on free loopback ports, on `db_url`."""

    def __init__(self, db_url: str, workdir: Path, **overrides: Any) -> None:
        require_programs("kamailio", "rtpengine", "baresip")
        values: dict[str, Any] = {"DATABASE_URL": db_url, **exchange_settings(workdir)}
        values.update(overrides)
        self.settings: Settings = load_settings(_env_file=None, **values)
        self.config = ExchangeConfig.from_settings(self.settings)
        self.engine = open_database(db_url)
        self.accounts = AccountStore(self.engine)
        self.calls = CallStore(self.engine)
        self.softphones = Softphones(self.accounts, self.settings)
        self.billing = Billing.from_settings(self.engine, self.settings)
        self.notices: list[Notice] = []  # what the chat would be told
        self.exchange = build_exchange(
            self.accounts,
            self.calls,
            self.settings,
            billing=self.billing,
            notify=self.notices.append,
        )
        self.token = control_token(self.config.run_dir)
        # Recordings of the accounts that record every call, sealed in workdir/recordings;
        # `recorded` lists each one finished (what the chat would be sent).
        self.desk = RecordingDesk(
            RecordingStore(self.engine),
            self.accounts,
            workdir / "recordings",
            retention_days=self.settings.RECORDING_RETENTION_DAYS,
            notice=self.settings.RECORDING_NOTICE,
        )
        self.recorded: list[Recording] = []
        self.desk.listeners.append(self._recorded)
        self.taps = CallRecordings(
            self.desk,
            self.accounts,
            NgClient("127.0.0.1", self.settings.PBX_RTPENGINE_PORT),
            notice=_notice,
        )
        self.control = ControlServer(
            self.exchange, self.settings.PBX_CONTROL_PORT, self.token, self.taps
        )
        self.engines = Engines(self.config)
        self.phones: list[Phone] = []
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    async def _recorded(self, recording: Recording) -> None:
        self.recorded.append(recording)

    def run(self, coroutine: Any, timeout: float = 60) -> Any:
        """Run a coroutine on the lab's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def start(self) -> ExchangeLab:
        """Start the control API, then the engines (raises EngineError with their log)."""
        self._thread.start()
        self.run(self.control.start())
        self.run(self.engines.start())
        self.config = self.engines.config  # with its certificate pair
        return self

    def credentials(self, identity: str) -> tuple[str, str]:
        """(extension, password) of the account `network:id`, a new password made now."""
        network, _, external_id = identity.partition(":")
        account = self.accounts.resolve(network, external_id)
        made = self.softphones.credentials(account.id, reset=True)
        assert made.password is not None
        return made.username, made.password

    def phone(self, user: str, password: str, **options: Any) -> Phone:
        """A phone of this exchange (see `tls_phone` for the options), stopped with it."""
        phone = tls_phone(user, password, self.settings, **options)
        self.phones.append(phone)
        return phone

    def softphone(self, identity: str, **options: Any) -> Phone:
        """A registered phone with fresh credentials of the account `identity`."""
        user, password = self.credentials(identity)
        return self.phone(user, password, **options)

    def dial(self, caller: Phone, extension: str) -> None:
        """Make `caller` call `extension` of this exchange over TLS."""
        caller.command("dial", f"sip:{extension}@127.0.0.1:{self.config.tls_port}")

    def log(self, engine: str = "kamailio") -> str:
        """All of an engine's log."""
        path = self.config.run_dir / f"{engine}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        """Stop phones, engines, control API and loop."""
        for phone in self.phones:
            phone.stop()
        if self._thread.is_alive():
            try:
                self.run(self.engines.stop())
                self.run(self.control.stop())
                self.run(self.taps.close())
            finally:
                self.loop.call_soon_threadsafe(self.loop.stop)
                self._thread.join(5)
        self.engine.dispose()


def sip_attempt(
    port: int,
    method: str,
    user: str,
    password: str | None,
    *,
    realm: str = "127.0.0.1",
    to_user: str | None = None,
    timeout: float = 3.0,
) -> int:
    """Send one REGISTER or INVITE from `user` over UDP to 127.0.0.1:`port`, answer a
    401/407 challenge once with `password` (digest MD5, qop=auth; RFC 8760), and return
    the final status code (0 when nothing answered). `password` None: no answer to the
    challenge, the challenge's own code is returned. An INVITE carries no SDP."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(timeout)
        local = sock.getsockname()[1]
        call_id, tag = uuid.uuid4().hex, uuid.uuid4().hex[:8]
        target = to_user or user
        uri = f"sip:127.0.0.1:{port}" if method == "REGISTER" else f"sip:{target}@127.0.0.1"
        authorization = ""
        for cseq in (1, 2):
            branch = "z9hG4bK" + uuid.uuid4().hex
            request = (
                f"{method} {uri} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP 127.0.0.1:{local};branch={branch};rport\r\n"
                f"From: <sip:{user}@{realm}>;tag={tag}\r\n"
                f"To: <sip:{target}@{realm}>\r\n"
                f"Call-ID: {call_id}\r\nCSeq: {cseq} {method}\r\nMax-Forwards: 70\r\n"
                # one binding per user however many attempts (registrar max_contacts)
                f"Contact: <sip:{user}@127.0.0.1:9>\r\nExpires: 60\r\n"
                f"{authorization}Content-Length: 0\r\n\r\n"
            )
            sock.sendto(request.encode(), ("127.0.0.1", port))
            code, headers = _final_answer(sock)
            if code not in (401, 407) or password is None or cseq == 2:
                return code
            challenge = headers.get("www-authenticate") or headers.get("proxy-authenticate", "")
            params = dict(re.findall(r'(\w+)="?([^",]*)"?', challenge))
            ha1 = _md5(f"{user}:{params['realm']}:{password}")
            ha2 = _md5(f"{method}:{uri}")
            name = "Authorization" if code == 401 else "Proxy-Authorization"
            authorization = (
                f'{name}: Digest username="{user}", realm="{params["realm"]}", '
                f'nonce="{params["nonce"]}", uri="{uri}", algorithm=MD5'
            )
            if "qop" in params:  # RFC 2617 §3.2.2.1
                cnonce, nc = uuid.uuid4().hex[:16], "00000001"
                response = _md5(f"{ha1}:{params['nonce']}:{nc}:{cnonce}:auth:{ha2}")
                authorization += f', qop=auth, nc={nc}, cnonce="{cnonce}"'
            else:
                response = _md5(f"{ha1}:{params['nonce']}:{ha2}")
            authorization += f', response="{response}"\r\n'
        return 0


def _final_answer(sock: socket.socket) -> tuple[int, dict[str, str]]:
    """The first final answer on `sock` (provisional ones skipped): code and headers."""
    while True:
        try:
            data, _ = sock.recvfrom(65535)
        except TimeoutError:
            return 0, {}
        head = data.decode(errors="replace").split("\r\n\r\n", 1)[0].split("\r\n")
        code = int(head[0].split()[1])
        if code >= 200:
            headers = {}
            for line in head[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            return code, headers


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def capture_udp(ports: tuple[int, int], seconds: float) -> list[bytes]:
    """UDP payloads sent on the loopback interface to a port in `ports` (inclusive)
    during `seconds`: a raw packet socket on `lo` (needs CAP_NET_RAW; PermissionError
    otherwise). Loopback frames carry an Ethernet header, then IPv4 and UDP."""
    low, high = ports
    found: list[bytes] = []
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(0x0003)) as sniffer:
        sniffer.bind(("lo", 0))
        sniffer.settimeout(0.2)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                frame = sniffer.recv(65535)
            except TimeoutError:
                continue
            if len(frame) < 42 or frame[12:14] != b"\x08\x00" or frame[23] != 17:
                continue  # not IPv4, or not UDP
            ip_header = (frame[14] & 0x0F) * 4
            udp = frame[14 + ip_header :]
            destination = int.from_bytes(udp[2:4], "big")
            if low <= destination <= high:
                found.append(udp[8:])
    return found
