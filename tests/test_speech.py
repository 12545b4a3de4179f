"""Speech synthesis with espeak-ng and sox: phone-ready WAV files in every language."""

from __future__ import annotations

import os
import stat
import wave

import pytest

from dialer.speech import MAX_CHARS, SpeechError, synthesize, synthesize_async
from testbed.sip_lab import audible_seconds

SENTENCES = {
    "en": "This is EncryptoTel. Please type the code shown in your chat.",
    "fr": "Ici EncryptoTel. Veuillez taper le code affiché dans votre conversation.",
    "ru": "Это EncryptoTel. Наберите, пожалуйста, код, который показан в чате.",
}


def _shape(path):
    with wave.open(str(path), "rb") as source:
        rate, channels, width = source.getframerate(), source.getnchannels(), source.getsampwidth()
        return rate, channels, width, source.getnframes() / rate


@pytest.mark.parametrize("lang", sorted(SENTENCES))
def test_each_language_gives_an_audible_8khz_mono_wav(lang, tmp_path):
    path = synthesize(SENTENCES[lang], lang, directory=tmp_path)
    rate, channels, width, seconds = _shape(path)
    assert (rate, channels, width) == (8000, 1, 2)
    assert 2.0 <= seconds <= 15.0
    assert audible_seconds(path) >= 1.5  # speech, not silence


def test_the_same_text_is_reused_and_another_is_not(tmp_path):
    first = synthesize("Reminder: water the plants", "en", directory=tmp_path)
    modified = first.stat().st_mtime_ns
    again = synthesize("Reminder: water the plants", "en", directory=tmp_path)
    assert again == first and first.stat().st_mtime_ns == modified
    assert synthesize("Reminder: water the plants", "fr", directory=tmp_path) != first
    assert synthesize("Reminder: feed the cat", "en", directory=tmp_path) != first
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".wav"] * 3  # no leftovers


def test_uncached_files_are_new_each_time_and_the_folder_is_private(tmp_path):
    folder = tmp_path / "speech"
    one = synthesize("my secret reminder", "en", directory=folder, cache=False)
    two = synthesize("my secret reminder", "en", directory=folder, cache=False)
    assert one != two and one.exists() and two.exists()
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    assert "secret" not in one.name


def test_text_that_looks_like_options_is_spoken_not_obeyed(tmp_path):
    path = synthesize("-v fr --help; rm -rf /", "en", directory=tmp_path)
    assert _shape(path)[:3] == (8000, 1, 2)
    assert audible_seconds(path) >= 0.5


def test_bad_input_is_refused_clearly(tmp_path):
    with pytest.raises(SpeechError, match="no voice for language 'de'"):
        synthesize("Hallo", "de", directory=tmp_path)
    with pytest.raises(SpeechError, match="empty"):
        synthesize("   ", "en", directory=tmp_path)
    with pytest.raises(SpeechError, match="too long") as error:
        synthesize("a" * (MAX_CHARS + 1), "en", directory=tmp_path)
    assert "aaaa" not in str(error.value)  # the user's text is never in an error


def test_missing_programs_are_named(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # neither espeak-ng nor sox can be found
    with pytest.raises(SpeechError, match="espeak-ng is not installed: apt-get install espeak-ng"):
        synthesize("hello", "en", directory=tmp_path)


def test_async_wrapper(tmp_path):
    import asyncio

    path = asyncio.run(synthesize_async("Bonjour", "fr", directory=tmp_path))
    assert _shape(path)[:3] == (8000, 1, 2)
