"""The engines' configurations, written from our settings into the run directory.

kamailio's script is `deploy/exchange/kamailio.cfg`, a template whose `@@NAME@@` marks are
replaced here (kamailio's own `$` variables are left alone); tls.cfg follows kamailio's
tls module format; rtpengine takes everything on its command line (rtpengine(8)). The
same files serve `serve` (engines as our children) and the tests' fixtures.
"""

from __future__ import annotations

import re
import secrets
import socket
from dataclasses import dataclass, field, replace
from pathlib import Path

from dialer.types import SipConfig
from exchange.certs import CertificatePair, private_file, self_signed
from settings import Settings

TEMPLATE = Path(__file__).resolve().parent.parent / "deploy" / "exchange" / "kamailio.cfg"
_MARK = re.compile(r"@@([A-Z_]+)@@")
# The callback dialers' SIP users on our own kamailio: one per instance (dialer_name).
DIALER_PREFIX = "dialer-"
TOKEN_FILE = "control-token"  # in the run directory, 0600
MAX_AUTH_FAILURES = 10  # failed authentications from one address before it is blocked
BLOCK_SECONDS = 300  # how long such an address stays blocked after its last failure


@dataclass(frozen=True)
class ExchangeConfig:
    """What the engines need to know, read from the PBX_* settings.

    Ports are TCP/UDP port numbers; `rtp_ports` is an inclusive range; `max_call_seconds`
    bounds every call kamailio tracks (WALLET_MAX_CALL_SECONDS).
    """

    run_dir: Path
    domain: str
    listen_ip: str
    sip_port: int
    tls_port: int
    rpc_port: int
    control_port: int
    rtpengine_port: int
    rtp_ports: tuple[int, int]
    srtp: str
    max_call_seconds: int
    tls: CertificatePair | None = None
    token: str = field(default="", repr=False)
    debug: int = 1
    children: int = 4
    # The carrier's trunk (SIP_TRUNK_*): address (None: no trunk), port, digest user and
    # password kamailio answers the carrier's challenges with.
    trunk_host: str | None = None
    trunk_port: int = 5060
    trunk_user: str = ""
    trunk_password: str = field(default="", repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> ExchangeConfig:
        """The configuration of PBX_* (PBX_TLS_CERT/KEY given, or made at `write`)."""
        tls = None
        password = settings.SIP_TRUNK_PASSWORD
        if settings.PBX_TLS_CERT and settings.PBX_TLS_KEY:
            tls = CertificatePair(Path(settings.PBX_TLS_CERT), Path(settings.PBX_TLS_KEY))
        return cls(
            run_dir=Path(settings.PBX_RUN_DIR).resolve(),
            domain=settings.PBX_DOMAIN,
            listen_ip=settings.PBX_LISTEN_IP,
            sip_port=settings.PBX_SIP_PORT,
            tls_port=settings.PBX_TLS_PORT,
            rpc_port=settings.PBX_RPC_PORT,
            control_port=settings.PBX_CONTROL_PORT,
            rtpengine_port=settings.PBX_RTPENGINE_PORT,
            rtp_ports=settings.pbx_rtp_port_range,
            srtp=settings.PBX_SRTP,
            max_call_seconds=settings.WALLET_MAX_CALL_SECONDS,
            tls=tls,
            trunk_host=settings.SIP_TRUNK_HOST,
            trunk_port=settings.SIP_TRUNK_PORT,
            trunk_user=settings.SIP_TRUNK_USER or "",
            trunk_password=password.get_secret_value() if password else "",
        )

    @property
    def control_url(self) -> str:
        """Where kamailio reaches our control API."""
        return f"http://127.0.0.1:{self.control_port}"

    @property
    def rpc_url(self) -> str:
        """kamailio's JSON-RPC endpoint (jsonrpcs over xhttp)."""
        return f"http://127.0.0.1:{self.rpc_port}/RPC"


def render_kamailio(config: ExchangeConfig, template: str | None = None) -> str:
    """kamailio.cfg for `config`. Raises KeyError naming a mark the template has and this
    module does not fill."""
    values = {
        # kamailio's preprocessor switches (`#!ifdef WITH_TRUNK`)
        "DEFINES": "#!define WITH_TRUNK" if config.trunk_host else "",
        "TRUNK_HOST": config.trunk_host or "",
        "TRUNK_PORT": str(config.trunk_port),
        "TRUNK_USER": _cfg_string(config.trunk_user),
        "TRUNK_PASSWORD": _cfg_string(config.trunk_password),
        "DEBUG": str(config.debug),
        "CHILDREN": str(config.children),
        "LISTEN_IP": config.listen_ip,
        "SIP_PORT": str(config.sip_port),
        "TLS_PORT": str(config.tls_port),
        "RPC_PORT": str(config.rpc_port),
        "DOMAIN": config.domain,
        "RUN_DIR": str(config.run_dir),
        "RTPENGINE_PORT": str(config.rtpengine_port),
        "CONTROL_URL": config.control_url,
        "MAX_CALL_SECONDS": str(config.max_call_seconds),
        "MAX_AUTH_FAILURES": str(MAX_AUTH_FAILURES),
        "BLOCK_SECONDS": str(BLOCK_SECONDS),
        "DIALER_PREFIX": DIALER_PREFIX,
        "TOKEN": config.token,
    }
    text = template if template is not None else TEMPLATE.read_text(encoding="utf-8")
    return _MARK.sub(lambda mark: values[mark.group(1)], text)


def _cfg_string(text: str) -> str:
    """`text` inside a double-quoted string of kamailio's script (quotes and backslashes
    escaped; a line break cannot be written there and is refused)."""
    if "\n" in text or "\r" in text:
        raise ValueError("a line break cannot be written into kamailio.cfg")
    return text.replace("\\", "\\\\").replace('"', '\\"')


def render_tls(pair: CertificatePair) -> str:
    """tls.cfg: TLS 1.2 or newer for phones, our certificate; phones' certificates are not
    asked for (they authenticate with their digest password)."""
    return (
        "[server:default]\n"
        "method = TLSv1.2+\n"
        f"certificate = {pair.cert}\n"
        f"private_key = {pair.key}\n"
        "verify_certificate = no\n"
        "require_certificate = no\n\n"
        "[client:default]\n"
        "method = TLSv1.2+\n"
        "verify_certificate = no\n"
        "require_certificate = no\n"
    )


def write(config: ExchangeConfig) -> ExchangeConfig:
    """Write kamailio.cfg and tls.cfg (making the self-signed pair if none is configured)
    into `config.run_dir`; the configuration with its certificate pair."""
    pair = config.tls or self_signed(config.run_dir, [config.domain, config.listen_ip])
    done = replace(config, tls=pair, token=control_token(config.run_dir))
    private_file(config.run_dir / "kamailio.cfg", render_kamailio(done).encode())  # the token
    (config.run_dir / "tls.cfg").write_text(render_tls(pair), encoding="utf-8")
    return done


def existing_control_token(run_dir: Path) -> str | None:
    """`control_token` when the run directory has one, else None (no exchange ran here)."""
    try:
        return (run_dir / TOKEN_FILE).read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None


def control_token(run_dir: Path) -> str:
    """The secret kamailio and our service show each other on loopback (header
    X-Exchange-Token: other local users reach loopback too), kept in TOKEN_FILE of the
    run directory (0700) and made there on first use."""
    path = run_dir / TOKEN_FILE
    existing = existing_control_token(run_dir)
    if existing:
        return existing
    run_dir.mkdir(parents=True, exist_ok=True)
    run_dir.chmod(0o700)
    token = secrets.token_urlsafe(32)
    private_file(path, token.encode())
    return token


def kamailio_command(config: ExchangeConfig) -> list[str]:
    """kamailio in the foreground, logging to stderr, its files in the run directory."""
    run = config.run_dir
    return [
        "kamailio",
        "-f",
        str(run / "kamailio.cfg"),
        "-DD",
        "-E",
        "-Y",
        str(run),
        "-P",
        str(run / "kamailio.pid"),
        "-m",
        "64",
        "-M",
        "8",
    ]


def rtpengine_command(config: ExchangeConfig) -> list[str]:
    """rtpengine in userspace (no kernel module: `--table=-1`), in the foreground, ignoring
    /etc/rtpengine/rtpengine.conf (the system service's: its CLI and HTTP ports)."""
    low, high = config.rtp_ports
    return [
        "rtpengine",
        "--config-file=none",
        "--foreground",
        "--log-stderr",
        "--table=-1",
        f"--interface={config.listen_ip}",
        f"--listen-ng=127.0.0.1:{config.rtpengine_port}",
        f"--port-min={low}",
        f"--port-max={high}",
        "--num-threads=2",
        "--delete-delay=0",
        "--timeout=60",
        f"--pidfile={config.run_dir / 'rtpengine.pid'}",
    ]


def dialer_name(settings: Settings) -> str:
    """This instance's dialer's SIP user: DIALER_PREFIX, the host name and SIP_LOCAL_PORT
    (what sets instances on one host apart), in the characters a SIP user name allows."""
    host = re.sub(r"[^A-Za-z0-9.-]", "-", socket.gethostname())[:80]
    return f"{DIALER_PREFIX}{host}-{settings.SIP_LOCAL_PORT}"


def callback_dialer(settings: Settings, password: str) -> SipConfig:
    """How the callback dialer registers to our own kamailio (when no SIP_SERVER is set):
    as `dialer_name` with `password` over UDP, its own address and RTP ports from SIP_*."""
    return SipConfig(
        server=settings.PBX_LISTEN_IP,
        user=dialer_name(settings),
        password=password,
        port=settings.PBX_SIP_PORT,
        local_ip=settings.SIP_LOCAL_IP,
        local_port=settings.SIP_LOCAL_PORT,
        rtp_ports=settings.rtp_port_range,
        ring_timeout=settings.SIP_RING_TIMEOUT,
    )
