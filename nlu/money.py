"""Amounts and assets of wallet commands."""

from __future__ import annotations

import re

from nlu.lexicon import NUMBER_WORD_RE, NUMBER_WORDS

_AMOUNT = re.compile(
    r"(?<![\w.,])(\d{1,3}(?:[ '\u202f]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)*|[.,]\d+)(?!\d)"
)
_ASSET = re.compile(
    r"(?P<ett>\bett\b|\bett(?=\d)|(?<=\d)ett\b|encryptotel\w*|\bэтт\b|\bтокен\w*|\bjetons?\b|\btokens?\b)"
    r"|(?P<waves>\bwaves?\b|(?<=\d)waves?\b|\bwvs\b|\bвейвс\w*|\bвэйвс\w*|\bвейвз\w*|\bвэйвз\w*)"
)
_WORD_AMOUNT = re.compile(rf"\b(?P<w>{NUMBER_WORD_RE})\s+(?=ett\b|waves?\b|токен|вейвс|вэйвс)")


def to_number(s: str, lang: str) -> float | int | None:
    """'2,5' -> 2.5, '1 000' -> 1000, '1,000.5' -> 1000.5 (',' decimal unless clearly not)."""
    s = re.sub(r"[ '\u202f]", "", s)
    if "," in s and "." in s:
        dec = "," if s.rfind(",") > s.rfind(".") else "."
        s = s.replace("." if dec == "," else ",", "").replace(",", ".")
    elif s.count(",") > 1:
        s = s.replace(",", "")
    elif "," in s:
        whole, frac = s.split(",")
        s = whole + frac if lang == "en" and len(frac) == 3 and whole else whole + "." + frac
    elif s.count(".") > 1:
        s = s.replace(".", "")
    try:
        v = float(s)
    except ValueError:
        return None
    if v != v or v in (float("inf"), float("-inf")):
        return None
    return int(v) if v.is_integer() and abs(v) < 1e15 else v


def find_asset(text: str) -> tuple[str | None, int]:
    """('ETT' | 'WAVES' | None, position) for folded `text`."""
    m = _ASSET.search(text)
    if not m:
        return None, -1
    return ("ETT" if m.group("ett") else "WAVES"), m.start()


def find_amount(text: str, lang: str, asset_pos: int = -1) -> float | int | None:
    """The amount in folded `text`: the number nearest before the asset, else the first."""
    found = [(m.start(), m.group(1)) for m in _AMOUNT.finditer(text)]
    if not found:
        m = _WORD_AMOUNT.search(text)
        if m:
            return NUMBER_WORDS.get(m.group("w"))
        return None
    pick = found[0][1]
    if asset_pos >= 0:
        before = [g for pos, g in found if pos < asset_pos]
        if before:
            pick = before[-1]
    pick = pick.rstrip(" .,")
    return to_number(pick, lang) if pick else None
