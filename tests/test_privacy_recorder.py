"""privacy.recorder: a call's two directions, arriving independently, as one stereo
sealed stream that keeps them aligned in time and never puts plain audio on disk."""

from __future__ import annotations

import array
import os

import pytest
from nacl.public import PrivateKey

from privacy.recorder import MAX_LAG_SECONDS, Recorder, RecorderResult
from privacy.sealing import open_sealed

RATE = 8000
PACKET = 160  # samples: 20 ms


@pytest.fixture(scope="module")
def owner() -> PrivateKey:
    return PrivateKey.generate()


@pytest.fixture
def recorder(tmp_path, owner):
    rec = Recorder(tmp_path / "r.ett-rec", bytes(owner.public_key), meta={"call": "c1"})
    yield rec
    rec.close()


def _packet(value: int, samples: int = PACKET) -> bytes:
    return array.array("h", [value] * samples).tobytes()


def _channels(path, owner) -> tuple[dict, array.array, array.array]:
    meta, chunks = open_sealed(path, bytes(owner))
    stereo = array.array("h", b"".join(chunks))
    return meta, stereo[0::2], stereo[1::2]


def _first(samples: array.array, value: int) -> int:
    return list(samples).index(value)


def test_channels_are_interleaved_left_then_right(recorder, owner):
    left = array.array("h", range(-400, 400))
    right = array.array("h", range(1000, 1800))
    for start in range(0, 800, PACKET):
        recorder.feed(0, left[start : start + PACKET].tobytes())
        recorder.feed(1, right[start : start + PACKET].tobytes())
    result = recorder.close()
    assert result == RecorderResult(0.1, recorder.path.stat().st_size)
    meta, got_left, got_right = _channels(recorder.path, owner)
    assert (got_left, got_right) == (left, right)
    assert meta == {"call": "c1", "format": "s16le", "rate": 8000, "channels": 2}


def test_bursts_within_the_lag_keep_the_samples_in_order(recorder, owner):
    # Channel 1 arrives 5 packets (100 ms) at a time: nothing is padded or moved.
    for n in range(50):
        recorder.feed(0, _packet(n + 1))
        if n % 5 == 4:
            for m in range(n - 4, n + 1):
                recorder.feed(1, _packet(-(m + 1)))
    assert recorder.close().seconds == 1.0
    _meta, left, right = _channels(recorder.path, owner)
    assert list(left) == [n // PACKET + 1 for n in range(RATE)]
    assert list(right) == [-(n // PACKET + 1) for n in range(RATE)]


def test_a_channel_silent_for_a_second_then_talking_lands_on_time(recorder, owner):
    for _ in range(50):  # 1 s: only channel 0
        recorder.feed(0, _packet(1))
    for _ in range(50):  # then both, channel 1 first in each pair
        recorder.feed(1, _packet(2))
        recorder.feed(0, _packet(1))
    assert recorder.close().seconds == 2.0
    _meta, left, right = _channels(recorder.path, owner)
    assert list(left) == [1] * 2 * RATE
    start = _first(right, 2)
    assert abs(start - RATE) <= PACKET  # within one packet of 1.0 s
    assert set(right[:start]) == {0}
    assert list(right[start : start + 49 * PACKET]) == [2] * 49 * PACKET


def test_lost_packets_do_not_shift_the_rest(recorder, owner):
    for n in range(100):
        recorder.feed(0, _packet(1))
        if not 20 <= n < 45:  # 0.5 s of channel 1 lost
            recorder.feed(1, _packet(100 + n))
    recorder.close()
    _meta, left, right = _channels(recorder.path, owner)
    assert len(left) == len(right) == 2 * RATE
    for n in (45, 70, 99):
        assert abs(_first(right, 100 + n) - n * PACKET) <= PACKET


def test_short_jitter_is_not_padded(recorder, owner):
    # Channel 1 late by 0.2 s (< MAX_LAG), then catching up: no zeros inserted.
    assert MAX_LAG_SECONDS > 0.2
    for _ in range(10):
        recorder.feed(0, _packet(1))
    for n in range(10):
        recorder.feed(1, _packet(n + 1))
    recorder.close()
    _meta, _left, right = _channels(recorder.path, owner)
    assert list(right) == [n // PACKET + 1 for n in range(10 * PACKET)]


def test_close_pads_the_shorter_channel(recorder, owner):
    for _ in range(10):
        recorder.feed(0, _packet(1))
    for _ in range(4):
        recorder.feed(1, _packet(2))
    assert recorder.close().seconds == 0.2
    _meta, left, right = _channels(recorder.path, owner)
    assert list(left) == [1] * 10 * PACKET
    assert list(right) == [2] * 4 * PACKET + [0] * 6 * PACKET


def test_a_long_hold_is_written_as_it_goes(recorder, owner):
    # 10 s of one side only: the audio goes to the file, it does not wait in memory.
    for _ in range(500):
        recorder.feed(0, _packet(3))
    assert recorder.path.stat().st_size > 4 * 64 * 1024
    recorder.close()
    _meta, left, right = _channels(recorder.path, owner)
    assert list(left) == [3] * 10 * RATE and set(right) == {0}


def test_nothing_but_the_sealed_file_is_on_disk(tmp_path, owner):
    directory = tmp_path / "recordings"
    directory.mkdir()
    path = directory / "r.ett-rec"
    marker = b"PLAIN-AUDIO-MARKER!!" * 16  # 320 bytes: one packet
    rec = Recorder(path, bytes(owner.public_key), meta={"call": "c2"})
    for n in range(600):
        rec.feed(n % 2, marker)
        assert os.listdir(directory) == ["r.ett-rec"]
    rec.close()
    assert os.listdir(directory) == ["r.ett-rec"]
    assert b"PLAIN-AUDIO" not in path.read_bytes()


def test_metadata_keeps_the_parties_and_other_rates(tmp_path, owner):
    path = tmp_path / "r.ett-rec"
    rec = Recorder(path, bytes(owner.public_key), meta={"channels": ["a", "b"]}, rate=16000)
    rec.feed(0, _packet(1, 320))
    assert rec.close() == rec.close()
    assert rec.close().seconds == 0.02
    meta, left, right = _channels(path, owner)
    assert meta == {"channels": ["a", "b"], "format": "s16le", "rate": 16000}
    assert list(left) == [1] * 320 and list(right) == [0] * 320


def test_an_empty_recording_has_no_seconds(recorder, owner):
    result = recorder.close()
    assert result.seconds == 0 and result.size_bytes == recorder.path.stat().st_size
    assert _channels(recorder.path, owner)[1:] == (array.array("h"), array.array("h"))


def test_refusals(tmp_path, owner, recorder):
    with pytest.raises(ValueError):
        recorder.feed(2, _packet(1))
    with pytest.raises(ValueError):
        recorder.feed(0, b"\0\0\0")
    recorder.close()
    with pytest.raises(ValueError):
        recorder.feed(0, _packet(1))
    key = bytes(owner.public_key)
    with pytest.raises(ValueError):
        Recorder(tmp_path / "x", key, meta={"channels": ["a"]})
    with pytest.raises(ValueError):
        Recorder(tmp_path / "y", key, meta={}, rate=0)
    with pytest.raises(FileExistsError):
        Recorder(recorder.path, key, meta={})
