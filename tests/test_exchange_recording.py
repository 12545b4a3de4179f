"""Recorded calls of the exchange (issue 14): two softphones over TLS + SRTP through
kamailio and rtpengine; rtpengine forks each party's audio to our recorder, which seals
it to the owner's key as it arrives. The owner's seed opens both tones; another key
opens nothing; no plain audio ever rests in the recordings' directory."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import base58
import numpy as np
import pytest
from sqlmodel import Session

from privacy.keys import encode_key, new_seed, public_key_of_seed, secret_key_of_seed
from privacy.sealing import SealedError, open_sealed
from storage.models import Account, Recording
from testbed.exchange_lab import ExchangeLab
from testbed.sip_lab import read_wav, samples_tone_share, wait_for
from tests.privacy_env import find_anywhere

pytestmark = pytest.mark.sip

SEED = "demand crisp fun dust tribe upper lobster second kind emerge pulse moon exercise clip rough"


@pytest.fixture
def lab(db_url, tmp_path) -> Iterator[ExchangeLab]:
    lab = ExchangeLab(db_url, tmp_path).start()
    yield lab
    lab.stop()


def records_every_call(lab: ExchangeLab, identity: str, seed: str | None = SEED) -> None:
    network, _, external_id = identity.partition(":")
    account_id = lab.accounts.resolve(network, external_id).id
    with Session(lab.engine) as session:
        account = session.get(Account, account_id)
        account.record_calls = True
        account.recording_key = encode_key(public_key_of_seed(seed)) if seed else None
        session.add(account)
        session.commit()


def channels(path: Path, seed: str = SEED) -> tuple[dict, np.ndarray, np.ndarray]:
    meta, chunks = open_sealed(path, secret_key_of_seed(seed))
    stereo = np.frombuffer(b"".join(chunks), dtype="<i2").astype(float)
    return meta, stereo[0::2], stereo[1::2]


class DirectoryWatch:
    """Lists a directory every few milliseconds while a call runs: every name seen."""

    def __init__(self, directory: Path) -> None:
        self.directory, self.seen = directory, set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.directory.exists():
                self.seen.update(p.name for p in self.directory.iterdir())
            time.sleep(0.005)

    def __enter__(self) -> DirectoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2)


def test_a_recorded_call_opens_with_the_owners_seed_only(lab, tmp_path):
    records_every_call(lab, "console:alice")
    alice = lab.softphone("console:alice", tone_hz=440.0)
    bob = lab.softphone("console:bob", tone_hz=1000.0)
    with DirectoryWatch(tmp_path / "recordings") as watch:
        lab.dial(alice, bob.user)
        bob.wait_event("CALL_ESTABLISHED")
        time.sleep(5)
        alice.command("hangup")
        bob.wait_event("CALL_CLOSED")
        wait_for(lambda: lab.recorded, 15, "the recording finished")
    [recording] = lab.recorded
    assert isinstance(recording, Recording) and recording.seconds >= 3
    # Nothing but the sealed file ever appeared where recordings are written.
    assert watch.seen == {recording.file_name}
    path = tmp_path / "recordings" / recording.file_name
    assert path.stat().st_mode & 0o077 == 0
    meta, caller, callee = channels(path)
    assert meta["channels"] == [alice.user, bob.user]
    # Each channel is one party: alice's 440 Hz, bob's 1000 Hz (after the notice, which
    # the parties hear and do not send).
    assert samples_tone_share(caller, 8000, 440.0) >= 0.95
    assert samples_tone_share(callee, 8000, 1000.0) >= 0.95
    # The parties' media is held back while they hear the notice: the rest is recorded.
    assert len(caller) / 8000 >= 2.5
    with pytest.raises(SealedError):
        channels(path, new_seed())
    # Nothing the server keeps opens it: neither the seed nor its private key is stored.
    secret = secret_key_of_seed(SEED)
    needles = {"seed": SEED, "private key": base58.b58encode(secret).decode()}
    assert find_anywhere(lab.engine, needles) == []
    # The file holds no audio a listener could use: no tone in its bytes read as G.711
    # or PCM.
    raw = np.frombuffer(path.read_bytes()[: len(path.read_bytes()) // 2 * 2], dtype="<i2")
    assert samples_tone_share(raw.astype(float), 8000, 440.0) < 0.05
    # rtpengine played the notice ("This call is recorded.") to both parties, each one's
    # own media held back meanwhile. (Whether baresip 1.0 plays it depends on whether the
    # other party's stream reached it first: it keeps to the first SSRC it hears.)
    engine_log = lab.log("rtpengine")
    for command in ("block media", "play media", "unblock media"):
        assert engine_log.count(f"Replying to '{command}'") == 2, command
    assert "Failed to start media playback" not in engine_log


def speech_in(path: Path) -> bool:
    """Whether a WAV holds half a second of sound that is not alice's 440 Hz tone."""
    samples, rate = read_wav(path)
    for start in range(0, len(samples) - rate // 2, rate // 4):
        window = samples[start : start + rate // 2]
        if np.sqrt(np.mean(window**2)) > 300 and samples_tone_share(window, rate, 440.0) < 0.2:
            return True
    return False


def short_call(lab: ExchangeLab) -> None:
    """alice calls bob for a second, and hangs up."""
    alice = lab.softphone("console:alice", tone_hz=440.0)
    bob = lab.softphone("console:bob", tone_hz=1000.0)
    lab.dial(alice, bob.user)
    bob.wait_event("CALL_ESTABLISHED")
    time.sleep(1)
    alice.command("hangup")
    bob.wait_event("CALL_CLOSED")
    time.sleep(1)


def test_a_call_of_accounts_that_do_not_record_leaves_no_file(lab, tmp_path):
    short_call(lab)
    assert lab.recorded == []
    assert not (tmp_path / "recordings").exists() or not list((tmp_path / "recordings").iterdir())


def test_without_a_key_a_call_is_not_recorded(lab, tmp_path):
    records_every_call(lab, "console:alice", seed=None)
    short_call(lab)
    assert lab.recorded == []
