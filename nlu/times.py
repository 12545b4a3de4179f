"""Rule-based reading of dates and times in English, French and Russian.

Works on the canonical text of a Message (folded, phone numbers masked), so the digits
of a phone number can never become a time. Returns the moment and the spans of the
time words, so that reminder texts can be cut free of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from nlu.lexicon import MONTH_FORMS, NUMBER_WORD_RE, NUMBER_WORDS, UNIT_SECONDS, WEEKDAY_LONG

_FILL = "\x03"

# ------------------------------------------------------------------ durations
_NUM = r"\d+(?:[.,]\d+)?"
_UNITS = "|".join(u for u, _ in UNIT_SECONDS)
_UNIT_RES = [(re.compile(rf"^(?:{u})$"), s) for u, s in UNIT_SECONDS]
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
_HALF = r"(?:\s*(?:and\s+a\s+half|et\s+demie?|с\s+половиной))?"
_DUR = rf"(?:{_SPECIAL_RE}|{_ITEM}(?:\s*(?:,|and|et|и)?\s*{_ITEM})*{_HALF})"
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


def _num(s: str | None) -> float:
    if not s:
        return 1.0
    if s[0].isdigit():
        return float(s.replace(",", "."))
    return float(NUMBER_WORDS.get(s, 1))


def _unit_seconds(u: str) -> int:
    for rx, secs in _UNIT_RES:
        if rx.match(u):
            return secs
    if u.startswith(("hour", "heure", "час")):
        return 3600
    if u.startswith(("day", "jour", "день", "сутки")):
        return 86400
    if u.startswith(("week", "semaine", "недел")):
        return 604800
    return 60


def _duration(body: str) -> float:
    for rx, secs in _SPECIAL.items():
        if re.fullmatch(rx, body):
            return secs
    total = 0.0
    last = 0
    for m in _ITEM_PARTS.finditer(body):
        if m.group("h"):
            total += int(m.group("h")) * 3600 + int(m.group("m")) * 60
            last = 3600
        else:
            last = _unit_seconds(m.group("u") or m.group("u2") or m.group("u3"))
            total += _num(m.group("n") or m.group("nw")) * last
    if re.search(r"(?:half|demie?|половиной)$", body):
        total += last / 2
    return total


# ------------------------------------------------------------------ parts of the day
_PART_HOURS = {"morning": 9, "afternoon": 15, "evening": 19, "tonight": 20, "night": 22}
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
_PARTS = "|".join(p for _, p in _PART_WORDS)
_PART_RES = [(name, re.compile(rf"^(?:{p})$")) for name, p in _PART_WORDS]


def _part_name(s: str | None) -> str | None:
    if not s:
        return None
    s = " ".join(s.split())
    for name, rx in _PART_RES:
        if rx.match(s):
            return name
    return None


def _apply_part(h: int, part: str | None, raw_part: str | None = None) -> int:
    if part is None:
        return h
    if part == "morning":
        return 0 if h == 12 else h
    if part == "afternoon":
        if raw_part and raw_part.startswith("дн") and h > 6:
            return h
        return h + 12 if h < 12 else h
    if part in ("evening", "tonight"):
        return h + 12 if h < 12 else h
    if part == "night":
        if h == 12:
            return 0
        return h + 12 if 6 <= h < 12 else h
    return h


# ------------------------------------------------------------------ times of day
_PREP = r"(?:at|@|vers|around|about|by|for|pour|des|в|во|к|около|на|a)"
_APPROX = r"(?:(?:around|about|vers|environ|около|примерно|к)\s+)?"
_TOD_HM = re.compile(
    rf"(?:\b{_PREP}\s+)?{_APPROX}(?<![\d.,:])(?P<h>\d{{1,2}})\s*(?::|h|ч)\s*(?P<mi>\d{{2}})(?!\d)"
    rf"(?:\s*(?:min|mn|минут))?(?:\s*(?P<part>{_PARTS})(?!\w))?"
)
_TOD_DOT = re.compile(
    rf"\b(?:at|a|в|во|к|vers)\s+{_APPROX}(?P<h>\d{{1,2}})\.(?P<mi>\d{{2}})(?!\d)"
    rf"(?:\s*(?P<part>{_PARTS})(?!\w))?"
)
_TOD_UNIT = re.compile(
    rf"(?:\b{_PREP}\s+)?{_APPROX}(?<![\d.,:])(?P<h>\d{{1,2}})\s*(?P<u>am|pm|a\.m\.|p\.m\.|h|heures?|hrs|o'?clock|часов|часа|час|ч)(?!\w)"
    rf"(?:\s*(?P<mi>\d{{2}})(?!\d))?(?:\s*(?P<part>{_PARTS})(?!\w))?"
)
_TOD_PREP = re.compile(
    rf"\b(?P<prep>at|@|vers|в|во|к|около|a|by)\s+{_APPROX}(?P<h>\d{{1,2}})(?![\d:.,]|\s*(?:-|to|a|au|до|et|and)\s*\d)"
    r"(?!\s*(?:minutes?|mins?|hours?|heures?|jours?|days?|weeks?|дн\w*|час\w*|мин\w*|ett|waves"
    r"|€|\$|%|раз\w*|st|nd|rd|th|er|-?го|-?е|января|февраля|марта|апреля|мая|июня|июля"
    r"|августа|сентября|октября|ноября|декабря))"
    rf"(?:\s*(?P<part>{_PARTS})(?!\w))?"
)
_TOD_PART = re.compile(
    rf"(?:\b{_PREP}\s+)?{_APPROX}\b(?P<h>\d{{1,2}})\s+(?P<part>утра|вечера|дня|ночи|du\s+matin|du\s+soir|de\s+l'apres[-\s]midi|in\s+the\s+morning|in\s+the\s+evening|in\s+the\s+afternoon|at\s+night)\b"
)
_TOD_WORD = re.compile(
    rf"\b(?:at|a|в|vers)\s+(?P<hw>{NUMBER_WORD_RE})\s*(?P<u>o'?clock|heures?|часов|часа|час|am|pm)?"
    rf"(?:\s*(?P<part>{_PARTS})(?!\w))?"
)
_TOD_NOON = re.compile(
    r"(?:\b(?:at|a|в|vers|around|by|к|около|для|pour)\s+)?\b(?P<w>noon|midday|midi|полдень|полдня|midnight|minuit|полночь)\b"
    r"(?:\s+(?:et\s+demie?|trente|30))?"
)
_HALF_PAST = re.compile(
    rf"\b(?:at\s+)?(?P<q>half|quarter)\s+(?P<dir>past|to)\s+(?P<h>\d{{1,2}}|{NUMBER_WORD_RE})\b"
    rf"(?:\s*(?P<part>{_PARTS})(?!\w))?"
)
_AMPM = ("am", "pm", "a.m.", "p.m.")
_PART_ALONE = re.compile(
    rf"\b(?:(?:this|ce|cet|le|в|по|in\s+the|de\s+la|la)\s+)?(?P<part>{_PARTS})(?!\w)"
)

# ------------------------------------------------------------------ days
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


@dataclass
class TimeResult:
    """What was read: `at` (aware) or None, and the spans of the time words."""

    at: datetime | None = None
    spans: list[tuple[int, int]] = field(default_factory=list)


def _mask(work: str, a: int, b: int) -> str:
    return work[:a] + _FILL * (b - a) + work[b:]


def _month(s: str) -> int:
    s = s.rstrip(".")
    for i, rx in enumerate(_MONTH_RES):
        if rx.match(s):
            return i + 1
    return 0


def _safe_date(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _future_date(today: date, m: int, d: int, y: int | None) -> date | None:
    if y is not None:
        if y < 100:
            y += 2000
        return _safe_date(y, m, d)
    got = _safe_date(today.year, m, d)
    if got is None or got < today:
        got = _safe_date(today.year + 1, m, d)
    return got


def find_time(c: str, now: datetime, lang: str = "en", mdy: bool = False) -> TimeResult:
    """Read the moment meant by canonical text `c`, relative to aware `now`."""
    res = TimeResult()
    if not any(ch.isalnum() for ch in c):
        return res
    work = c
    today = now.date()
    tod: tuple[int, int] | None = None
    part: str | None = None
    the_date: date | None = None
    rel: float | None = None

    def take(m: re.Match) -> None:
        nonlocal work
        res.spans.append(m.span())
        work = _mask(work, *m.span())

    # ISO date(-time) first: its digits must not be read as anything else.
    m = _DATE_ISO.search(work)
    if m:
        the_date = _safe_date(int(m.group("y")), int(m.group("m")), int(m.group("d")))
        if m.group("h"):
            tod = (int(m.group("h")), int(m.group("mi")))
        take(m)

    m = _REL_MONTH.search(work)
    if m:
        n = int(m.group("n")) if m.group("n") else 1
        if 0 < n <= 24:
            y, mo = divmod(today.month - 1 + n, 12)
            d = min(today.day, 28 if mo == 1 else 30 if mo in (3, 5, 8, 10) else 31)
            rel = (date(today.year + y, mo + 1, d) - today).days * 86400.0
            take(m)
    m = None if rel is not None else _REL.search(work)
    if m:
        body = m.group("body") or m.group("body2")
        secs = _duration(body)
        if 0 < secs <= 400 * 86400:
            rel = secs
            take(m)

    # Times of day, most specific first.
    if tod is None:
        m = _HALF_PAST.search(work)
        if m:
            hs = m.group("h")
            h = int(hs) if hs.isdigit() else int(NUMBER_WORDS.get(hs, 0))
            if 0 < h <= 12:
                p = _part_name(m.group("part"))
                mi = 30 if m.group("q") == "half" else 15
                if m.group("dir") == "to":
                    h, mi = h - 1, 60 - mi
                tod = (_apply_part(h, p, m.group("part")), mi)
                part = p
                take(m)
    if tod is None:
        for rx in (_TOD_HM, _TOD_DOT, _TOD_UNIT, _TOD_PART, _TOD_PREP):
            if rx is _TOD_PREP or rx is _TOD_DOT:
                m = next((x for x in rx.finditer(work) if _prep_ok(x, lang)), None)
            else:
                m = rx.search(work)
            if not m:
                continue
            h = int(m.group("h"))
            mi = int(m.groupdict().get("mi") or 0)
            u = (m.groupdict().get("u") or "").replace(".", "")
            raw_part = m.groupdict().get("part")
            p = _part_name(raw_part)
            if u in ("am", "pm"):
                p = "morning" if u == "am" else "afternoon"
            if h > 24 or mi > 59:
                continue
            if rx is _TOD_PREP and rel is not None and p is None:
                continue
            tod = (_apply_part(h, p, raw_part) % 24 if h != 24 else 0, mi)
            part = p or part
            take(m)
            break
    if tod is None:
        m = _TOD_NOON.search(work)
        if m:
            w = m.group("w")
            mi = 30 if re.search(r"(?:demie?|trente|30)$", m.group()) else 0
            tod = (0 if w in ("midnight", "minuit", "полночь") else 12, mi)
            take(m)
    if tod is None:
        m = _TOD_WORD.search(work)
        if m and (m.group("u") or m.group("part") or lang == "en"):
            h = int(NUMBER_WORDS.get(m.group("hw"), 0))
            if 1 <= h <= 12 and h == NUMBER_WORDS.get(m.group("hw")):
                u = m.group("u") or ""
                p = _part_name(m.group("part"))
                if u in ("am", "pm"):
                    p = "morning" if u == "am" else "afternoon"
                tod = (_apply_part(h, p, m.group("part")), 0)
                part = p
                take(m)

    # Dates.
    if the_date is None:
        m = _DAYREL.search(work)
        if m:
            w = " ".join(m.group("w").split())
            off = _DAYREL_OFF.get(w, 2 if ("after" in w or "apres" in w or "после" in w) else 1)
            the_date = today + timedelta(days=off)
            take(m)
    if the_date is None:
        m = _WEEKDAY.search(work)
        if m:
            wd = next(i for i, d in enumerate(_DAYS) if m.group(d))
            ahead = (wd - today.weekday()) % 7 or 7
            the_date = today + timedelta(days=ahead)
            take(m)
    if the_date is None:
        m = _WEEK.search(work)
        if m:
            wd = today.weekday()
            if m.group("we"):
                the_date = today + timedelta(days=(5 - wd) % 7 or 7)
            else:
                the_date = today + timedelta(days=7 - wd)
            take(m)
    if the_date is None:
        for rx in (_DATE_DM, _DATE_MD):
            m = rx.search(work)
            if m:
                mo = _month(m.group("m"))
                d = int(m.group("d"))
                y = int(m.group("y")) if m.group("y") else None
                got = _future_date(today, mo, d, y) if mo else None
                if got:
                    the_date = got
                    take(m)
                    break
    if the_date is None:
        m = _DATE_NUM.search(work)
        if m and (m.group("y") or m.group("sep") == "/" or m.group("prep")):
            a, b = int(m.group("a")), int(m.group("b"))
            d, mo = (b, a) if mdy else (a, b)
            if mo > 12 >= d:
                d, mo = mo, d
            y = int(m.group("y")) if m.group("y") else None
            got = _future_date(today, mo, d, y) if 1 <= mo <= 12 else None
            if got:
                the_date = got
                take(m)
    if the_date is None:
        m = _DATE_ORD.search(work)
        if m:
            d = int(m.group("d1") or m.group("d2") or m.group("d3"))
            got = _safe_date(today.year, today.month, d) if 1 <= d <= 31 else None
            if got is not None and got < today:
                nm = today.month % 12 + 1
                got = _safe_date(today.year + (today.month == 12), nm, d)
            if got:
                the_date = got
                take(m)

    # A part of the day on its own ("tomorrow morning", "ce soir", "вечером").
    m = next((x for x in _PART_ALONE.finditer(work) if x.group("part") not in _AMPM), None)
    if m:
        p = _part_name(m.group("part"))
        if p:
            take(m)
            if tod is not None:
                if part is None:
                    tod = (_apply_part(tod[0], p, m.group("part")), tod[1])
            else:
                part = p
                tod = (_PART_HOURS[p], 0)
                if p == "tonight" and the_date is None:
                    the_date = today

    # Compose.
    tz = now.tzinfo
    if rel is not None:
        if tod is not None and the_date is None and rel % 86400 == 0:
            the_date = today + timedelta(seconds=rel)
        elif the_date is None or tod is None:
            res.at = (now + timedelta(seconds=rel)).replace(microsecond=0)
            return res
    if the_date is None and tod is None:
        res.spans = []
        return res
    if tod is None:
        tod = (9, 0)
    if the_date is None:
        cand = datetime(today.year, today.month, today.day, tod[0], tod[1], tzinfo=tz)
        if cand <= now:
            nxt = today + timedelta(days=1)
            cand = datetime(nxt.year, nxt.month, nxt.day, tod[0], tod[1], tzinfo=tz)
        res.at = cand
        return res
    res.at = datetime(the_date.year, the_date.month, the_date.day, tod[0], tod[1], tzinfo=tz)
    return res


def _prep_ok(m: re.Match, lang: str) -> bool:
    """'a' is a time preposition only in French ('à' folded); 'на' needs a time unit."""
    prep = (m.groupdict().get("prep") or m.group().split(maxsplit=1)[0]).strip()
    if prep == "a" and lang != "fr":
        return False
    return True
