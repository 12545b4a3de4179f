"""Message catalogues: every sentence the assistant says, in en, fr and ru."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

LANGUAGES = ("en", "fr", "ru")
DEFAULT_LANGUAGE = "en"
LOCALES = Path(__file__).resolve().parent / "locales"


@cache
def catalogue(lang: str) -> dict:
    """The messages of one language (falls back to English for an unknown one)."""
    if lang not in LANGUAGES:
        lang = DEFAULT_LANGUAGE
    return json.loads((LOCALES / f"{lang}.json").read_text(encoding="utf-8"))


def t(lang: str, key: str, **values: object) -> str:
    """The message `key` in `lang`, formatted with `values`."""
    template = catalogue(lang).get(key) or catalogue(DEFAULT_LANGUAGE)[key]
    return template.format(**values) if values else template


def day_names(lang: str, days: list[str]) -> str:
    """Weekday codes (`mon`…) as short names in `lang`, comma-separated."""
    names = catalogue(lang)["days"]
    return ", ".join(names[d] for d in days)
