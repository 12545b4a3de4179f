"""dateparser as a last resort for time expressions the rules do not know.

Imported lazily (dateparser is slow to import), only for messages that still hold a
date-like word after the rules ran; phone numbers are already masked in the text.
"""

from __future__ import annotations

import re
from datetime import datetime

from nlu.times import TimeResult

# Something that looks like a date the rules may have missed.
_HINT = re.compile(
    r"\b(?:next|prochaine?|следующ\w+|month|mois|месяц\w*|end\s+of|fin\s+d[eu]|конце|year|annee"
    r"|году|год|quarter|trimestre|квартал\w*)\b"
)
_NO_TIME = re.compile(r"\d|noon|midi|полдень|:")
_MAX_LEN = 120
_LANGS = ("en", "fr", "ru")
_warm = False


def warm_up() -> None:
    """Load dateparser and its en/fr/ru data now rather than on the first message."""
    global _warm
    if _warm:
        return
    _warm = True
    now = datetime(2026, 1, 1, 12, 0)
    for lang, text in zip(
        _LANGS, ("next month", "le mois prochain", "в следующем месяце"), strict=True
    ):
        dateparser_time(text, now.astimezone(), lang)


def dateparser_time(c: str, now: datetime, lang: str) -> TimeResult | None:
    """The first date dateparser finds in `c` (future preferred), or None."""
    if len(c) > _MAX_LEN or lang not in _LANGS or not _HINT.search(c):
        return None
    try:
        from dateparser.search import search_dates
    except ImportError:  # pragma: no cover
        return None
    text = c.replace("\x01", " ").replace("\x02", " ").replace("\x03", " ")
    settings = {
        "PREFER_DATES_FROM": "future",
        "RELATIVE_BASE": now.replace(tzinfo=None),
        "RETURN_AS_TIMEZONE_AWARE": False,
        "PREFER_DAY_OF_MONTH": "first",
    }
    try:
        found = search_dates(text, languages=[lang], settings=settings)
    except Exception:
        return None
    for sub, dt in found or []:
        if not re.search(r"[^\W\d_]", sub) and ":" not in sub:
            continue  # a bare number is not a time
        if sub.strip().lower() in ("a", "an", "on", "at", "in", "le", "la", "в", "на"):
            continue
        at = dt.replace(tzinfo=now.tzinfo, microsecond=0)
        if not _NO_TIME.search(sub):
            at = at.replace(hour=9, minute=0, second=0)  # a date with no time means 09:00
        if at < now.replace(microsecond=0):
            continue
        start = text.find(sub)
        spans = [(start, start + len(sub))] if start >= 0 else []
        return TimeResult(at=at, spans=spans)
    return None
