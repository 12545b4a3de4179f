"""POST /v1/verify answered by a baresip phone of the SIP lab (kamailio on 127.0.0.1).

The lab phones' SIP users are the digits of E.164 numbers and the dialer strips the "+".
keypad: the phone types the code shown (right: approved by the call; wrong: failed).
speak: the phone hears the whole spoken prompt (its audible length against the prompt
synthesised again with the same code) and the check accepts the code. The test learns
a spoken code as an attacker reading the database would: by trying every code of its
length against the stored HMAC (10 000 for 4 digits).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from itertools import product

import pytest
from fastapi.testclient import TestClient

from api import verify
from api.app import create_app
from bot.assistant.i18n import t
from dialer.speech import DEFAULT_DIRECTORY, synthesize
from storage.verifications import VerificationStore
from testbed.sip_lab import DTMF, NO_ANSWER, SipLab, audible_seconds
from tests.call_env import CallEnv
from tests.wallet_helpers import fund, new_account

ANSWERING = "+33612345681"
SILENT = "+33612345682"
WAIT = 60.0


@pytest.fixture(scope="module")
def lab() -> Iterator[SipLab]:
    """kamailio with a phone that answers (and types digits on request) and one that never
    answers."""
    lab = SipLab()
    lab.plan_phone(ANSWERING[1:], DTMF, 500.0)
    lab.plan_phone(SILENT[1:], NO_ANSWER, 500.0)
    lab.start()
    yield lab
    lab.stop()


class ApiOnLab:
    """The API of services with a started dialer on the lab, and one funded account."""

    def __init__(self, db_url: str, lab: SipLab) -> None:
        self.env = CallEnv(db_url, lab, SIP_RING_TIMEOUT=4)
        self.http = TestClient(create_app(self.env.services), raise_server_exceptions=False)
        account_id = new_account(self.env.services.engine, language="en")
        fund(self.env.services.engine, account_id, "10")
        self.token = self.env.services.api_keys.create(account_id, ("read", "calls")).token

    def post(self, url: str, body: dict) -> dict:
        answer = self.http.post(url, json=body, headers={"Authorization": f"Bearer {self.token}"})
        assert answer.status_code in (200, 201), answer.text
        return answer.json()

    def get(self, ver_id: str) -> dict:
        answer = self.http.get(
            f"/v1/verify/{ver_id}", headers={"Authorization": f"Bearer {self.token}"}
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    def finished(self, ver_id: str) -> dict:
        """The verification once its call has ended: its background work has started once
        the call has an outcome (ringing at least), and is over when nothing runs."""
        deadline = time.monotonic() + WAIT
        while self.get(ver_id)["call_outcome"] is None:
            assert time.monotonic() < deadline, f"the call of {ver_id} never started"
            time.sleep(0.1)
        self.env.wait_idle(WAIT)
        return self.get(ver_id)

    def close(self) -> None:
        self.http.close()
        self.env.close()


def _record_of(api: ApiOnLab, ver_id: str):
    """The call record of verification `ver_id`'s call."""
    verification = VerificationStore(api.env.services.engine).get(ver_id)
    return api.env.services.calls.get(verification.call_id)


@pytest.fixture
def api(db_url: str, lab: SipLab) -> Iterator[ApiOnLab]:
    made = ApiOnLab(db_url, lab)
    yield made
    made.close()


def _answered(phone) -> int:
    return len(phone.calls_with("CALL_ESTABLISHED"))


def _type_when_answered(phone, before: int, digits: str) -> None:
    phone.wait_event("CALL_ESTABLISHED", before + 1, timeout=WAIT)
    time.sleep(1.0)  # let the instruction start, as a person would
    phone.send_dtmf(digits)


@pytest.mark.sip
def test_keypad_the_right_digits_approve_the_verification(api: ApiOnLab, lab: SipLab) -> None:
    phone = lab.phones[ANSWERING[1:]]
    before = _answered(phone)
    made = api.post("/v1/verify", {"number": ANSWERING, "channel": "keypad", "length": 5})
    code = made["code"]
    assert len(code) == 5

    _type_when_answered(phone, before, code)
    done = api.finished(made["id"])
    assert (done["state"], done["call_outcome"]) == ("approved", "answered")
    check = api.post(f"/v1/verify/{made['id']}/check", {"code": code})
    assert check == {"state": "approved", "checks_left": 0}
    # Its call left a call record, priced as the verification was.
    record = _record_of(api, made["id"])
    assert (record.kind, record.state, record.a_number) == ("two_factor", "ended", ANSWERING)
    assert record.cost == verify.price(api.env.services) > 0
    assert record.a_answered_at is not None and record.ended_at is not None


@pytest.mark.sip
def test_keypad_wrong_digits_fail_the_verification(api: ApiOnLab, lab: SipLab) -> None:
    phone = lab.phones[ANSWERING[1:]]
    before = _answered(phone)
    made = api.post("/v1/verify", {"number": ANSWERING, "channel": "keypad", "length": 4})
    code = made["code"]
    wrong = code[:-1] + str((int(code[-1]) + 1) % 10)

    _type_when_answered(phone, before, wrong)
    done = api.finished(made["id"])
    assert (done["state"], done["call_outcome"]) == ("failed", "answered")


@pytest.mark.sip
def test_speak_the_phone_hears_the_code_twice_and_the_check_accepts_it(
    api: ApiOnLab, lab: SipLab, tmp_path
) -> None:
    phone = lab.phones[ANSWERING[1:]]
    closed = len(phone.calls_with("CALL_CLOSED"))
    made = api.post("/v1/verify", {"number": ANSWERING, "language": "fr", "length": 4})
    assert made["code"] is None
    phone.wait_event("CALL_CLOSED", closed + 1, timeout=WAIT)
    done = api.finished(made["id"])
    assert (done["state"], done["call_outcome"]) == ("pending", "answered")

    stored = VerificationStore(api.env.services.engine).get(made["id"])
    assert stored is not None
    [code] = [
        "".join(digits)
        for digits in product("0123456789", repeat=4)
        if verify.code_hash(stored.id, "".join(digits)) == stored.code_hash
    ]
    spoken = synthesize(
        t("fr", "apivf_spoken_code", code=", ".join(code)), "fr", directory=tmp_path
    )
    heard, expected = audible_seconds(phone.heard()), audible_seconds(spoken)
    assert expected >= 2.0  # the code, twice
    assert 0.8 * expected <= heard <= 1.2 * expected
    # The spoken code left no file behind (espeak-ng gives the same bytes for the same text).
    assert spoken.read_bytes() not in {
        path.read_bytes() for path in DEFAULT_DIRECTORY.glob("*.wav")
    }

    wrong = code[:-1] + str((int(code[-1]) + 1) % 10)
    assert api.post(f"/v1/verify/{made['id']}/check", {"code": wrong})["checks_left"] == 4
    assert api.post(f"/v1/verify/{made['id']}/check", {"code": code}) == {
        "state": "approved",
        "checks_left": 0,
    }


@pytest.mark.sip
def test_an_unanswered_call_fails_the_verification(api: ApiOnLab) -> None:
    made = api.post("/v1/verify", {"number": SILENT})
    done = api.finished(made["id"])
    assert (done["state"], done["call_outcome"]) == ("failed", "no-answer")
