"""A call's two directions, as they arrive, into one stereo sealed file.

Each direction is fed as it is heard (RTP packets, typically 20 ms each), independently
of the other: the two are put side by side by their sample counts, so a channel that
stops sending (silence suppression, hold, lost packets) would slip behind the other for
good. When one is ahead of the other by MAX_LAG or more, the late one is taken to have
been silent: it is padded with zeros, and its next packet is placed with the other's
latest audio, so the two stay within MAX_LAG of each other in time.

Only the sealed writer touches the file: plain audio exists in memory only, at most
MAX_LAG per channel plus one chunk of the writer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from privacy.sealing import SealedWriter

FORMAT = "s16le"  # signed 16-bit little-endian samples, the channels interleaved
SAMPLE_BYTES = 2
MAX_LAG_SECONDS = 0.3
# Interleave only once this much is ready on both channels: most feeds just append.
BATCH_SECONDS = 0.1


@dataclass(frozen=True)
class RecorderResult:
    """A finished recording: its length in seconds and its file's size in bytes."""

    seconds: float
    size_bytes: int


class Recorder:
    """Write channels 0 and 1 (mono S16LE at `rate` Hz each) as one stereo S16LE stream
    to a new sealed file at `path` (privacy.sealing; mode 0600, FileExistsError if it
    exists), sealed to `public_key` (32 bytes, X25519).

    The file's metadata is `meta` with "format" ("s16le") and "rate" set, and "channels":
    2, or the caller's per-channel labels (a list of 2). Raises ValueError for a bad key,
    bad metadata or a rate that is not positive."""

    def __init__(
        self, path: Path, public_key: bytes, *, meta: dict[str, Any], rate: int = 8000
    ) -> None:
        if rate <= 0:
            raise ValueError(f"a sample rate must be positive, not {rate}")
        channels = meta.get("channels", 2)
        if channels != 2 and not (isinstance(channels, list) and len(channels) == 2):
            raise ValueError('"channels" of a recording is 2 or a list of 2 labels')
        self.path = Path(path)
        self.rate = rate
        self._max_lag = round(MAX_LAG_SECONDS * rate)  # samples
        self._batch = round(BATCH_SECONDS * rate)  # frames
        # Per channel: its samples not yet written (bytes), and where its audio ends on
        # the recording's time line (samples, counting padding).
        self._pending = (bytearray(), bytearray())
        self._end = [0, 0]
        self._written = 0  # frames
        self._result: RecorderResult | None = None
        full_meta = {**meta, "format": FORMAT, "rate": rate, "channels": channels}
        self._writer = SealedWriter(self.path, public_key, full_meta)

    def feed(self, channel: int, pcm16: bytes) -> None:
        """Add `pcm16` (mono S16LE at `rate` Hz, any whole number of samples) heard on
        `channel` (0 or 1) just now. Raises ValueError for another channel, an odd byte
        count or a closed recorder; OSError when the file cannot be written."""
        if self._result is not None:
            raise ValueError("feed to a closed recorder")
        if channel not in (0, 1) or len(pcm16) % SAMPLE_BYTES:
            raise ValueError(f"channel {channel!r} with {len(pcm16)} bytes: not mono S16LE")
        samples = len(pcm16) // SAMPLE_BYTES
        other = 1 - channel
        end = self._end
        if end[other] - end[channel] >= self._max_lag:
            # It was silent: this packet goes with the other's latest audio.
            self._pad(channel, end[other] - samples)
        self._pending[channel].extend(pcm16)
        end[channel] += samples
        if end[channel] - end[other] > self._max_lag:
            # The other is silent: let its zeros (and this channel's audio) out.
            self._pad(other, end[channel] - self._max_lag)
        if min(end) - self._written >= self._batch:
            self._emit(min(end))

    @property
    def seconds(self) -> float:
        """How far both channels have come (the shorter one), in seconds: a part cut there
        ends with neither channel padded."""
        return min(self._end) / self.rate

    def close(self) -> RecorderResult:
        """Pad the shorter channel to the longer, write the rest and end the sealed file.
        Its length and size; closing again gives the same."""
        if self._result is None:
            longest = max(self._end)
            self._pad(0, longest)
            self._pad(1, longest)
            try:
                self._emit(longest)
            finally:
                size = self._writer.close()
                self._pending[0].clear()
                self._pending[1].clear()
                self._result = RecorderResult(self._written / self.rate, size)
        return self._result

    def _pad(self, channel: int, until: int) -> None:
        """Zeros on `channel` until sample `until` of the time line (none if it is there)."""
        missing = until - self._end[channel]
        if missing > 0:
            self._pending[channel].extend(bytes(missing * SAMPLE_BYTES))
            self._end[channel] = until

    def _emit(self, until: int) -> None:
        """Interleave both channels up to frame `until` and write them to the file."""
        count = (until - self._written) * SAMPLE_BYTES
        left, right = self._pending
        stereo = bytearray(2 * count)
        # Byte-wise, so the samples keep their byte order whatever this machine's is.
        stereo[0::4] = left[0:count:2]
        stereo[1::4] = left[1:count:2]
        stereo[2::4] = right[0:count:2]
        stereo[3::4] = right[1:count:2]
        del left[:count], right[:count]
        self._written = until
        self._writer.write(stereo)
