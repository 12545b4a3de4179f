"""Dates: ISO dates, "tomorrow", weekdays, "next week", "3 December", "25/12", "le 5".

The date readers are tried in the order of `nlu.times`; each sets `Findings.day` and
returns True, or returns False. The ISO reader runs first of all readers.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from nlu.lexicon import MONTH_FORMS, WEEKDAY_LONG
from nlu.time_readers.findings import Findings

_DAYREL = re.compile(
    r"\b(?P<w>the\s+day\s+after\s+tomorrow|day\s+after\s+tomorrow|apres[-\s]demain|после\s*завтра"
    r"|послезавтра|today|tomorrow|tmrw|tmr|tomorow|tommorow|aujourd'hui|aujourd\s+hui|auj"
    r"|demain|сегодня|завтра)\b"
)
_DAYREL_OFF = {"today": 0, "aujourd'hui": 0, "aujourd hui": 0, "auj": 0, "сегодня": 0}
_WD_ALT = "|".join(f"(?P<{d}>{'|'.join(forms)})" for d, forms in WEEKDAY_LONG.items())
_WEEKDAY = re.compile(
    r"(?:\b(?:on|this|next|coming|le|ce|в|во|до|к|this\s+coming|the\s+next|следующ\w+"
    r"|ближайш\w+|эт\w+)\s+)*"
    rf"\b(?:{_WD_ALT})\b(?:\s+(?:next|prochain|qui\s+vient|d'apres|на\s+следующей\s+неделе))?"
)
_DAYS = list(WEEKDAY_LONG)
_SATURDAY = 5
_WEEK = re.compile(
    r"(?P<we>\b(?:(?:this|next|the|on\s+the|over\s+the|ce|le|du|в\s+эти|на\s+этих|на)\s+)?"
    r"(?:week-?end|выходн\w*)\b)"
    r"|\b(?:next\s+week|la\s+semaine\s+prochaine|semaine\s+prochaine|на\s+следующей\s+неделе"
    r"|на\s+той\s+неделе)\b"
)
_MONTH_ALT = "|".join(f"(?:{'|'.join(forms)})" for forms in MONTH_FORMS)
_MONTH_RES = [re.compile(rf"^(?:{'|'.join(forms)})$") for forms in MONTH_FORMS]
_DATE_DM = re.compile(
    r"(?:\b(?:on|le|the|du|au|for|pour|на|к)\s+)*(?:the\s+)?"
    r"(?<![\d.,:])(?P<d>\d{1,2})(?:st|nd|rd|th|er|eme|-?го|-?ого|-?е)?\s+(?:of\s+)?"
    rf"(?P<m>{_MONTH_ALT})\b\.?(?:,?\s+(?P<y>(?:19|20)\d{{2}}))?"
)
_DATE_MD = re.compile(
    rf"(?:\b(?:on|for)\s+)?\b(?P<m>{_MONTH_ALT})\.?\s+(?:the\s+)?(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\b"
    r"(?:,?\s+(?P<y>(?:19|20)\d{2}))?"
)
_DATE_ISO = re.compile(
    r"\b(?P<y>(?:19|20)\d{2})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?:[t\s]+(?P<h>\d{1,2}):(?P<mi>\d{2}))?\b"
)
_DATE_NUM = re.compile(
    r"(?:\b(?P<prep>on|le|the|du|au|на|к)\s+)?(?<![\d.,:])(?P<a>\d{1,2})(?P<sep>[./])(?P<b>\d{1,2})"
    r"(?:(?P=sep)(?P<y>\d{4}|\d{2}))?(?![\d:]|\.\d)"
)
_DATE_ORD = re.compile(
    r"(?:\b(?:on\s+)?the\s+(?P<d1>\d{1,2})(?:st|nd|rd|th)\b)"
    r"|(?:\ble\s+(?P<d2>\d{1,2})(?:er)?\b(?!\s*(?:h|heures?|:|minutes?|min|€|ett|waves|%|[.,]\d)))"
    r"|(?:(?<![\d.,:])(?P<d3>\d{1,2})-?(?:го|ого)\b(?:\s+числа)?)"
)


def _month_number(name: str) -> int:
    """1-12 for a month name or abbreviation ("dec.", "décembre" folded, "декабря"), else 0."""
    name = name.rstrip(".")
    for index, regex in enumerate(_MONTH_RES):
        if regex.match(name):
            return index + 1
    return 0


def _safe_date(year: int, month: int, day: int) -> date | None:
    """The date, or None when there is no such day."""
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _next_date(today: date, month: int, day: int, year: int | None) -> date | None:
    """The date of `day`/`month`: in `year` when given (2-digit years are 20xx), else the
    first such day from `today` on (next year when already past). None if none exists."""
    if year is not None:
        if year < 100:
            year += 2000
        return _safe_date(year, month, day)
    got = _safe_date(today.year, month, day)
    if got is None or got < today:
        got = _safe_date(today.year + 1, month, day)
    return got


def read_iso_date_time(found: Findings) -> bool:
    """An ISO date, maybe with a time; read before anything else, so that its digits are
    never read as a time or a date of another kind.

    en/fr/ru alike: "2026-12-24", "2026-12-24 18:30", "2026-12-24t08:15".

    Sets `day` (None when there is no such day: "2026-02-30") and, with a time, `clock`.
    Returns True if read.
    """
    match = _DATE_ISO.search(found.text)
    if not match:
        return False
    found.day = _safe_date(int(match.group("y")), int(match.group("m")), int(match.group("d")))
    if match.group("h"):
        found.clock = (int(match.group("h")), int(match.group("mi")))
    found.take(match)
    return True


def read_relative_day(found: Findings) -> bool:
    """Today, tomorrow or the day after tomorrow.

    en "today", "tomorrow", "tmrw", "the day after tomorrow"; fr "aujourd'hui", "demain",
    "apres-demain"; ru "сегодня", "завтра", "послезавтра".

    Sets `day` to today + 0, 1 or 2 days. Returns True if read.
    """
    match = _DAYREL.search(found.text)
    if not match:
        return False
    words = " ".join(match.group("w").split())
    after_tomorrow = "after" in words or "apres" in words or "после" in words
    days_ahead = _DAYREL_OFF.get(words, 2 if after_tomorrow else 1)
    found.day = found.today + timedelta(days=days_ahead)
    found.take(match)
    return True


def read_weekday(found: Findings) -> bool:
    """A day of the week (full names only), with the words around it.

    en "on monday", "next friday"; fr "mardi", "vendredi prochain"; ru "в среду",
    "в следующую пятницу".

    Sets `day` to the next such day, 1 to 7 days ahead (never today). Returns True if read.
    """
    match = _WEEKDAY.search(found.text)
    if not match:
        return False
    weekday = next(index for index, day in enumerate(_DAYS) if match.group(day))
    days_ahead = (weekday - found.today.weekday()) % 7 or 7
    found.day = found.today + timedelta(days=days_ahead)
    found.take(match)
    return True


def read_weekend_or_next_week(found: Findings) -> bool:
    """The weekend, or next week.

    en "this weekend", "next week"; fr "ce week-end", "la semaine prochaine";
    ru "в выходные", "на следующей неделе".

    Sets `day` to the next Saturday (1 to 7 days ahead) for the weekend, to next Monday
    for next week. Returns True if read.
    """
    match = _WEEK.search(found.text)
    if not match:
        return False
    weekday = found.today.weekday()
    if match.group("we"):
        days_ahead = (_SATURDAY - weekday) % 7 or 7
    else:
        days_ahead = 7 - weekday
    found.day = found.today + timedelta(days=days_ahead)
    found.take(match)
    return True


def _set_month_name_date(found: Findings, match: re.Match[str] | None) -> bool:
    """Record the date of a `match` with groups d, m (a month name) and maybe y."""
    if not match:
        return False
    month = _month_number(match.group("m"))
    day = int(match.group("d"))
    year = int(match.group("y")) if match.group("y") else None
    got = _next_date(found.today, month, day, year) if month else None
    if not got:
        return False
    found.day = got
    found.take(match)
    return True


def read_day_then_month_name(found: Findings) -> bool:
    """A day of the month, then a month name, maybe a year.

    en "3 December", "the 3rd of march, 2027"; fr "le 3 décembre", "le 1er mai";
    ru "3 декабря", "1 мая 2027".

    Sets `day` (the next such date when no year is given). Returns True if read.
    """
    return _set_month_name_date(found, _DATE_DM.search(found.text))


def read_month_name_then_day(found: Findings) -> bool:
    """A month name, then a day of the month, maybe a year (English order).

    en "december 3", "on march 3rd, 2027"; fr "mars 3"; ru "декабря 3".

    Sets `day` (the next such date when no year is given). Returns True if read.
    """
    return _set_month_name_date(found, _DATE_MD.search(found.text))


def read_numeric_date(found: Findings) -> bool:
    """Day and month in digits with '/' or '.', maybe a year. Without a year, '.' needs a
    preposition before it.

    en "on 12/25", "12/25/2026" (month first with `month_first`); fr "le 25/12",
    "25.12.2026"; ru "на 25.12", "25/12".

    Sets `day`; when the month would be above 12, day and month are swapped. Returns
    True if read.
    """
    match = _DATE_NUM.search(found.text)
    if not match or not (match.group("y") or match.group("sep") == "/" or match.group("prep")):
        return False
    first, second = int(match.group("a")), int(match.group("b"))
    day, month = (second, first) if found.month_first else (first, second)
    if month > 12 >= day:
        day, month = month, day
    year = int(match.group("y")) if match.group("y") else None
    got = _next_date(found.today, month, day, year) if 1 <= month <= 12 else None
    if not got:
        return False
    found.day = got
    found.take(match)
    return True


def read_day_of_month(found: Findings) -> bool:
    """A day of the month alone.

    en "on the 5th", "the 31st"; fr "le 5", "le 1er"; ru "5-го", "5-го числа".

    Sets `day` to that day of this month, or of next month when it is already past
    (nothing when that month has no such day). Returns True if read.
    """
    match = _DATE_ORD.search(found.text)
    if not match:
        return False
    day = int(match.group("d1") or match.group("d2") or match.group("d3"))
    today = found.today
    got = _safe_date(today.year, today.month, day) if 1 <= day <= 31 else None
    if got is not None and got < today:
        next_month = today.month % 12 + 1
        got = _safe_date(today.year + (today.month == 12), next_month, day)
    if not got:
        return False
    found.day = got
    found.take(match)
    return True
