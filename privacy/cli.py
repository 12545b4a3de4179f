"""`python main.py recording …`: what a recording's owner does on their own machine,
offline (no settings, no database, no network).

- `decrypt FILE [-o OUT.wav] [--secret-file PATH]`: the sealed recording as a stereo WAV,
  opened with the seed phrase (or base58 private key) of the account it was sealed to;
- `sign-link MESSAGE [--secret-file PATH]`: the message of "link my wallet" signed with
  the wallet's seed as Waves Signer's `signMessage` does (`FF FF FF 01 | message`,
  curve25519), printed as the chat expects it: "signature … public key …".

The secret is read from --secret-file, else asked on the terminal (not echoed), else read
from standard input; never from the command line, which `ps` shows.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import base58

from privacy.keys import public_key_of, secret_keys_of, sign_message
from privacy.sealing import TRUNCATED, WRONG_KEY, SealedError, open_sealed

SIGNER_PREFIX = b"\xff\xff\xff\x01"  # Waves Signer's signMessage of a string


def main(argv: list[str] | None = None) -> int:
    """Run one action; the exit status (0, or 1 with a one-line error on stderr)."""
    args = build_parser().parse_args(argv)
    if args.action == "sign-link":
        return _sign_link(args.message, args.secret_file)
    return _decrypt_recording(args.file, args.output, args.secret_file)


def build_parser() -> argparse.ArgumentParser:
    """`main.py recording`'s command line."""
    recording = argparse.ArgumentParser(
        prog="main.py recording",
        description="Open a sealed call recording, or sign the message of a wallet link: "
        "offline, on the owner's machine.",
    )
    actions = recording.add_subparsers(dest="action", metavar="ACTION", required=True)
    decrypt = actions.add_parser(
        "decrypt",
        help="write a sealed recording as a stereo WAV file",
        description="Write the sealed recording FILE as a stereo WAV file, with the seed "
        "phrase or base58 private key of the account it was sealed to: read from "
        "--secret-file, else asked on the terminal, else read from standard input. "
        "Exit status 1 when it cannot be opened.",
    )
    decrypt.add_argument("file", metavar="FILE", type=Path, help="the sealed recording")
    decrypt.add_argument(
        "-o", "--output", metavar="OUT.wav", type=Path, help="where to write (FILE with .wav)"
    )
    decrypt.add_argument(
        "--secret-file",
        metavar="PATH",
        type=Path,
        help="a file holding the seed phrase or private key (never give it as an argument)",
    )
    sign = actions.add_parser(
        "sign-link",
        help='sign the message of "link my wallet" with the wallet\'s seed',
        description='Sign MESSAGE (the one the assistant gave for "link my wallet") as Waves '
        "Signer's signMessage does, with the wallet's seed phrase or base58 private key "
        "(read as for decrypt), and print what to paste back in the chat: "
        '"signature … public key …".',
    )
    sign.add_argument("message", metavar="MESSAGE", help="the message to sign, exactly")
    sign.add_argument(
        "--secret-file",
        metavar="PATH",
        type=Path,
        help="a file holding the seed phrase or private key (never give it as an argument)",
    )
    return recording


def _decrypt_recording(file: Path, output: Path | None, secret_file: Path | None) -> int:
    """`recording decrypt`: write the sealed recording `file` as a WAV file (`output`, by
    default `file` with .wav); 0, or 1 with a one-line error on standard error. A file
    cut short is written as far as it goes (and still gives 1)."""
    output = output or file.with_suffix(".wav")
    try:
        if output.resolve() == file.resolve():
            raise ValueError(f"{output} would overwrite the recording: give -o")
        meta, chunks = _open_recording(file, _read_secret(secret_file))
        seconds = _write_wav(output, meta, chunks)
    except (OSError, ValueError) as error:
        print(f"main.py recording decrypt: {error}", file=sys.stderr)
        return 1
    print(f"wrote {output}")
    print(f"seconds: {seconds:.2f}")
    print(f"metadata: {json.dumps(meta, ensure_ascii=False, sort_keys=True)}")
    return 0


def _open_recording(file: Path, secret: str) -> tuple[dict[str, Any], Iterable[bytes]]:
    """The recording's metadata and audio chunks, opened with the first key `secret` may
    mean (privacy.keys.secret_keys_of). SealedError (a ValueError) when none opens it."""
    for secret_key in secret_keys_of(secret):
        try:
            return open_sealed(file, secret_key)
        except SealedError as error:
            if error.reason != WRONG_KEY:
                raise
    raise SealedError(
        WRONG_KEY, f"{file}: this seed or key does not open the recording (check the words)"
    )


def _read_secret(secret_file: Path | None) -> str:
    """The owner's secret: from `secret_file`, else asked on the terminal (not echoed),
    else all of standard input. Never from the command line, which `ps` shows."""
    if secret_file is not None:
        return secret_file.read_text(encoding="utf-8")
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass("seed phrase or private key: ")
    return sys.stdin.read()


def _write_wav(output: Path, meta: dict[str, Any], chunks: Iterable[bytes]) -> float:
    """Write interleaved S16LE `chunks` described by `meta` (privacy.recorder) as a WAV
    file (mode 0600: it is the plain recording); its length in seconds. Raises ValueError
    for audio it cannot write, SealedError from `chunks`: a truncated recording is kept as
    far as it goes, any other error removes `output`."""
    import wave

    channels, rate = meta.get("channels"), meta.get("rate")
    count = len(channels) if isinstance(channels, list) else channels
    if not (isinstance(count, int) and isinstance(rate, int) and count > 0 and rate > 0):
        raise ValueError("the recording's metadata does not say its channels and rate")
    if meta.get("format") != "s16le":
        raise ValueError("the recording is not audio this command can write (s16le)")
    frames = 0
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its mode otherwise
    with open(fd, "wb") as raw, wave.open(raw, "wb") as wav:
        wav.setnchannels(count)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        try:
            for chunk in chunks:
                wav.writeframes(chunk)
                frames += len(chunk) // (2 * count)
        except SealedError as error:
            if error.reason != TRUNCATED:
                os.unlink(output)
                raise
            raise SealedError(
                TRUNCATED, f"{error}; wrote the {frames / rate:.2f} s before it to {output}"
            ) from None
    return frames / rate


def _sign_link(message: str, secret_file: Path | None) -> int:
    """`recording sign-link`: print "signature … public key …" for `message`."""
    try:
        secret_key = secret_keys_of(_read_secret(secret_file))[0]
        signature = sign_message(secret_key, SIGNER_PREFIX + message.encode("latin-1"))
    except (OSError, ValueError, UnicodeEncodeError) as error:
        print(f"main.py recording sign-link: {error}", file=sys.stderr)
        return 1
    public_key = base58.b58encode(public_key_of(secret_key)).decode()
    print(f"signature {base58.b58encode(signature).decode()} public key {public_key}")
    return 0
