"""Repeating reminders (en, fr, ru; canonical text): "every monday at 9", "chaque jour à
8h", "по будням в 8:30", "every 2 hours until 18:00", "le 1er de chaque mois".

`find_repeat` reads the rule and where its words are; the parser blanks those words
(same length, so offsets stay valid) before the time reader reads the rest of the
message, then `first_at` gives the first occurrence. `Repeat.rule` is an RFC 5545 RECUR
value (section 3.3.10) without the "RRULE:" prefix, read on the user's wall clock: the
feature stores DTSTART = the first occurrence, in the user's zone.

A repeat needs a unit or a day after its "every" word ("every plant" is none); "until"
words ("jusqu'à", "до") in a repeat end it and are never the reminder's time; a span
("for 3 days", "pendant 3 jours", "в течение 3 дней") gives COUNT or UNTIL.

A repeat that no rule can state gets `Repeat.error`, one of the codes of `ERRORS`
("every 0 days", "every 30 seconds", "the 32nd of every month", "every february 30",
"every day at 25:00"); its words are still cut from the reminder text.

An hourly or minutely rule with a start and an end of the day ("every hour from 9 to
18", "toutes les heures de 9h à 18h", "каждый час с 9 до 18") is a daily window: FREQ=DAILY
with the times as BYHOUR x BYMINUTE, the end included (BYSETPOS keeps the times when the
product has more). An end alone that is already past ("every 2 hours until 18:00" said at
19:00) is the error `ENDED`, never the next day's 18:00.
"""

from __future__ import annotations

import re
from calendar import monthrange
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import islice

from dateutil.relativedelta import relativedelta

from nlu.lexicon import DAYS, MONTH_FORMS, NUMBER_WORDS, WEEKDAY_FORMS
from nlu.times import DEFAULT_CLOCK, TimeResult, elapsed, find_time, next_occurrence, wall_clock

# The RFC 5545 BYDAY code of each day name the lexicon reads (nlu.lexicon.DAYS).
RFC_DAYS = {
    "mon": "MO",
    "tue": "TU",
    "wed": "WE",
    "thu": "TH",
    "fri": "FR",
    "sat": "SA",
    "sun": "SU",
}
_WORKDAYS = ("mon", "tue", "wed", "thu", "fri")
_WEEKEND = ("sat", "sun")
_SECONDS = {"HOURLY": 3600, "MINUTELY": 60}
# How far ahead the first occurrence of a rule with days is looked for (a 31st: months; a
# 29 February: up to 4 years).
_SEARCH_DAYS = 1500

# The codes of `Repeat.error` (the `repeat_error` slot) and their `error` text.
ZERO = "zero"  # "every 0 days": no interval
TOO_OFTEN = "too_often"  # "every 30 seconds": seconds are too often for a reminder
NO_SUCH_DAY = "no_such_day"  # "the 32nd of every month", "every february 30"
NO_SUCH_TIME = "no_such_time"  # "every day at 25:00"
ENDED = "ended"  # "every 2 hours until 18:00" said at 19:00: no occurrence before the end
ERRORS = {
    ZERO: "zero interval",
    TOO_OFTEN: "seconds are too often",
    NO_SUCH_DAY: "no such day",
    NO_SUCH_TIME: "no such time",
    ENDED: "the end has passed",
}
# RFC 5545 3.3.10: BYSETPOS values are 1 to 366.
_MAX_SETPOS = 366
# Days in each month, a leap year's February included (RFC 5545 skips the years without).
_MONTH_DAYS = {m: monthrange(2024, m)[1] for m in range(1, 13)}

# Whole numbers written as words ("every two days", "toutes les deux semaines", "каждые
# две недели"); vague ones ("a few", "plusieurs") are no interval.
_VAGUE = {"few", "several", "couple", "quelques", "plusieurs", "несколько", "пару", "пара"}
_NUMBERS = {
    w: int(v)
    for w, v in NUMBER_WORDS.items()
    if v == int(v) and v >= 2 and w not in _VAGUE and len(w) > 1
}
_NUM = "|".join(sorted(_NUMBERS, key=len, reverse=True))

_UNITS = {
    "SECONDLY": r"seconds?|secs?|secondes?|секунд[уы]?|сек",
    "MINUTELY": r"minutes?|mins?|mn|минут[уы]?|мин",
    "HOURLY": r"hours?|hrs?|h|heures?|часа|часов|час",
    "DAILY": r"days?|jours?|journees?|дня|дней|день|сутки|суток",
    "WEEKLY": r"weeks?|semaines?|недел[юиья]|недель",
    "MONTHLY": r"months?|mois|месяц(?:а|ев)?",
    "YEARLY": r"years?|ans|annees?|года?|лет",
}
_UNIT = "|".join(f"(?P<{freq}>{forms})" for freq, forms in _UNITS.items())
_EVERY = (
    r"(?:every|each|chaque|tou(?:te)?s\s+les|кажд(?:ый|ая|ое|ую|ые|ого|ой|ом|ому))"
    r"(?:\s+(?:single|seule?))?"
)
_DAY_FORMS = sorted((f for forms in WEEKDAY_FORMS.values() for f in forms), key=len, reverse=True)
_DAY = "(?:" + "|".join(_DAY_FORMS) + ")"
_DAY_RES = [(d, re.compile(rf"^(?:{'|'.join(forms)})$")) for d, forms in WEEKDAY_FORMS.items()]
# Plural names, a habit on their own ("on mondays", "les lundis", "по понедельникам").
_DAY_PLURAL = (
    r"(?:mondays|tuesdays|wednesdays|thursdays|fridays|saturdays|sundays|lundis|mardis"
    r"|mercredis|jeudis|vendredis|samedis|dimanches|понедельникам|вторникам|средам"
    r"|четвергам|пятницам|субботам|воскресеньям)"
)
_AND = r"(?:\s*(?:,|&|/|\+|\band\b|\bet\b|\bи\b)\s*|\s+)"
_AGAIN = r"(?:(?:every|each|on|the|le|les|chaque|tous\s+les|кажд\w+|в|во|по)\s+)?"
_DAY_LIST = rf"{_DAY}\b(?:{_AND}{_AGAIN}{_DAY}\b)*"
_PLURAL_LIST = rf"{_DAY_PLURAL}\b(?:{_AND}{_AGAIN}{_DAY_PLURAL}\b)*"
_MONTH = "(?:" + "|".join(f for forms in MONTH_FORMS for f in forms if len(f) > 2) + ")"
_OTHER = r"(?P<other>other|seconds?|2nd|autre)"  # "second" is read "seconds" (fuzzy)
_COUNT = rf"(?P<n>\d{{1,3}}|{_NUM})"


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


# "every 2 days", "every other week", "toutes les 30 minutes", "каждые две недели"
_EVERY_UNIT = _rx(rf"\b{_EVERY}\s+(?:{_OTHER}\s+|{_COUNT}(?:st|nd|rd|th)?\s*)?(?:{_UNIT})\b")
# "раз в две недели", "раз в день" (not "2 раза в день": no RECUR value without BYHOUR)
_ONCE_PER = _rx(rf"\bраз\s+в\s+(?:{_COUNT}\s+)?(?:{_UNIT})\b")
_TIMES = re.compile(rf"\b(?:[2-9]|\d{{2,}}|{_NUM}|пару|несколько)\s*$")  # "5 раз в день"
# "une semaine sur deux", "un jour sur deux"
_ONE_IN = _rx(rf"\b(?:une?|1)\s+(?:{_UNIT})\s+sur\s+(?P<n>\d|deux|trois|quatre)\b")
# "every half hour", "toutes les demi-heures", "каждые полчаса"
_HALF_HOUR = _rx(
    r"\b(?:every|each)\s+half(?:\s+an)?[\s-]+hour\b|\btoutes\s+les\s+demi[-\s]heures?\b"
    r"|\bкажд\w+\s+пол\s*-?\s*часа\b"
)
_WORK = _rx(
    rf"\b{_EVERY}\s+(?:week\s*-?\s*days?|work\s*-?\s*days?|business\s+days?|working\s+days?)\b"
    r"|\b(?:on\s+)?(?:week\s*-?\s*days|work\s*-?\s*days|business\s+days|working\s+days)\b"
    r"|\ben\s+semaine\b|\b(?:les\s+|tous\s+les\s+|chaque\s+)?jours?\s+(?:ouvrables?|ouvres?"
    r"|de\s+semaine|de\s+travail)\b"
    r"|\bпо\s+будн\w*(?:\s+дням)?|\bв\s+будни(?:е\s+дни)?\b|\bпо\s+рабочим(?:\s+дням)?"
    r"|\bкажд\w+\s+(?:будн|рабоч)\w+\s+день\b"
)
_WEEKEND_RX = _rx(
    rf"\b{_EVERY}\s+week\s*-?\s*end\b|\b(?:on\s+|at\s+)?week\s*-?\s*ends\b"
    r"|\b(?:le|les|tous\s+les|chaque)\s+week\s*-?\s*ends?\b"
    r"|\bпо\s+выходным(?:\s+дням)?|\bкажд\w+\s+выходн\w+(?:\s+дни)?"
)
_EVERY_DAYS = _rx(rf"\b{_EVERY}\s+(?:{_OTHER}\s+)?(?P<list>{_DAY_LIST})")
_PLURAL_DAYS = _rx(rf"\b(?:(?:on|les|по)\s+)?(?P<list>{_PLURAL_LIST})")
_DAY_RANGE = _rx(
    rf"\b(?:from\s+|du\s+|с\s+)?(?P<a>{_DAY})\s*(?:to|through|thru|-|au|по)\s*(?P<b>{_DAY})\b"
)
# "daily", "ежедневно"; not "my daily walk", "the weekly meeting"
_ADVERB = _rx(
    r"(?<!\bmy\s)(?<!\bthe\s)(?<!\ba\s)(?<!\bour\s)(?<!\byour\s)(?<!\bhis\s)(?<!\bher\s)"
    r"\b(?:(?P<DAILY>daily|everyday|every\s*day|quotidiennement|ежедневно)"
    r"|(?P<WEEKLY>weekly|hebdomadairement|еженедельно)"
    r"|(?P<WEEKLY2>fortnightly|biweekly|bi-weekly)"
    r"|(?P<MONTHLY>monthly|mensuellement|ежемесячно)"
    r"|(?P<YEARLY>yearly|annually|annuellement|ежегодно)"
    r"|(?P<HOURLY>hourly|ежечасно))\b"
)
# A part of the day repeated: the time reader reads the part word put in its place.
_PARTS = _rx(
    r"\b(?:every|each)\s+(?P<en>morning|afternoon|evening|night)\b"
    r"|\b(?:chaque|tous\s+les)\s+(?P<fr>matin|soir|apres-midi|nuit)s?\b"
    r"|\bкажд\w+\s+(?P<ru>утро|вечер|ночь)\b|\bпо\s+(?P<ru2>утрам|вечерам|ночам)\b"
)
_PART_WORD = {"утро": "утром", "вечер": "вечером", "ночь": "ночью", "утрам": "утром",
              "вечерам": "вечером", "ночам": "ночью"}  # fmt: skip
# A day of the month: "каждое 1 число", "every 15th"
_RU_MONTH_DAY = _rx(r"\bкажд\w+\s+(?P<d>\d{1,2})(?:-?(?:го|е|ое))?\s+числ\w*")
_EN_MONTH_DAY = _rx(
    rf"\b(?:every|each)\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)\b(?!\s*(?:{_UNIT})\b)"
    r"(?:\s+(?:day\s+)?of\s+(?:the|each|every)\s+month\b)?"
)
# ... next to a monthly word: "every month on the 15th", "on the 1st of every month",
# "tous les mois le 5", "le 1er de chaque mois", "1-го числа каждого месяца"
_DOM_AFTER = _rx(
    r"^\s*,?\s*(?:(?:on\s+)?(?:the\s+)?(?P<d1>\d{1,2})(?:st|nd|rd|th)(?:\s+day)?\b"
    r"|on\s+(?:the\s+)?(?P<d2>\d{1,2})\b(?!\s*(?:h\b|:|am\b|pm\b))"
    r"|(?:le|au)\s+(?P<d3>\d{1,2})(?:er|e|eme)?\b(?!\s*(?:h\b|heures?\b|:))"
    r"|(?P<d4>\d{1,2})(?:-?(?:го|е|ое))?\s+числ\w*|(?P<d5>\d{1,2})-(?:го|е)\b"
    r"|(?P<last>(?:on\s+)?(?:the\s+)?last\s+day\b|(?:le\s+)?dernier\s+jour\b"
    r"|(?:в\s+)?последн\w+\s+(?:день|числ\w*)))"
)
_DOM_BEFORE = _rx(
    r"(?:(?:on\s+)?(?:the\s+)?(?P<d1>\d{1,2})(?:st|nd|rd|th)?\s+(?:day\s+)?of\s+(?:the\s+)?"
    r"|(?:le\s+)(?P<d2>\d{1,2})(?:er|e|eme)?\s+(?:de\s+|d')"
    r"|(?P<d3>\d{1,2})(?:-?(?:го|е|ое))?\s+числа\s+"
    r"|(?P<last>(?:on\s+)?(?:the\s+)?last\s+day\s+of\s+(?:the\s+)?"
    r"|(?:le\s+)?dernier\s+jour\s+(?:de\s+|d')|(?:в\s+)?последн\w+\s+(?:день|числа)\s+))$"
)
# "every last day of the month", "chaque dernier jour du mois", "каждый последний день месяца"
_LAST_DAY = _rx(
    r"(?P<last>\b(?:every|each)\s+last\s+day\s+of\s+(?:the\s+)?month\b"
    r"|\bchaque\s+dernier\s+jour\s+du\s+mois\b"
    r"|\bкажд\w+\s+последн\w+\s+(?:день|число)(?:\s+(?:месяца|в\s+месяце))?)"
)
# "every week on monday and thursday", "toutes les deux semaines le lundi"
_DAYS_AFTER = _rx(rf"^\s*,?\s*(?:(?:on|le|les|в|во|по)\s+)?(?P<list>{_DAY_LIST})")
# "every March 5", "chaque 5 mars": yearly, the date read by the time reader
_EVERY_DATE = _rx(rf"\b{_EVERY}\s+(?=(?:the\s+)?(?:\d{{1,2}}(?:st|nd|rd|th|er)?\s+)?{_MONTH}\b)")
# The date of a yearly rule, read here when the time reader cannot ("29 february" is in
# no year ahead but a leap one; "february 30" in none).
_YEAR = r"(?:,?\s+(?:19|20)\d{2}\b)?"
_DATE_DM = _rx(
    r"(?:\b(?:on|le|the|du|au|в)\s+)?(?:the\s+)?(?<![\d.,:])(?P<d>\d{1,2})"
    rf"(?:st|nd|rd|th|er|eme|-?го|-?е)?\s+(?:of\s+)?(?P<m>{_MONTH})\b\.?{_YEAR}"
)
_DATE_MD = _rx(
    rf"(?:\bon\s+)?\b(?P<m>{_MONTH})\.?\s+(?:the\s+)?(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\b"
    rf"(?!\s*(?::|h\b|am\b|pm\b)){_YEAR}"
)
_MONTH_RES = [
    (i + 1, re.compile(rf"^(?:{'|'.join(forms)})$")) for i, forms in enumerate(MONTH_FORMS)
]

# A span of a repeat: "for 3 days", "for the next 2 weeks", "pendant 3 jours", "в течение
# 3 дней", "в течение недели", "на 3 дня".
_ONE = r"an?|one|une?|один|одну|одного|одной"
_SPAN_UNIT = "|".join(forms for f, forms in _UNITS.items() if f != "SECONDLY")
_UNIT_RES = [(f, re.compile(rf"^(?:{forms})$")) for f, forms in _UNITS.items()]
_SPAN = _rx(
    rf"\b(?:for|during|pendant|durant)\s+(?:the\s+(?:next\s+)?|les\s+)?(?P<n>\d{{1,3}}|{_NUM}"
    rf"|{_ONE})\s+(?:next\s+|prochaine?s\s+)?(?P<u>{_SPAN_UNIT})\b"
    rf"|\b(?:в\s+течени[еи]|на\s+протяжении)\s+(?:(?P<n2>\d{{1,3}}|{_NUM}|{_ONE})\s+)?"
    rf"(?:следующ\w+\s+)?(?P<u2>{_SPAN_UNIT})\b"
    rf"|\bна\s+(?P<n3>\d{{1,3}}|{_NUM})\s+(?P<u3>{_SPAN_UNIT})\b"
)
_RANK = ("SECONDLY", "MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY")

# A time of day that does not exist ("at 25:00", "9:75", "à 25h", "в 25 часов", "at 25"),
# with the word before it; the time readers leave it unread.
_AT_WORD = r"(?:\b(?:at|a|vers|в|во|к)\s+)?"
_BAD_HM = _rx(rf"{_AT_WORD}(?<![\d.,:/])(?P<h>\d{{1,2}})\s*(?::|h)\s*(?P<m>\d{{2}})(?![\d:/])")
_BAD_HU = _rx(
    rf"{_AT_WORD}(?<![\d.,:/])(?P<h>\d{{1,2}})\s*(?P<u>am|pm|h|heures?|ч|часов|часа"
    r"|o'?clock)(?!\w)"
)
_BAD_AT = _rx(
    rf"\bat\s+(?P<h>\d{{1,2}})(?![\d:.,/%€$])(?!\s*(?:{_UNIT}|{_MONTH}|st|nd|rd|th"
    r"|percent|euros?|dollars?)\b)"
)

# The end of a repeat ("until 18:00", "jusqu'à vendredi", "до 18:00") and its start for
# hourly ones ("from 9", "à partir de 9h", "с 9", "between 9 and 18").
_UNTIL = _rx(r"\b(?:until|till|til|jusqu'(?:a|au|aux)|jusqu\s+(?:a|au)|до)(?=\s)")
_START = _rx(
    r"\b(?:from|starting(?:\s+(?:at|from))?|beginning(?:\s+at)?|a\s+partir\s+d[e']|des"
    r"|начиная\s+с|с|со)(?=\s)"
)


def _hour(p: str = "") -> str:
    """An hour of the day ("9", "18:00", "9h30", "6pm", "в 9 часов"), groups `{p}h`,
    `{p}m` (minutes) and `{p}u` (its unit)."""
    return (
        rf"(?P<{p}h>\d{{1,2}})(?:\s*(?::|h|ч|\.)\s*(?P<{p}m>\d{{2}}))?(?:\s*(?P<{p}u>am|pm|h"
        rf"|heures?|ч|часов|часа|час)(?!\w))?"
    )


_HOUR_ALONE = _rx(rf"^\s*{_hour()}(?!\s*(?:[\d/.]|{_MONTH}\b|числ|st\b|nd\b|rd\b|th\b|er\b))")
_HOURS = _rx(
    rf"\b(?:from|between|de|entre|с|со)\s+{_hour('s')}"
    rf"\s*(?:to|and|-|a|au|et|до|по)\s+{_hour()}(?!\s*[\d/])"
)
# Words that end the few words read after "until" / "from".
_STOP = frozenset(
    "at a to and et и de pour чтобы в во then puis every each chaque каждый каждые каждое"
    " on le by par".split()
)
_WINDOW_WORDS = 4
_TRIES = 3  # "until" / "from" words tried, each with the time reader


@dataclass
class Repeat:
    """A repeat rule read in a message: RECUR parts and where its words are.

    `spans`: the offsets (canonical text) of the rule's words, blanked before the time
    reader runs and cut from the reminder text; `hints`: (start, end, words) put in their
    place for the time reader ("every evening" -> "evening"); `start`: the first hour of
    an hourly rule (hour, minute) when said ("from 9"); `until`: the aware end, if said;
    `until_clock`: an end said as an hour alone ("until 18:00"), that hour on the day of
    the first occurrence (set by `first_at`); `end`: the last hour (hour, minute) of a
    window said with its start ("from 9 to 18"); `times`: the (hour, minute) of each
    occurrence of a day, sorted, for a daily window (FREQ=DAILY); `byhour`: the hours of
    a window no BYSETPOS can state (kept MINUTELY, see `_to_window`); `bymonth`,
    `bymonthday` (-1: the last day): the date of the rule when said as parts; `span`:
    (number, unit as a FREQ value) of a "for 3 days", turned into `count` or `until` by
    `first_at`; `error`: a code of `ERRORS` when no rule can be stated (then `rule` means
    nothing).
    """

    freq: str
    interval: int = 1
    byday: tuple[str, ...] = ()
    bymonth: int | None = None
    bymonthday: int | None = None
    count: int | None = None
    span: tuple[int, str] | None = None
    error: str | None = None
    until: datetime | None = None
    until_clock: tuple[int, int] | None = None
    start: tuple[int, int] | None = None
    end: tuple[int, int] | None = None
    times: tuple[tuple[int, int], ...] = ()
    byhour: tuple[int, ...] = ()
    spans: list[tuple[int, int]] = field(default_factory=list)
    hints: list[tuple[int, int, str]] = field(default_factory=list)

    @property
    def rule(self) -> str:
        """The RECUR value (RFC 5545 3.3.10), parts in the order FREQ, INTERVAL (when > 1),
        BYDAY, BYMONTH, BYMONTHDAY, BYHOUR, BYMINUTE, BYSETPOS (a daily window), then UNTIL
        (UTC, "YYYYMMDDTHHMMSSZ") or COUNT (never both: RFC 5545 3.3.10)."""
        parts = [f"FREQ={self.freq}"]
        if self.interval > 1:
            parts.append(f"INTERVAL={self.interval}")
        if self.byday:
            parts.append("BYDAY=" + ",".join(RFC_DAYS[d] for d in DAYS if d in self.byday))
        if self.bymonth is not None:
            parts.append(f"BYMONTH={self.bymonth}")
        if self.bymonthday is not None:
            parts.append(f"BYMONTHDAY={self.bymonthday}")
        parts.extend(_time_parts(self.times))
        if self.byhour:
            parts.append("BYHOUR=" + ",".join(map(str, self.byhour)))
        if self.until is not None:
            parts.append("UNTIL=" + self.until.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ"))
        elif self.count is not None:
            parts.append(f"COUNT={self.count}")
        return ";".join(parts)

    def blank(self, c: str) -> str:
        """`c` with the rule's words blanked and the hints in place (same length)."""
        for s, e in self.spans:
            c = c[:s] + " " * (e - s) + c[e:]
        for s, e, words in self.hints:
            c = c[:s] + words.rjust(e - s)[: e - s] + c[e:]
        return c


def _product(times: tuple[tuple[int, int], ...]) -> list[tuple[int, int]]:
    """Every (hour, minute) of BYHOUR x BYMINUTE for `times`, sorted as a day's set."""
    hours = sorted({h for h, _ in times})
    minutes = sorted({m for _, m in times})
    return [(h, m) for h in hours for m in minutes]


def _time_parts(times: tuple[tuple[int, int], ...]) -> list[str]:
    """BYHOUR, BYMINUTE and, when their product has more times than `times`, BYSETPOS (the
    positions of `times` in the day's sorted set: RFC 5545 3.3.10) for a daily window."""
    if not times:
        return []
    product = _product(times)
    parts = [
        "BYHOUR=" + ",".join(str(h) for h in sorted({h for h, _ in times})),
        "BYMINUTE=" + ",".join(str(m) for m in sorted({m for _, m in times})),
    ]
    if len(product) > len(times):
        keep = set(times)
        parts.append("BYSETPOS=" + ",".join(str(i + 1) for i, t in enumerate(product) if t in keep))
    return parts


def _count(m: re.Match[str]) -> int | None:
    """The interval of a match with groups `other` and `n` (0 for "every 0 days"); None
    when it is no number."""
    if m.groupdict().get("other"):
        return 2
    n = m.groupdict().get("n")
    if not n:
        return 1
    value = int(n) if n.isdigit() else _NUMBERS.get(n)
    return value if value is not None and 0 <= value <= 999 else None


def _freq(m: re.Match[str]) -> str:
    return next(f for f in _UNITS if m.group(f))


def _day_of(word: str) -> str | None:
    word = word.rstrip(".")
    return next((d for d, rx in _DAY_RES if rx.match(word)), None)


def _days_in(text: str) -> tuple[str, ...]:
    """The weekdays named in a list ("monday, wednesday and friday")."""
    found = {_day_of(w) for w in re.findall(rf"{_DAY}\b", text)}
    return tuple(d for d in DAYS if d in found)


def _day_range(a: str, b: str) -> tuple[str, ...]:
    i, j = DAYS.index(a), DAYS.index(b)
    return tuple(DAYS[(i + k) % 7] for k in range((j - i) % 7 + 1))


def _month_day(m: re.Match[str]) -> int | None:
    """The day of the month a match names (groups `d…`; -1 for `last`), valid or not."""
    if m.groupdict().get("last"):
        return -1
    return next((int(v) for k, v in m.groupdict().items() if k.startswith("d") and v), None)


def _set_month_day(rep: Repeat, d: int) -> None:
    """BYMONTHDAY = `d` (-1 or 1 to 31), else the rule is in error (no such day)."""
    if d == -1 or 1 <= d <= 31:
        rep.bymonthday = d
    else:
        rep.error = NO_SUCH_DAY


def _month_of(word: str) -> int:
    word = word.rstrip(".")
    return next((i for i, rx in _MONTH_RES if rx.match(word)), 0)


def _unit_repeat(c: str) -> Repeat | None:
    """A repeat by unit: "every 2 days", "раз в неделю", "un jour sur deux", "daily"."""
    m = _HALF_HOUR.search(c)
    if m:
        return Repeat("MINUTELY", 30, spans=[m.span()])
    for rx in (_EVERY_UNIT, _ONCE_PER, _ONE_IN):
        m = rx.search(c)
        if m is None:
            continue
        n = _count(m)
        if n is None or (rx is _ONCE_PER and _TIMES.search(c[: m.start()])):
            continue
        freq = _freq(m)
        if n == 0 or freq == "SECONDLY":
            return Repeat(freq, max(n, 1), spans=[m.span()], error=ZERO if n == 0 else TOO_OFTEN)
        if freq == "DAILY" and n == 15 and re.search(r"jours|journees", m.group()):
            return Repeat("WEEKLY", 2, spans=[m.span()])  # "tous les quinze jours"
        return Repeat(freq, n, spans=[m.span()])
    m = _ADVERB.search(c)
    if m:
        if m.group("WEEKLY2"):
            return Repeat("WEEKLY", 2, spans=[m.span()])
        freq = next(f for f in ("DAILY", "WEEKLY", "MONTHLY", "YEARLY", "HOURLY") if m.group(f))
        return Repeat(freq, spans=[m.span()])
    return None


def _day_repeat(c: str) -> Repeat | None:
    """A repeat by weekdays: "every weekday", "le week-end", "every monday and thursday",
    "on mondays", "du lundi au vendredi"."""
    m = _WORK.search(c)
    if m:
        return Repeat("WEEKLY", byday=_WORKDAYS, spans=[m.span()])
    m = _WEEKEND_RX.search(c)
    if m:
        return Repeat("WEEKLY", byday=_WEEKEND, spans=[m.span()])
    m = _EVERY_DAYS.search(c) or _PLURAL_DAYS.search(c)
    if m:
        days = _days_in(m.group("list"))
        if days:
            return Repeat("WEEKLY", _count(m) or 1, byday=days, spans=[m.span()])
    m = _DAY_RANGE.search(c)
    if m:
        a, b = _day_of(m.group("a")), _day_of(m.group("b"))
        if a and b and a != b:
            return Repeat("WEEKLY", byday=_day_range(a, b), spans=[m.span()])
    return None


def _with_details(c: str, rep: Repeat) -> Repeat:
    """The days of a weekly rule or the day of a monthly one written next to it."""
    s, e = rep.spans[0]
    if rep.freq == "WEEKLY" and not rep.byday:
        m = _DAYS_AFTER.search(c[e:])
        if m and (days := _days_in(m.group("list"))):
            rep.byday = days
            rep.spans.append((e, e + m.end()))
    if rep.freq == "MONTHLY":
        after = _DOM_AFTER.search(c[e:])
        before = _DOM_BEFORE.search(c[max(0, s - 30) : s])
        if after and (d := _month_day(after)) is not None:
            _set_month_day(rep, d)
            rep.spans.append((e, e + after.end()))
        elif before and (d := _month_day(before)) is not None:
            _set_month_day(rep, d)
            rep.spans.append((s - len(before.group()), s))
    return rep


def _with_date(c: str, rep: Repeat) -> Repeat:
    """The date of a yearly rule when the time reader cannot read it: 29 February (BYMONTH
    and BYMONTHDAY, so that only leap years have it) or a day no month has (an error)."""
    if rep.freq != "YEARLY" or rep.error:
        return rep
    rest = rep.blank(c)
    m = _DATE_DM.search(rest) or _DATE_MD.search(rest)
    month = _month_of(m.group("m")) if m else 0
    if m is None or not month:
        return rep
    d = int(m.group("d"))
    if not 1 <= d <= _MONTH_DAYS[month]:
        rep.error = NO_SUCH_DAY
    elif (month, d) == (2, 29):
        rep.bymonth, rep.bymonthday = 2, 29
    else:
        return rep  # a date of every year: the time reader reads it, `at` carries it
    rep.spans.append(m.span())
    return rep


def _rule_of(c: str) -> Repeat | None:
    """The repeat rule of canonical text `c` (no end, no first time yet), or None."""
    for rx in (_RU_MONTH_DAY, _EN_MONTH_DAY, _LAST_DAY):
        m = rx.search(c)
        if m and (d := _month_day(m)) is not None:
            rep = Repeat("MONTHLY", spans=[m.span()])
            _set_month_day(rep, d)
            return rep
    m = _PARTS.search(c)
    if m:
        part = next(g for g in ("en", "fr", "ru", "ru2") if m.group(g))
        word = _PART_WORD.get(m.group(part), m.group(part))
        return Repeat("DAILY", hints=[(*m.span(), word)])
    found = _day_repeat(c) or _unit_repeat(c)
    if found is not None:
        return _with_date(c, _with_details(c, found))
    m = _EVERY_DATE.search(c)
    if m:
        return _with_date(c, Repeat("YEARLY", spans=[m.span()]))
    return None


def _window(c: str, end: int) -> tuple[int, int]:
    """The few words after offset `end` read with an "until" or "from" word, up to a word
    that starts something else ("at", "to", "de", ...)."""
    stop = end
    for k, m in enumerate(re.finditer(r"\S+", c[end:])):
        if k >= _WINDOW_WORDS or m.group().strip(",.;:!?") in _STOP:
            break
        stop = end + m.end()
    return end, stop


def _read_after(
    c: str, start: int, end: int, read: Callable[[str], TimeResult]
) -> tuple[TimeResult, tuple[int, int]] | None:
    """The moment written in the few words after `start`:`end` (an "until" or "from"
    word), and the span of it all; a bare hour ("до 18") has its clock and no `at`."""
    ws, we = _window(c, end)
    if we <= ws:
        return None
    only = " " * ws + c[ws:we] + " " * (len(c) - we)
    res = read(only)
    if res.at is not None and res.spans:
        last = max(e for _, e in res.spans)
        return res, (start, max(last, end))
    m = _HOUR_ALONE.match(c[ws:we])
    if m is None:
        return None
    h, mi = int(m.group("h")), int(m.group("m") or 0)
    if m.group("u") == "pm" and h < 12:
        h += 12
    if h > 23 or mi > 59:
        return None
    return TimeResult(clock=(h, mi)), (start, ws + m.end())


def _until(c: str, rep: Repeat, read: Callable[[str], TimeResult], now: datetime) -> None:
    """Read the end of `rep` ("until 18:00", "jusqu'à vendredi": the end of that day)."""
    for m in islice(_UNTIL.finditer(c), _TRIES):
        got = _read_after(c, m.start(), m.end(), read)
        if got is None:
            continue
        res, span = got
        if res.day is None and res.clock is not None:
            rep.until_clock = res.clock
        elif res.day is not None and res.clock is None:
            rep.until = wall_clock(res.day, 23, 59, 59, zone=now.tzinfo)
        else:
            rep.until = res.at
        rep.spans.append(span)
        return


def _start(c: str, rep: Repeat, read: Callable[[str], TimeResult], now: datetime) -> None:
    """Read the first hour of an hourly or minutely rule ("from 9", "с 9 до 18")."""
    m = _HOURS.search(c)
    if m:
        h1, m1 = int(m.group("sh")), int(m.group("sm") or 0)
        h2, m2 = int(m.group("h")), int(m.group("m") or 0)
        if h1 < 24 and h2 < 24 and m1 < 60 and m2 < 60:
            rep.start, rep.end = (h1, m1), (h2, m2)
            rep.spans.append(m.span())
            return
    for m in islice(_START.finditer(c), _TRIES):
        got = _read_after(c, m.start(), m.end(), read)
        if got is not None and got[0].clock is not None:
            rep.start = got[0].clock
            rep.spans.append(got[1])
            return


def find_repeat(
    c: str, now: datetime, read: Callable[[str], TimeResult] | None = None
) -> Repeat | None:
    """The repeat rule of canonical text `c` with its end and start, or None (a reminder
    said once). `now`: the message's moment (aware, in the user's zone); `read(text)` reads
    a moment in text of the same length as `c` (default: `nlu.times.find_time`)."""
    rep = _rule_of(c)
    if rep is None:
        return None
    reader = read or (lambda text: find_time(text, now))
    rest = rep.blank(c)
    _until(rest, rep, reader, now)
    if rep.freq in _SECONDS:
        _start(rep.blank(c), rep, reader, now)
    _span(rep.blank(c), rep)
    _to_window(rep)
    return rep


def _to_window(rep: Repeat) -> None:
    """Make an hourly or minutely rule said with a start and an end of the day ("every 2
    hours from 8 to 20", "every 30 minutes between 9 and 11", "every hour from 9 until
    18") a daily window: FREQ=DAILY, `times` = the start plus whole intervals up to the
    end, included (an end before the start runs past midnight). When BYHOUR x BYMINUTE
    has more times and the BYSETPOS positions would pass 366 (RFC 5545 3.3.10; only
    intervals such as 7 minutes over hours), the rule stays MINUTELY limited to the
    window's hours (BYHOUR), started at the window's start: the whole last hour is in it."""
    end = rep.end or rep.until_clock
    if rep.freq not in _SECONDS or rep.start is None or end is None:
        return
    step = rep.interval * _SECONDS[rep.freq] // 60
    first = rep.start[0] * 60 + rep.start[1]
    last = end[0] * 60 + end[1]
    if last < first:
        last += 24 * 60
    times = tuple(sorted(((t // 60) % 24, t % 60) for t in range(first, last + 1, step)))
    rep.end = rep.until_clock = None
    product = _product(times)
    if len(product) > len(times) and len(product) > _MAX_SETPOS:
        rep.byhour = tuple(sorted({h for h, _ in times}))
        return
    rep.freq, rep.interval, rep.times = "DAILY", 1, times


def _span(c: str, rep: Repeat) -> None:
    """Read how long `rep` lasts ("for 3 days"); a span shorter than the rule's unit ("every
    day ... for 2 hours") is the reminder's words, not the rule's."""
    for m in _SPAN.finditer(c):
        n_word = m.group("n") or m.group("n2") or m.group("n3")
        unit_word = m.group("u") or m.group("u2") or m.group("u3")
        unit = next(f for f, rx in _UNIT_RES if rx.match(unit_word))
        if _RANK.index(unit) < _RANK.index(rep.freq):
            continue
        n = 1 if not n_word or re.fullmatch(_ONE, n_word) else None
        n = n or (int(n_word) if n_word.isdigit() else _NUMBERS.get(n_word))
        if n is None:
            continue
        if n == 0:
            rep.error = rep.error or ZERO
        rep.span = (n, unit)
        rep.spans.append(m.span())
        return


def impossible_time(c: str) -> tuple[int, int] | None:
    """The span of a time of day that does not exist in canonical text `c` ("at 25:00",
    "9:75", "à 25h", "в 25 часов", "at 25"), with the word before it, or None.
    Run on the text the time reader left: a time it read is never one."""
    for rx in (_BAD_HM, _BAD_HU, _BAD_AT):
        for m in rx.finditer(c):
            h = int(m.group("h"))
            mi = int(m.groupdict().get("m") or 0)
            unit = m.groupdict().get("u")
            if unit in ("am", "pm"):
                bad = not 1 <= h <= 12
            else:
                bad = h > 24 or mi > 59 or (h == 24 and mi > 0)
            if bad:
                return m.span()
    return None


def first_at(rep: Repeat, when: TimeResult, now: datetime) -> datetime:
    """The first occurrence of `rep` strictly after `now` (aware, in now's zone), at the
    time of day `when` read in the rest of the message (09:00 when none); an end said as
    an hour alone becomes that hour's first occurrence at or after it (`rep.until`).

    Hourly and minutely rules start at their said first hour (its next occurrence), or at
    what `when` read, else one interval from now (real time, to the minute); their end
    said as an hour alone, with no start nor day said, is today's: when the first
    occurrence is after it ("every 2 hours until 18:00" said at 19:00) `rep.error` is
    `ENDED` and `rep.until` stays None. A daily window: its first time still to come,
    from `when`'s date (or today). Rules of weekdays or a day of the month: the first
    such day from `when`'s date (or today) whose time is still to come. Others: `when`'s
    moment, or the next 09:00.
    """
    at = _first(rep, when, now)
    if rep.until_clock is not None and _ended(rep, when, at, now):
        rep.error = ENDED
    elif rep.until_clock is not None:  # `at` itself may be the end (UNTIL is inclusive)
        rep.until = next_occurrence(at - timedelta(seconds=1), *rep.until_clock)
    if rep.span is not None and rep.until is None:
        _end_of_span(rep, at, now)
    return at


def _ended(rep: Repeat, when: TimeResult, at: datetime, now: datetime) -> bool:
    """Whether the end hour of an hourly or minutely rule said with no start nor day is
    today's and comes before its first occurrence `at` (the end has passed)."""
    if rep.freq not in _SECONDS or rep.start is not None or rep.until_clock is None:
        return False
    if when.at is not None or when.day is not None:
        return False
    return at > wall_clock(now.date(), *rep.until_clock, zone=now.tzinfo)


def _end_of_span(rep: Repeat, at: datetime, now: datetime) -> None:
    """COUNT or UNTIL for a span ("for 3 days"): COUNT when the span is in the rule's own
    unit with one occurrence a unit (no INTERVAL, at most one weekday or time); else UNTIL: for
    hours or minutes, the message's moment plus the span (real time); for days and
    longer, the end (23:59:59 local) of the span's last day, counted from `at`'s day."""
    if rep.span is None:
        return
    n, unit = rep.span
    if unit == rep.freq and rep.interval == 1 and len(rep.byday) <= 1 and len(rep.times) <= 1:
        rep.count = n
    elif unit in _SECONDS:
        rep.until = elapsed(now, n * _SECONDS[unit])
    else:
        length = {
            "DAILY": relativedelta(days=n),
            "WEEKLY": relativedelta(weeks=n),
            "MONTHLY": relativedelta(months=n),
            "YEARLY": relativedelta(years=n),
        }[unit]
        last = at.date() + length - timedelta(days=1)
        rep.until = wall_clock(last, 23, 59, 59, zone=now.tzinfo)


def _first(rep: Repeat, when: TimeResult, now: datetime) -> datetime:
    zone = now.tzinfo
    if rep.times:
        return _first_of_window(rep.times, when, now)
    if rep.freq in _SECONDS:
        if rep.start is not None:
            return next_occurrence(now, *rep.start)
        if when.at is not None:
            return when.at
        return elapsed(now, rep.interval * _SECONDS[rep.freq]).replace(second=0)
    clock = when.clock or ((when.at.hour, when.at.minute) if when.at else DEFAULT_CLOCK)
    if not rep.byday and rep.bymonthday is None and rep.bymonth is None:
        return when.at if when.at is not None else next_occurrence(now, *clock)
    day = when.day or now.date()
    for k in range(_SEARCH_DAYS):
        d = day + timedelta(days=k)
        if _matches(rep, d):
            candidate = wall_clock(d, *clock, zone=zone)
            if candidate > now:
                return candidate
    return when.at or next_occurrence(now, *clock)


def _first_of_window(
    times: tuple[tuple[int, int], ...], when: TimeResult, now: datetime
) -> datetime:
    """The first of a daily window's `times` after `now`, from `when`'s date (or today)."""
    day = max(when.day or now.date(), now.date())
    candidates = (
        wall_clock(day + timedelta(days=k), h, m, zone=now.tzinfo)
        for k in range(2)  # the next day's first time is always to come
        for h, m in times
    )
    return next(c for c in candidates if c > now)


def _matches(rep: Repeat, d: date) -> bool:
    if rep.byday and DAYS[d.weekday()] not in rep.byday:
        return False
    if rep.bymonth is not None and d.month != rep.bymonth:
        return False
    if rep.bymonthday == -1:
        return (d + timedelta(days=1)).day == 1
    return rep.bymonthday is None or d.day == rep.bymonthday
