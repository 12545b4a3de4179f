"""Which language to reply in: en, fr or ru."""

from __future__ import annotations

import re

from nlu.lexicon import EN_WORDS, FR_WORDS

_CYR_WORD = re.compile(r"[а-яёА-ЯЁ]")
_FR_ACCENT = re.compile(r"[éèêàâçùûîôëïœ]", re.I)
_FR_ELISION = re.compile(r"\b(?:[ldjmtsnc]|qu)'[a-zh]", re.I)
_EN_CONTRACTION = re.compile(r"\w'(?:s|t|ll|re|ve|m|d)\b", re.I)
_ASSETS = {"ett", "waves"}


def _script_counts(words: list[str]) -> tuple[int, int]:
    """(Cyrillic words, ASCII words) among `words`, asset names left out."""
    cyr = lat = 0
    for w in words:
        if w in _ASSETS:
            continue
        if _CYR_WORD.search(w):
            cyr += 1
        elif w.isascii():
            lat += 1
    return cyr, lat


def _french_english_scores(raw: str, words: list[str]) -> tuple[float, float]:
    """(French, English) evidence: marker words, French accents and elisions, English
    contractions (not counted when French elisions occur)."""
    fr = en = 0.0
    for w in words:
        if w in FR_WORDS:
            fr += 1.0
        if w in EN_WORDS:
            en += 1.0
    fr += 1.5 * len(_FR_ACCENT.findall(raw)) + 1.5 * len(_FR_ELISION.findall(raw))
    en += 0.5 * len(_EN_CONTRACTION.findall(raw)) if not _FR_ELISION.search(raw) else 0
    return fr, en


def detect(raw: str, words: list[str]) -> tuple[str, bool]:
    """Return (language, sure) for the cleaned message `raw` and its folded `words`."""
    cyr, lat = _script_counts(words)
    if cyr and cyr >= lat:
        return "ru", True
    fr, en = _french_english_scores(raw, words)
    if cyr and not (fr or en):
        return "ru", False
    if fr > en:
        return "fr", True
    return "en", en > 0
