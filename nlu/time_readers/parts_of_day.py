"""Parts of the day: "morning", "ce soir", "вечером"; and how they move an hour."""

from __future__ import annotations

import re

from nlu.time_readers.findings import Findings

# The hour meant by a part of the day named on its own ("tomorrow morning" is 09:00).
PART_HOURS = {"morning": 9, "afternoon": 15, "evening": 19, "tonight": 20, "night": 22}
_PART_WORDS = [
    ("morning", r"in\s+the\s+morning|this\s+morning|morning|am|a\.m\.|du\s+matin|ce\s+matin"
     r"|le\s+matin|matin|утра|утром|с\s+утра"),
    ("afternoon", r"in\s+the\s+afternoon|this\s+afternoon|afternoon|pm|p\.m\."
     r"|de\s+l'apres[-\s]midi|cet\s+apres[-\s]midi|l'apres[-\s]midi|apres[-\s]midi|de\s+l'aprem"
     r"|aprem|дня|днем"),
    ("evening", r"in\s+the\s+evening|this\s+evening|evening|du\s+soir|le\s+soir|soir"
     r"|вечера|вечером"),
    ("tonight", r"tonight|tonite|ce\s+soir|сегодня\s+вечером"),
    ("night", r"at\s+night|in\s+the\s+night|night|de\s+la\s+nuit|la\s+nuit|cette\s+nuit|nuit"
     r"|ночи|ночью"),
]  # fmt: skip
# Every part-of-day phrase, as one regex alternation (for the clock readers too).
PARTS = "|".join(words for _, words in _PART_WORDS)
_PART_RES = [(name, re.compile(rf"^(?:{words})$")) for name, words in _PART_WORDS]
AM_PM = ("am", "pm", "a.m.", "p.m.")
_PART_ALONE = re.compile(
    rf"\b(?:(?:this|ce|cet|le|в|по|in\s+the|de\s+la|la)\s+)?(?P<part>{PARTS})(?!\w)"
)


def part_name(words: str | None) -> str | None:
    """The part of the day named by `words`: "du soir" -> "evening"; None if none."""
    if not words:
        return None
    words = " ".join(words.split())
    for name, regex in _PART_RES:
        if regex.match(words):
            return name
    return None


def shift_into_part(hour: int, part: str | None, part_words: str | None = None) -> int:
    """`hour` (as said, 1-12 or 0-24) moved into `part` of the day: (7, "evening") -> 19.

    `part_words` are the words that named the part: "дня" after 7 and later means the
    hour was already given on the 24-hour clock ("в 14 дня" stays 14).
    """
    if part is None:
        return hour
    if part == "morning":
        return 0 if hour == 12 else hour
    if part == "afternoon":
        if part_words and part_words.startswith("дн") and hour > 6:
            return hour
        return hour + 12 if hour < 12 else hour
    if part in ("evening", "tonight"):
        return hour + 12 if hour < 12 else hour
    if part == "night":
        if hour == 12:
            return 0
        return hour + 12 if 6 <= hour < 12 else hour
    return hour


def read_part_of_day(found: Findings) -> bool:
    """A part of the day, on its own or after a time.

    en "tomorrow morning", "at 7 in the evening"; fr "ce soir", "demain matin";
    ru "вечером", "завтра утром". "am"/"pm" alone are not read here.

    With a time already read that had no part of the day, moves it into this part
    ("at 7 ... evening" -> 19:00). Without a time, sets the part's hour (PART_HOURS) and,
    for "tonight", today's date when no date was read. Returns True if it read one.
    """
    match = next(
        (m for m in _PART_ALONE.finditer(found.text) if m.group("part") not in AM_PM), None
    )
    if not match:
        return False
    part_words = match.group("part")
    part = part_name(part_words)
    if not part:
        return False
    found.take(match)
    if found.clock is not None:
        if found.part_of_day is None:
            hour, minute = found.clock
            found.clock = (shift_into_part(hour, part, part_words), minute)
    else:
        found.part_of_day = part
        found.clock = (PART_HOURS[part], 0)
        if part == "tonight" and found.day is None:
            found.day = found.today
    return True
