"""Logs (issue 14): at INFO and above no full phone number, message text or address; the
secrets of the settings, bot tokens and SASL payloads never, at any level."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from privacy.logs import PrivacyFilter, debug_notice, mask_address, mask_personal
from settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
WAVES = "3PAtGGSLnHJ3wuK8jWPvAA487pKamvQHyQw"
TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


@pytest.fixture
def captured():
    """A root handler writing to a buffer through the filter, as main.py installs it."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(
        PrivacyFilter.from_settings(
            load_settings(TELEGRAM_BOT_TOKEN=TOKEN, WAVES_SEED="seed words never logged")
        )
    )
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("call +442079460000 failed", "call +44 20 79** **00 failed"),
        ("to +44 20 7946 0000.", "to +44 20 79** **00."),
        ("INVITE sip:+33612345678@pbx.example.org", "INVITE sip:+33 6 12 ** ** 78@p….org"),
        ("486 for sip:0033612345678@10.0.0.1:5060", "486 for sip:0033*******78@10.0.0.1:5060"),
        (f"withdrawal to {WAVES} refused", "withdrawal to 3PAt…HyQw refused"),
        ("XMPP session started as alice.smith@example.org", "XMPP session started as alic….org"),
        ("call abc123 ended: busy, bridged 0 s, cost 100000000", None),
        ("leg b of call 42 ended after a restart: SIP 486", None),
        ("extension 1002 registered from 192.0.2.7", None),
    ],
)
def test_mask_personal(text, shown):
    assert mask_personal(text) == (shown or text)


def test_mask_address_of_a_short_address():
    assert mask_address("a@b.io") == "a…o"
    assert mask_address("ab") == "…"


def test_info_masks_numbers_and_addresses(captured):
    log = logging.getLogger("dialer.core")
    log.info("call %s: could not dial leg %s: %s", "c1", "b", "486 sip:+442079460000@trunk")
    log.warning("withdrawal %s refused by the node: %s", "w1", f"{WAVES} is not allowed")
    output = captured.getvalue()
    assert "+442079460000" not in output and "2079460000" not in output
    assert WAVES not in output
    assert "+44 20 79** **00" in output and "3PAt…HyQw" in output


def test_debug_keeps_numbers_but_never_secrets(captured):
    log = logging.getLogger("dialer.sip")
    log.debug("INVITE sip:+442079460000@trunk with %s", TOKEN)
    log.debug('<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="PLAIN">AGJvdABz</auth>')
    output = captured.getvalue()
    assert "+442079460000" in output
    assert TOKEN not in output and "AGJvdABz" not in output
    assert output.count("***") == 2


def test_secrets_are_redacted_at_every_level(captured):
    log = logging.getLogger("aiogram.event")
    log.error("GET https://api.telegram.org/bot%s/getMe: %s", TOKEN, "seed words never logged")
    log.info("other bot 987654321:ZZHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw seen")
    output = captured.getvalue()
    assert TOKEN not in output and "seed words" not in output and "987654321:ZZ" not in output


def test_tracebacks_are_masked(captured):
    try:
        raise RuntimeError("no route to +12125550123")
    except RuntimeError:
        logging.getLogger("bot.features.calls.runner").exception("call %s failed", "c9")
    output = captured.getvalue()
    assert "RuntimeError: no route to +1 212-5**-**23" in output
    assert "+12125550123" not in output


def test_the_record_passes_and_is_rewritten_once(captured):
    log = logging.getLogger("exchange.service")
    log.info("to %s and %s", "+33612345678", "+33612345678")
    assert captured.getvalue().count("+33 6 12 ** ** 78") == 2


def test_debug_notice_says_what_debug_holds():
    assert "phone numbers and message texts" in debug_notice()


def _env(tmp_path: Path, level: str) -> dict:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path}/data/encryptotel.db",
        "PYTHONPATH": str(ROOT),
        "LOG_LEVEL": level,
        "PBX_ENABLED": "false",
    }
    for name in ("TELEGRAM_BOT_TOKEN", "XMPP_JID", "XMPP_PASSWORD", "SIP_SERVER", "WAVES_NODE_URL"):
        env.pop(name, None)
    return env


FLOW = [
    "my number is +44 20 7946 0000",
    "call +1 212 555 0123",
    "remind me tomorrow at 9 to pay the rent to Mrs Higgins",
    "forward my calls to +33 6 12 34 56 78 on weekdays",
    "withdraw 10 ETT to " + WAVES,
    "history",
]


def test_a_chat_flow_at_info_logs_no_number_text_or_address(tmp_path):
    """The real service (`main.py` on the console), a realistic conversation, logs at INFO:
    stderr never holds what the user wrote."""
    run = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "console"],
        input="\n".join(FLOW) + "\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_env(tmp_path, "INFO"),
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "EncryptoTel running" in run.stderr  # INFO lines are there
    for secret in ("7946 0000", "2079460000", "555 0123", "2125550123", "12 34 56 78"):
        assert secret not in run.stderr
    assert "Higgins" not in run.stderr and "pay the rent" not in run.stderr
    assert WAVES not in run.stderr
    assert "phone numbers" not in run.stderr  # no DEBUG notice at INFO


def test_debug_says_so_at_start(tmp_path):
    run = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "console"],
        input="",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_env(tmp_path, "DEBUG"),
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert debug_notice() in run.stderr


def test_upload_slots_and_file_links_are_hidden_at_every_level():
    stanza = (
        '<slot xmlns="urn:xmpp:http:upload:0"><put url="https://up.example/a/f.ett-rec">'
        '<header name="Authorization">Bearer eyJhbGciOi</header></put>'
        "<get url='https://up.example/a/f.ett-rec'/></slot>"
        "<x xmlns='jabber:x:oob'><url>https://up.example/a/f.ett-rec</url></x>"
    )
    for level in (logging.DEBUG, logging.INFO):
        cleaned = PrivacyFilter().clean(stanza, level)
        assert "eyJhbGciOi" not in cleaned and "up.example" not in cleaned
        assert cleaned.count("***") == 4


def test_a_seed_phrase_is_hidden_at_every_level():
    from privacy.keys import new_seed

    seed = new_seed()
    stanza = f"SEND: <message><body>Write down these words:\n{seed}\nThey are shown once.</body>"
    for level in (logging.DEBUG, logging.INFO):
        cleaned = PrivacyFilter().clean(stanza, level)
        assert seed.split()[3] + " " + seed.split()[4] not in cleaned and "***" in cleaned
    ordinary = "the call to the office ended after a minute and the hold was released in full"
    assert PrivacyFilter().clean(ordinary, logging.DEBUG) == ordinary


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            'GET https://93.184.215.14/calendar/ical/a%40b/private-4f2a/basic.ics "200"',
            'GET https://93.184.215.14/*** "200"',
        ),
        ("webcal://cal.example.org/u/7f3e.ics", "webcal://cal.example.org/***"),
        ("https://alice:s3cret@dav.example.org/", "https://***@dav.example.org/***"),
        (
            "connect my calendar https://d.example/ user alice password s3cr3t!",
            "connect my calendar https://d.example/*** user alice password ***",
        ),
        ("login alice passwd=s3cr3t", "login alice passwd=***"),
        ("password: s3cr3t pwd hunter2", "password: *** pwd ***"),
        ("utilisateur alice mot de passe s3cr3t", "utilisateur alice mot de passe ***"),
        ("логин alice пароль s3cr3t", "логин alice пароль ***"),
        ("the API listens on http://127.0.0.1:8080", "the API listens on http://127.0.0.1:8080"),
    ],
)
def test_calendar_addresses_and_passwords_are_hidden_at_every_level(text, shown):
    for level in (logging.DEBUG, logging.INFO):
        assert PrivacyFilter().clean(text, level) == shown
