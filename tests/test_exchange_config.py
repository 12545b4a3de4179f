"""The exchange's configuration from the PBX_* settings: what kamailio and rtpengine are
told, the certificate, and what `serve` starts (PBX_ENABLED, PBX_ENGINES)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from exchange.certs import certificate_names, self_signed
from exchange.config import (
    ExchangeConfig,
    dialer_name,
    existing_control_token,
    render_kamailio,
    rtpengine_command,
    write,
)
from exchange.probes import options_ping
from exchange.service import Exchange, record_id
from exchange.softphones import Softphones
from settings import load_settings
from storage.accounts import AccountStore
from storage.calls import CallStore
from storage.service_users import ServiceUserStore
from testbed.exchange_lab import exchange_settings
from testbed.sip_lab import wait_for

ROOT = Path(__file__).resolve().parent.parent


def settings_for(tmp_path: Path, **overrides):
    return load_settings(
        _env_file=None, **{**exchange_settings(tmp_path), "PBX_ENABLED": True, **overrides}
    )


def test_kamailio_and_rtpengine_are_told_the_settings(tmp_path):
    settings = settings_for(
        tmp_path,
        PBX_DOMAIN="pbx.example.org",
        PBX_LISTEN_IP="127.0.0.1",
        PBX_SIP_PORT=5160,
        PBX_TLS_PORT=5161,
        PBX_RPC_PORT=5191,
        PBX_CONTROL_PORT=5190,
        PBX_RTPENGINE_PORT=22999,
        PBX_RTP_PORTS="21000-21099",
    )
    config = ExchangeConfig.from_settings(settings)
    text = render_kamailio(config)
    assert "@@" not in text
    for line in (
        "listen=udp:127.0.0.1:5160",
        "listen=tcp:127.0.0.1:5160",
        "listen=tls:127.0.0.1:5161",
        "listen=tcp:127.0.0.1:5191",
        'alias="pbx.example.org:5161"',
        '"udp:127.0.0.1:22999"',
        '"http://127.0.0.1:5190/auth?user=',
        'auth_challenge("pbx.example.org", "1")',
    ):
        assert line in text, line
    command = rtpengine_command(config)
    assert "--listen-ng=127.0.0.1:22999" in command and "--interface=127.0.0.1" in command
    assert "--port-min=21000" in command and "--port-max=21099" in command
    assert config.run_dir == (tmp_path / "exchange").resolve()


@pytest.mark.skipif(shutil.which("kamailio") is None, reason="kamailio is not installed")
def test_the_written_configuration_is_one_kamailio_accepts(tmp_path):
    config = write(ExchangeConfig.from_settings(settings_for(tmp_path)))
    check = subprocess.run(
        ["kamailio", "-c", "-f", str(config.run_dir / "kamailio.cfg")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0, check.stderr[-3000:]
    assert stat.S_IMODE(config.run_dir.stat().st_mode) == 0o700


def test_a_self_signed_certificate_names_the_domain_and_is_kept(tmp_path):
    config = write(ExchangeConfig.from_settings(settings_for(tmp_path, PBX_DOMAIN="pbx.test")))
    assert config.tls is not None
    assert sorted(certificate_names(config.tls.cert)) == ["127.0.0.1", "pbx.test"]
    assert stat.S_IMODE(config.tls.key.stat().st_mode) == 0o600
    first = config.tls.cert.read_bytes()
    assert self_signed(config.run_dir, ["pbx.test", "127.0.0.1"]).cert.read_bytes() == first
    renamed = self_signed(config.run_dir, ["other.test", "127.0.0.1"])  # a new name: new pair
    assert renamed.cert.read_bytes() != first
    assert "other.test" in certificate_names(renamed.cert)


def test_a_given_certificate_is_used_and_none_is_made(tmp_path):
    given = self_signed(tmp_path / "mine", ["pbx.example.org"])
    settings = settings_for(tmp_path, PBX_TLS_CERT=str(given.cert), PBX_TLS_KEY=str(given.key))
    config = write(ExchangeConfig.from_settings(settings))
    tls = (config.run_dir / "tls.cfg").read_text()
    assert f"certificate = {given.cert}" in tls and f"private_key = {given.key}" in tls
    assert not (config.run_dir / "exchange-cert.pem").exists()


def exchange_on(engine, srtp: str) -> Exchange:
    settings = load_settings(_env_file=None, PBX_SRTP=srtp)
    accounts = AccountStore(engine)
    return Exchange(accounts, CallStore(engine), Softphones(accounts, settings), srtp=srtp)


def test_routing_decisions(engine):
    exchange = exchange_on(engine, "optional")
    accounts = exchange.accounts
    alice = accounts.extension(accounts.resolve("console", "alice").id)
    bob = accounts.extension(accounts.resolve("console", "bob").id)
    local = exchange.route(alice, bob, "call-1")
    assert (local.action, local.target, local.require_crypto) == ("local", bob, 0)
    assert "RTP/SAVP" in local.offer_tls and "RTP/SAVP" not in local.offer
    assert "SDES-no-NULL_HMAC_SHA1_80" in local.offer
    assert exchange.calls.get(record_id("call-1")).kind == "internal"
    assert (exchange.route(alice, "99999", "call-2").code) == 404
    outside = exchange.route(alice, "+442079460000", "call-3")
    assert (outside.action, outside.code) == ("refuse", 403)
    mandatory = exchange_on(engine, "mandatory").route(alice, bob, "call-4")
    assert mandatory.require_crypto == 1 and "RTP/SAVP" in mandatory.offer
    assert "RTP/SAVP" in mandatory.offer_tls


def _answers(url: str, token: str | None = None) -> int:
    headers = {"X-Exchange-Token": token} if token else {}
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, headers=headers), timeout=2
        ) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


@pytest.mark.parametrize(
    ("enabled", "engines", "control"),
    [("true", "external", 404), ("false", "children", 0)],
    ids=["external-engines", "chat-only"],
)
def test_what_serve_starts(db_url, tmp_path, enabled, engines, control):
    """`main.py` with the console: PBX_ENGINES=external answers kamailio's questions but
    starts no engine; PBX_ENABLED=false runs no exchange at all."""
    values = {**exchange_settings(tmp_path), "PBX_ENABLED": enabled, "PBX_ENGINES": engines}
    env = {
        **os.environ,
        **{name: str(value) for name, value in values.items()},
        "DATABASE_URL": db_url,
        "SIP_LOCAL_PORT": str(values["PBX_SIP_PORT"] + 1),
    }
    service = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "console"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        cwd=tmp_path,
    )
    url = f"http://127.0.0.1:{values['PBX_CONTROL_PORT']}/auth?user=1000"
    try:
        wait_for(lambda: "EncryptoTel running" in _stderr_so_far(service), 60, "the service")
        run_dir = Path(values["PBX_RUN_DIR"]).resolve()
        if control:
            wait_for(lambda: existing_control_token(run_dir), 20, "the control token")
            token = existing_control_token(run_dir)
            wait_for(lambda: _answers(url, token) == control, 20, "the control API")
            assert _answers(url) == 403  # not without the run directory's token
        assert _answers(url, existing_control_token(run_dir)) == control
        assert not options_ping("127.0.0.1", values["PBX_SIP_PORT"], timeout=1.0)
        assert not (Path(values["PBX_RUN_DIR"]) / "kamailio.cfg").exists()
    finally:
        assert service.stdin is not None
        service.stdin.close()  # the end of the console's input stops the service
        service.wait(30)


_STDERR: dict[int, str] = {}


def _stderr_so_far(process: subprocess.Popen) -> str:
    """What the process wrote to stderr until now (read without blocking)."""
    assert process.stderr is not None
    os.set_blocking(process.stderr.fileno(), False)
    chunk = process.stderr.read() or b""
    _STDERR[process.pid] = _STDERR.get(process.pid, "") + chunk.decode(errors="replace")
    return _STDERR[process.pid]


def test_every_instance_knows_every_instances_dialer(engine):
    """An instance's dialer may be asked about by another instance answering kamailio."""
    store = ServiceUserStore(engine)
    settings = load_settings(_env_file=None, SIP_LOCAL_PORT=5171)
    name = dialer_name(settings)
    assert name.startswith("dialer-") and name.endswith("-5171")
    store.put(name, "a" * 32)
    other = exchange_on(engine, "optional")  # the other instance: its own objects
    other.service_users = ServiceUserStore(engine)
    assert other.ha1(name) == "a" * 32
    store.put(name, "b" * 32)  # restarted with a new password
    assert other.ha1(name) == "b" * 32
    assert other.ha1("dialer-somewhere-else") is None
    accounts = other.accounts
    bob = accounts.extension(accounts.resolve("console", "bob").id)
    callback_leg = other.route(name, bob, "leg-1")
    assert callback_leg.action == "local" and other.calls.get(record_id("leg-1")) is None
