"""Time zones named in a message: "10am EST", "UTC+3", "New York time", "heure de Paris",
"по московскому времени", "в 10 мск".

The zone reader runs before every other reader: the dates and times of the message are
then read in that zone, and the moment is given back in the user's zone (`nlu.times`).
"""

from __future__ import annotations

import re
from datetime import timedelta, timezone, tzinfo
from functools import cache
from zoneinfo import ZoneInfo

from nlu.time_readers.findings import Findings

# Abbreviations (folded) and the zone whose clock people mean by them: "EST" in July
# still means the time on New York's clocks.
_ABBREVIATIONS = {
    "utc": "UTC", "gmt": "UTC", "msk": "Europe/Moscow", "мск": "Europe/Moscow",
    "est": "America/New_York", "edt": "America/New_York", "et": "America/New_York",
    "cst": "America/Chicago", "cdt": "America/Chicago", "ct": "America/Chicago",
    "mst": "America/Denver", "mdt": "America/Denver",
    "pst": "America/Los_Angeles", "pdt": "America/Los_Angeles", "pt": "America/Los_Angeles",
    "akst": "America/Anchorage", "hst": "Pacific/Honolulu",
    "cet": "Europe/Paris", "cest": "Europe/Paris",
    "bst": "Europe/London", "wet": "Europe/Lisbon", "west": "Europe/Lisbon",
    "eet": "Europe/Athens", "eest": "Europe/Athens", "ist": "Asia/Kolkata",
    "jst": "Asia/Tokyo", "kst": "Asia/Seoul", "hkt": "Asia/Hong_Kong",
    "sgt": "Asia/Singapore", "aest": "Australia/Sydney", "aedt": "Australia/Sydney",
}  # fmt: skip
# Abbreviations that are also words ("est" is French for "is", "cet" for "this"): read
# only right after a time, and written in capitals (in English also "10am est").
_AMBIGUOUS = frozenset({"est", "et", "ct", "pt", "cet", "cest", "wet", "west", "ist"})
_LOWER_CASE_IN_ENGLISH = frozenset({"est", "ct", "pt", "ist"})
_ABBREVIATION = re.compile(
    r"(?<![\w'])\(?(?P<abbr>" + "|".join(sorted(_ABBREVIATIONS, key=len, reverse=True)) + r")"
    r"(?:\s*(?P<sign>[+-])\s*(?P<oh>\d{1,2})(?::?(?P<om>\d{2}))?)?\)?(?![\w'-])"
    r"(?!\s*apres)"
)
_AFTER_A_TIME = re.compile(
    r"(?:\d|\d\s*h|\d\s*heures?|\d\s*[ap]m|\b[ap]m|a\.m\.|p\.m\.|o'clock|\bnoon|midnight|midi|minuit"
    r"|morning|evening|afternoon|night|matin|soir|часов|часа|утра|вечера|дня|ночи)\s*,?\s*\(?$"
)

# Places and the words that name their time (folded; Russian as stems).
_PLACES = {
    "Europe/Paris": r"paris|france|francaise|french|central\s+europe(?:an)?|europe\s+centrale"
    r"|париж\w*|франц\w*",
    "Europe/London": r"london|londres|uk|u\.k\.|british|britain|anglaise|royaume[-\s]uni"
    r"|лондон\w*|британ\w*",
    "America/New_York": r"new[-\s]york|nyc|ny|eastern|east\s+coast|de\s+l'est|нью[-\s]?йорк\w*",
    "America/Chicago": r"chicago|central|чикаго",
    "America/Denver": r"denver|mountain|des\s+rocheuses",
    "America/Los_Angeles": r"los\s+angeles|l\.a\.|san\s+francisco|pacific|du\s+pacifique"
    r"|west\s+coast|california|californie|лос[-\s]анджелес\w*|калифорни\w*",
    "America/Toronto": r"toronto|montreal|quebec|du\s+quebec|торонто|монреал\w*",
    "Europe/Moscow": r"moscow|moscou|russe|russian|russia|москв\w*|московск\w*|мск",
    "Europe/Berlin": r"berlin|germany|german|allemande|allemagne|берлин\w*|германи\w*",
    "Europe/Madrid": r"madrid|spain|espagne|мадрид\w*",
    "Europe/Rome": r"rome|italy|italie|рим\w*",
    "Europe/Kyiv": r"kyiv|kiev|kyjiv|ukraine|киев\w*|кийв\w*|украин\w*",
    "Europe/Minsk": r"minsk|минск\w*",
    "Europe/Kaliningrad": r"kaliningrad|калининград\w*",
    "Europe/Samara": r"samara|самар\w*",
    "Asia/Yekaterinburg": r"yekaterinburg|ekaterinbourg|екатеринбург\w*",
    "Asia/Novosibirsk": r"novosibirsk|новосибирск\w*",
    "Asia/Vladivostok": r"vladivostok|владивосток\w*",
    "Asia/Almaty": r"almaty|алмат\w*",
    "Asia/Dubai": r"dubai|dubaï|дубай\w*|дубае",
    "Asia/Tokyo": r"tokyo|japan|japon|токио|токийск\w*|япон\w*",
    "Asia/Shanghai": r"beijing|pekin|shanghai|china|chine|пекин\w*|китай\w*",
    "Asia/Kolkata": r"india|inde|mumbai|delhi|инди\w*",
    "Australia/Sydney": r"sydney|сидне\w*",
    "UTC": r"greenwich|utc|gmt|universal|universel(?:le)?|гринвич\w*",
}
# Cities after "по" with no word for time ("в 10 по Москве"; "по московскому").
_RU_CITIES = (
    r"москве|мск|киеву|лондону|парижу|гринвичу|нью-?йорку|берлину|минску|токио"
    r"|екатеринбургу|новосибирску|владивостоку|калининграду|самаре|дубаю|алматы"
)
_PLACE = "|".join(f"(?:{words})" for words in _PLACES.values())
_PLACE_RES = [(name, re.compile(rf"^(?:{words})$")) for name, words in _PLACES.items()]
_NAMED = re.compile(
    # en "New York time", "(Paris time)", "time in Tokyo", "Eastern standard time"
    rf"\(?\b(?P<en>{_PLACE})\s+(?:standard\s+|daylight\s+|summer\s+)?time\b\)?"
    rf"|\btime\s+in\s+(?P<en2>{_PLACE})\b"
    # fr "heure de Paris", "à l'heure de Moscou", "heure française", "heure du Pacifique"
    rf"|(?:\b(?:a\s+)?l')?\bheure\s+(?:de\s+la\s+|de\s+|d'|du\s+|a\s+)?(?P<fr>{_PLACE})(?!\w)"
    # ru "по московскому времени", "по времени Москвы", "по Москве", "по Гринвичу"
    rf"|\bпо\s+(?:времени\s+)?(?P<ru>{_PLACE})\s+времени\b|\bвремени\s+(?P<ru2>{_PLACE})(?!\w)"
    rf"|\bпо\s+(?P<ru3>\w+ому|{_RU_CITIES})(?!\w)"
)


@cache
def _zone(name: str) -> tzinfo:
    return ZoneInfo(name)


def _place_zone(words: str) -> tzinfo | None:
    """The zone of a place named by `words` ("new york" -> America/New_York)."""
    words = " ".join(words.split())
    for name, regex in _PLACE_RES:
        if regex.match(words):
            return _zone(name)
    return None


def _offset_zone(match: re.Match[str]) -> tzinfo | None:
    """The fixed zone of "UTC+3", "GMT-05:30" (None beyond ±14 h)."""
    hours, minutes = int(match.group("oh")), int(match.group("om") or 0)
    if hours > 14 or minutes > 59:
        return None
    offset = timedelta(hours=hours, minutes=minutes)
    return timezone(-offset if match.group("sign") == "-" else offset)


def _abbreviation_meant(found: Findings, match: re.Match[str]) -> bool:
    """Whether the abbreviation of `match` names a zone here (see `_AMBIGUOUS`)."""
    abbr = match.group("abbr")
    if abbr not in _AMBIGUOUS:
        return True
    if not _AFTER_A_TIME.search(found.text[: match.start()]):
        return False
    if found.written(*match.span("abbr")).isupper():
        return True
    return found.lang == "en" and abbr in _LOWER_CASE_IN_ENGLISH


def _read_abbreviation(found: Findings) -> bool:
    for match in _ABBREVIATION.finditer(found.text):
        if not _abbreviation_meant(found, match):
            continue
        if match.group("sign") and match.group("abbr") in ("utc", "gmt"):
            zone = _offset_zone(match)
        else:
            zone = _zone(_ABBREVIATIONS[match.group("abbr")])
        if zone is None:
            continue
        found.use_zone(zone)
        found.take(match)
        return True
    return False


def _read_place(found: Findings) -> bool:
    for match in _NAMED.finditer(found.text):
        words = next(g for g in match.group("en", "en2", "fr", "ru", "ru2", "ru3") if g)
        zone = _place_zone(words)
        if zone is not None:
            found.use_zone(zone)
            found.take(match)
            return True
    return False


def read_time_zone(found: Findings) -> bool:
    """A time zone named by its abbreviation, its offset or a place.

    en "10am EST", "9:00 UTC+3", "New York time", "time in Tokyo"; fr "10h CET",
    "heure de Paris", "à l'heure de Moscou"; ru "в 10 мск", "по московскому времени",
    "по времени Киева", "по Гринвичу".

    Sets `zone` and moves `now` (and `today`) into it. Returns True if read.
    """
    return _read_abbreviation(found) or _read_place(found)
