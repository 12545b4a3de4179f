"""Settings: defaults, validation that names the variable, and secrets that never leak."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from privacy.logs import PrivacyFilter
from settings import SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_need_no_configuration(monkeypatch):
    for name in list(os.environ):
        if name.startswith(("TELEGRAM_", "XMPP_", "SIP_", "WAVES_", "DATABASE_")):
            monkeypatch.delenv(name)
    settings = load_settings(_env_file=None)
    assert settings.DATABASE_URL == "sqlite:///data/encryptotel.db"
    assert not (settings.telegram_enabled or settings.xmpp_enabled or settings.sip_enabled)
    assert settings.rtp_port_range == (40000, 40999)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SIP_RTP_PORTS", "40000"),
        ("XMPP_PORT", "99999"),
        ("LOG_LEVEL", "LOUD"),
        ("DATABASE_URL", "mysql://x"),
        ("WAVES_CHAIN_ID", "WW"),
    ],
)
def test_bad_value_names_the_variable(name, value):
    with pytest.raises(SettingsError) as error:
        load_settings(**{name: value})
    assert name in str(error.value)


def test_webhook_mode_needs_a_secret():
    hook = "https://bot.example/telegram/hook"
    with pytest.raises(SettingsError) as error:
        load_settings(_env_file=None, TELEGRAM_BOT_TOKEN="1:a", TELEGRAM_WEBHOOK_URL=hook)
    assert "TELEGRAM_WEBHOOK_SECRET" in str(error.value)
    settings = load_settings(
        _env_file=None,
        TELEGRAM_BOT_TOKEN="1:a",
        TELEGRAM_WEBHOOK_URL=hook,
        TELEGRAM_WEBHOOK_SECRET="s3cret",
    )
    assert settings.TELEGRAM_WEBHOOK_SECRET.get_secret_value() == "s3cret"


def test_validation_error_never_shows_a_secret():
    with pytest.raises(SettingsError) as error:
        load_settings(SIP_PASSWORD="hunter2-secret", SIP_PORT="not-a-port")
    assert "hunter2-secret" not in str(error.value)
    assert "SIP_PORT" in str(error.value)


def test_secrets_are_redacted_from_logs(caplog):
    settings = load_settings(WAVES_SEED="seed words never logged", TELEGRAM_BOT_TOKEN="123:ABC")
    logger = logging.getLogger("test.redaction")
    logger.addFilter(PrivacyFilter.from_settings(settings))
    with caplog.at_level(logging.INFO, logger="test.redaction"):
        logger.info("calling https://api/bot%s/getMe with %s", "123:ABC", "seed words never logged")
    assert "123:ABC" not in caplog.text and "seed words" not in caplog.text
    assert "***" in caplog.text
    assert "123:ABC" not in repr(settings)


def test_main_reports_bad_setting_and_exits_2(tmp_path):
    env = dict(os.environ, SIP_PORT="0", SIP_PASSWORD="pw-not-shown")
    run = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "migrate"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert "SIP_PORT" in run.stderr and "pw-not-shown" not in run.stderr


@pytest.mark.parametrize(
    ("setting", "name", "content"),
    [
        ("PLANS_FILE", "plans.toml", '[[plan]]\nname = "Bad"\nprice_ett = "abc"\n'),
        ("WALLET_TARIFFS_FILE", "tariffs.csv", "prefix,ett_per_minute,destination\n33,x,France\n"),
        ("PLANS_FILE", "missing.toml", None),
    ],
)
def test_a_bad_tariff_or_plan_file_stops_the_start_with_one_line(tmp_path, setting, name, content):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    env = dict(os.environ, **{setting: str(path)}, DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite")
    run = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "migrate"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2, run.stderr
    assert run.stderr.startswith(f"invalid settings: {setting}: ") and str(path) in run.stderr
    assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("command", [[], ["serve"], ["console"], ["migrate"], ["parse"]])
def test_every_subcommand_has_help(command):
    run = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *command, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0 and "usage" in run.stdout.lower()


def test_admin_help_lists_every_admin_command_and_each_has_its_own_help():
    import main
    from wallet.admin import ROUTED_ELSEWHERE, build_parser

    assert set(ROUTED_ELSEWHERE) == set(main.ADMIN_ROUTES)
    listed = build_parser().format_help()
    for command in ROUTED_ELSEWHERE:
        assert f"    {command} " in listed
        run = subprocess.run(
            [sys.executable, str(ROOT / "main.py"), "admin", command, "--help"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 0 and "usage" in run.stdout.lower(), command


@pytest.mark.parametrize(
    "command", [["accounts"], ["report", "--month", "2026-11"], ["poll", "list"], ["did", "list"]]
)
def test_an_admin_command_on_a_missing_sqlite_file_says_so_and_creates_nothing(tmp_path, command):
    missing = tmp_path / "typo.sqlite"
    run = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "admin", "--database", f"sqlite:///{missing}"]
        + command,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2, run.stderr
    assert f"no database at {missing}" in run.stderr and not missing.exists()


def test_migrate_creates_the_default_sqlite_database(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    run = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "migrate"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "data" / "encryptotel.db").stat().st_size > 0
