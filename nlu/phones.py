"""Phone numbers in free text, validated with libphonenumber (never guessed)."""

from __future__ import annotations

import re
from typing import NamedTuple

import phonenumbers

# A run of digits with short separators, optionally led by + or 00 or "(".
_CAND = re.compile(r"(?<![\w+.,])(?:\+\s?|00\s?)?\(?\d(?:[ ().\-/]{0,3}\d)*")
_SEP = re.compile(r"[ ().\-/]+")
# Dates are not phone numbers.
_DATE = re.compile(
    r"^(?:\d{1,2}[./-]\d{1,2}[./-](?:19|20)\d{2}|(?:19|20)\d{2}[./-]\d{1,2}[./-]\d{1,2})(?!\d)"
)
MIN_DIGITS = 6
# A number's extension, right after it, as written in the three languages: "ext. 456",
# "extension 456", "x456", "#456", "poste 12", "p. 12", "доб. 123", "добавочный 123",
# "вн. 12". Text is folded (nlu.normalize.fold): lower case, no accents. Digits followed
# by a time unit ("x 15h", "ext 9 am") are not an extension.
_EXTENSION = re.compile(
    r"\s*,?\s*(?:ext(?:n|ension)?\b\.?|x(?=\s?\d)|#|poste\b|p\.|"
    r"доб(?:авочн\w*)?\b\.?|вн(?:утренн\w*)?\b\.?)"
    r"\s*(?:(?:n[o°]|№)\.?\s*|:\s*)?(\d{1,16})(?!\d|\s?(?:h\b|h\d|[:.]\d|am\b|pm\b|ч\b))"
)


class Phone(NamedTuple):
    """A number found at text[start:end]; `e164` is None when it is not a valid number.

    `extension`: the digits written after it as its extension ("ext. 456"), dialled as
    DTMF once the number answers; the span covers them too."""

    start: int
    end: int
    e164: str | None
    extension: str | None = None


def to_e164(raw: str, region: str | None) -> str | None:
    """E.164 form of `raw` if libphonenumber calls it valid, else None."""
    s = raw.strip()
    if s.startswith("00"):
        s = "+" + s[2:].lstrip()
    if not s.startswith("+") and not region:
        return None
    try:
        num = phonenumbers.parse(s, None if s.startswith("+") else region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(num):
        return None
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


def find_phones(text: str, region: str | None = None) -> list[Phone]:
    """All phone-number-like spans of `text` (valid ones with their E.164 form)."""
    region = region.upper() if isinstance(region, str) and region.strip() else None
    out: list[Phone] = []
    for m in _CAND.finditer(text):
        s = m.group()
        digits = sum(ch.isdigit() for ch in s)
        if digits < MIN_DIGITS or _DATE.match(s.strip()):
            continue
        start, end = m.start(), m.end()
        e164 = to_e164(s, region) if digits <= 17 else None
        if e164 is None:
            # A trailing group may be a time or a count ("... 78 18h"): try without it.
            cut = s
            for _ in range(2):
                parts = list(_SEP.finditer(cut))
                if not parts:
                    break
                cut = cut[: parts[-1].start()]
                if sum(ch.isdigit() for ch in cut) < MIN_DIGITS:
                    break
                e = to_e164(cut, region)
                if e is not None:
                    e164, end = e, start + len(cut)
                    break
        extension = None
        if e164 is not None and (ext := _EXTENSION.match(text, end)):
            extension, end = ext.group(1), ext.end()
        out.append(Phone(start, end, e164, extension))
    return out
