"""Speech synthesis for calls: text → 8 kHz mono 16-bit WAV, offline with espeak-ng and sox.

The texts can be the user's own words (reminders): they reach the programs on stdin,
never through a shell or as arguments, and are never logged.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

log = logging.getLogger(__name__)

VOICES = {"en": "en", "fr": "fr", "ru": "ru"}
MAX_CHARS = 1200  # a reminder (≤ 1000 characters) plus its "Reminder:" sentence
SPEED_WPM = 150  # a little slower than espeak-ng's 175: easier to follow on a phone line
RUN_TIMEOUT = 60.0
DEFAULT_DIRECTORY = Path(tempfile.gettempdir()) / f"encryptotel-speech-{os.getuid()}"


class SpeechError(RuntimeError):
    """Speech could not be synthesised; the message says why (never the text)."""


def synthesize(text: str, lang: str, *, directory: Path | None = None, cache: bool = True) -> Path:
    """An 8000 Hz mono S16LE WAV of `text` spoken in `lang` (en, fr or ru).

    With `cache` the file is kept and reused for the same (lang, text); without it a new
    file is written that the caller deletes once played (for private texts).
    """
    voice = VOICES.get(lang)
    if voice is None:
        raise SpeechError(f"no voice for language {lang!r}: use one of {', '.join(VOICES)}")
    text = text.strip()
    if not text:
        raise SpeechError("nothing to say: the text is empty")
    if len(text) > MAX_CHARS:
        raise SpeechError(f"the text is too long to speak ({len(text)} > {MAX_CHARS} characters)")
    espeak, sox = _program("espeak-ng"), _program("sox")
    folder = _directory(directory)
    if cache:
        digest = hashlib.sha256(f"{lang}\0{text}".encode()).hexdigest()[:32]
        target = folder / f"{digest}.wav"
        if target.exists():
            return target
    handle, name = tempfile.mkstemp(prefix="speech-", suffix=".wav", dir=folder)
    os.close(handle)
    final = Path(name)
    raw = final.with_suffix(".raw.wav")
    try:
        _run(
            [espeak, "-v", voice, "-s", str(SPEED_WPM), "-b", "1", "--stdin", "-w", str(raw)],
            text.encode("utf-8"),
        )
        _run(
            [sox, "-q", str(raw), "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer",
             "-t", "wav", str(final)],
            b"",
        )  # fmt: skip
    except BaseException:
        final.unlink(missing_ok=True)
        raise
    finally:
        raw.unlink(missing_ok=True)
    log.debug("synthesised %d characters in %s", len(text), lang)
    if not cache:
        return final
    os.replace(final, target)  # atomic: a concurrent reader never sees half a file
    return target


async def synthesize_async(
    text: str, lang: str, *, directory: Path | None = None, cache: bool = True
) -> Path:
    """`synthesize` without blocking the event loop."""
    return await asyncio.to_thread(synthesize, text, lang, directory=directory, cache=cache)


def _program(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise SpeechError(f"{name} is not installed: apt-get install {name}")
    return path


def _directory(directory: Path | None) -> Path:
    folder = directory or DEFAULT_DIRECTORY
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def _run(command: list[str], stdin: bytes) -> None:
    try:
        done = subprocess.run(
            command, input=stdin, capture_output=True, timeout=RUN_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        raise SpeechError(f"{Path(command[0]).name} took longer than {RUN_TIMEOUT:.0f} s") from None
    except OSError as error:
        raise SpeechError(f"cannot run {Path(command[0]).name}: {error}") from None
    if done.returncode != 0:
        # stderr names files and options, not the spoken text (that went to stdin)
        detail = done.stderr.decode(errors="replace").strip()[:200]
        raise SpeechError(f"{Path(command[0]).name} failed ({done.returncode}): {detail}")


def spoken_pcm(text: str, lang: str) -> bytes:
    """The 8 kHz mono S16LE samples of `text` spoken in `lang` (synthesised once and
    cached, like `synthesize`); SpeechError as `synthesize`."""
    with wave.open(str(synthesize(text, lang)), "rb") as source:
        return source.readframes(source.getnframes())
