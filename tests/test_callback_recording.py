"""A recorded callback (issue 14), against kamailio and baresip phones: the dialer taps
both directions of the bridge into a recorder that seals them to the owner's key; both
parties first hear "this call is recorded" in the callee's language.

The requester's phone is +33 6 12 34 56 78 (440 Hz), the callee +44 20 7946 0000
(1000 Hz; a British number, so the notice is in English).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from privacy.keys import encode_key, new_seed, public_key_of_seed, secret_key_of_seed
from privacy.sealing import SealedError, open_sealed
from testbed.sip_lab import ANSWER, SipLab, read_wav, samples_tone_share
from tests.call_env import CallEnv
from tests.test_exchange_recording import SEED, DirectoryWatch, speech_in
from tests.wallet_helpers import fund

pytestmark = pytest.mark.sip

ME, CALLEE = "+33612345678", "+442079460000"


@pytest.fixture(scope="module")
def lab() -> Iterator[SipLab]:
    lab = SipLab()
    lab.plan_phone(ME[1:], ANSWER, 440.0)
    lab.plan_phone(CALLEE[1:], ANSWER, 1000.0)
    lab.start()
    yield lab
    lab.stop()


@pytest.fixture
def env(db_url, lab, tmp_path) -> Iterator[CallEnv]:
    env = CallEnv(db_url, lab, RECORDING_DIR=str(tmp_path / "recordings"))
    yield env
    env.close()


def recording_user(env: CallEnv, *, key: bool = True):
    sender = env.user("ann", "en")
    account = env.services.accounts.resolve(sender.network, sender.external_id)
    env.services.accounts.update(
        account.id,
        phone_number=ME,
        phone_verified=True,
        record_calls=True,
        recording_key=encode_key(public_key_of_seed(SEED)) if key else None,
    )
    fund(env.services.engine, account.id, "10")
    return sender, account.id


def place_call(env: CallEnv, sender, seconds: float = 4) -> None:
    (offer,) = env.say(sender, "call +44 20 7946 0000")
    confirm = next(b.data for b in offer.buttons if b.data.startswith("call:"))
    env.press(sender, confirm)
    env.wait_pushed(sender, lambda r: r.text.startswith("📞 Connected"))
    env.run(asyncio.sleep(seconds))
    env.say(sender, "hang up")
    env.wait_pushed(sender, lambda r: "ended after" in r.text)
    env.wait_idle()


def test_a_recorded_callback_opens_with_the_owners_seed_to_both_tones(env, lab, tmp_path):
    ann, account_id = recording_user(env)
    callee = lab.phones[CALLEE[1:]]
    closed = len(callee.calls_with("CALL_CLOSED"))
    with DirectoryWatch(tmp_path / "recordings") as watch:
        place_call(env, ann)
    [recording] = env.services.recordings.store.of_account(account_id)
    assert watch.seen == {recording.file_name}  # no plain audio ever rested there
    path = env.services.recordings.path_of(recording)
    assert recording.seconds >= 3 and path.stat().st_mode & 0o077 == 0
    meta, chunks = open_sealed(path, secret_key_of_seed(SEED))
    stereo = np.frombuffer(b"".join(chunks), dtype="<i2").astype(float)
    caller, called = stereo[0::2], stereo[1::2]
    assert meta["channels"] == [ME, CALLEE] and meta["rate"] == 8000
    assert samples_tone_share(caller, 8000, 440.0) >= 0.95
    assert samples_tone_share(called, 8000, 1000.0) >= 0.95
    with pytest.raises(SealedError):
        open_sealed(path, secret_key_of_seed(new_seed()))
    # The callee heard the notice first (spoken, not the caller's tone), then the tone.
    callee.wait_event("CALL_CLOSED", closed + 1)
    heard = callee.heard()
    assert speech_in(heard)
    samples, rate = read_wav(heard)
    assert samples_tone_share(samples[-2 * rate :], rate, 440.0) >= 0.95


def test_an_account_without_a_key_is_not_recorded(env, tmp_path):
    ann, account_id = recording_user(env, key=False)
    place_call(env, ann, seconds=1)
    assert env.services.recordings.store.of_account(account_id) == []
    folder = Path(tmp_path / "recordings")
    assert not folder.exists() or not list(folder.iterdir())


def test_with_recording_notice_off_the_call_is_recorded_without_it(db_url, lab, tmp_path):
    env = CallEnv(db_url, lab, RECORDING_DIR=str(tmp_path / "recordings"), RECORDING_NOTICE=False)
    try:
        ann, account_id = recording_user(env)
        callee = lab.phones[CALLEE[1:]]
        closed = len(callee.calls_with("CALL_CLOSED"))
        place_call(env, ann, seconds=3)
        [recording] = env.services.recordings.store.of_account(account_id)
        assert recording.seconds >= 2
        callee.wait_event("CALL_CLOSED", closed + 1)
        assert not speech_in(callee.heard())  # the caller's tone from the start
    finally:
        env.close()
