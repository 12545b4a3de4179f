"""privacy.keys and privacy.sealing: Waves keys derived offline, and sealed files that
only their owner's key opens, whole and authentic or refused."""

from __future__ import annotations

import os
import random
import socket
import stat
from pathlib import Path

import base58
import pytest
from nacl.public import PrivateKey, SealedBox

from privacy import keys
from privacy.sealing import (
    CHUNK_BYTES,
    CORRUPTED,
    HEADER_BYTES,
    MAGIC,
    NOT_A_RECORDING,
    TRUNCATED,
    WRONG_KEY,
    SealedError,
    SealedWriter,
    open_sealed,
)

SEEDS = [
    "merry hello world again bonus cream delay follow window crane unfair tiny sheriff",
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about",
    "x y",
    "seed with  two spaces and a trailing dot.",
]


@pytest.fixture(scope="module")
def owner() -> PrivateKey:
    return PrivateKey.generate()


@pytest.fixture
def offline_pywaves(monkeypatch):
    """pywaves on an offline instance, with every socket connection refused."""
    keys.new_seed()  # imports pywaves the way privacy.keys does (the root logger kept)
    import pywaves

    def refuse(*_args, **_kwargs):
        raise AssertionError("a network connection was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    instance = pywaves.ParallelPyWaves()
    instance.setOffline()
    return lambda seed: pywaves.Address(seed=seed, pywaves=instance)


def _read(path: Path, secret_key: bytes) -> tuple[dict, bytes]:
    meta, chunks = open_sealed(path, secret_key)
    return meta, b"".join(chunks)


def _seal(path: Path, public_key: bytes, data: bytes, chunk_bytes: int, meta=None) -> int:
    rng = random.Random(len(data) * 31 + chunk_bytes)
    with SealedWriter(path, public_key, meta or {"kind": "test"}, chunk_bytes=chunk_bytes) as w:
        done = 0
        while done < len(data):
            step = rng.randint(1, 3 * chunk_bytes)
            w.write(data[done : done + step])
            done += step
    return w.close()


# keys


def test_key_text_round_trip_and_refusals():
    raw = os.urandom(32)
    assert keys.decode_key(" " + keys.encode_key(raw) + "\n") == raw
    with pytest.raises(ValueError, match="32 bytes"):
        keys.encode_key(raw[:31])
    with pytest.raises(ValueError, match="not base58"):
        keys.decode_key("0OIl")
    with pytest.raises(ValueError, match="decodes to 31 bytes"):
        keys.decode_key(base58.b58encode(raw[:31]).decode())


@pytest.mark.parametrize("seed", SEEDS)
def test_seed_derivation_is_waves(seed, offline_pywaves):
    address = offline_pywaves(seed)
    assert keys.secret_key_of_seed(seed) == base58.b58decode(address.privateKey)
    assert keys.public_key_of_seed(seed) == base58.b58decode(address.publicKey)
    assert keys.public_key_of_seed(seed) == bytes(
        PrivateKey(keys.secret_key_of_seed(seed)).public_key
    )


def test_new_seed_is_a_waves_seed(offline_pywaves):
    import pywaves.address

    seeds = {keys.new_seed() for _ in range(20)}
    assert len(seeds) == 20
    for seed in seeds:
        words = seed.split(" ")
        assert len(words) == 15
        assert set(words) <= set(pywaves.address.wordList)
    seed = seeds.pop()
    address = offline_pywaves(seed)
    assert keys.secret_key_of_seed(seed) == base58.b58decode(address.privateKey)


def test_secret_key_of_accepts_a_seed_or_a_private_key(offline_pywaves):
    seed = SEEDS[0]
    secret = keys.secret_key_of_seed(seed)
    assert keys.secret_key_of(seed + "\n") == secret
    assert keys.secret_key_of(" " + offline_pywaves(seed).privateKey + "\n") == secret
    assert keys.secret_key_of("x  y") != keys.secret_key_of("x y")  # taken exactly as typed
    for bad in ["", " \n", "notakey", base58.b58encode(secret[:20]).decode()]:
        with pytest.raises(ValueError):
            keys.secret_key_of(bad)


def test_sealed_to_a_waves_public_key_opens_with_its_seed(tmp_path):
    seed = keys.new_seed()
    path = tmp_path / "r.ett-rec"
    _seal(path, keys.public_key_of_seed(seed), b"hello", 1024)
    assert _read(path, keys.secret_key_of(seed))[1] == b"hello"


# sealing


@pytest.mark.parametrize("chunk_bytes", [1, 7, 1000, CHUNK_BYTES])
@pytest.mark.parametrize("size", [0, 1, 999, 1000, 3 * 1000 + 5, 200_000])
def test_round_trip(tmp_path, owner, chunk_bytes, size):
    data = os.urandom(size)
    path = tmp_path / "r.ett-rec"
    if chunk_bytes == 1 and size > 5000:
        data = data[:5000]  # a chunk per byte: enough to show it
    meta = {"call": "c1", "rate": 8000, "text": "ünïcode"}
    written = _seal(path, bytes(owner.public_key), data, chunk_bytes, meta)
    assert written == path.stat().st_size
    assert _read(path, bytes(owner)) == (meta, data)


def test_empty_stream(tmp_path, owner):
    path = tmp_path / "r.ett-rec"
    SealedWriter(path, bytes(owner.public_key), {}).close()
    meta, chunks = open_sealed(path, bytes(owner))
    assert meta == {}
    assert list(chunks) == []


def test_file_is_new_and_private(tmp_path, owner):
    path = tmp_path / "r.ett-rec"
    writer = SealedWriter(path, bytes(owner.public_key), {})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert writer.close() == writer.close() == path.stat().st_size
    with pytest.raises(ValueError):
        writer.write(b"late")
    with pytest.raises(FileExistsError):
        SealedWriter(path, bytes(owner.public_key), {"other": 1})
    assert _read(path, bytes(owner)) == ({}, b"")


def test_bad_arguments_leave_no_file(tmp_path, owner):
    path = tmp_path / "r.ett-rec"
    with pytest.raises(ValueError):
        SealedWriter(path, b"short", {})
    with pytest.raises(ValueError):
        SealedWriter(path, bytes(owner.public_key), {"bytes": b"x"})
    with pytest.raises(ValueError):
        SealedWriter(path, bytes(owner.public_key), {}, chunk_bytes=0)
    assert not path.exists()


def test_plaintext_is_not_in_the_file(tmp_path, owner):
    path = tmp_path / "r.ett-rec"
    marker = b"PLAIN-AUDIO-MARKER" * 10
    _seal(path, bytes(owner.public_key), marker * 100, 4096, {"secret": "META-MARKER"})
    content = path.read_bytes()
    assert content.startswith(MAGIC)
    assert b"PLAIN-AUDIO" not in content and b"META-MARKER" not in content


def test_wrong_key_is_refused(tmp_path, owner):
    path = tmp_path / "r.ett-rec"
    _seal(path, bytes(owner.public_key), b"data", 16)
    with pytest.raises(SealedError) as caught:
        open_sealed(path, bytes(PrivateKey.generate()))
    assert caught.value.reason == WRONG_KEY
    with pytest.raises(ValueError):
        open_sealed(path, b"not 32 bytes")


@pytest.mark.parametrize("content", [b"", b"RIFF....WAVEfmt ", b"ETTREC2\n" + bytes(200)])
def test_not_a_recording(tmp_path, owner, content):
    path = tmp_path / "r.ett-rec"
    path.write_bytes(content)
    with pytest.raises(SealedError) as caught:
        open_sealed(path, bytes(owner))
    assert caught.value.reason == NOT_A_RECORDING


def _read_until_error(path: Path, secret_key: bytes) -> tuple[bytes, SealedError | None]:
    got = b""
    try:
        _meta, chunks = open_sealed(path, secret_key)
        for chunk in chunks:
            got += chunk
    except SealedError as error:
        return got, error
    return got, None


def test_every_truncation_is_detected(tmp_path, owner):
    path, cut = tmp_path / "r.ett-rec", tmp_path / "cut.ett-rec"
    data = os.urandom(300)
    _seal(path, bytes(owner.public_key), data, 64)
    content = path.read_bytes()
    for length in range(1, len(content)):
        cut.write_bytes(content[:length])
        got, error = _read_until_error(cut, bytes(owner))
        assert error is not None and error.reason == TRUNCATED, length
        assert data.startswith(got)
        if length >= HEADER_BYTES + 200:
            assert got  # what was there before the cut is given


def test_every_changed_byte_is_detected(tmp_path, owner):
    path, bad = tmp_path / "r.ett-rec", tmp_path / "bad.ett-rec"
    data = os.urandom(200)
    _seal(path, bytes(owner.public_key), data, 64)
    content = path.read_bytes()
    reasons = set()
    for position in range(len(content)):
        changed = bytearray(content)
        changed[position] ^= 0x01
        bad.write_bytes(changed)
        got, error = _read_until_error(bad, bytes(owner))
        assert error is not None, position
        assert data.startswith(got)
        reasons.add(error.reason)
    assert reasons >= {NOT_A_RECORDING, WRONG_KEY, CORRUPTED}


def test_data_after_the_end_is_refused(tmp_path, owner):
    path = tmp_path / "r.ett-rec"
    _seal(path, bytes(owner.public_key), b"data", 16)
    with open(path, "ab") as file:
        file.write(b"\0")
    got, error = _read_until_error(path, bytes(owner))
    assert got == b"data"
    assert error is not None and error.reason == CORRUPTED


def test_a_crash_leaves_the_written_chunks_readable(tmp_path, owner):
    path, copy = tmp_path / "r.ett-rec", tmp_path / "crashed.ett-rec"
    data = os.urandom(2500)
    writer = SealedWriter(path, bytes(owner.public_key), {"call": "c"}, chunk_bytes=1000)
    writer.write(data)
    copy.write_bytes(path.read_bytes())  # the file as a crash now would leave it
    writer.close()
    meta, chunks = open_sealed(copy, bytes(owner))
    assert meta == {"call": "c"}
    assert next(chunks) + next(chunks) == data[:2000]
    with pytest.raises(SealedError, match="truncated"):
        next(chunks)


def test_a_stream_key_sealed_by_hand_has_our_layout(tmp_path, owner):
    path = tmp_path / "r.ett-rec"
    _seal(path, bytes(owner.public_key), b"", 16)
    content = path.read_bytes()
    stream_key = SealedBox(owner).decrypt(content[len(MAGIC) : len(MAGIC) + 80])
    assert len(stream_key) == 32
