"""EncryptoTel: the chat-bot-first private telephone exchange.

python main.py [serve]     run the assistant (console chat when nothing else is configured)
python main.py console     chat with the assistant on this terminal
python main.py parse …     show how a message is understood (see nlu/cli.py)
python main.py call …      place one callback through the SIP server (see dialer/cli.py)
python main.py admin …     operators' tools: accounts, deposits, refunds (see wallet/admin.py),
                           softphone credentials and direct numbers (admin softphone …,
                           admin did …, see exchange/admin.py)
python main.py migrate     apply database migrations and exit
python main.py recording decrypt FILE [-o OUT.wav] [--secret-file PATH]
                           open a sealed call recording with its owner's seed phrase or
                           private key, as a WAV file (offline: no settings, no database)
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# Subcommands with their own argument parser, imported only when used (parse must start fast).
DELEGATED = {
    "parse": ("nlu.cli", "show how a message is understood, as JSON"),
    "call": ("dialer.cli", "place one callback through the SIP server"),
    "admin": (
        "wallet.admin",
        "operators' tools: accounts, deposits, refunds, reconcile, softphone credentials, "
        "direct numbers",
    ),
}
# `admin` commands that are not the wallet's, by the module that runs them.
ADMIN_ROUTES = {"softphone": "exchange.admin", "did": "exchange.admin", "engines": "exchange.admin"}


def build_parser() -> argparse.ArgumentParser:
    """The top-level command line."""
    parser = argparse.ArgumentParser(prog="main.py", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("serve", help="run the assistant and every configured adapter (default)")
    commands.add_parser("console", help="chat with the assistant on this terminal")
    commands.add_parser("migrate", help="apply database migrations and exit")
    for name, (_module, summary) in DELEGATED.items():
        commands.add_parser(name, help=summary, add_help=False)
    _add_recording_parser(commands)
    return parser


def _add_recording_parser(commands: argparse._SubParsersAction) -> None:
    recording = commands.add_parser("recording", help="open a sealed call recording")
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


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; return the process exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    from privacy.files import private_umask

    private_umask()  # before any command writes a file: ours alone (issue 14)
    if argv and argv[0] in DELEGATED:
        name = DELEGATED[argv[0]][0]
        if argv[0] == "admin":
            name = ADMIN_ROUTES.get(_admin_command(argv[1:]) or "", name)
        module = importlib.import_module(name)
        return module.main(argv[1:])
    args = build_parser().parse_args(argv)
    if args.command == "recording":
        return _decrypt_recording(args.file, args.output, args.secret_file)
    settings = _settings_or_exit()
    _configure_logging(settings)
    from privacy.files import private_sqlite, tighten

    # Files an earlier version wrote readable by others (issue 14).
    tighten([settings.PBX_RUN_DIR, settings.RECORDING_DIR])
    private_sqlite(settings.DATABASE_URL)
    command = args.command or "serve"
    if command == "migrate":
        from storage import open_database

        open_database(settings.DATABASE_URL).dispose()
        print("database is up to date")
        return 0
    from bot.app import serve

    return asyncio.run(serve(settings, console=True if command == "console" else None))


def _admin_command(argv: list[str]) -> str | None:
    """The command word of `admin` arguments (after `--database URL` if given), or None
    when an option comes first (`--help`)."""
    words = iter(argv)
    for word in words:
        if word == "--database":
            next(words, None)
        elif not word.startswith("--database="):
            return None if word.startswith("-") else word
    return None


def _decrypt_recording(file: Path, output: Path | None, secret_file: Path | None) -> int:
    """`recording decrypt`: write the sealed recording `file` as a WAV file (`output`, by
    default `file` with .wav); 0, or 1 with a one-line error on standard error. A file
    cut short is written as far as it goes (and still gives 1)."""
    from privacy.keys import secret_key_of
    from privacy.sealing import open_sealed

    output = output or file.with_suffix(".wav")
    try:
        if output.resolve() == file.resolve():
            raise ValueError(f"{output} would overwrite the recording: give -o")
        secret_key = secret_key_of(_read_secret(secret_file))
        meta, chunks = open_sealed(file, secret_key)
        seconds = _write_wav(output, meta, chunks)
    except (OSError, ValueError) as error:
        print(f"main.py recording decrypt: {error}", file=sys.stderr)
        return 1
    print(f"wrote {output}")
    print(f"seconds: {seconds:.2f}")
    print(f"metadata: {json.dumps(meta, ensure_ascii=False, sort_keys=True)}")
    return 0


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

    from privacy.sealing import TRUNCATED, SealedError

    channels, rate = meta.get("channels"), meta.get("rate")
    count = len(channels) if isinstance(channels, list) else channels
    if not (isinstance(count, int) and isinstance(rate, int) and count > 0 and rate > 0):
        raise ValueError("the recording's metadata does not say its channels and rate")
    if meta.get("format") != "s16le":
        raise ValueError("the recording is not audio this command can write (s16le)")
    frames = 0
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
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


def _settings_or_exit():
    from settings import SettingsError, get_settings

    try:
        return get_settings()
    except SettingsError as error:
        print(error, file=sys.stderr)
        raise SystemExit(2) from None


def _configure_logging(settings) -> None:  # noqa: ANN001
    from privacy.logs import PrivacyFilter, debug_notice

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(PrivacyFilter.from_settings(settings))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.LOG_LEVEL)
    if settings.LOG_LEVEL != "DEBUG":
        logging.getLogger("alembic").setLevel(logging.WARNING)
    else:
        logging.getLogger("main").warning(debug_notice())


if __name__ == "__main__":
    sys.exit(main())
