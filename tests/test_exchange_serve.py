"""The exchange as `serve` runs it: kamailio and rtpengine as children of the service,
the callback dialer registered to them, a callback between two extensions asked for in
the chat."""

from __future__ import annotations

import time

import pytest

from exchange.probes import options_ping
from exchange.softphones import Softphones
from storage.accounts import AccountStore
from testbed.exchange_lab import exchange_settings, tls_phone
from testbed.sip_lab import PORTS, tone_share, wait_for
from tests.conftest_chat import telegram_settings

pytestmark = pytest.mark.sip


def test_a_callback_between_two_extensions_asked_for_in_the_chat(
    db_url, tmp_path, telegram_api, start_service
):
    low, high = PORTS.rtp_range(40)
    service = start_service(
        **telegram_settings(db_url, telegram_api),
        **exchange_settings(tmp_path),
        SIP_LOCAL_PORT=PORTS.sip_port(),
        SIP_RTP_PORTS=f"{low}-{high}",
    )
    settings = service.settings
    wait_for(
        lambda: options_ping("127.0.0.1", settings.PBX_SIP_PORT, timeout=0.5),
        30,
        "kamailio started by the service",
    )
    dialer = service.assistant.services.dialer
    wait_for(lambda: dialer.registered, 30, "the callback dialer registered to our kamailio")
    engine = service.assistant.services.engine
    accounts = AccountStore(engine)
    softphones = Softphones(accounts, settings)
    user = 7101
    mine = softphones.credentials(accounts.resolve("telegram", str(user)).id)
    theirs = softphones.credentials(accounts.resolve("telegram", "7102").id)
    assert mine.password and theirs.password
    me = tls_phone(mine.username, mine.password, settings, tone_hz=440.0)
    them = tls_phone(theirs.username, theirs.password, settings, tone_hz=1000.0)
    try:
        telegram_api.send_text(user, f"call {them.user} then call me at {me.user}")
        [offer] = telegram_api.wait_messages(user, 1)
        assert "free" in offer.text.lower(), offer.text  # two extensions: no charge
        telegram_api.press_button(user, offer, offer.buttons[0][1])
        them.wait_event("CALL_ESTABLISHED", timeout=40)
        me.wait_event("CALL_ESTABLISHED")
        time.sleep(3)
        me.command("hangup")
        me.wait_event("CALL_CLOSED")
        them.wait_event("CALL_CLOSED")
        assert tone_share(them.heard(), 440.0) >= 0.99
        assert tone_share(me.heard(), 1000.0) >= 0.99
    finally:
        me.stop()
        them.stop()
