"""A repeating reminder's rule in words, in the user's language: "every Monday at 09:00",
"tous les lundis à 09:00", "каждые 2 часа до 18:00" (the rule itself: domain.recurrence).
"""

from __future__ import annotations

from datetime import datetime

from babel.dates import format_date, get_day_names, get_month_names

from domain.recurrence import DAYS, Until, normalize_parts, parts_of, validate, zone_of

LANGS = ("en", "fr", "ru")

# describe(): short texts. Russian needs cases Babel does not give (accusative,
# dative plural), so its day words are written here; months come from Babel (genitive).
_RU_EVERY_DAY = {
    "MO": "каждый понедельник",
    "TU": "каждый вторник",
    "WE": "каждую среду",
    "TH": "каждый четверг",
    "FR": "каждую пятницу",
    "SA": "каждую субботу",
    "SU": "каждое воскресенье",
}
_RU_DATIVE = {
    "MO": "понедельникам",
    "TU": "вторникам",
    "WE": "средам",
    "TH": "четвергам",
    "FR": "пятницам",
    "SA": "субботам",
    "SU": "воскресеньям",
}
_RU_UNITS = {
    "MINUTELY": ("минуту", "минуты", "минут"),
    "HOURLY": ("час", "часа", "часов"),
    "DAILY": ("день", "дня", "дней"),
    "WEEKLY": ("неделю", "недели", "недель"),
    "MONTHLY": ("месяц", "месяца", "месяцев"),
    "YEARLY": ("год", "года", "лет"),
}
_EN_UNITS = {
    "MINUTELY": "minute",
    "HOURLY": "hour",
    "DAILY": "day",
    "WEEKLY": "week",
    "MONTHLY": "month",
    "YEARLY": "year",
}
_FR_UNITS = {
    "MINUTELY": ("minute", "minutes", "toutes les"),
    "HOURLY": ("heure", "heures", "toutes les"),
    "DAILY": ("jour", "jours", "tous les"),
    "WEEKLY": ("semaine", "semaines", "toutes les"),
    "MONTHLY": ("mois", "mois", "tous les"),
    "YEARLY": ("an", "ans", "tous les"),
}
_WORDS = {
    "en": {"at": "at", "until": "until", "and": "and", "times": "times", "time": "time"},
    "fr": {"at": "à", "until": "jusqu'à", "and": "et", "times": "fois", "time": "fois"},
    "ru": {"at": "в", "until": "до", "and": "и", "times": "раз", "time": "раз"},
}
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR")


def _ru_plural(n: int, forms: tuple[str, str, str]) -> str:
    if n % 10 == 1 and n % 100 != 11:
        return forms[0]
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return forms[1]
    return forms[2]


def _day_name(code: str, lang: str) -> str:
    return get_day_names("wide", "format", locale=lang)[DAYS.index(code)]


def _join(items: list[str], lang: str) -> str:
    if len(items) == 1:
        return items[0]
    return f"{', '.join(items[:-1])} {_WORDS[lang]['and']} {items[-1]}"


def _every(freq: str, interval: int, lang: str) -> str:
    """ "every 2 hours", "toutes les 2 heures", "каждые 2 часа"; interval 1: "every hour"."""
    if lang == "en":
        unit = _EN_UNITS[freq]
        return f"every {unit}" if interval == 1 else f"every {interval} {unit}s"
    if lang == "fr":
        one, many, every = _FR_UNITS[freq]
        if interval == 1:
            return (
                f"{every} {many}"
                if freq in ("DAILY", "YEARLY", "MONTHLY")
                else (f"{'chaque'} {one}")
            )
        return f"{every} {interval} {many}"
    forms = _RU_UNITS[freq]
    if interval == 1:
        first = {"минуту": "каждую", "неделю": "каждую"}.get(forms[0], "каждый")
        return f"{first} {forms[0]}"
    return f"каждые {interval} {_ru_plural(interval, forms)}"


def _weekly(days: list[str], interval: int, lang: str) -> str | None:
    """The phrase for WEEKLY with BYDAY (plain weekdays only), None if not describable."""
    if any(day not in DAYS for day in days):
        return None
    if interval != 1:
        joined = _join([_day_name(d, lang) for d in days], lang)
        return {
            "en": f"every {interval} weeks on {joined}",
            "fr": f"toutes les {interval} semaines le {joined}",
            "ru": f"каждые {interval} {_ru_plural(interval, _RU_UNITS['WEEKLY'])}: {joined}",
        }[lang]
    if sorted(days, key=DAYS.index) == list(WEEKDAYS):
        return {"en": "every weekday", "fr": "en semaine", "ru": "по будням"}[lang]
    if lang == "ru":
        if len(days) == 1:
            return _RU_EVERY_DAY[days[0]]
        return "по " + _join([_RU_DATIVE[d] for d in days], lang)
    names = [_day_name(d, lang) for d in days]
    if lang == "fr":
        return "tous les " + _join([f"{n}s" for n in names], lang)
    return "every " + _join(names, lang)


def _monthly(parts: dict[str, str], dtstart: datetime, interval: int, lang: str) -> str | None:
    if {"BYDAY", "BYYEARDAY", "BYSETPOS", "BYWEEKNO", "BYMONTH"} & set(parts):
        return None
    day = (
        int(parts.get("BYMONTHDAY", dtstart.day))
        if "," not in parts.get("BYMONTHDAY", "")
        else None
    )
    if day is None:
        return None
    if lang == "en":
        which = "the last day" if day == -1 else f"day {day}"
        every = "every month" if interval == 1 else f"every {interval} months"
        return f"on {which} of {every}"
    if lang == "fr":
        which = "le dernier jour" if day == -1 else f"le {day}er" if day == 1 else f"le {day}"
        every = "de chaque mois" if interval == 1 else f"tous les {interval} mois"
        return f"{which} {every}"
    which = "в последний день" if day == -1 else f"{day}-го числа"
    every = (
        "каждого месяца"
        if interval == 1
        else f"раз в {interval} {_ru_plural(interval, _RU_UNITS['MONTHLY'])}"
    )
    return f"{which} {every}"


def _yearly(parts: dict[str, str], dtstart: datetime, interval: int, lang: str) -> str | None:
    if {"BYDAY", "BYYEARDAY", "BYSETPOS", "BYWEEKNO"} & set(parts) or interval != 1:
        return None
    try:
        month = int(parts.get("BYMONTH", dtstart.month))
        day = int(parts.get("BYMONTHDAY", dtstart.day))
    except ValueError:
        return None
    name = get_month_names("wide", "format", locale=lang)[month]
    return {
        "en": f"every year on {day} {name}",
        "fr": f"tous les ans le {day} {name}",
        "ru": f"каждый год {day} {name}",
    }[lang]


_FROM_TO = {"en": ("from", "to"), "fr": ("de", "à"), "ru": ("с", "до")}


def _window(parts: dict[str, str], lang: str) -> str | None:
    """A daily window of hours ("every hour from 9 to 18" → BYHOUR=9..18, BYMINUTE=0;
    "every 30 minutes between 9 and 11" → BYMINUTE=0,30 and BYSETPOS): " every hour from
    09:00 to 18:00"; None for a rule of one time a day, or steps that are not even."""
    hours = [int(h) for h in parts.get("BYHOUR", "").split(",") if h.isdigit()]
    minutes = [int(m) for m in parts.get("BYMINUTE", "0").split(",") if m.isdigit()] or [0]
    if len(hours) < 2 and len(minutes) < 2:
        return None
    if len(minutes) > 1:
        freq, steps, last = "MINUTELY", minutes, f"{hours[-1]:02d}:00"
    else:
        freq, steps, last = "HOURLY", hours, f"{hours[-1]:02d}:{minutes[0]:02d}"
    gaps = {b - a for a, b in zip(steps, steps[1:], strict=False)}
    if len(gaps) != 1 or not hours:
        return None
    start, end = _FROM_TO[lang]
    every = _every(freq, gaps.pop(), lang)
    return f", {every} {start} {hours[0]:02d}:{minutes[0]:02d} {end} {last}"


def _at(parts: dict[str, str], dtstart: datetime, lang: str) -> str:
    """ " at 09:00" for DAILY and longer rules (BYHOUR/BYMINUTE when single, else DTSTART)."""
    hour, minute = (
        parts.get("BYHOUR", str(dtstart.hour)),
        parts.get("BYMINUTE", str(dtstart.minute)),
    )
    if "," in hour or "," in minute:
        return _window(parts, lang) or ""
    return f" {_WORDS[lang]['at']} {int(hour):02d}:{int(minute):02d}"


def _until(parts: dict[str, str], dtstart: datetime, lang: str, zone: str) -> str:
    if "COUNT" in parts:
        count = int(parts["COUNT"])
        word = (
            _ru_plural(count, ("раз", "раза", "раз"))
            if lang == "ru"
            else _WORDS[lang]["time" if count == 1 else "times"]
        )
        return f", {count} {word}"
    if "UNTIL" not in parts:
        return ""
    until = Until.parse(parts["UNTIL"])
    wall = until.wall
    if until.instant is not None:
        wall = until.instant.astimezone(zone_of(zone)).replace(tzinfo=None)
    if wall is None:
        return ""
    words = _WORDS[lang]["until"]
    if len(parts["UNTIL"]) == 8:
        return f" {words} {format_date(wall.date(), 'medium', locale=lang)}"
    if wall.date() == dtstart.date():
        return f" {words} {wall:%H:%M}"
    return f" {words} {format_date(wall.date(), 'medium', locale=lang)} {wall:%H:%M}"


def describe(rule: str, dtstart_local: datetime, lang: str, zone: str = "UTC") -> str:
    """A short human text of a rule in "en", "fr" or "ru" (others: English), e.g.
    "every Monday at 09:00", "tous les lundis à 09:00", "каждые 2 часа до 18:00".

    `dtstart_local` is the naive wall-clock DTSTART (gives the time and the defaults of
    the rule); `zone` only serves to show a UTC UNTIL as local time. A rule too unusual
    to put in words is shown as its RECUR value. RecurrenceError for a bad rule.
    """
    lang = lang if lang in LANGS else "en"
    parts = parts_of(validate(rule))
    freq = parts["FREQ"]
    interval = int(parts.get("INTERVAL", "1") or 1)
    phrase: str | None
    at = _at(parts, dtstart_local, lang)
    if freq in ("MINUTELY", "HOURLY"):
        plain = not {"BYDAY", "BYMONTHDAY", "BYMONTH", "BYHOUR", "BYMINUTE"} & set(parts)
        phrase, at = (_every(freq, interval, lang) if plain else None), ""
    elif freq == "DAILY":
        plain = not {"BYDAY", "BYMONTHDAY", "BYMONTH", "BYYEARDAY"} & set(parts)
        phrase = _every(freq, interval, lang) if plain else None
    elif freq == "WEEKLY":
        days = parts.get("BYDAY", DAYS[dtstart_local.weekday()]).split(",")
        plain = not {"BYMONTH", "BYMONTHDAY", "BYSETPOS"} & set(parts)
        phrase = _weekly(days, interval, lang) if plain else None
    elif freq == "MONTHLY":
        phrase = _monthly(parts, dtstart_local, interval, lang)
    else:
        phrase = _yearly(parts, dtstart_local, interval, lang)
    if phrase is None:
        return f"RRULE:{normalize_parts(parts)}{at}"
    return f"{phrase}{at}{_until(parts, dtstart_local, lang, zone)}"
