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


# An internal extension (2-6 digits, as domain.numbers.EXTENSION) is read only where the
# words say it is a number to call: after a call verb ("call 1002", "appelle le 1002",
# "позвони на 1002"), after "me at" ("call me at 1001", "rappelle-moi au 1001"), or after
# "extension" / "poste" / "внутренний"; never digits followed by a time or a unit.
_CALL_WORD = re.compile(
    r"\b(?:call|ring|dial|phone|connect|r?appelle[rz]?|appel|compose[rz]?|joindre|joins|"
    r"позвони(?:те)?|набери(?:те)?|звони(?:те)?|соедини(?:те)?|перезвони(?:те)?)\b"
)
_EXTENSION_CUE = re.compile(
    r"(?:\b(?:call|ring|dial|phone|connect|r?appelle[rz]?|compose[rz]?|joindre|joins|"
    r"позвони(?:те)?|набери(?:те)?|звони(?:те)?|соедини(?:те)?|перезвони(?:те)?)"
    r"(?:[\s-]+(?:me|moi|мне|меня)[\s-]+(?:back\s+)?(?:at|on|au|sur|на|по))?"
    r"|\b(?:to|and|then|vers|et|puis|и|на|с|со))"
    r"(?:\s+(?:the|le|la|l'|my|mon|ma|мой|мне|number|numero|номер\w*))*"
    r"(?:\s+(?:extension|ext\.?|poste|внутренн\w*|добавочн\w*))?"
    r"\s*(\d{2,6})"
    r"|\b(?:extension|ext\.?|poste|внутренн\w*|добавочн\w*)\s*(?:n[o°]\.?|№|:)?\s*(\d{2,6})"
)
_NOT_AN_EXTENSION = re.compile(
    r"\d|\s*(?:\d|[:.,/]\d|h\b|h\d|am\b|pm\b|ч\b|час|мин|сек|min|sec|hour|hr|heure|jour|day|"
    r"день|дн|week|semaine|недел|%|€|\$|eur|usd|ett|waves|rub|руб)"
)


def find_extensions(text: str) -> list[Phone]:
    """Internal extensions to call in `text` (see the cue words above), as Phones whose
    `e164` holds the extension's digits; none unless the text has a call verb."""
    if not _CALL_WORD.search(text):
        return []
    out = []
    for m in _EXTENSION_CUE.finditer(text):
        group = 1 if m.group(1) is not None else 2
        if _NOT_AN_EXTENSION.match(text, m.end(group)):
            continue
        out.append(Phone(m.start(group), m.end(group), m.group(group)))
    return out


# Forwarding to an extension: "forward my calls to 1002", "renvoie mes appels vers le
# 1002", "переадресуй на 1002", and the next targets of a chain ("then 1003", "puis le
# 1003", "потом на 1003"), in a message with a forwarding word; never the end of an
# hour range ("from 9 to 18") nor digits followed by a time or a unit ("на 20 секунд").
_FORWARD_WORD = re.compile(
    r"\b(?:forward\w*|fwd|divert\w*|redirect\w*|renvo[iy]\w*|redirig\w*|переадрес\w*"
    r"|перенаправ\w*)|\b(?:transf[ea]r\w*|bascul\w*|переключ\w*|перевед\w*)\b.*"
    r"\b(?:calls|appels|звонк\w*|вызов\w*)\b"
)
_FORWARD_TARGET = re.compile(
    r"\b(?:to|then|vers|sur|au|puis|ensuite|на|потом|затем)"
    r"(?:\s+(?:the|le|la|l'|my|mon|ma|мой|number|numero|номер\w*|extension|ext\.?|poste"
    r"|внутренн\w*|добавочн\w*))*"
    r"\s*(\d{2,6})"
)
_HOUR_BEFORE = re.compile(r"(?<![\d+])\d{1,2}\s*(?:h|ч|am|pm|:\d\d)?\s*$")
# A ring time right after the extension ("1002 20 s then ..."): its digits are not the
# rest of a number.
_RING_AFTER = re.compile(r"\s+\d{1,3}\s*(?:s|secs?|seconds?|secondes?|с|сек|секунд\w*)(?!\w)")


def find_forward_extensions(text: str) -> list[Phone]:
    """Internal extensions a forwarding rule names as its targets (see the cue words
    above), as Phones whose `e164` holds the extension's digits; none unless the text has
    a forwarding word. Read before the phone numbers ("1002 20 s" is no number)."""
    if not _FORWARD_WORD.search(text):
        return []
    out = []
    for m in _FORWARD_TARGET.finditer(text):
        if _NOT_AN_EXTENSION.match(text, m.end(1)) and not _RING_AFTER.match(text, m.end(1)):
            continue
        hour = len(m.group(1)) <= 2 and int(m.group(1)) <= 24
        if hour and _HOUR_BEFORE.search(text[max(0, m.start() - 12) : m.start()]):
            continue  # "from 9 to 18": the end of an hour range
        out.append(Phone(m.start(1), m.end(1), m.group(1)))
    return out


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
