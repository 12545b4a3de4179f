"""The reminders intent (en, fr, ru; canonical text): the user's reminders listed ("my
reminders", "mes rappels", "мои напоминания") or one cancelled, by its number in that
list or by words of it ("cancel reminder 2", "stop the medicine reminder", "supprime le
rappel du lundi", "удали напоминание про таблетки"), or all of them ("delete all my
reminders").

`action_of` tells whether a message is about the reminders and what it asks; the other
functions read its slots. A message with a reminding verb ("remind me to stop ...") is a
reminder to set, never this intent.
"""

from __future__ import annotations

import re

from nlu.message import Message
from nlu.normalize import fold


def _rx(*parts: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in parts))


NOUN = _rx(r"\breminders?\b", r"\brappels?\b", r"\bнапоминани\w*|\bнапоминалк\w*")
# A reminder to set: "remind me", "rappelle-moi", "напомни", "напоминай".
REMIND_VERB = _rx(
    r"\bremind\b",
    r"\brappel\w*[-\s]+(?:moi|nous)\b|\bme\s+rappeler\b|\bfai(?:s|tes)[-\s]+moi\s+penser\b",
    r"\bнапомн\w*|\bнапоминай\w*|\bнапоминать\b",
)
CANCEL = _rx(
    r"\b(?:stop|cancel|delet|remov|clear|disabl|kill|drop|eras|deactivat|unset|get\s+rid\s+of)\w*"
    r"|\b(?:turn|switch)\s+off\b",
    r"\b(?:arret|supprim|annul|effac|enleve|retir|desactiv|stopp|vire)\w*",
    r"\b(?:удал|отмен|убер|убра|выключ|останов|отключ|сотр|стер|прекрат)\w*",
)
# "stop reminding me about ...", "arrête de me rappeler ...", "перестань напоминать ..."
STOP_REMINDING = _rx(
    r"\b(?:stop|quit)\s+reminding(?:\s+(?:me|us))?\b",
    r"\barret\w*\s+de\s+(?:me|nous)\s+rappeler\b",
    r"\b(?:перестань|хватит|прекрати)\s+(?:мне\s+)?напоминать\b|\bбольше\s+не\s+напоминай\b",
)
LIST = _rx(
    r"^\W*(?:(?:my|all|all\s+my|the|current|upcoming|active|pending)\s+)?reminders\W*$"
    r"|\bmy\s+(?:\w+\s+)?reminders\b|\b(?:list|show|see|view|display|check|give)\s+(?:me\s+)?"
    r"(?:\w+\s+){0,2}reminders\b|\bwhat\s+(?:are\s+)?(?:my\s+)?reminders\b"
    r"|\b(?:what|which|any)\s+reminders\b|\breminders\s+(?:list|do\s+i\s+have)\b",
    r"^\W*(?:(?:mes|les|tous\s+mes)\s+)?rappels\W*$|\bmes\s+(?:\w+\s+)?rappels\b"
    r"|\b(?:liste|affiche|montre|voir|donne)\w*[-\s]+(?:moi\s+)?(?:\w+\s+){0,3}rappels\b"
    r"|\bquels\s+(?:sont\s+)?(?:mes\s+|les\s+)?rappels\b",
    r"^\W*(?:(?:мои|все)\s+)?напоминани[яй]\W*$|\bмои\s+(?:\w+\s+)?напоминани\w*"
    r"|\b(?:покажи|показать|список|перечисли|выведи|какие)\w*\s+(?:\w+\s+){0,3}напоминани\w*",
)
ALL = _rx(r"\ball\b|\bevery\b", r"\btou(?:te)?s\b|\btout\b", r"\bвсе\b|\bвс[её]\b")
_MINE = _rx(r"\bmy\s+reminders\b", r"\bmes\s+rappels\b", r"\bмои\s+напоминания\b")
_NUMBER = re.compile(
    r"\s*(?:(?:#|№|\bn[°º]|\bno\.?|\bnumber|\bnumero|\bnum|\bномер)\s*)?(?P<n>\d{1,3})\b"
    r"(?!\s*(?:h\b|:|am\b|pm\b|min|heure|час|ч\b|hours?\b))"
)
_ORDINAL = re.compile(r"\b(?P<n>\d{1,2})(?:st|nd|rd|th|e|eme|er|ere|-?(?:е|й|ое))\s+$")
# Words that are no part of what names a reminder, at either end of it.
_FILLER = frozenset(
    """the a an my all of about for to on with that this these please me us called named
    regarding re every one le la les l' mon ma mes du de des d' pour sur au aux tous toutes
    tout un une ce cet cette svp stp concernant qui est intitule мое моё мои мой моя все
    всё про о об обо насчет насчёт на для это этот эту мне пожалуйста которое
    """.split()
)
_POLITE = re.compile(r"\b(?:please|pls|s'il\s+te\s+plait|s'il\s+vous\s+plait|пожалуйста)\b")


def action_of(c: str) -> str | None:
    """What canonical text `c` asks of the reminders: "cancel", "list", or None when it is
    not about them (a reminding verb makes it a reminder to set). A cancelling verb must
    come before the reminder noun, or end the message ("rappel demain : annuler le
    resto" is a reminder)."""
    if STOP_REMINDING.search(c):
        return "cancel"
    noun = NOUN.search(c)
    if noun is None or REMIND_VERB.search(c):
        return None
    for m in CANCEL.finditer(c):
        if m.start() < noun.start() or not c[m.end() :].strip(" .!?"):
            return "cancel"
    if LIST.search(c):
        return "list"
    return None


def _number_spans(low: str) -> list[tuple[int, int]]:
    """Where the reminder's number is in folded text `low` (the noun's neighbour)."""
    spans = []
    for noun in NOUN.finditer(low):
        m = _NUMBER.match(low, noun.end())
        if m:
            spans.append(m.span())
        start = max(0, noun.start() - 12)
        m = _ORDINAL.search(low[start : noun.start()])
        if m:
            spans.append((start + m.start(), start + m.end()))
    return spans


def number_of(low: str) -> int | None:
    """The reminder's number in the list ("reminder 2", "rappel n°2", "напоминание №2",
    "the 2nd reminder") in folded text `low` (phone numbers not masked), or None."""
    for s, e in _number_spans(low):
        return int(re.sub(r"\D", "", low[s:e])[:3] or 0) or None
    return None


def all_asked(c: str, about: str | None, number: int | None) -> bool:
    """Whether every reminder is meant: "all" ("delete all my reminders", "supprime tous
    mes rappels", "удали все напоминания"), or the user's reminders named in the plural
    with nothing to choose one ("delete my reminders", "supprime mes rappels")."""
    if ALL.search(c):
        return True
    return about is None and number is None and _MINE.search(c) is not None


def about_of(msg: Message, low: str, number: int | None) -> str | None:
    """The words naming the reminder to cancel, as written, with the verb, the noun, the
    number and the small words at their ends taken out ("stop the medicine reminder" ->
    "medicine", "supprime le rappel du lundi" -> "lundi"); None when none are left.
    `low`: the folded message (offsets of `msg.raw`), phone numbers not masked."""
    c = msg.c
    cut: list[tuple[int, int]] = []
    for rx in (STOP_REMINDING, CANCEL, NOUN, _POLITE):
        cut.extend((msg.to_raw(m.start()), msg.to_raw(m.end())) for m in rx.finditer(c))
    if number is not None:
        cut.extend(_number_spans(low))
    pieces: list[str] = []
    pos = 0
    for s, e in sorted(cut):
        if s > pos:
            pieces.append(msg.raw[pos:s])
        pos = max(pos, e)
    pieces.append(msg.raw[pos:])
    about = " ".join(p for p in map(_trim, pieces) if p)
    return about or None


def _trim(piece: str) -> str:
    """`piece` without the small words and punctuation at its ends."""
    words = piece.replace("'", "' ").split()
    while words and _filler(words[0]):
        words.pop(0)
    while words and _filler(words[-1]):
        words.pop()
    return " ".join(words).replace("' ", "'").strip(' ,.;:!?"«»()-')


def _filler(word: str) -> bool:
    w = fold(word).strip(',.;:!?"«»()-')
    return not w or w in _FILLER
