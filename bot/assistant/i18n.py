"""Message catalogues: every sentence the assistant says, in en, fr and ru."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import phonenumbers
from babel.numbers import format_decimal

from domain.money import from_units
from domain.numbers import CUT_MARK

LANGUAGES = ("en", "fr", "ru")
DEFAULT_LANGUAGE = "en"
LOCALES = Path(__file__).resolve().parent / "locales"
# Grouped thousands, up to the 8 decimals of ETT and WAVES, trailing zeros dropped.
AMOUNT_FORMAT = "#,##0.########"


@cache
def catalogue(lang: str) -> dict:
    """The messages of one language (falls back to English for an unknown one):
    `locales/LANG.json` and each feature's `locales/FEATURE/LANG.json`.

    Raises ValueError when two files define the same key."""
    if lang not in LANGUAGES:
        lang = DEFAULT_LANGUAGE
    messages = json.loads((LOCALES / f"{lang}.json").read_text(encoding="utf-8"))
    for path in sorted(LOCALES.glob(f"*/{lang}.json")):
        more = json.loads(path.read_text(encoding="utf-8"))
        if twice := messages.keys() & more.keys():
            raise ValueError(f"{path}: keys already defined: {', '.join(sorted(twice))}")
        messages |= more
    return messages


def t(lang: str, key: str, **values: object) -> str:
    """The message `key` in `lang`, formatted with `values`."""
    template = catalogue(lang).get(key) or catalogue(DEFAULT_LANGUAGE)[key]
    return template.format(**values) if values else template


def day_names(lang: str, days: list[str]) -> str:
    """Weekday codes (`mon`…) as short names in `lang`, comma-separated."""
    names = catalogue(lang)["days"]
    return ", ".join(names[d] for d in days)


def money_text(units: int, asset: str, lang: str) -> str:
    """`units` smallest units of `asset` as the user reads them, in the number format of
    `lang` (Babel, CLDR): "0.1 ETT" in English, "0,1 ETT" in French and Russian."""
    locale = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    number = format_decimal(from_units(units, asset), format=AMOUNT_FORMAT, locale=locale)
    return f"{number} {asset}"


def number_text(number: str | None) -> str:
    """A phone number as people write it (libphonenumber INTERNATIONAL, "+44 20 7946 0000");
    a cut one ("+44 20 7…", see domain.numbers.cut_number), an internal number, or anything
    else that is not E.164, as it is."""
    if not number or not number.startswith("+") or number.endswith(CUT_MARK):
        return number or ""
    try:
        parsed = phonenumbers.parse(number)
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def dialled_text(lang: str, number: str | None, dtmf: str = "") -> str:
    """A number to call and the extension dialled once it answers, as people write them:
    "+44 20 7946 0123 ext. 456" (fr "poste", ru "доб."); the number alone without one."""
    if not dtmf:
        return number_text(number)
    return t(lang, "number_extension", number=number_text(number), digits=dtmf)
