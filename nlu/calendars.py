"""The calendar intent (en, fr, ru): the user's own calendar connected by its iCalendar
subscription URL or a CalDAV account ("connect my calendar https://…/basic.ics",
"connecte mon agenda …", "подключи календарь …", or the URL alone), the calendars
listed ("my calendars", "mes agendas", "мои календари"), one disconnected ("remove
calendar 2", "déconnecte mon agenda", "отключи календарь"), the reminders exported as an
.ics file ("export my reminders", "exporte mes rappels", "выгрузи напоминания"), or the
default reminder of calendar events set ("calendar reminders 30 minutes before by
message", "rappels d'agenda 10 minutes avant par appel", "напоминай о событиях календаря
за 30 минут звонком").

`action_of` tells whether a message is about calendars (canonical text, URLs masked by
nlu.message); the other functions read its slots. The URL and the credentials are read
from the message as written: the parser logs nothing, and neither may its callers.
"""

from __future__ import annotations

import re

from nlu.lexicon import NUMBER_WORDS
from nlu.message import Message

NOUN = re.compile(
    r"\bcalendars?\b|\bical\b|\bicalendar\b|\bics\b|\bcaldav\b|\bagendas?\b|\bcalendriers?\b"
    r"|\bкалендар\w*"
)
# Reminders, to export or to set by default for the events.
REMINDERS = re.compile(
    r"\bremind\w*|\brappel\w*|\bnotif\w*|\balert\w*|\bнапомин\w*|\bнапомн\w*|\bуведом\w*"
)
EVENTS = re.compile(r"\bevents\b|\bevenements\b|\bсобыти(?:ях|й|ям|ями|я)\b")
# The reminders of the calendar's events: "calendar reminders", "rappels d'agenda",
# "напоминания календаря".
CALENDAR_REMINDERS = re.compile(
    r"\bcalendar\s+(?:reminders?|notifications?|alerts?)\b|\b(?:reminders?|notifications?"
    r"|alerts?)\s+(?:for|of|from|about)\s+(?:my\s+|the\s+)?calendars?\b"
    r"|\b(?:rappels?|notifications?|alertes?)\s+(?:d'|de\s+l'|de\s+mon\s+|du\s+|des\s+)"
    r"(?:agendas?|calendriers?)\b"
    r"|\bнапоминани\w*\s+(?:из\s+|для\s+)?календар\w*|\bкалендарн\w+\s+напоминани\w*"
)
EXPORT = re.compile(
    r"\bexport\w*|\bdownload\w*|\btelecharg\w*|\bэкспорт\w*|\bвыгруз\w*|\bскача\w*"
    r"|\b(?:as|en|в)\s+(?:an?\s+|un\s+)?(?:\.?ics|ical|icalendar)\b"
)
DISCONNECT = re.compile(
    r"\b(?:disconnect|remov|delet|unlink|unsubscrib|detach|forget|drop|cancel)\w*"
    r"|\bstop\s+sync\w*"
    r"|\b(?:deconnect|supprim|retir|enleve|desabonn|oubli|dissoci|annul)\w*"
    r"|\b(?:отключ|удал|убер|убра|отвяж|отпиш|отсоедин)\w*"
)
CONNECT = re.compile(
    r"\b(?:connect|add|link|subscrib|sync|import|attach|hook\s+up|integrat|set\s+up|use)\w*"
    r"|\b(?:connect|ajout|lie[rz]?\b|abonn|synchronis|import|branch|associ|utilis)\w*"
    r"|\b(?:подключ|добав|привяж|подпиш|синхрониз|импорт|свяж)\w*"
)
LIST = re.compile(
    r"\bmy\s+calendars?\b|\b(?:list|show|which|what)\s+(?:\w+\s+)?calendars?\b"
    r"|^\W*calendars?\W*$|\bmes\s+(?:agendas|calendriers)\b|\bmon\s+(?:agenda|calendrier)\b"
    r"|\b(?:liste|affiche|montre|quels?)\w*\s+(?:\w+\s+)?(?:agendas?|calendriers?)\b"
    r"|^\W*(?:agendas?|calendriers?)\W*$|\bмо[йи]\s+календар\w*"
    r"|\b(?:покажи|список|какие)\s+(?:\w+\s+)?календар\w*|^\W*календар\w*\W*$"
)
# A reminding verb: the message sets a reminder, unless it sets the events' default.
REMIND_VERB = re.compile(
    r"\bremind\b|\brappel\w*[-\s]+(?:moi|nous)\b|\bme\s+rappeler\b|\bнапомни\b|\bнапомните\b"
)
# The path of a calendar feed: ".ics", "/ical/", CalDAV ("/dav", "caldav", "/remote.php/dav").
_CALENDAR_URL = re.compile(
    r"^webcals?://|\.ics(?:$|[?#])|/ical/|caldav|/dav(?:$|[/?#])|/calendars?/", re.IGNORECASE
)
_NUM_WORDS = {w: int(v) for w, v in NUMBER_WORDS.items() if v == int(v) and v >= 1}
_NUM = "|".join(sorted((w for w in _NUM_WORDS if len(w) > 1), key=len, reverse=True))
# "15 minutes before", "1 hour before", "half an hour before", "30 min avant",
# "за 30 минут", "за час"
_LEAD = re.compile(
    rf"(?P<za>\bза\s+)?(?P<n>\d{{1,4}}|{_NUM}|an?|une?|half\s+an|une\s+demi[-\s]?|пол)?\s*-?\s*"
    r"(?P<unit>minutes?|mins?|mn|m|hours?|hrs?|h|heures?|минут\w*|мин|час\w*|ч|days?|jours?"
    r"|день|дня|дней|сутки)\b"
    r"(?P<before>\s*(?:before|earlier|ahead|prior|in\s+advance|beforehand|avant|a\s+l'avance"
    r"|en\s+avance|до))?"
)
_UNIT_MINUTES = (("m", 1), ("м", 1), ("h", 60), ("ч", 60), ("d", 1440), ("j", 1440),
                 ("д", 1440), ("с", 1440))  # fmt: skip
CHANNEL_CALL = re.compile(
    r"\bby\s+(?:a\s+)?(?:phone\s+)?(?:call|phone)\b|\bwith\s+a\s+(?:phone\s+)?call\b"
    r"|\bcall\s+me\b|\bpar\s+(?:un\s+)?(?:appel|telephone|tel)\b|\bm'appel\w*|\bзвонком\b"
    r"|\bпозвони\w*|\bпо\s+телефону\b"
)
CHANNEL_MESSAGE = re.compile(
    r"\bby\s+(?:a\s+)?(?:message|text|sms|chat)\b|\bwith\s+a\s+message\b"
    r"|\bpar\s+(?:un\s+)?(?:message|sms|texto|ecrit)\b|\bсообщением\b|\bсмс\b|\bв\s+чат\w*"
)
_NUMBER = re.compile(r"\s*(?:#|№|n[°º]|no\.?|number|numero|номер)?\s*(?P<n>\d{1,2})\b")
_USER = re.compile(
    r"\b(?:user\s*name|username|user|login|nom\s+d'utilisateur|utilisateur|identifiant"
    r"|логин|пользователь|юзер)\s*[:=]?\s+(?P<v>\S+)|\b(?:user|login|логин)\s*[:=]\s*(?P<w>\S+)",
    re.IGNORECASE,
)
_PASSWORD = re.compile(
    r"\b(?:password|passwd|pass|pwd|mot\s+de\s+passe|mdp|пароль)\s*[:=]?\s+(?P<v>\S+)"
    r"|\b(?:password|pass|pwd|mdp|пароль)\s*[:=]\s*(?P<w>\S+)",
    re.IGNORECASE,
)


def calendar_url(url: str) -> bool:
    """Whether `url` looks like a calendar feed or a CalDAV account: webcal, a path ending
    in .ics, "/ical/", "caldav" or a "/dav" path."""
    return _CALENDAR_URL.search(url) is not None


def _only_url(msg: Message) -> bool:
    """The message is a calendar URL and nothing else (but credentials)."""
    if len(msg.url_spans) != 1 or not calendar_url(msg.urls[0]):
        return False
    a, b = msg.url_spans[0]
    rest = _without_credentials(msg.raw[:a] + " " + msg.raw[b:])
    return not rest.strip(" \t.,;:!?<>()[]\"'")


def _without_credentials(text: str) -> str:
    for rx in (_USER, _PASSWORD):
        text = rx.sub(" ", text)
    return text


def defaults_asked(c: str) -> bool:
    """The default reminder of calendar events: the events and a reminder word, or the
    calendar's reminders named ("calendar reminders"), with how long before or by what
    channel."""
    if not (EVENTS.search(c) and REMINDERS.search(c) or CALENDAR_REMINDERS.search(c)):
        return False
    return minutes_of(c) is not None or channel_of(c) is not None


def action_of(msg: Message) -> str | None:
    """What the message asks of the calendars: "export", "defaults", "disconnect",
    "connect", "list", or None when it is not about them. A message with a reminding verb
    sets a reminder ("remind me to connect my calendar"), unless it sets the default of
    the events ("remind me of calendar events 10 minutes before")."""
    c = msg.c
    url = any(calendar_url(u) for u in msg.urls)
    if defaults_asked(c) and not msg.urls:
        return "defaults"
    if REMIND_VERB.search(c):
        return None
    noun = NOUN.search(c) is not None
    if EXPORT.search(c) and (noun or REMINDERS.search(c)) and not msg.urls:
        return "export"
    if noun:
        if DISCONNECT.search(c):
            return "disconnect"
        if CONNECT.search(c) or msg.urls or _USER.search(msg.raw) or _PASSWORD.search(msg.raw):
            return "connect"
        if LIST.search(c):
            return "list"
    # A calendar's URL without the word: alone, or after a connecting verb (not in a call).
    if url and not msg.phones and (CONNECT.search(c) or _only_url(msg)):
        return "connect"
    return None


def url_of(msg: Message) -> str | None:
    """The calendar's URL as written (http, https, webcal): the first that looks like a
    calendar, else the first; None when there is none."""
    urls = msg.urls
    return next((u for u in urls if calendar_url(u)), urls[0] if urls else None)


def credentials_of(msg: Message) -> tuple[str | None, str | None]:
    """(user name, password) of a CalDAV account written in the message ("user alice
    password s3cret", "identifiant alice mot de passe s3cret", "логин alice пароль
    s3cret"), each as written (any characters but spaces) or None."""
    text = msg.raw
    for a, b in msg.url_spans:
        text = text[:a] + " " * (b - a) + text[b:]
    found = []
    for rx in (_USER, _PASSWORD):
        m = rx.search(text)
        found.append((m.group("v") or m.group("w")) if m else None)
    user, password = found
    if user is not None and _PASSWORD.match(user + " x"):
        user = None  # "user password x": the user name was not given
    return user, password


def minutes_of(c: str) -> int | None:
    """How long before an event its reminder comes, in minutes ("15 minutes before",
    "1 hour before" = 60, "30 min avant", "за 30 минут", "за час"), or None."""
    for m in _LEAD.finditer(c):
        if not (m.group("za") or m.group("before")) or not (m.group("n") or m.group("za")):
            continue
        n = _amount(m.group("n"))
        if n is None:
            continue
        unit = m.group("unit")
        per = next((k for p, k in _UNIT_MINUTES if unit.startswith(p)), 1)
        return round(n * per)
    return None


def _amount(word: str | None) -> float | None:
    if word is None or not word.strip():
        return 1.0  # "за час", "an hour before" reads "an" too
    word = " ".join(word.split())
    if word.isdigit():
        return float(word)
    if word.startswith(("half", "une demi", "пол")):
        return 0.5
    if word in ("a", "an", "un", "une"):
        return 1.0
    value = NUMBER_WORDS.get(word)
    return float(value) if value is not None else None


def channel_of(c: str) -> str | None:
    """ "call" or "message" when the message says how ("by call", "par appel", "звонком";
    "by message", "par message", "сообщением"), else None."""
    if CHANNEL_CALL.search(c):
        return "call"
    if CHANNEL_MESSAGE.search(c):
        return "message"
    return None


def number_of(c: str) -> int | None:
    """Which calendar, by its position in the list ("remove calendar 2", "supprime
    l'agenda 2", "отключи календарь 2"), or None."""
    for noun in NOUN.finditer(c):
        m = _NUMBER.match(c, noun.end())
        if m:
            return int(m.group("n"))
    return None
