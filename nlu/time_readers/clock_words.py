"""Minutes named as parts of an hour: "half past nine", "ten to five", "at nine thirty";
"dix heures et quart", "midi moins le quart", "sept heures trente"; "в половине восьмого",
"без четверти восемь", "четверть девятого", "десять минут девятого", "в восемь тридцать".

These readers run before the other clock readers (`nlu.times`), so that "10h" of
"10h et quart" is never read alone and the minute words never stay in a reminder's text.
"""

from __future__ import annotations

import re

from nlu.time_readers.findings import Findings
from nlu.time_readers.parts_of_day import PARTS, part_name, shift_into_part


def _alternation(words: dict[str, int]) -> str:
    """A regex alternation of `words` (longest first), "-" or " " standing for either."""
    forms = sorted(words, key=len, reverse=True)
    return "|".join(re.sub(r"[-\s]+", r"[-\\s]+", form) for form in forms)


def _value(words: dict[str, int], said: str) -> int:
    """The number `said` names in `words` ("vingt cinq" -> 25), digits as they are."""
    if said.isdigit():
        return int(said)
    return words.get(re.sub(r"[-\s]+", "-", said), -1)


def _set(
    found: Findings, match: re.Match[str], hour: int, minute: int, part_group: str = "part"
) -> bool:
    """Record `hour`:`minute` (moved into the part of the day the match names, if any)."""
    if not (0 <= hour <= 24 and 0 <= minute <= 59):
        return False
    part_words = match.group(part_group)
    part = part_name(part_words)
    found.clock = (shift_into_part(hour, part, part_words) % 24, minute)
    found.part_of_day = part or found.part_of_day
    found.take(match)
    return True


# --- English --------------------------------------------------------------------------
_EN_MINUTES = {
    "quarter": 15, "half": 30, "five": 5, "ten": 10, "twenty": 20, "twenty-five": 25,
}  # fmt: skip
_EN_AFTER_HOUR = {
    "oh-five": 5, "ten": 10, "fifteen": 15, "twenty": 20, "twenty-five": 25, "thirty": 30,
    "thirty-five": 35, "forty": 40, "forty-five": 45, "fifty": 50, "fifty-five": 55,
}  # fmt: skip
_EN_HOURS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip
_PAST_OR_TO = re.compile(
    rf"\b(?:(?P<at>at|by|around|about|@)\s+)?(?:a\s+)?(?P<q>{_alternation(_EN_MINUTES)}|\d{{1,2}})"
    r"(?P<mins>\s+minutes?|\s+mins?)?\s+(?P<dir>past|after|to|till|before|of)\s+"
    rf"(?P<h>\d{{1,2}}|{_alternation(_EN_HOURS)})\b(?:\s*o'?clock)?(?:\s*(?P<part>{PARTS})(?!\w))?"
)
_HOUR_THEN_MINUTES = re.compile(
    rf"\b(?:at|by|around|about)\s+(?P<h>{_alternation(_EN_HOURS)})[-\s]+"
    rf"(?:(?P<mw>{_alternation(_EN_AFTER_HOUR)})\b|o'?clock\b)(?:\s*(?P<part>{PARTS})(?!\w))?"
    rf"|\b(?:at|by|around|about)\s+half\s+(?P<half>{_alternation(_EN_HOURS)}|\d{{1,2}})\b"
    rf"(?!\s*hours?\b)(?:\s*(?P<part2>{PARTS})(?!\w))?"
)


def _english_past_or_to(found: Findings) -> bool:
    match = _PAST_OR_TO.search(found.text)
    if not match:
        return False
    said, direction = match.group("q"), match.group("dir")
    if said.isdigit() and not (match.group("at") or match.group("mins") or direction == "past"):
        return False  # "from 10 to 5" is a range, not 4:50
    hour = _value(_EN_HOURS, match.group("h"))
    minute = _value(_EN_MINUTES, said)
    if not (0 < hour <= 12 and 0 < minute < 60):
        return False
    if direction in ("to", "till", "before", "of"):
        hour, minute = hour - 1, 60 - minute
    return _set(found, match, hour, minute)


def _english_hour_then_minutes(found: Findings) -> bool:
    match = _HOUR_THEN_MINUTES.search(found.text)
    if not match or not (match.group("mw") or match.group("half")):
        return False
    if match.group("half"):  # British "half nine" is 9:30
        return _set(found, match, _value(_EN_HOURS, match.group("half")), 30, "part2")
    minute = _value(_EN_AFTER_HOUR, match.group("mw"))
    return _set(found, match, _EN_HOURS[match.group("h")], minute)


def read_half_past(found: Findings) -> bool:
    """Minutes past or to an hour from 1 to 12, or an hour then its minutes, in English.

    en "half past nine", "quarter to 5 pm", "ten to five", "20 minutes past 3",
    "at nine thirty", "at seven forty-five pm". Digits before "to" need "at" or "minutes"
    ("from 10 to 5" is a range).

    Sets `clock` ("quarter to 5" -> (4, 45)) and `part_of_day`. Returns True if read.
    """
    return _english_past_or_to(found) or _english_hour_then_minutes(found)


# --- French ---------------------------------------------------------------------------
_FR_HOURS = {
    "une": 1, "un": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7,
    "huit": 8, "neuf": 9, "dix": 10, "onze": 11, "douze": 12, "treize": 13, "quatorze": 14,
    "quinze": 15, "seize": 16, "dix-sept": 17, "dix-huit": 18, "dix-neuf": 19, "vingt": 20,
    "vingt-et-une": 21, "vingt-et-un": 21, "vingt-deux": 22, "vingt-trois": 23,
    "midi": 12, "minuit": 24,
}  # fmt: skip
_FR_MINUTES = {
    "cinq": 5, "dix": 10, "quinze": 15, "vingt": 20, "vingt-cinq": 25, "trente": 30,
    "trente-cinq": 35, "quarante": 40, "quarante-cinq": 45, "cinquante": 50,
    "cinquante-cinq": 55, "quart": 15, "demi": 30, "demie": 30,
}  # fmt: skip
_FR = re.compile(
    r"(?:\b(?P<prep>a|vers|pour|des|avant|apres)\s+)?(?:(?:environ|vers)\s+)?"
    rf"(?<![\d.,:])(?P<h>\d{{1,2}}|(?:{_alternation(_FR_HOURS)})(?!\w))\s*(?P<u>h|heures?)?"
    rf"\s*(?:et\s+(?P<plus>quart|demie?)|moins\s+(?:le\s+)?(?P<less>quart|\d{{1,2}}"
    rf"|{_alternation(_FR_MINUTES)})|(?P<mw>{_alternation(_FR_MINUTES)}))(?!\w)"
    rf"(?:\s+(?:minutes?|min)\b)?(?:\s*(?P<part>{PARTS})(?!\w))?"
)


def _french_clock(match: re.Match[str]) -> tuple[int, int] | None:
    """(hour, minute) of a match of `_FR`, or None when its words do not make a time."""
    said = match.group("h")
    hour = _value(_FR_HOURS, said)
    named = said in ("midi", "minuit")
    if not (match.group("u") or named or (match.group("prep") and not match.group("mw"))):
        return None  # "dix vingt" is no time; "à 10 et quart", "midi et quart" are
    if match.group("less"):
        less = _value(_FR_MINUTES, match.group("less"))
        return (hour - 1, 60 - less) if 0 < less < 60 else None
    minute = _value(_FR_MINUTES, match.group("plus") or match.group("mw"))
    return (0 if said == "minuit" else hour), minute


def read_french_minutes(found: Findings) -> bool:
    """An hour with its minutes in French words.

    fr "à dix heures et quart", "10h et demie", "à 8h moins le quart", "midi moins dix",
    "minuit et quart", "sept heures trente du soir", "à 10 heures moins 5".

    Sets `clock` ("dix heures et quart" -> (10, 15)). Returns True if read.
    """
    match = next((m for m in _FR.finditer(found.text) if _french_clock(m)), None)
    if match is None:
        return False
    hour, minute = _french_clock(match) or (0, 0)
    return _set(found, match, hour, minute)


# --- Russian --------------------------------------------------------------------------
_RU_ORDINALS = {
    "первого": 1, "второго": 2, "третьего": 3, "четвертого": 4, "пятого": 5, "шестого": 6,
    "седьмого": 7, "восьмого": 8, "девятого": 9, "десятого": 10, "одиннадцатого": 11,
    "двенадцатого": 12,
}  # fmt: skip
_RU_HOURS = {
    "час": 1, "один": 1, "два": 2, "три": 3, "четыре": 4, "пять": 5, "шесть": 6, "семь": 7,
    "восемь": 8, "девять": 9, "десять": 10, "одиннадцать": 11, "двенадцать": 12,
}  # fmt: skip
_RU_LESS = {
    "четверти": 15, "пяти": 5, "десяти": 10, "пятнадцати": 15, "двадцати": 20,
    "двадцати-пяти": 25, "минуты": 1, "одной": 1, "двух": 2, "трех": 3,
}  # fmt: skip
_RU_MINUTES = {
    "пять": 5, "десять": 10, "пятнадцать": 15, "двадцать": 20, "двадцать-пять": 25,
    "тридцать": 30, "тридцать-пять": 35, "сорок": 40, "сорок-пять": 45, "пятьдесят": 50,
    "пятьдесят-пять": 55,
}  # fmt: skip
_ORD = _alternation(_RU_ORDINALS)
_RU = re.compile(
    r"(?:\b(?P<prep>в|во|к|около|на)\s+)?\b(?:"
    rf"(?:половин[аеуы]\s+|пол\s*-?\s*)(?P<half>{_ORD})"
    rf"|четверт[ьи]\s+(?P<quarter>{_ORD})"
    rf"|(?P<mins>{_alternation(_RU_MINUTES)}|\d{{1,2}})\s+минут\w*\s+(?P<past>{_ORD})"
    rf"|без\s+(?P<less>{_alternation(_RU_LESS)}|\d{{1,2}})(?:\s+минут\w*)?\s+"
    rf"(?P<to>{_alternation(_RU_HOURS)}|\d{{1,2}})(?:\s+час\w*)?"
    rf"|(?P<h>{_alternation(_RU_HOURS)})\s+(?:час\w*\s+)?(?P<mw>{_alternation(_RU_MINUTES)})"
    rf"(?:\s+минут\w*)?"
    rf")(?!\w)(?:\s*(?P<part>{PARTS})(?!\w))?"
)


def _hour_before(said: str, table: dict[str, int]) -> int:
    """The hour before the one `said` ("восьмого" -> 7); 12 before the first."""
    return (_value(table, said) - 1) or 12


def _russian_clock(match: re.Match[str]) -> tuple[int, int] | None:
    """(hour, minute) of a match of `_RU`, or None when its words do not make a time."""
    if match.group("half"):
        return _hour_before(match.group("half"), _RU_ORDINALS), 30
    if match.group("quarter"):
        return _hour_before(match.group("quarter"), _RU_ORDINALS), 15
    if match.group("past"):
        return _hour_before(match.group("past"), _RU_ORDINALS), _value(
            _RU_MINUTES, match.group("mins")
        )
    if match.group("less"):
        less = _value(_RU_LESS, match.group("less"))
        return _hour_before(match.group("to"), _RU_HOURS), 60 - less
    if not match.group("prep"):  # "восемь тридцать" needs "в" before it
        return None
    return _value(_RU_HOURS, match.group("h")), _value(_RU_MINUTES, match.group("mw"))


def read_russian_minutes(found: Findings) -> bool:
    """An hour with its minutes in Russian words.

    ru "в половине восьмого", "полвосьмого", "без четверти восемь", "без пяти 8",
    "четверть девятого", "десять минут девятого", "в восемь тридцать вечера".

    Sets `clock` ("в половине восьмого вечера" -> (19, 30)). Returns True if read.
    """
    match = next((m for m in _RU.finditer(found.text) if _russian_clock(m)), None)
    if match is None:
        return False
    hour, minute = _russian_clock(match) or (0, 0)
    return _set(found, match, hour, minute)
