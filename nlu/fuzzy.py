"""Typo tolerance: map a word to a keyword within edit distance 1 (symmetric deletes)."""

from __future__ import annotations

import re

from nlu.lexicon import EN_WORDS, FR_WORDS, FUZZY_VOCAB, NUMBER_WORDS

WORD_RE = re.compile(r"[^\W\d_]+")

_VOCAB = frozenset(FUZZY_VOCAB)
# Words that are real words themselves and must never be "corrected".
_KNOWN = (
    _VOCAB
    | EN_WORDS
    | FR_WORDS
    | frozenset(NUMBER_WORDS)
    | frozenset(
        """bring thing things king wing sing calm tall ball wall fall hall mall cell sell
        fund fill bill will kill hill till mill pill tell well dell bell all also ring rings
        string strong wrong phones phoned honey money dial dual deal real read remain
        remains record records recorded connected connects contacts conduct numbers
        number's numbered report support forwarded towards toward reward morning mourning
        minute hour house horse night light right might fight sight tight eight weight
        weekly daily hourly nightly balanced balances histories deposits withdrawn
        withdraws remote remove removed refund recall recalls recording recorder
        ringing calling caller callers monday friday today sunday stop shop step
        stay store story help held hello helm hemp hold holds herd heard hears
        mondays tuesdays wednesdays thursdays fridays saturdays sundays weekday workday
        workdays weekend weekends fortnightly biweekly every each until till calendar
        calendars agenda agendas calendrier calendriers caldav webcal ical ics export
        exports exporte exporter reminder remind reminding disconnect unsubscribe
        утрам вечерам ночам звонком сообщением напоминания напоминание напоминаний
        календарь календари
        comment commenter appeler appellent appelons rappel rappels rappeler appele appeles
        appelee appelees numeros forgot forgets accounts
        включи включите
        ma mais mari marie marche matin marin main mains moins mon mot mots
        demande demander demandes demain demains lundi lundis soir soirs
        номер номера номеру номерок звонок звонки звонка звонку звонков звонить звоню
        звони звоните звонили звонишь звонят набирай набирайте напоминай напоминайте
        звонит звонил звонила завтра завтрак завтраке сегодня утро утра утром вечер
        вечера вечером час часа часов часы мама маме маму папа папе папу брат брату
        сестра сестре работа работу работе купить купи хлеб молоко почту почта запомни
        запомните запиши запишите заметку
        """.split()
    )
)


def _deletes(word: str) -> list[str]:
    return [word[:i] + word[i + 1 :] for i in range(len(word))]


_DEL: dict[str, str] = {}
for _w in sorted(_VOCAB, key=lambda w: (len(w), w)):
    if len(_w) >= 4:
        for _d in _deletes(_w):
            _DEL.setdefault(_d, _w)

_CACHE: dict[str, str] = {}


def correct(token: str) -> str:
    """Return the keyword `token` is a one-typo variant of, or `token` itself."""
    hit = _CACHE.get(token)
    if hit is not None:
        return hit
    best = token
    n = len(token)
    if 4 <= n <= 20 and token not in _KNOWN:
        cands: list[str] = []
        w = _DEL.get(token)  # a letter missing
        if w is not None and n >= 5:
            cands.append(w)
        for d in _deletes(token):
            if d in _VOCAB and n >= 5:  # a letter too many
                cands.append(d)
            w = _DEL.get(d)  # one letter wrong or two swapped
            if w is not None and len(w) == n and n >= 5:
                cands.append(w)
        for c in cands:
            if c[0] == token[0]:
                best = c
                break
    if len(_CACHE) < 50_000:
        _CACHE[token] = best
    return best
