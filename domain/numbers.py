"""Which kind of number a leg dials: an internal extension or an E.164 number.

One rule for the whole exchange (the dialer's check, billing's "free inside the
network", the fraud rules and the chat all read it here):
- E.164 (ITU-T E.164): "+", a country code not starting with 0, at most 15 digits in
  all; at least 7 here, shorter ones are not callable numbers;
- an extension: 2 to 6 digits, no "+" (the internal numbers the exchange allocates).
"""

from __future__ import annotations

import re

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
EXTENSION = re.compile(r"^\d{2,6}$")
_SEPARATORS = re.compile(r"[\s().\-]")


def normalize(number: str) -> str:
    """Strip the separators people type (`+33 1 42-68`) and turn a leading 00 into +."""
    text = _SEPARATORS.sub("", number or "")
    if text.startswith("00"):
        text = "+" + text[2:]
    return text


def is_internal(number: str) -> bool:
    """True for an internal extension (2 to 6 digits, no country code)."""
    return bool(EXTENSION.match(normalize(number)))


def is_e164(number: str) -> bool:
    """True for a well-formed international number `+<country><number>`."""
    return bool(E164.match(normalize(number)))


def is_dialable(number: str) -> bool:
    """True for a number a leg may dial as written: E.164 with + or an extension."""
    return isinstance(number, str) and bool(E164.match(number) or EXTENSION.match(number))


MAX_POOL = 100_000


def expand_pool(text: str) -> list[str]:
    """Direct numbers written as E.164 numbers and ranges separated by commas
    (`+33199000100-+33199000109,+442079460500`), expanded in order, each once.

    A range runs between two numbers of the same length, low to high, both included.
    Raises ValueError naming the first bad entry, or when there are more than MAX_POOL.
    """
    numbers: dict[str, None] = {}
    for entry in (part.strip() for part in (text or "").split(",")):
        if not entry:
            continue
        low, dash, high = entry.partition("-+")
        low, high = normalize(low), normalize("+" + high) if dash else normalize(low)
        if not (is_e164(low) and is_e164(high)):
            raise ValueError(f"{entry!r} is not an E.164 number or range (+33199000100)")
        if len(low) != len(high) or int(high[1:]) < int(low[1:]):
            raise ValueError(f"{entry!r}: a range runs low to high between numbers of one length")
        if int(high[1:]) - int(low[1:]) + len(numbers) >= MAX_POOL:
            raise ValueError(f"more than {MAX_POOL} direct numbers")
        width = len(low) - 1
        for value in range(int(low[1:]), int(high[1:]) + 1):
            numbers[f"+{value:0{width}d}"] = None
    return list(numbers)
