"""The ETT holders' votes intent (en, fr, ru; the words as written): the open votes
listed ("polls", "sondages", "голосования"), an option voted ("vote 3 1", "voter 3 1",
"голос 3 1": vote 3, option 1, numbered from 1 as the announcement shows them), a closed
vote's results ("poll results 3", "résultats du vote", "итоги голосования") or its export
("poll export 3", "export du vote", "экспорт голосования").

The chat's polls feature (bot.features.polls) matches the same patterns before the
parser runs, so `python main.py parse` and the chat agree. Each pattern has a group per
language (`en`, `fr`, `ru`: the reply's language) and `arg` (the numbers).
"""

from __future__ import annotations

import re

LANGUAGES = ("en", "fr", "ru")
LIST = (
    r"^(?:(?P<en>polls|votes|open\s+votes|my\s+votes?)|(?P<fr>sondages|votes\s+en\s+cours"
    r"|mes\s+votes?|mon\s+vote)|(?P<ru>голосования|опросы|мой\s+голос|мои\s+голоса))\s*[.!?]*$"
)
RESULTS = (
    r"^(?:(?P<en>(?:poll|vote)\s+results?|results\s+of\s+(?:the\s+)?(?:poll|vote))"
    r"|(?P<fr>r[ée]sultats?\s+du\s+(?:vote|sondage))"
    r"|(?P<ru>(?:результаты|итоги)\s+(?:голосования|опроса)))"
    r"(?:\s*(?:#|n°|№)?\s*(?P<arg>\d+))?\s*[.!?]*$"
)
EXPORT = (
    r"^(?:(?P<en>(?:poll|vote)\s+export|export\s+(?:the\s+)?(?:poll|vote))"
    r"|(?P<fr>export(?:er)?\s+(?:du|le)\s+(?:vote|sondage))"
    r"|(?P<ru>экспорт(?:ируй)?\s+(?:голосования|опроса|голосование|опрос)))"
    r"(?:\s*(?:#|n°|№)?\s*(?P<arg>\d+))?\s*[.!?]*$"
)
VOTE = r"^(?:(?P<en>vote)|(?P<fr>voter|je\s+vote)|(?P<ru>голос|голосую))\s+#?(?P<arg>\d+\s+\d+)\s*$"
# The parse contract's `action` of each pattern, tried in this order.
_ACTIONS = (
    ("list", re.compile(LIST, re.IGNORECASE)),
    ("vote", re.compile(VOTE, re.IGNORECASE)),
    ("results", re.compile(RESULTS, re.IGNORECASE)),
    ("export", re.compile(EXPORT, re.IGNORECASE)),
)


def request_of(raw: str) -> dict | None:
    """The slots of a message about the votes, or None when it is about something else:
    `{"lang", "action", "poll", "option"}`, where `action` is "list", "vote", "results" or
    "export"; `poll` the vote's number (None: for results and export, the last closed
    one; never None for "vote"); `option` the option's number from 1 (for "vote" only,
    else None). Numbers are not checked against the polls (the parser does no I/O)."""
    text = raw.strip()
    for action, pattern in _ACTIONS:
        found = pattern.match(text)
        if found is None:
            continue
        lang = next(g for g in LANGUAGES if found.group(g))
        numbers = [int(n) for n in (found.groupdict().get("arg") or "").split()]
        return {
            "lang": lang,
            "action": action,
            "poll": numbers[0] if numbers else None,
            "option": numbers[1] if action == "vote" else None,
        }
    return None
