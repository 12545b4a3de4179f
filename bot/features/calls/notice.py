""" "This call is recorded": the notice both parties of a recorded call hear first
(RECORDING_NOTICE), spoken in a language (espeak-ng; synthesised once per language)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from bot.assistant.i18n import t
from dialer.speech import SpeechError, spoken_pcm, synthesize

log = logging.getLogger(__name__)


async def recording_notice(lang: str) -> Path | None:
    """A WAV (8 kHz mono S16LE) of the notice in `lang`; None when speech cannot be
    synthesised here (logged: the call goes on, recorded, without it)."""
    try:
        return await asyncio.to_thread(synthesize, t(lang, "recnote_notice"), lang)
    except SpeechError as error:
        log.warning("the recording notice cannot be spoken in %s: %s", lang, error)
        return None


async def recording_notice_pcm(lang: str) -> bytes:
    """The notice's samples (8 kHz mono S16LE); b"" when it cannot be synthesised."""
    try:
        return await asyncio.to_thread(spoken_pcm, t(lang, "recnote_notice"), lang)
    except SpeechError as error:
        log.warning("the recording notice cannot be spoken in %s: %s", lang, error)
        return b""
