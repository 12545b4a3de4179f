"""Delays from now: "in 2 hours", "dans 10 minutes", "через час", "in 3 months"."""

from __future__ import annotations

import re
from datetime import date

from nlu.lexicon import NUMBER_WORD_RE, NUMBER_WORDS, UNIT_SECONDS
from nlu.time_readers.findings import Findings

_MAX_DELAY_SECONDS = 400 * 86400
_MAX_MONTHS = 24

_NUM = r"\d+(?:[.,]\d+)?"
_UNITS = "|".join(unit for unit, _ in UNIT_SECONDS)
_UNIT_RES = [(re.compile(rf"^(?:{unit})$"), seconds) for unit, seconds in UNIT_SECONDS]
_UNITS_LONG = (
    r"sec(?:ond)?s?|secondes?|сек\w*|mins?|minutes?|mn|минут\w*|мин|hrs?|hours?|heures?"
    r"|час(?:а|ов)?|days?|jours?|journees?|день|дня|дней|сутки|суток|weeks?|semaines?|недел\w+"
)
_ITEM = (
    rf"(?:\d{{1,2}}\s*(?:h|ч)\s*\d{{2}}(?!\d)"
    rf"|{_NUM}\s*(?:-\s*)?(?:{_UNITS})(?!\w)"
    rf"|(?:a\s+)?(?:{NUMBER_WORD_RE}|a|an)\s*(?:-\s*)?(?:of\s+)?(?:{_UNITS_LONG})(?!\w)"
    r"|(?:minute|hour|heure|day|jour|week|semaine|минуту|час|день|неделю|сутки)(?!\w))"
)
# Fixed phrases and their length in seconds.
_SPECIAL = {
    r"half\s+an?\s+hour|a\s+half\s+hour|half\s+hour|halfhour": 1800,
    r"(?:une\s+)?demi[-\s]?heure": 1800,
    r"пол\s*часа|полчаса": 1800,
    r"(?:a\s+)?quarter\s+(?:of\s+)?an?\s+hour": 900,
    r"(?:un\s+)?quart\s+d'heure": 900,
    r"четверть\s+часа": 900,
    r"пол\s*минуты": 30,
}
_SPECIAL_RE = "|".join(_SPECIAL)
_SPECIAL_RES = [(re.compile(special), seconds) for special, seconds in _SPECIAL.items()]
_HALF = (
    r"(?:\s*(?:and\s+a\s+half|and\s+a\s+quarter|et\s+demie?|et\s+quart|с\s+половиной"
    r"|с\s+четвертью))?"
)
# Items joined by a word or a comma, or by spaces alone: one way to read each join (an
# optional word between two optional spaces made "6h 6h 6h …" backtrack exponentially).
_JOIN = r"(?:\s*(?:,|and|et|и)\s*|\s*)"
_DUR = rf"(?:{_SPECIAL_RE}|{_ITEM}(?:{_JOIN}{_ITEM})*{_HALF})"
_REL = re.compile(
    rf"\b(?:in|within|after|dans|d'ici|через|спустя)\s+(?:(?:about|around|environ|примерно|около)\s+)?(?P<body>{_DUR})"
    rf"|(?P<body2>{_DUR})\s+(?:from\s+now|later|plus\s+tard|спустя)\b"
)
_REL_MONTH = re.compile(
    r"\b(?:in|within|dans|d'ici|через)\s+(?:(?P<n>\d{1,2})|a|an|one|un|une|один|одн\w*)?\s*"
    r"(?:months?|mois|месяц\w*)\b"
)
_ITEM_PARTS = re.compile(
    rf"(?P<h>\d{{1,2}})\s*(?:h|ч)\s*(?P<m>\d{{2}})(?!\d)"
    rf"|(?P<n>{_NUM})\s*(?:-\s*)?(?P<u>{_UNITS})(?!\w)"
    rf"|(?:a\s+)?(?P<nw>{NUMBER_WORD_RE}|a|an)\s*(?:-\s*)?(?:of\s+)?(?P<u2>{_UNITS_LONG})(?!\w)"
    r"|(?P<u3>minute|hour|heure|day|jour|week|semaine|минуту|час|день|неделю|сутки)(?!\w)"
)
_ENDS_WITH_HALF = re.compile(r"(?:half|demie?|половиной)$")
_ENDS_WITH_QUARTER = re.compile(r"(?:quarter|quart|четвертью)$")
# "1h before", "une heure avant", "за час до": how long before the moment the message
# names (an hour or a date after "before" is a time of day instead: "before 5").
_NOT_A_TIME_AFTER = (
    r"(?!\s+(?:\d|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|noon|midnight"
    r"|midi|minuit|une?|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|demain"
    r"|tomorrow|tonight|ce\s+soir|le\s+\d)\b)"
)
_BEFORE = re.compile(
    rf"\b(?P<body>{_DUR})\s+(?:before|beforehand|earlier|in\s+advance|ahead|prior|avant"
    rf"|auparavant|a\s+l'avance|en\s+avance|plus\s+tot)\b{_NOT_A_TIME_AFTER}"
    rf"|\bза\s+(?P<body2>{_DUR})(?:\s+до\b(?!\s+\d))?"
    r"|(?P<eve>\bthe\s+day\s+before\b(?!\s+yesterday)|\bla\s+veille\b|\bнакануне\b)"
)


def _count(number: str | None) -> float:
    """How many units `number` says: "2" -> 2.0, "1,5" -> 1.5, "two" -> 2.0, none -> 1.0."""
    if not number:
        return 1.0
    if number[0].isdigit():
        return float(number.replace(",", "."))
    return float(NUMBER_WORDS.get(number, 1))


def _unit_seconds(unit: str) -> int:
    """Seconds in one `unit`: "min" -> 60, "heures" -> 3600, "дней" -> 86400."""
    for regex, seconds in _UNIT_RES:
        if regex.match(unit):
            return seconds
    if unit.startswith(("hour", "heure", "час")):
        return 3600
    if unit.startswith(("day", "jour", "день", "сутки")):
        return 86400
    if unit.startswith(("week", "semaine", "недел")):
        return 604800
    return 60


def _duration_seconds(phrase: str) -> float:
    """Length of a duration phrase: "2 hours and 30 minutes" -> 9000.0, "полчаса" -> 1800."""
    for special, seconds in _SPECIAL_RES:
        if special.fullmatch(phrase):
            return seconds
    total = 0.0
    last_unit = 0
    for item in _ITEM_PARTS.finditer(phrase):
        if item.group("h"):
            total += int(item.group("h")) * 3600 + int(item.group("m")) * 60
            last_unit = 3600
        else:
            last_unit = _unit_seconds(item.group("u") or item.group("u2") or item.group("u3"))
            total += _count(item.group("n") or item.group("nw")) * last_unit
    if _ENDS_WITH_HALF.search(phrase):
        total += last_unit / 2
    elif _ENDS_WITH_QUARTER.search(phrase):
        total += last_unit / 4
    return total


def _days_in_target_month(month_index: int) -> int:
    """Days allowed in month `month_index` (0 = January; February always 28)."""
    if month_index == 1:
        return 28
    return 30 if month_index in (3, 5, 8, 10) else 31


def read_months_from_now(found: Findings) -> bool:
    """A delay in months, 1 to 24.

    en "in 3 months", "in a month"; fr "dans 2 mois", "d'ici un mois";
    ru "через месяц", "через 3 месяца".

    Sets `seconds_from_now` to the whole days to the same day of that month (the day
    clipped to 28/30/31). Returns True if it read one.
    """
    match = _REL_MONTH.search(found.text)
    if not match:
        return False
    months = int(match.group("n")) if match.group("n") else 1
    if not 0 < months <= _MAX_MONTHS:
        return False
    today = found.today
    years_ahead, month_index = divmod(today.month - 1 + months, 12)
    day = min(today.day, _days_in_target_month(month_index))
    target = date(today.year + years_ahead, month_index + 1, day)
    found.seconds_from_now = (target - today).days * 86400.0
    found.take(match)
    return True


def read_duration_from_now(found: Findings) -> bool:
    """A delay of seconds to weeks (up to 400 days), before or after its cue words.

    en "in 2 hours", "in an hour and a half", "20 minutes from now";
    fr "dans 10 minutes", "dans une demi-heure", "2 heures plus tard";
    ru "через час", "через 2 часа 30 минут", "10 минут спустя".

    Sets `seconds_from_now`. Returns True if it read one.
    """
    match = _REL.search(found.text)
    if not match:
        return False
    seconds = _duration_seconds(match.group("body") or match.group("body2"))
    if not 0 < seconds <= _MAX_DELAY_SECONDS:
        return False
    found.seconds_from_now = seconds
    found.take(match)
    return True


def read_time_before_event(found: Findings) -> bool:
    """How long before the moment of the message to remind ("rdv demain 15h, rappelle-moi
    1h avant" is 14:00).

    en "an hour before", "15 minutes earlier", "the day before"; fr "1h avant",
    "une demi-heure avant", "la veille"; ru "за час до", "за 15 минут", "накануне".

    Sets `seconds_before` (whole days: the same time on an earlier day). Returns True if
    read.
    """
    match = _BEFORE.search(found.text)
    if not match:
        return False
    body = match.group("body") or match.group("body2")
    seconds = _duration_seconds(body) if body else 86400.0
    if not 0 < seconds <= _MAX_DELAY_SECONDS:
        return False
    found.seconds_before = seconds
    found.take(match)
    return True
