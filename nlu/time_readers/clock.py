"""Times of day: "at 9", "9:30", "à 9h30", "в 9 вечера", "noon" (minutes in words, as
"half past nine", are read by `nlu.time_readers.clock_words`).

The readers are tried most specific first (see `nlu.times`); each sets `Findings.clock`
(and the part of the day it named, if any) and returns True, or returns False.
"""

from __future__ import annotations

import re

from nlu.lexicon import NUMBER_WORD_RE, NUMBER_WORDS
from nlu.time_readers.findings import Findings
from nlu.time_readers.parts_of_day import PARTS, part_name, shift_into_part

_PREP = r"(?:at|@|vers|around|about|by|for|pour|des|в|во|к|около|на|a)"
_APPROX = r"(?:(?:around|about|vers|environ|около|примерно|к)\s+)?"
_TOD_HM = re.compile(
    rf"(?:\b{_PREP}\s+)?{_APPROX}(?<![\d.,:])(?P<h>\d{{1,2}})\s*(?::|h|ч)\s*(?P<mi>\d{{2}})(?!\d)"
    rf"(?:\s*(?:min|mn|минут))?(?:\s*(?P<part>{PARTS})(?!\w))?"
)
_TOD_DOT = re.compile(
    rf"\b(?:at|a|в|во|к|vers)\s+{_APPROX}(?P<h>\d{{1,2}})\.(?P<mi>\d{{2}})(?!\d)"
    rf"(?:\s*(?P<part>{PARTS})(?!\w))?"
)
_TOD_UNIT = re.compile(
    rf"(?:\b{_PREP}\s+)?{_APPROX}(?<![\d.,:])(?P<h>\d{{1,2}})\s*(?P<u>am|pm|a\.m\.|p\.m\.|h|heures?|hrs|o'?clock|часов|часа|час|ч)(?!\w)"
    rf"(?:\s*(?P<mi>\d{{2}})(?!\d))?(?:\s*(?P<part>{PARTS})(?!\w))?"
)
_TOD_PREP = re.compile(
    rf"\b(?P<prep>at|@|vers|в|во|к|около|a|by)\s+{_APPROX}(?P<h>\d{{1,2}})"
    r"(?!\d|[:.,]\d|\s*(?:-|to|a|au|до|et|and)\s*\d)"
    r"(?!\s*(?:minutes?|mins?|hours?|heures?|jours?|days?|weeks?|дн\w*|час\w*|мин\w*|ett|waves"
    r"|€|\$|%|раз\w*|st|nd|rd|th|er|-?го|-?е|января|февраля|марта|апреля|мая|июня|июля"
    r"|августа|сентября|октября|ноября|декабря))"
    rf"(?:\s*(?P<part>{PARTS})(?!\w))?"
)
_TOD_PART = re.compile(
    rf"(?:\b{_PREP}\s+)?{_APPROX}\b(?P<h>\d{{1,2}})\s+(?P<part>утра|вечера|дня|ночи|du\s+matin|du\s+soir|de\s+l'apres[-\s]midi|in\s+the\s+morning|in\s+the\s+evening|in\s+the\s+afternoon|at\s+night)\b"
)
_TOD_WORD = re.compile(
    rf"\b(?:at|a|в|vers)\s+(?P<hw>{NUMBER_WORD_RE})\s*(?P<u>o'?clock|heures?|часов|часа|час|am|pm)?"
    rf"(?:\s*(?P<part>{PARTS})(?!\w))?"
)
_TOD_NOON = re.compile(
    r"(?:\b(?:at|a|в|vers|around|by|к|около|для|pour)\s+)?\b(?P<w>noon|midday|midi|полдень|полдня|midnight|minuit|полночь)\b"
    r"(?:\s+(?:et\s+demie?|trente|30))?"
)
_MIDNIGHT_WORDS = ("midnight", "minuit", "полночь")
_ENDS_WITH_HALF_HOUR = re.compile(r"(?:demie?|trente|30)$")


def _part_or_am_pm(part_words: str | None, unit: str | None) -> str | None:
    """The part of the day an hour is in: "am" -> "morning", "pm" -> "afternoon", else
    the part named by `part_words` ("du soir" -> "evening"), else None."""
    unit = (unit or "").replace(".", "")
    if unit in ("am", "pm"):
        return "morning" if unit == "am" else "afternoon"
    return part_name(part_words)


def _is_time_preposition(match: re.Match[str], lang: str) -> bool:
    """'a' is a time preposition only in French ('à' folded)."""
    preposition = (match.groupdict().get("prep") or match.group().split(maxsplit=1)[0]).strip()
    return not (preposition == "a" and lang != "fr")


def _first_after_time_preposition(regex: re.Pattern[str], found: Findings) -> re.Match | None:
    """The first match of `regex` whose leading preposition can introduce a time."""
    return next(
        (m for m in regex.finditer(found.text) if _is_time_preposition(m, found.lang)), None
    )


def _set_clock(found: Findings, match: re.Match[str], part_required: bool = False) -> bool:
    """Record the time of a clock `match` (groups h, and maybe mi, u, part).

    Refuses (returns False) hours above 24, minutes above 59, and, with `part_required`,
    a time with no part of the day. 24 is midnight; the part of the day moves the hour.
    """
    groups = match.groupdict()
    hour = int(match.group("h"))
    minute = int(groups.get("mi") or 0)
    part_words = groups.get("part")
    part = _part_or_am_pm(part_words, groups.get("u"))
    if hour > 24 or minute > 59:
        return False
    if part_required and part is None:
        return False
    found.clock = (shift_into_part(hour, part, part_words) % 24 if hour != 24 else 0, minute)
    found.part_of_day = part or found.part_of_day
    found.take(match)
    return True


def read_hours_and_minutes(found: Findings) -> bool:
    """Hours and minutes with ':', 'h' or 'ч' between them, maybe a part of the day after.

    en "at 9:30", "6:05 pm"; fr "à 9h30", "vers 21 h 15"; ru "в 9:30", "в 9ч30 утра".

    Sets `clock` ("6:05 pm" -> (18, 5)). Returns True if read.
    """
    match = _TOD_HM.search(found.text)
    return match is not None and _set_clock(found, match)


def read_dotted_time(found: Findings) -> bool:
    """Hours.minutes after a preposition ("a" counts only in French).

    en "at 9.30"; fr "à 10.30", "vers 10.30"; ru "в 9.30", "к 9.30".

    Sets `clock` ("at 9.30 pm" -> (21, 30)). Returns True if read.
    """
    match = _first_after_time_preposition(_TOD_DOT, found)
    return match is not None and _set_clock(found, match)


def read_hour_with_unit(found: Findings) -> bool:
    """An hour with am/pm, 'h', "o'clock", "heures" or "часов", maybe minutes after.

    en "9pm", "at 5 o'clock"; fr "à 9h", "à 9 heures 30"; ru "в 9 часов", "в 9 ч".

    Sets `clock` ("9pm" -> (21, 0)). Returns True if read.
    """
    match = _TOD_UNIT.search(found.text)
    return match is not None and _set_clock(found, match)


def read_hour_with_part_of_day(found: Findings) -> bool:
    """An hour followed by the part of the day it is in.

    en "7 in the evening", "3 at night"; fr "9 du soir", "3 de l'apres-midi";
    ru "в 9 утра", "в 11 ночи".

    Sets `clock` ("9 вечера" -> (21, 0)). Returns True if read.
    """
    match = _TOD_PART.search(found.text)
    return match is not None and _set_clock(found, match)


def read_hour_after_preposition(found: Findings) -> bool:
    """A bare hour after a preposition ("a" only in French), not followed by a unit,
    a range, an amount or a month.

    en "at 9", "by 6"; fr "à 8", "vers 10"; ru "в 9", "к 8", "около 10".

    With a delay of hours or minutes already read ("in 2 hours at 9"), only when a part
    of the day follows ("at 9 pm"); after whole days, "in 2 days at 9" is that day at 9.
    Sets `clock` ("at 9" -> (9, 0)). Returns True if read.
    """
    match = _first_after_time_preposition(_TOD_PREP, found)
    if match is None:
        return False
    delay = found.seconds_from_now
    return _set_clock(found, match, part_required=delay is not None and delay % 86400 != 0)


def read_noon_or_midnight(found: Findings) -> bool:
    """Noon or midnight, maybe "and a half" in French.

    en "at noon", "midnight"; fr "à midi", "minuit et demie"; ru "в полдень", "в полночь".

    Sets `clock` to (12, 0) or (0, 0) (minute 30 for "et demie"/"trente"/"30").
    Returns True if read.
    """
    match = _TOD_NOON.search(found.text)
    if not match:
        return False
    minute = 30 if _ENDS_WITH_HALF_HOUR.search(match.group()) else 0
    found.clock = (0 if match.group("w") in _MIDNIGHT_WORDS else 12, minute)
    found.take(match)
    return True


def read_hour_in_words(found: Findings) -> bool:
    """An hour from one to twelve in words after a preposition.

    en "at five", "at seven pm"; fr "à neuf heures", "à sept heures du soir";
    ru "в девять часов", "в девять утра". Without a unit or part of the day, only in
    English ("à neuf" alone is not read).

    Sets `clock` ("at seven pm" -> (19, 0)) and `part_of_day`. Returns True if read.
    """
    match = _TOD_WORD.search(found.text)
    if not match or not (match.group("u") or match.group("part") or found.lang == "en"):
        return False
    hour_word = match.group("hw")
    hour = int(NUMBER_WORDS.get(hour_word, 0))
    if not (1 <= hour <= 12 and hour == NUMBER_WORDS.get(hour_word)):
        return False
    part_words = match.group("part")
    part = _part_or_am_pm(part_words, match.group("u"))
    found.clock = (shift_into_part(hour, part, part_words), 0)
    found.part_of_day = part
    found.take(match)
    return True
