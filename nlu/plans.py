"""The monthly plans intent (en, fr, ru; folded text): the plans listed ("plans", "what
plans do you have", "tarifs", "forfaits", "тарифы"), one subscribed to ("subscribe to
Business", "je prends le forfait Business", "подключи тариф Business"), the plan cancelled
("cancel my plan", "résilie mon forfait", "отмени тариф") or its minutes asked ("how many
minutes are left", "combien de minutes me reste-t-il", "сколько минут осталось", "my plan").

`asked` tells whether a message is about plans; `action_of` and `name_of` read its slots.
The parser knows no plan names (it does no I/O): `name_of` gives the words left once the
plan vocabulary is taken out, and the feature matches them with the operator's file.
"""

from __future__ import annotations

import re

from nlu.negation import negated


def _rx(*parts: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in parts))


PLAN = _rx(
    r"\bplans?\b|\bsubscri\w*|\bunsubscri\w*|\bpackages?\b|\bbundles?\b",
    r"\bforfaits?\b|\btarifs?\b|\babonn\w*|\bdesabonn\w*|\bsouscri\w*|^resili\w*[.!?]*$",
    r"\bтариф\w*|\bподписк\w*|\bпакет\w*|\bабонемент\w*",
)
# "minutes left", "minutes restantes", "сколько минут осталось", "included minutes".
MINUTES_LEFT = _rx(
    r"\bminutes?\s+(?:\w+\s+){0,3}(?:left|remaining|remain)\b|\b(?:remaining|included)\s+minutes\b"
    r"|\bhow\s+many\s+minutes\b",
    r"\bminutes?\s+(?:restantes?|incluses?)\b|\bcombien\s+(?:de\s+|d')?minutes\b"
    r"|\breste[-\s]t[-\s]il\s+(?:\w+\s+){0,2}minutes\b",
    r"\bсколько\s+(?:у\s+меня\s+)?(?:осталось\s+)?минут\w*|\bминут\w*\s+остал\w*"
    r"|\bостат\w*\s+минут\w*|\bвключ[её]нн\w*\s+минут\w*",
    # "my minutes", "mes minutes", "мои минуты", "минуты" alone
    r"^(?:(?:my|mes|мои)\s+)?(?:minutes|минуты)[.!?]*$|\b(?:my|mes|мои)\s+(?:minutes|минуты)\b",
)
# "switch to Enterprise", "upgrade to Business", "passer à Business", "перейти на Бизнес":
# a plan's name (at most two words) after a verb that changes plans, nothing else.
# Not a language ("switch to English", "перейди на русский"), nor a device.
_NOT_PLAN_AFTER = (
    r"(?!(?:english|french|russian|anglais|francais|russe|английск|русск|французск"
    r"|speaker|headset|haut|громк)\w*)"
)
SWITCH_TO = _rx(
    r"^(?:please\s+)?(?:switch|upgrade|downgrade)\s+(?:me\s+)?(?:over\s+)?to\s+(?:the\s+)?"
    + _NOT_PLAN_AFTER
    + r"\w+(?:\s+\w+)?[.!?]*$",
    r"^(?:je\s+veux\s+)?passer\s+(?:a|au)\s+" + _NOT_PLAN_AFTER + r"\w+(?:\s+\w+)?[.!?]*$",
    r"^(?:хочу\s+)?(?:перейти|перейди|переведи\s+меня)\s+на\s+"
    + _NOT_PLAN_AFTER
    + r"\w+(?:\s+\w+)?[.!?]*$",
)
# Verbs that ask for a plan even without its name ("subscribe": which plan?).
SUBSCRIBE_ALONE = _rx(
    r"^(?:i\s+want\s+to\s+)?(?:subscribe|sign\s+up)(?:\s+(?:me|please|to\s+(?:a\s+)?plan))*[.!?]*$",
    r"^(?:je\s+veux\s+)?(?:m'abonner|s'abonner|abonne[rz]?(?:-moi)?|souscrire)[.!?]*$",
    r"^(?:хочу\s+)?(?:подписаться|подпишите|подпиши|подключить\s+тариф|подключи\s+тариф)[.!?]*$",
)
CANCEL = _rx(
    r"\b(?:cancel|stop|end|terminat|unsubscri|quit|drop|discontinu)\w*",
    r"\b(?:annul|resili|desabonn|arret|stopp|termin)\w*|\bmettre\s+fin\b",
    r"\b(?:отмен|отключ|отпис|расторг|прекрат|останов|откаж)\w*",
)
SUBSCRIBE = _rx(
    r"\bsubscri\w*|\bsign\s+(?:me\s+)?up\b|\b(?:take|choose|pick|switch|change|upgrade|downgrade"
    r"|move|buy|get|activate|join|want|go\s+for|opt\s+for)\w*",
    r"\babonne\w*|\bsouscri\w*|\bprend\w*|\bchoisi\w*|\bpasse[rz]?\b|\bchange\w*|\bveux\b"
    r"|\bvoudrais\b|\bactive\w*|\bachete\w*|\bprenons\b",
    r"\bподпиш\w*|\bподписа\w*|\bоформ\w*|\bподключ\w*|\bперейд\w*|\bперейти\b|\bперевед\w*"
    r"|\bвыбира\w*|\bвыбер\w*|\bкуп\w*|\bхочу\b|\bвозьм\w*|\bсмен\w*|\bактивир\w*",
)
# Words that are no part of a plan's name.
_NOT_NAME = _rx(
    PLAN.pattern,
    CANCEL.pattern,
    SUBSCRIBE.pattern,
    r"^(?:to|the|a|an|my|me|i|please|for|on|onto|into|plan|monthly|one|this|that|now|instead"
    r"|le|la|les|au|aux|a|un|une|mon|ma|je|moi|me|m|s'il|vous|plait|svp|stp|pour|sur|du|de|des"
    r"|mensuel|на|мне|мой|мою|тариф|пожалуйста|я|в|с|по|для|этот|план|месячный|d|l|over|en|à|sign|up)$",
)
NAME_WORDS = 3


def asked(c: str) -> bool:
    """Whether canonical text `c` is about monthly plans: a plan word ("plan", "forfait",
    "тариф", "subscribe") or the included minutes asked ("how many minutes are left")."""
    return any(rx.search(c) for rx in (PLAN, MINUTES_LEFT, SWITCH_TO, SUBSCRIBE_ALONE))


def action_of(c: str) -> str:
    """What is asked: "usage" (minutes left, "my plan"), "cancel", "subscribe" (with a
    name to subscribe to: see `name_of`) or "list". A verb negated ("don't cancel my
    plan") is not done."""
    if MINUTES_LEFT.search(c):
        return "usage"
    if CANCEL.search(c) and not negated(c, (CANCEL,)):
        return "cancel"
    if SUBSCRIBE.search(c) and not negated(c, (SUBSCRIBE,)) and name_of(c):
        return "subscribe"
    if SUBSCRIBE_ALONE.search(c):
        return "subscribe"  # with no name: the feature asks which plan
    if re.search(r"\b(?:my|current|mon|ma|mon\s+actuel|мой|моя|текущ\w*)\s+(?:\w+\s+)?"
                 r"(?:plan|forfait|abonnement|tarif|тариф\w*|подписк\w*)\b", c):  # fmt: skip
        return "usage"
    return "list"


def name_of(text: str) -> str | None:
    """The plan named in a message (its words as written, at most NAME_WORDS), the words
    left once plan words, verbs and small words are taken out; None when none is left.
    "subscribe to the Business plan" -> "Business"."""
    words = [w.strip(".,!?;:'\"()«»") for w in text.split()]
    kept = [w for w in words if w and not _NOT_NAME.search(w.lower())]
    return " ".join(kept[:NAME_WORDS]) or None
