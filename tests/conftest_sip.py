"""Fixtures of the SIP lab (kamailio + baresip on 127.0.0.1) for any test that needs phones.

`sip_lab` (session) has these phones registered: see LAB_PHONES. `lab_dialer_config`
gives a SipConfig for a fresh dialer on the lab. Missing kamailio/baresip fail the
test with a message naming the apt packages.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testbed.sip_lab import ANSWER, BUSY, DTMF, NO_ANSWER, SipLab

# user -> (behaviour, tone Hz)
LAB_PHONES = {
    "1001": (ANSWER, 440.0),
    "1002": (ANSWER, 1000.0),
    "1003": (BUSY, 440.0),
    "1004": (NO_ANSWER, 440.0),
    "1005": (DTMF, 620.0),
    "1006": (ANSWER, 1300.0),
}
DECLINING_NUMBER = "1603"  # kamailio answers 603 Decline
UNKNOWN_NUMBER = "1999"  # nobody registered: 404


@pytest.fixture(scope="session")
def sip_lab() -> Iterator[SipLab]:
    """kamailio with digest auth and the phones of LAB_PHONES, for the whole session."""
    lab = SipLab(fixed_answers={DECLINING_NUMBER: 603})
    for user, (behaviour, tone) in LAB_PHONES.items():
        lab.plan_phone(user, behaviour, tone)
    lab.start()
    yield lab
    lab.stop()


@pytest.fixture
def lab_dialer_config(sip_lab: SipLab):
    """A SipConfig for a new dialer on the session lab (own SIP and RTP ports)."""
    from dialer import SipConfig
    from settings import load_settings

    return SipConfig.from_settings(load_settings(**sip_lab.settings_overrides()))
