"""Bench: what sealing a recording costs, beside the same work written in the clear.

    .venv/bin/python bench/privacy.py [--seconds 600] [--rounds 5]

1. A recorded call's audio path per 20 ms packet (each party's G.711 payload decoded
   and fed to `privacy.recorder.Recorder`, which interleaves and seals it), against the
   same decode + interleave written unencrypted with the standard `wave` module (what a
   recorder that keeps plain audio on disk would do), and the decode alone: µs per
   packet, and the share of one core a recorded call costs (100 packets a second).
2. Throughput of `privacy.sealing.SealedWriter` against a plain file write (MB/s).
3. Opening a recording (`open_sealed`) against reading the plain file (MB/s).

Figures are the median of the rounds; the file system is this machine's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import wave
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dialer.g711 import decode_ulaw, encode_ulaw
from privacy.keys import public_key_of_seed, secret_key_of_seed
from privacy.recorder import Recorder
from privacy.sealing import SealedWriter, open_sealed

SEED = "bench seed words that only open the bench's own files once and never again ok"
PACKET = 160  # samples: 20 ms at 8 kHz


def packets(seconds: int) -> list[bytes]:
    """G.711 μ-law payloads of a sweeping tone, 20 ms each."""
    pcm = bytearray()
    for n in range(8000):  # one second, repeated
        value = int(8000 * ((n * 7919) % 400 - 200) / 200)
        pcm += value.to_bytes(2, "little", signed=True)
    second = encode_ulaw(bytes(pcm))
    one = [second[i : i + PACKET] for i in range(0, len(second), PACKET)]
    return one * seconds


def sealed_call(payloads: list[bytes], folder: Path, key: bytes) -> float:
    recorder = Recorder(folder / "call.ett-rec", key, meta={"channels": ["a", "b"]})
    start = time.perf_counter()
    for payload in payloads:
        recorder.feed(0, decode_ulaw(payload))
        recorder.feed(1, decode_ulaw(payload))
    recorder.close()
    elapsed = time.perf_counter() - start
    (folder / "call.ett-rec").unlink()
    return elapsed


def plain_call(payloads: list[bytes], folder: Path) -> float:
    start = time.perf_counter()
    with wave.open(str(folder / "call.wav"), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(8000)
        for payload in payloads:
            left, right = decode_ulaw(payload), decode_ulaw(payload)
            stereo = bytearray(4 * PACKET)
            stereo[0::4], stereo[1::4] = left[0::2], left[1::2]
            stereo[2::4], stereo[3::4] = right[0::2], right[1::2]
            out.writeframesraw(stereo)
    elapsed = time.perf_counter() - start
    (folder / "call.wav").unlink()
    return elapsed


def decode_only(payloads: list[bytes]) -> float:
    start = time.perf_counter()
    for payload in payloads:
        decode_ulaw(payload)
        decode_ulaw(payload)
    return time.perf_counter() - start


def throughput(folder: Path, key: bytes, secret: bytes, megabytes: int) -> dict[str, float]:
    data = os.urandom(1 << 20)
    start = time.perf_counter()
    with SealedWriter(folder / "big.ett-rec", key, {"bench": True}) as writer:
        for _ in range(megabytes):
            writer.write(data)
    sealed = time.perf_counter() - start
    start = time.perf_counter()
    with open(folder / "big.raw", "wb") as out:
        for _ in range(megabytes):
            out.write(data)
    plain = time.perf_counter() - start
    start = time.perf_counter()
    _, chunks = open_sealed(folder / "big.ett-rec", secret)
    opened = sum(len(c) for c in chunks)
    open_time = time.perf_counter() - start
    start = time.perf_counter()
    read = len((folder / "big.raw").read_bytes())
    read_time = time.perf_counter() - start
    assert opened == read == megabytes << 20
    for name in ("big.ett-rec", "big.raw"):
        (folder / name).unlink()
    return {
        "seal": megabytes / sealed,
        "plain write": megabytes / plain,
        "open": megabytes / open_time,
        "plain read": megabytes / read_time,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=600, help="length of the call")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--megabytes", type=int, default=64)
    args = parser.parse_args()
    key, secret = public_key_of_seed(SEED), secret_key_of_seed(SEED)
    payloads = packets(args.seconds)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        runs = {"sealed recorder": [], "plain WAV": [], "decode only": []}
        speeds: dict[str, list[float]] = {}
        for _ in range(args.rounds):
            runs["sealed recorder"].append(sealed_call(payloads, folder, key))
            runs["plain WAV"].append(plain_call(payloads, folder))
            runs["decode only"].append(decode_only(payloads))
            for label, value in throughput(folder, key, secret, args.megabytes).items():
                speeds.setdefault(label, []).append(value)
    count = len(payloads)
    print(f"a recorded call of {args.seconds} s: {count} packets a side, {args.rounds} rounds")
    print(f"{'':18}{'µs per packet pair':>20}{'% of a core per call':>24}")
    for label, times in runs.items():
        micro = statistics.median(times) / count * 1e6
        print(f"{label:18}{micro:20.2f}{micro * 50 / 1e4:24.3f}")
    print(f"\n{'MB/s':18}" + "".join(f"{label:>14}" for label in speeds))
    print(f"{'median':18}" + "".join(f"{statistics.median(v):14.0f}" for v in speeds.values()))


if __name__ == "__main__":
    main()
