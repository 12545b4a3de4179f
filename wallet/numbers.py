"""Which kind of number a leg dials: an internal extension or an E.164 number."""

from __future__ import annotations

import re

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_EXTENSION = re.compile(r"^\d{2,6}$")
_SEPARATORS = re.compile(r"[\s().\-]")


def normalize(number: str) -> str:
    """Strip the separators people type (`+33 1 42-68`) and a leading 00 international prefix."""
    text = _SEPARATORS.sub("", number or "")
    if text.startswith("00"):
        text = "+" + text[2:]
    return text


def is_internal(number: str) -> bool:
    """True for an internal extension (2 to 6 digits, no country code)."""
    return bool(_EXTENSION.match(normalize(number)))


def is_e164(number: str) -> bool:
    """True for a well-formed international number `+<country><number>`."""
    return bool(_E164.match(normalize(number)))
