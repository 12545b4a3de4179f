"""Negated requests: "don't call +X", "n'appelle pas le +X", "не звони на +X".

A request whose every verb is negated is never carried out: the parser then answers
`unknown` with `"negated": true` (SCHEMA.md: extra keys), so nothing is done.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# What comes right before a negated verb (the text before the verb ends with it).
_BEFORE = re.compile(
    # en "don't call", "do not ever call", "never ring", "no need to call", "don't want you to"
    r"(?:\b(?:don'?t|dont|do\s+not|never|mustn'?t|must\s+not|shouldn'?t|no\s+need\s+to"
    r"|(?:don'?t|do\s+not)\s+(?:want|need)\s+(?:you\s+)?to|not\s+to|stop)\s+"
    r"(?:(?:ever|even|please|you|again|yet)\s+)*"
    # fr "ne pas appeler", "ne plus me rappeler", "pas besoin d'appeler", "inutile d'appeler"
    r"|\bne\s+(?:pas|plus|jamais)\s+(?:(?:me|te|le|la|les|lui|leur|nous|vous)\s+|[mtl]')*"
    r"|\b(?:pas\s+(?:besoin|la\s+peine)|inutile|interdit)\s+d'"
    # ru "не звони", "не надо мне звонить", "никогда не набирай"
    r"|\bне\s+(?:(?:надо|нужно|стоит|смей|вздумай|нужно\s+было|надо\s+было)\s+)?"
    r"(?:(?:мне|ему|ей|им|нам|меня|его|ее|их|больше|пока)\s+)*)$"
)
# French "ne … pas" around the verb: the words before it, then the words after it.
_FR_NE = re.compile(r"(?:\bne\s+(?:(?:me|te|le|la|les|lui|leur|nous|vous|y|en)\s+|[mtl]')*|\bn')$")
_FR_PAS = re.compile(r"^(?:-?(?:moi|le|la|les|lui|nous)\b)?\s*(?:pas|plus|jamais|personne)\b")


def _verb_negated(c: str, start: int, end: int) -> bool:
    """Whether the verb at `start`:`end` of `c` is negated by the words around it."""
    before = c[max(0, start - 40) : start]
    if _BEFORE.search(before):
        return True
    return bool(_FR_NE.search(before) and _FR_PAS.match(c[end : end + 20]))


def negated_at(c: str, start: int, end: int) -> bool:
    """Whether the words at `start`:`end` of canonical text `c` are negated ("don't hide
    my number", "ne masque plus mon numéro", "не скрывай номер")."""
    return _verb_negated(c, start, end)


def negated(c: str, cues: Iterable[re.Pattern[str]]) -> bool:
    """True if `cues` occur in `c` and every occurrence is negated ("don't call +X";
    "don't remind me, call +X" is not a negated call)."""
    spans = [m.span() for rx in cues for m in rx.finditer(c)]
    return bool(spans) and all(_verb_negated(c, start, end) for start, end in spans)
