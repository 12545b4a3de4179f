"""Days of the week and hours of the day of a forwarding rule."""

from __future__ import annotations

import re

from nlu.lexicon import DAYS, WEEKDAY_FORMS

_WORKDAYS = ["mon", "tue", "wed", "thu", "fri"]
_WEEKEND = ["sat", "sun"]

_DAY_ALT = "|".join(f"(?:{'|'.join(forms)})" for forms in WEEKDAY_FORMS.values())
_DAY_RES = [(d, re.compile(rf"^(?:{'|'.join(forms)})\.?$")) for d, forms in WEEKDAY_FORMS.items()]
_DAY = rf"(?:{_DAY_ALT})"

_GROUP_WORK = re.compile(
    r"\b(?:week\s*-?days?|work\s*-?days?|working\s+days?|business\s+days?|work\s+week"
    r"|en\s+semaine|jours?\s+(?:ouvrables?|ouvres?|de\s+semaine|de\s+travail)"
    r"|pendant\s+la\s+semaine|la\s+semaine|будн\w*|рабоч\w+\s+дн\w*|по\s+рабочим)\b"
)
_GROUP_WEEKEND = re.compile(r"\b(?:week\s*-?ends?|выходн\w*)\b")
_EVERY_DAY = re.compile(
    r"\b(?:every\s*day|daily|all\s+week|7\s*/\s*7|24\s*/\s*7|tous\s+les\s+jours|chaque\s+jour"
    r"|каждый\s+день|ежедневно|все\s+дни)\b"
)
_DAY_RANGE = re.compile(
    rf"\b(?P<a>{_DAY})\.?\s*(?:to|through|thru|till|until|-|au|a|jusqu'au|jusqu'a|по|до)\s*"
    rf"(?:le\s+|la\s+)?(?P<b>{_DAY})\b"
)
_AMBIGUOUS = {"mon", "mar", "mer", "sam", "sun", "sat", "dim", "ven", "jeu", "lun", "wed"}
_DAY_ONE = re.compile(rf"\b(?P<a>{_DAY})\b")

_H = (
    r"(?P<h{n}>\d{{1,2}})(?:\s*(?::|h|ч|\.)\s*(?P<m{n}>\d{{2}}))?"
    r"\s*(?P<u{n}>am|pm|a\.m\.|p\.m\.|h|heures?|hrs|o'?clock|часов|часа|час|ч)?"
    r"(?:\s*(?P<p{n}>утра|вечера|дня|ночи|du\s+matin|du\s+soir|de\s+l'apres[-\s]midi"
    r"|in\s+the\s+morning|in\s+the\s+evening|in\s+the\s+afternoon))?"
)
_H1 = _H.format(n=1)
_H2 = _H.format(n=2)
_HOUR_RANGE = re.compile(
    rf"(?:\b(?P<lead>from|between|de|entre|с|со|от)\s+)?(?<![\d:.,])"
    rf"{_H1}\s*(?:to|till|until|-|and|a|au|et|jusqu'a|до|по)\s*{_H2}(?![\d:])"
)
_AFTER = re.compile(
    rf"\b(?:after|from|starting(?:\s+at)?|apres|a\s+partir\s+de|des|после|с|со|начиная\s+с)\s+{_H1}"
)
_BEFORE = re.compile(rf"\b(?:before|until|till|up\s+to|avant|jusqu'a|до)\s+{_H1}")
_NIGHT = re.compile(r"\b(?:at\s+night|overnight|la\s+nuit|de\s+nuit|ночью|по\s+ночам)\b")


def _day_of(s: str) -> str | None:
    for d, rx in _DAY_RES:
        if rx.match(s):
            return d
    return None


def _days_from_to(first: str, last: str) -> list[str]:
    """The days from `first` to `last`, both included, wrapping past Sunday."""
    i, j = DAYS.index(first), DAYS.index(last)
    days = []
    k = i
    while True:
        days.append(DAYS[k])
        if k == j:
            break
        k = (k + 1) % 7
    return days


def _day_ranges(c: str) -> tuple[set[str], str]:
    """Days of the ranges in `c` ("mon to fri"), and `c` with those ranges blanked out."""
    days: set[str] = set()
    work = c
    for m in _DAY_RANGE.finditer(c):
        a, b = _day_of(m.group("a")), _day_of(m.group("b"))
        if a and b:
            days.update(_days_from_to(a, b))
            work = work[: m.start()] + " " * (m.end() - m.start()) + work[m.end() :]
    return days, work


def _single_days(work: str) -> set[str]:
    """Days named one by one in `work`; short forms that are also words only in lists."""
    days: set[str] = set()
    for m in _DAY_ONE.finditer(work):
        s = m.group("a")
        if s in _AMBIGUOUS:
            # short forms that are also ordinary words: only in lists like "lun, mer"
            if not re.search(rf"(?:^|[,/&+-]|\band\b|\bet\b)\s*{s}\b|\b{s}\s*[,/&+-]", work):
                continue
        d = _day_of(s)
        if d:
            days.add(d)
    return days


def find_days(c: str) -> list[str] | None:
    """Days named in `c` (`None` means every day)."""
    if _EVERY_DAY.search(c):
        return None
    days, work = _day_ranges(c)
    if _GROUP_WORK.search(work):
        days.update(_WORKDAYS)
    if _GROUP_WEEKEND.search(work):
        days.update(_WEEKEND)
    days.update(_single_days(work))
    if not days:
        return None
    return [d for d in DAYS if d in days]


def _hhmm(m: re.Match, n: int) -> tuple[int, int, bool] | None:
    h = int(m.group(f"h{n}"))
    mi = int(m.group(f"m{n}") or 0)
    u = (m.group(f"u{n}") or "").replace(".", "")
    p = m.group(f"p{n}") or ""
    explicit = bool(u in ("am", "pm") or p)
    if u == "pm" or p.startswith(("вечер", "du soir", "de l", "in the evening", "in the aft")):
        if h < 12:
            h += 12
    elif p.startswith("дня") and h < 7:
        h += 12
    elif p.startswith("ночи") and 6 <= h < 12:
        h += 12
    elif (u == "am" or p) and h == 12:
        h = 0
    if h > 24 or mi > 59:
        return None
    return h % 24 if h != 24 else 0, mi, explicit or bool(m.group(f"m{n}"))


def find_hours(c: str) -> tuple[str | None, str | None]:
    """(start, end) as "HH:MM" from `c`, each None when not given."""
    for m in _HOUR_RANGE.finditer(c):
        sep = c[m.end("h1") : m.start("h2")]
        strong = m.group("lead") or re.search(r"-|to|till|until|jusqu|до|au|a\b", sep)
        if not strong and not (m.group("u1") or m.group("u2") or m.group("m1")):
            continue
        a, b = _hhmm(m, 1), _hhmm(m, 2)
        if not a or not b:
            continue
        h2 = b[0]
        # "from 9 to 5": the end is in the afternoon.
        if h2 < a[0] and not b[2] and h2 + 12 > a[0] and h2 < 12:
            h2 += 12
        return f"{a[0]:02d}:{a[1]:02d}", f"{h2:02d}:{b[1]:02d}"
    start = end = None
    after = _AFTER.search(c)
    if after:
        a = _hhmm(after, 1)
        if a:
            start = f"{a[0]:02d}:{a[1]:02d}"
    before = _BEFORE.search(c)
    if before:
        b = _hhmm(before, 1)
        if b:
            end = f"{b[0]:02d}:{b[1]:02d}"
    if start is None and end is None and _NIGHT.search(c):
        return "22:00", "07:00"
    return start, end
