"""The sealed file format of recordings: only the owner's private key opens it.

Layout (all through libsodium, via PyNaCl):

    b"ETTREC1\\n"                          magic, 8 bytes
    sealed box of the stream key           80 bytes: crypto_box_seal of a fresh 32-byte
                                           key to the owner's X25519 public key
    secretstream header                    24 bytes (crypto_secretstream_xchacha20poly1305)
    chunks                                 each a 4-byte big-endian length + that many
                                           bytes of crypto_secretstream ciphertext

The first chunk is the metadata, a JSON object (its additional data is the header above,
so the header is authenticated too); the rest is the stream's data, cut into chunks of a
fixed plaintext size; the last chunk carries TAG_FINAL, so a file cut short is told from
a whole one. The writer holds at most one chunk of plaintext, in memory only; each chunk
is written to the file as soon as it is full, so a crash leaves a readable prefix.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

from nacl.bindings import (
    crypto_secretstream_xchacha20poly1305_ABYTES as ABYTES,
)
from nacl.bindings import (
    crypto_secretstream_xchacha20poly1305_HEADERBYTES as HEADERBYTES,
)
from nacl.bindings import (
    crypto_secretstream_xchacha20poly1305_init_pull,
    crypto_secretstream_xchacha20poly1305_init_push,
    crypto_secretstream_xchacha20poly1305_keygen,
    crypto_secretstream_xchacha20poly1305_pull,
    crypto_secretstream_xchacha20poly1305_push,
    crypto_secretstream_xchacha20poly1305_state,
)
from nacl.bindings import (
    crypto_secretstream_xchacha20poly1305_TAG_FINAL as TAG_FINAL,
)
from nacl.bindings import (
    crypto_secretstream_xchacha20poly1305_TAG_MESSAGE as TAG_MESSAGE,
)
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox

MAGIC = b"ETTREC1\n"
SEALED_KEY_BYTES = 32 + 48  # the stream key + crypto_box_SEALBYTES
HEADER_BYTES = len(MAGIC) + SEALED_KEY_BYTES + HEADERBYTES
CHUNK_BYTES = 64 * 1024  # plaintext per chunk: 2 s of 8 kHz stereo S16LE
# The reader refuses longer chunks before reading them: a damaged length must not make
# it allocate gigabytes. Writers never come near it (metadata and chunks are far smaller).
MAX_CHUNK_BYTES = 16 * 1024 * 1024
_LENGTH = struct.Struct(">I")

# SealedError.reason
NOT_A_RECORDING = "not a recording"
WRONG_KEY = "wrong key"
CORRUPTED = "corrupted"
TRUNCATED = "truncated"


class SealedError(ValueError):
    """A sealed file that cannot be opened, or not wholly; `reason` is one of
    NOT_A_RECORDING, WRONG_KEY, CORRUPTED, TRUNCATED."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class SealedWriter:
    """Write a new sealed file at `path` (created with mode 0600; an existing file is an
    error: FileExistsError) readable only with the private key of `public_key` (32 bytes,
    X25519). `meta` (a JSON-serialisable dict) is the file's first chunk; `write` adds
    data, `close` ends the stream. Raises ValueError for a bad key or metadata."""

    def __init__(
        self,
        path: Path,
        public_key: bytes,
        meta: dict[str, Any],
        *,
        chunk_bytes: int = CHUNK_BYTES,
    ) -> None:
        if not 0 < chunk_bytes <= MAX_CHUNK_BYTES - ABYTES:
            raise ValueError(f"chunk size {chunk_bytes} is out of range")
        try:
            meta_json = json.dumps(dict(meta), ensure_ascii=False, sort_keys=True).encode()
        except (TypeError, ValueError) as error:
            raise ValueError(f"the metadata is not JSON: {error}") from None
        if len(meta_json) + ABYTES > MAX_CHUNK_BYTES:
            raise ValueError("the metadata is too large")
        try:
            sealed_key_box = SealedBox(PublicKey(public_key))
        except (TypeError, ValueError) as error:
            raise ValueError(f"not a public key: {error}") from None
        self.path = Path(path)
        self.chunk_bytes = chunk_bytes
        self._buffer = bytearray()
        self._size = 0
        self._closed = False
        stream_key = crypto_secretstream_xchacha20poly1305_keygen()
        self._state = crypto_secretstream_xchacha20poly1305_state()
        stream_header = crypto_secretstream_xchacha20poly1305_init_push(self._state, stream_key)
        header = MAGIC + sealed_key_box.encrypt(stream_key) + stream_header
        self._fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        try:
            self._put(header)
            self._push(meta_json, TAG_MESSAGE, ad=header)
        except BaseException:
            os.close(self._fd)
            os.unlink(self.path)
            raise

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Add `data` to the stream; every full chunk is encrypted and written at once.
        Raises ValueError after `close`, OSError when the file cannot be written."""
        if self._closed:
            raise ValueError("write to a closed sealed file")
        self._buffer += data
        size = self.chunk_bytes
        if len(self._buffer) >= size:
            view = memoryview(self._buffer)
            done = 0
            try:
                while len(self._buffer) - done >= size:
                    self._push(bytes(view[done : done + size]), TAG_MESSAGE)
                    done += size
            finally:
                view.release()
                del self._buffer[:done]

    def close(self) -> int:
        """Write what is buffered as the final chunk and close the file; its size in
        bytes. Closing again only returns the size."""
        if not self._closed:
            self._closed = True
            try:
                self._push(bytes(self._buffer), TAG_FINAL)
            finally:
                self._buffer.clear()
                os.close(self._fd)
        return self._size

    @property
    def closed(self) -> bool:
        """Whether `close` was called."""
        return self._closed

    def __enter__(self) -> SealedWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def _push(self, plain: bytes, tag: int, ad: bytes | None = None) -> None:
        cipher = crypto_secretstream_xchacha20poly1305_push(self._state, plain, ad, tag)
        self._put(_LENGTH.pack(len(cipher)) + cipher)

    def _put(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self._size += len(data)


def open_sealed(path: Path, secret_key: bytes) -> tuple[dict[str, Any], Iterator[bytes]]:
    """Open the sealed file at `path` with the owner's X25519 private key (32 bytes):
    its metadata and an iterator of its data, chunk by chunk, each authenticated before
    it is given.

    Raises SealedError (reason NOT_A_RECORDING, WRONG_KEY, CORRUPTED or TRUNCATED) here
    when the header or the metadata cannot be read, and from the iterator when a later
    chunk is damaged or the file ends before its final chunk (what came before was
    genuine, and was given). OSError when the file cannot be read."""
    try:
        private_key = PrivateKey(secret_key)
    except (TypeError, ValueError) as error:
        raise ValueError(f"not a private key: {error}") from None
    file = open(path, "rb")  # closed by the iterator, or here on an error
    try:
        state, header = _open_header(file, SealedBox(private_key))
        meta = _read_meta(file, state, header)
    except BaseException:
        file.close()
        raise
    return meta, _chunks(file, state)


def _open_header(
    file: BinaryIO, box: SealedBox[PrivateKey]
) -> tuple[crypto_secretstream_xchacha20poly1305_state, bytes]:
    header = file.read(HEADER_BYTES)
    if header[: len(MAGIC)] != MAGIC:
        if header and MAGIC.startswith(header):
            raise SealedError(TRUNCATED, "the recording is truncated: it ends within its header")
        raise SealedError(NOT_A_RECORDING, "not a sealed recording (it does not start as one)")
    if len(header) < HEADER_BYTES:
        raise SealedError(TRUNCATED, "the recording is truncated: it ends within its header")
    sealed_key = header[len(MAGIC) : len(MAGIC) + SEALED_KEY_BYTES]
    try:
        stream_key = box.decrypt(sealed_key)
    except CryptoError:
        raise SealedError(
            WRONG_KEY, "this key does not open the recording (another key, or a damaged header)"
        ) from None
    state = crypto_secretstream_xchacha20poly1305_state()
    crypto_secretstream_xchacha20poly1305_init_pull(
        state, header[len(MAGIC) + SEALED_KEY_BYTES :], stream_key
    )
    return state, header


def _read_meta(
    file: BinaryIO, state: crypto_secretstream_xchacha20poly1305_state, header: bytes
) -> dict[str, Any]:
    cipher = _read_chunk(file)
    if cipher is None:
        raise SealedError(TRUNCATED, "the recording is truncated: it ends before its metadata")
    plain, tag = _pull(state, cipher, header)
    try:
        meta = json.loads(plain.decode("utf-8"))
    except ValueError:
        meta = None
    if not isinstance(meta, dict) or tag != TAG_MESSAGE:
        raise SealedError(CORRUPTED, "the recording is corrupted: its metadata is not readable")
    return meta


def _chunks(file: BinaryIO, state: crypto_secretstream_xchacha20poly1305_state) -> Iterator[bytes]:
    with file:
        while True:
            cipher = _read_chunk(file)
            if cipher is None:
                raise SealedError(TRUNCATED, "the recording is truncated: its end is missing")
            plain, tag = _pull(state, cipher, None)
            if plain:
                yield plain
            if tag == TAG_FINAL:
                break
            if tag != TAG_MESSAGE:
                raise SealedError(CORRUPTED, "the recording is corrupted: an unknown chunk")
        if file.read(1):
            raise SealedError(CORRUPTED, "the recording is corrupted: data after its end")


def _read_chunk(file: BinaryIO) -> bytes | None:
    """The next chunk's ciphertext; None at the end of the file. Raises SealedError when
    the file ends within a chunk or a length is impossible."""
    prefix = file.read(_LENGTH.size)
    if not prefix:
        return None
    if len(prefix) < _LENGTH.size:
        raise SealedError(TRUNCATED, "the recording is truncated: it ends within a chunk")
    (length,) = _LENGTH.unpack(prefix)
    if not ABYTES <= length <= MAX_CHUNK_BYTES:
        raise SealedError(CORRUPTED, "the recording is corrupted: a chunk has a bad length")
    cipher = file.read(length)
    if len(cipher) < length:
        raise SealedError(TRUNCATED, "the recording is truncated: it ends within a chunk")
    return cipher


def _pull(
    state: crypto_secretstream_xchacha20poly1305_state, cipher: bytes, ad: bytes | None
) -> tuple[bytes, int]:
    try:
        return crypto_secretstream_xchacha20poly1305_pull(state, cipher, ad)
    except CryptoError:
        raise SealedError(
            CORRUPTED, "the recording is corrupted: a chunk fails its authentication"
        ) from None
