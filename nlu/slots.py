"""Slot filling: who calls whom, flags, and the text of a reminder."""

from __future__ import annotations

import re
from typing import NamedTuple

from nlu import intents as cues
from nlu.message import Message
from nlu.normalize import fold

_PHONE_RUN = re.compile(r"\x01+")
_FROM_BEFORE = re.compile(
    r"(?:\b(?:me|moi|мне|меня)\s*(?:back\s+|then\s+|обратно\s+)?(?:at|on|via|using|au|sur|a|на|по)"
    r"\s*(?:(?:the|le|la|l'|my|mon|мой|number|numero|номер\w*)\s*)*"
    r"|\bmy\s+(?:\w+\s+)?(?:number|phone|mobile|cell|num)\b(?:\s*(?:is|:|=|,))*"
    r"|\bmon\s+(?:\w+\s+)?(?:numero|portable|telephone|tel|mobile|num)\b"
    r"(?:\s*(?:est|c'est|le|:|=|,))*"
    r"|\bмо(?:й|его|ем|ему)\s+(?:\w+\s+)?(?:номер\w*|телефон\w*|мобильн\w*|сотов\w*)(?:\s*[:=,])*"
    r"|\b(?:from|depuis|с\s+номера|с\s+моего|со\s+своего|с\s+телефона)\b"
    r"(?:\s*(?:my|the|mon|le|la|l'|number|numero|номера|phone|portable|мобильного|номер))*)"
    r"\s*[:=,-]?\s*$"
)
_CALLER_BEFORE = re.compile(
    r"(?:\b(?:from|de|du|des|depuis|от|с|со|caller|appelant|venant\s+du|venant\s+de)\b)"
    r"(?:\s*(?:the|le|la|l'|number|numero|номера|номер|абонента|:))*\s*$"
)
_TO_BEFORE = re.compile(
    r"(?:\b(?:to|vers|sur|au|a|на|onto|towards|into|destination)\b)"
    r"(?:\s*(?:the|le|la|l'|number|numero|номер|my|mon|мой|:))*\s*$"
)


def phone_slots(msg: Message) -> list[tuple[int, int, str | None]]:
    """Phones as (start, end, e164) in canonical-text coordinates, in order."""
    runs = [m.span() for m in _PHONE_RUN.finditer(msg.c)]
    out = []
    for i, p in enumerate(msg.phones):
        s, e = runs[i] if i < len(runs) else (p.start, p.end)
        out.append((s, e, p.e164))
    return out


def _windows(c: str, phones: list[tuple[int, int, str | None]]) -> list[str]:
    out = []
    prev = 0
    for s, e, _ in phones:
        out.append(c[max(prev, s - 60) : s])
        prev = e
    return out


def call_parties(msg: Message) -> tuple[str | None, str | None]:
    """(to, from) of a call; from is "me" when the requester's own number is meant."""
    phones = phone_slots(msg)
    if not phones:
        return None, "me"
    wins = _windows(msg.c, phones)
    is_from = [bool(_FROM_BEFORE.search(w)) for w in wins]
    to: str | None = None
    frm: str | None = "me"
    to_set = from_set = False
    if len(phones) >= 2 and not any(is_from) and cues.BRIDGE.search(msg.c):
        return phones[1][2], phones[0][2]
    for (_, _, e164), f in zip(phones, is_from, strict=True):
        if f and not from_set:
            frm, from_set = e164, True
        elif not to_set:
            to, to_set = e164, True
        elif not from_set:
            frm, from_set = e164, True
    return to, frm


def extension_of(msg: Message, number: str | None) -> str | None:
    """The extension written after `number` in the message ("ext. 456"), or None."""
    if number is None:
        return None
    return next((p.extension for p in msg.phones if p.e164 == number and p.extension), None)


def _forward_role(window: str) -> str | None:
    """The role of a number in a forwarding rule ("to", "caller"), by the words before it."""
    if _TO_BEFORE.search(window):
        return "to"
    if _CALLER_BEFORE.search(window):
        return "caller"
    return None


# Follow-me: a target reached when the one before does not answer ("then to +X", "puis
# vers le +X", "потом на +X"), and how long a target rings ("for 20 seconds", "pendant 20
# secondes", "на 20 секунд", "20 s"; minutes only between two targets: "forward to +X
# for 30 minutes" is no ring time).
_THEN = re.compile(
    r"\b(?:then|after(?:wards)?|next|otherwise|else|failing\s+that|if\s+(?:there\s+is\s+)?no\s+"
    r"(?:answer|reply)|puis|ensuite|apres|sinon|si\s+(?:pas\s+de|aucune)\s+reponse|потом|затем"
    r"|после|иначе|далее|если\s+не\s+(?:ответ|возьм)\w*)\b"
)
_DURATION = re.compile(
    r"(?<![\d\x01])(?P<n>\d{1,3})\s*(?:(?P<s>s|secs?|seconds?|secondes?|сек|секунд\w*"
    # the Russian "с" is also "from" ("67 с понедельника"): only before a pause or "then"
    r"|с(?=\s*(?:[,.;!?)]|$|(?:потом|затем|после|и|а)\b)))|(?P<m>mins?|minutes?|мин|минут\w*))"
    r"(?!\w|\s*\d)"
)
# "after 20 seconds" after the last target is a delay before forwarding, not a ring time.
_AFTER = re.compile(r"\b(?:after|apres|au\s+bout\s+de|через|после)\s*$")


class ForwardChain(NamedTuple):
    """The targets of a forwarding rule: `to` rings `ring` seconds (None: until it answers
    or fails), then each of `then` in turn (number, seconds); calls from `caller` only."""

    to: str | None
    caller: str | None
    ring: int | None
    then: list[tuple[str | None, int | None]]


def _ring_time(segment: str, last: bool) -> int | None:
    """The ring time written in `segment` (after a target, before the next), in seconds;
    None when there is none."""
    for m in _DURATION.finditer(segment):
        if last and (m.group("m") or _AFTER.search(segment[: m.start()])):
            continue
        return int(m.group("n")) * (60 if m.group("m") else 1)
    return None


def without_durations(c: str) -> str:
    """`c` with its durations ("20 seconds", "на 20 секунд") blanked out, same length:
    "after 20 seconds" is no hour of the day."""
    return _DURATION.sub(lambda m: " " * len(m.group()), c)


def forward_chain(msg: Message) -> ForwardChain:
    """The targets of a forwarding rule, its ring times and the caller it is for.

    Numbers whose words say their role ("to", "from") take it first (the first of each);
    numbers with no such words then fill the roles still free, "to" first. A follow-me
    target is a number after the first target with a "then" word before it (or after
    another follow-me target), never the caller.
    """
    phones = phone_slots(msg)
    c = msg.c
    roles = [_forward_role(w) for w in _windows(c, phones)]
    first = next((i for i, r in enumerate(roles) if r == "to"), None)
    if first is None:
        first = next((i for i, r in enumerate(roles) if r is None), None)
    follow: list[int] = []
    if first is not None:
        for j in range(first + 1, len(phones)):
            between = c[phones[j - 1][1] : phones[j][0]]
            if roles[j] != "caller" and (follow or _THEN.search(between)):
                follow.append(j)
    rest = [p for i, p in enumerate(phones) if i not in follow]
    rest_roles = [r for i, r in enumerate(roles) if i not in follow]
    to, caller = _parties(rest, rest_roles)
    chain = [first, *follow] if first is not None else []
    rings: list[int | None] = []
    for k, i in enumerate(chain):
        end = phones[i + 1][0] if i + 1 < len(phones) else len(c)
        rings.append(_ring_time(c[phones[i][1] : end], k == len(chain) - 1))
    then = [(phones[j][2], rings[k + 1]) for k, j in enumerate(follow)]
    return ForwardChain(to, caller, rings[0] if rings else None, then)


def _parties(
    phones: list[tuple[int, int, str | None]], roles: list[str | None]
) -> tuple[str | None, str | None]:
    """(to, caller) of numbers with their roles: those whose words say their role take it
    first (the first of each); numbers with no such words then fill the roles still
    free, "to" first."""
    chosen: dict[str, str | None] = {}
    for (_, _, e164), role in zip(phones, roles, strict=True):
        if role is not None and role not in chosen:
            chosen[role] = e164
    for (_, _, e164), role in zip(phones, roles, strict=True):
        free = next((r for r in ("to", "caller") if r not in chosen), None)
        if role is None and free is not None:
            chosen[free] = e164
    return chosen.get("to"), chosen.get("caller")


def flag(c: str, rx: re.Pattern[str]) -> bool:
    """True if a cue of `rx` occurs in `c` and is not negated."""
    for m in rx.finditer(c):
        if not cues.NEGATION.search(c[max(0, m.start() - 40) : m.start()]):
            return True
    return False


# ------------------------------------------------------------------ reminder text
_POLITE = re.compile(
    r"\b(?:please|pls|plz|kindly|s'il\s+te\s+plait|s'il\s+vous\s+plait|stp|svp|пожалуйста"
    r"|пожалуйсто|пжлст|пж|плиз)\b"
)
_LEAD = re.compile(
    r"^(?:to|about|that|of|for|re|regarding|concerning|on|at|and|then|me|us|so|i\s+need\s+to"
    r"|hey|hi|hello|ok|okay|yo|can\s+you|could\s+you|would\s+you|will\s+you|pls|please"
    r"|salut|bonjour|coucou|tu\s+peux|peux[-\s]tu|pourrais[-\s]tu|pouvez[-\s]vous|merci\s+de"
    r"|привет|слушай|эй|можешь|можете|ты\s+можешь|не\s+мог\s+бы\s+ты|будь\s+добр"
    r"|i\s+have\s+to|i\s+must|i\s+should|i\s+gotta|we\s+need\s+to|need\s+to|have\s+to|a|with"
    r"|de|du|que|pour|a\s+propos\s+(?:de|du|des)|concernant|au\s+sujet\s+(?:de|du|des)"
    r"|il\s+faut|je\s+dois|faut|moi|nous|et|puis|qu'il\s+faut|qu'il|penser\s+a|a"
    r"|о|об|обо|про|что|чтобы|насчет|мне\s+(?:надо|нужно)|надо|нужно|и|мне|нам|в|на|что\s+нужно"
    r"|что\s+надо|n'oublie\s+pas(?:\s+de)?|don'?t\s+forget(?:\s+to)?|не\s+забудь)"
    r"(?:\s+|$|(?=[,.;:!?]))|^(?:d'|qu'|l')\s*"
)
_TRAIL = re.compile(
    r"(?:\s+(?:thanks|thank\s+you|thx|merci|спасибо|and|et|и|at|on|a|в|на|le|the|по))+$"
)
_EDGE = " \t,.;:!?-—–\"'()[]…"


def reminder_text(msg: Message, spans: list[tuple[int, int]]) -> str | None:
    """The reminder text: `raw` without the spans (canonical coordinates) and filler."""
    cut: list[tuple[int, int]] = []
    c = msg.c
    for rx in (cues.REMIND, cues.REMIND_NOUN, cues.CALL_ME, cues.BY_MESSAGE, _POLITE):
        for m in rx.finditer(c):
            spans.append(m.span())
    for s, e in spans:
        cut.append((msg.to_raw(s), msg.to_raw(e)))
    cut.sort()
    raw = msg.raw
    pieces = []
    pos = 0
    for s, e in cut:
        if s > pos:
            pieces.append(raw[pos:s])
        pos = max(pos, e)
    pieces.append(raw[pos:])
    text = " ".join(" ".join(pieces).split())
    for _ in range(12):
        before = text
        text = text.strip(_EDGE)
        lead = _LEAD.match(fold(text))
        if lead and lead.end() > 0:
            text = text[lead.end() :]
        trail = _TRAIL.search(fold(text))
        if trail and trail.start() > 0:
            text = text[: trail.start()]
        if text == before:
            break
    return text or None
