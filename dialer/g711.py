"""G.711 μ-law (PCMU) and A-law (PCMA) for 16-bit linear PCM, in pure Python.

This replaces the standard library's ``audioop`` (deprecated in Python 3.11, removed in
3.13) in the dialer. It follows ITU-T Recommendation G.711 (11/88), "Pulse code
modulation (PCM) of voice frequencies". Both laws split the magnitude of a sample into 8
segments ("chords") of 16 equal steps; each segment's step is twice the previous one's,
and a code word is sign bit, 3 segment bits and 4 step bits:

* μ-law (G.711 Tables 2a/2b) codes a 14-bit magnitude plus a bias of 33 (0x84 on the
  16-bit scale). Segment k holds the biased magnitudes 2**(5+k) .. 2**(6+k) - 1 in steps
  of 2**(k+1); magnitudes past the last segment clip to its last step. All bits of the
  code word are inverted, so +0 is 0xFF, and negative values have the sign bit 0.
* A-law (G.711 Tables 1a/1b) codes a 13-bit magnitude without bias. Segments 0 and 1 both
  have steps of 2 (together 0..63), segment k >= 1 holds 2**(4+k) .. 2**(5+k) - 1 in steps
  of 2**k. The even bits of the code word are inverted (XOR 0x55) and the sign bit is 1
  for positive values, so +0 is 0xD5. A negative value is coded by its one's complement.

16-bit samples are cut to the law's width by an arithmetic shift (>> 2 for μ-law, >> 3
for A-law), and decoding gives the middle of the code's interval, scaled back to 16
bits. That is the reference implementation that ``audioop`` carries (Sun Microsystems'
g711.c), so every function here is bit-exact with ``audioop.lin2ulaw``, ``lin2alaw``,
``ulaw2lin`` and ``alaw2lin`` at width 2, for all 65536 samples and all 256 code words
(tests/test_dialer_units.py checks both exhaustively).

Whole buffers go through tables built at import (well under a millisecond): encoding
gathers from a 65536-byte table indexed by the unsigned 16-bit sample, decoding is two
``bytes.translate`` passes (first and second byte of each sample), and μ-law <-> A-law is
one ``bytes.translate``. Samples are in native byte order, as with ``audioop``
(little-endian, S16LE, on x86 and ARM).
"""

from __future__ import annotations

import sys
from operator import itemgetter

ULAW_SILENCE = 0xFF
"""The μ-law code word of 0 (positive zero)."""
ALAW_SILENCE = 0xD5
"""The A-law code word of 0 (the first positive step)."""

_CHUNK = 8192  # samples a gather when encoding (about 1 s at 8 kHz)


def _steps(step_length: list[int]) -> bytes:
    """Each step number 0..127 (segment * 16 + step) repeated `step_length[number]` times.

    Indexed by magnitude, this is the code word before sign and inversion.
    """
    return b"".join(bytes([number]) * length for number, length in enumerate(step_length))


def _widen(reduced: bytes, factor: int) -> bytes:
    """Every byte of `reduced` repeated `factor` times in place (b"ab", 2 -> b"aabb")."""
    wide = bytearray(len(reduced) * factor)
    for offset in range(factor):
        wide[offset::factor] = reduced
    return bytes(wide)


def _xor(mask: int) -> bytes:
    """A ``bytes.translate`` table that XORs every byte with `mask`."""
    return bytes(code ^ mask for code in range(256))


def _ulaw_encode_table() -> bytes:
    """The μ-law code word of each 16-bit sample, indexed by sample & 0xFFFF (65536 bytes).

    By biased 14-bit magnitude (magnitude + 33), from 32: segment k has 16 steps of
    2**(k+1) values each (G.711 Table 2a), 8160 values up to 8191; 8192 and beyond clip
    to the last step. Positive samples 0..32767 have 14-bit magnitudes 0..8191 (inverted
    with 0xFF); negative samples -32768..-1 have 14-bit values -8192..-1, so magnitudes
    8192..1 (inverted with 0x7F, which leaves the sign bit 0).
    """
    by_biased = _steps([2 << (number >> 4) for number in range(128)])
    last = by_biased[-1:]
    # magnitude m is biased m + 33, at index m + 33 - 32; 0..8192 are needed, clip the rest
    by_magnitude = by_biased[1:] + last * (8193 - len(by_biased[1:]))
    positive = by_magnitude[:8192].translate(_xor(0xFF))
    negative = by_magnitude[8192:0:-1].translate(_xor(0x7F))
    return _widen(positive + negative, 4)  # 4 samples a 14-bit value (>> 2)


def _alaw_encode_table() -> bytes:
    """The A-law code word of each 16-bit sample, indexed by sample & 0xFFFF (65536 bytes).

    By 13-bit magnitude: 16 steps of 2 in each of segments 0 and 1, then 16 steps of
    2**k in segment k (G.711 Table 1a), 4096 values in all. Positive samples 0..32767
    have 13-bit magnitudes 0..4095 (XOR 0xD5: even bits inverted, sign bit set);
    negative samples -32768..-1 have 13-bit values -4096..-1, coded by the one's
    complement magnitudes 4095..0 (XOR 0x55).
    """
    by_magnitude = _steps([2 << max(0, (number >> 4) - 1) for number in range(128)])
    positive = by_magnitude.translate(_xor(0xD5))
    negative = by_magnitude[::-1].translate(_xor(0x55))
    return _widen(positive + negative, 8)  # 8 samples a 13-bit value (>> 3)


def _ulaw_decoded(code: int) -> int:
    """The 16-bit sample a μ-law code word stands for: the middle of its interval (Table 2b)."""
    code ^= 0xFF
    value = (((code & 0x0F) << 3) + 0x84) << ((code & 0x70) >> 4)  # biased, 16-bit scale
    return 0x84 - value if code & 0x80 else value - 0x84


def _alaw_decoded(code: int) -> int:
    """The 16-bit sample an A-law code word stands for: the middle of its interval (Table 1b)."""
    code ^= 0x55
    step, segment = code & 0x0F, (code & 0x70) >> 4
    value = (step << 4) + 8 if segment == 0 else ((step << 4) + 0x108) << (segment - 1)
    return value if code & 0x80 else -value


ULAW_ENCODE: bytes = _ulaw_encode_table()
"""μ-law code word of every 16-bit sample, indexed by sample & 0xFFFF (65536 bytes)."""
ALAW_ENCODE: bytes = _alaw_encode_table()
"""A-law code word of every 16-bit sample, indexed by sample & 0xFFFF (65536 bytes)."""
ULAW_DECODE: tuple[int, ...] = tuple(_ulaw_decoded(code) for code in range(256))
"""Signed 16-bit sample (-32124..32124) of each μ-law code word, indexed by code word."""
ALAW_DECODE: tuple[int, ...] = tuple(_alaw_decoded(code) for code in range(256))
"""Signed 16-bit sample (-32256..32256) of each A-law code word, indexed by code word."""
ULAW_TO_ALAW: bytes = bytes(ALAW_ENCODE[sample & 0xFFFF] for sample in ULAW_DECODE)
"""``bytes.translate`` table: μ-law code word -> A-law code word of the decoded sample."""
ALAW_TO_ULAW: bytes = bytes(ULAW_ENCODE[sample & 0xFFFF] for sample in ALAW_DECODE)
"""``bytes.translate`` table: A-law code word -> μ-law code word of the decoded sample."""


def _byte_tables(decoded: tuple[int, ...]) -> tuple[bytes, bytes]:
    """Translate tables giving the first and the second byte (native order) of a sample."""
    low = bytes(sample & 0xFF for sample in decoded)
    high = bytes((sample >> 8) & 0xFF for sample in decoded)
    return (low, high) if sys.byteorder == "little" else (high, low)


_ULAW_BYTES = _byte_tables(ULAW_DECODE)
_ALAW_BYTES = _byte_tables(ALAW_DECODE)


def _gather(indices: memoryview, table: bytes) -> bytes:
    """``table[i]`` for every ``i`` in `indices`, as bytes, in one C-level call."""
    if len(indices) < 2:  # itemgetter of a single index returns the item, not a tuple
        return bytes(table[index] for index in indices)
    return bytes(itemgetter(*indices)(table))


def _encode(pcm16: bytes | bytearray | memoryview, table: bytes) -> bytes:
    """Every 16-bit sample of `pcm16` looked up in a 65536-entry `table`: one byte a sample."""
    view = memoryview(pcm16).cast("B")
    if len(view) % 2:
        raise ValueError(f"16-bit PCM has an odd number of bytes ({len(view)})")
    samples = view.cast("H")  # unsigned and in native order: the table index
    if len(samples) <= _CHUNK:
        return _gather(samples, table)
    # In chunks, so a long prompt does not unpack into millions of int objects at once.
    starts = range(0, len(samples), _CHUNK)
    return b"".join(_gather(samples[start : start + _CHUNK], table) for start in starts)


def _decode(data: bytes | bytearray | memoryview, tables: tuple[bytes, bytes]) -> bytes:
    """Code words (one byte each) to 16-bit samples, through per-byte translate `tables`."""
    data = bytes(data)
    pcm16 = bytearray(2 * len(data))
    pcm16[0::2] = data.translate(tables[0])
    pcm16[1::2] = data.translate(tables[1])
    return bytes(pcm16)


def encode_ulaw(pcm16: bytes | bytearray | memoryview) -> bytes:
    """μ-law code words (1 byte a sample) of 16-bit native-order PCM (2 bytes a sample).

    Same as ``audioop.lin2ulaw(pcm16, 2)``; ValueError on an odd number of bytes.
    """
    return _encode(pcm16, ULAW_ENCODE)


def encode_alaw(pcm16: bytes | bytearray | memoryview) -> bytes:
    """A-law code words (1 byte a sample) of 16-bit native-order PCM (2 bytes a sample).

    Same as ``audioop.lin2alaw(pcm16, 2)``; ValueError on an odd number of bytes.
    """
    return _encode(pcm16, ALAW_ENCODE)


def decode_ulaw(data: bytes | bytearray | memoryview) -> bytes:
    """16-bit native-order PCM (2 bytes a sample) of μ-law code words (1 byte a sample).

    Same as ``audioop.ulaw2lin(data, 2)``.
    """
    return _decode(data, _ULAW_BYTES)


def decode_alaw(data: bytes | bytearray | memoryview) -> bytes:
    """16-bit native-order PCM (2 bytes a sample) of A-law code words (1 byte a sample).

    Same as ``audioop.alaw2lin(data, 2)``.
    """
    return _decode(data, _ALAW_BYTES)
