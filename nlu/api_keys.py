"""The API keys intent (en, fr, ru; folded text): a key of the HTTP API made ("api key",
"create an api key for my CRM", "clé api", "новый ключ апи"), the keys listed ("my api
keys", "mes clés api", "мои ключи api") or revoked ("revoke api key 3f2a…", "revoke all
api keys", "supprime mes clés api", "удали ключи api").

`asked` tells whether a message is about API keys; the other functions read its slots.
A key is named by its id (storage.api_keys: 12 hexadecimal digits) or the start of it (4
or more), alone or inside the whole token (`ett_<id>_<secret>`) pasted back.
"""

from __future__ import annotations

import re

from nlu.negation import negated, negated_at


def _rx(*parts: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in parts))


API = re.compile(r"\bapi\b|\bапи\b|\bapi-?keys?\b|\bapikeys?\b|\bett_[0-9a-f]{4}")
KEY = _rx(
    r"\bkeys?\b|\btokens?\b|\bapikeys?\b|\bapi-keys?\b",
    r"\bcle[fs]?\b|\bjetons?\b",
    r"\bключ\w*|\bтокен\w*",
)
# Several keys named: "my api keys", "mes clés api", "ключи api".
PLURAL = re.compile(
    r"\bkeys\b|\btokens\b|\bapikeys\b|\bapi-keys\b|\bclef?s\b|\bjetons\b"
    r"|\bключи\b|\bключей\b|\bключам\w*|\bтокены\b|\bтокенов\b"
)
ALL = _rx(
    r"\ball\b|\bevery\b|\beach\b|\bevery\s*one\b",
    r"\btou(?:s|tes?)\b|\bchaque\b",
    r"\bвсе\b|\bвсех\b|\bкажд\w*",
)
REVOKE = _rx(
    r"\b(?:revok|delet|remov|disabl|deactivat|cancel|destroy|invalidat|eras|kill|drop|purge)\w*"
    r"|\bget\s+rid\s+of\b",
    r"\b(?:revoqu|revoc|supprim|effac|desactiv|annul|invalid|detrui|retir|enleve)\w*",
    r"\b(?:отзов|отозв|отзыв|удал|отмен|деактив|отключ|аннулир|уничтож|сотр|стер|убер|убра)\w*",
)
NEW = _rx(
    r"\b(?:new|creat|make|generat|issue|another|fresh|add)\w*|\bset\s+up\b|\bgive\s+me\b"
    r"|\bget\s+(?:me\s+)?(?:a|an|one)\b|\bi\s+(?:want|need|would\s+like)\b|\bi'd\s+like\b",
    r"\bnouv\w*|\bcre(?:e|er|ez|es)\b|\bgener\w*|\bfabriqu\w*|\bfai(?:s|tes)[-\s]moi\b"
    r"|\bdonne[-\s]moi\b|\bje\s+(?:veux|voudrais)\b|\bil\s+me\s+faut\b|\bajoute\w*",
    r"\bнов\w*|\bсозда\w*|\bсгенер\w*|\bгенер\w*|\bсдела\w*|\bвыпуст\w*|\bвыда\w*|\bдай\b"
    r"|\bдобав\w*|\bхочу\b|\bнуж\w+\b",
)
# The keys shown, never made: "my api keys", "list api keys", "quelles clés api",
# "мои ключи api", "покажи ключи api".
LIST = _rx(
    r"\bmy\b|\blist\w*|\bshow\w*|\bwhich\b|\bwhat\b|\bhow\s+many\b|\bsee\b|\bview\b",
    r"\bm(?:es|on|a)\b|\bliste\w*|\bmontre\w*|\baffiche\w*|\bquel\w*|\bcombien\b|\bvoir\b",
    r"\bмо(?:и|й|его|их)\b|\bсписок\b|\bпокаж\w*|\bкак(?:ие|ой)\b|\bсколько\b|\bперечисл\w*",
)
# "read only", "lecture seule", "только чтение": the read scope alone.
READ_ONLY = _rx(
    r"\bread[-\s]?only\b|\bonly\s+(?:to\s+)?read\w*|\bjust\s+read\w*",
    r"\blecture\s+seule\b|\bseulement\s+(?:en\s+)?lecture\b|\blecture\s+uniquement\b",
    r"\bтольк\w*\s+(?:на\s+|для\s+)?чтени\w*|\bчтени\w*\s+тольк\w*|\bтольк\w*\s+чита\w*",
)
# "with payments", "full access", "paiements", "платежи": every scope.
FULL = _rx(
    r"\bpay(?:ment|ments|outs?)?\b|\bwithdrawals?\b|\bfull\b|\ball\s+(?:scopes|rights"
    r"|permissions)\b|\bevery\s+scope\b",
    r"\bpaiements?\b|\bretraits?\b|\bcomplet\w*|\btous\s+les\s+droits\b|\bacces\s+total\b",
    r"\bплат[её]ж\w*|\bоплат\w*|\bвывод\w*|\bполн\w*|\bвсе\s+прав\w*",
)
# The name given to a new key: "for my CRM", "pour mon CRM", "для CRM", "named shop".
_NAME = re.compile(
    r"\b(?:for|named|called|pour|nommee?|appelee?|для|под\s+названием|с\s+именем|назван\w*)\s+"
    r"(?:(?:my|the|our|a|an|mon|ma|mes|le|la|les|notre|un|une|мо\w+|наш\w+)\s+|l')?"
)
# Where a name ends: a scope, "with", a comma.
_NAME_END = _rx(
    READ_ONLY.pattern,
    FULL.pattern,
    r"\bwith\b|\bavec\b|\bс\b|\bwhich\b|\bthat\b|\bqui\b|\bкоторый\b|[,;:!?()]|\bplease\b"
    r"|\bsvp\b|\bstp\b|\bпожалуйста\b|\bonly\b|\bseulement\b|\bтолько\b|\bread\w*|\blecture\b|\bчтени\w*"
    r"|\bcalls?\b|\bappels?\b|\bзвонк\w*|\ben\b",
)
NAME_WORDS = 4
NAME_LENGTH = 64  # storage.api_keys keeps 64 characters of a name

# A key's id, or its start, as written: 4 to 12 hexadecimal digits (maybe cut with "…",
# which the clean-up turns into "."), or inside a whole token "ett_<id>_<secret>".
_ID = re.compile(
    r"(?<![\w-])(?:ett_)?(?P<id>[0-9a-f]{4,12})(?:_[A-Za-z0-9_-]+|\.+)?(?![\w-])", re.IGNORECASE
)
# Words a key's id is named after: "key 3f2a", "clé api 3f2a", "ключ 3f2a", "id 3f2a".
_ID_AFTER = re.compile(
    r"(?:\bkeys?|\bcle[fs]?|\bключ\w*|\btokens?|\bjetons?|\bтокен\w*|\bapi|\bапи|\bid"
    r"|\bnumero|\bномер)\W*$"
)
# The scopes of a key (storage.models.API_SCOPES, in their order; the parser does no I/O
# and imports no storage): asked by default, "read only", "with payments".
DEFAULT_SCOPES = ("read", "calls")
READ_SCOPES = ("read",)
FULL_SCOPES = ("read", "calls", "payments")

# Words one of which every message about API keys needs (a quick test first).
_MAYBE = re.compile(r"api|апи|ett_")


def asked(c: str) -> bool:
    """Whether canonical text `c` is about API keys: an API word with a key word ("api
    key", "clé d'api", "ключ апи"), or a pasted token."""
    if not _MAYBE.search(c) or not API.search(c):
        return False
    return KEY.search(c) is not None or "ett_" in c


def _done(c: str, rx: re.Pattern[str]) -> bool:
    """Whether a word of `rx` occurs in `c`, not every occurrence negated."""
    return rx.search(c) is not None and not negated(c, (rx,))


def action_of(c: str, key_id: str | None) -> str:
    """The action asked by a message about API keys ("revoke", "new" or "list"): a
    revoking word revokes; a making word makes; several keys, "my" key, or a key named by
    its id (`key_id`) alone are listed; a key named alone ("api key", "clé api") is made.
    A verb negated ("don't revoke my api key, show them") is not done: the keys are
    listed (a message whose every verb is negated is no request: nlu.intents.NEGATABLE)."""
    if _done(c, REVOKE):
        return "revoke"
    if REVOKE.search(c):  # negated: nothing is revoked, nor made
        return "list"
    if _done(c, NEW):
        return "new"
    # A name ("for my CRM") says nothing of listing; a scope ("read only") asks for a key.
    named = _NAME.search(c)
    head = c[: named.start()] if named else c
    if not NEW.search(c) and (READ_ONLY.search(c) or FULL.search(c)) and key_id is None:
        return "new"
    if NEW.search(c) or LIST.search(head) or PLURAL.search(head) or key_id is not None:
        return "list"
    return "new"


def scopes_of(c: str) -> tuple[str, ...]:
    """The scopes asked for a new key: read alone ("read only"), every scope ("with
    payments", "full access"), else read and calls."""
    if READ_ONLY.search(c):
        return READ_SCOPES
    if any(not negated_at(c, m.start(), m.end()) for m in FULL.finditer(c)):
        return FULL_SCOPES
    return DEFAULT_SCOPES


def all_asked(c: str) -> bool:
    """Whether every key is to be revoked: "all", or keys named in the plural."""
    return ALL.search(c) is not None or PLURAL.search(c) is not None


def key_id_span(low: str) -> tuple[int, int] | None:
    """Where the key id of folded text `low` is (the last one named): a run of 4 to 12
    hexadecimal digits with a digit in it, or its 12 digits, or right after a key word
    ("revoke api key abcd"); None when the message names none."""
    found: tuple[int, int] | None = None
    for m in _ID.finditer(low):
        digits = m.group("id")
        if (
            any(ch.isdigit() for ch in digits)
            or len(digits) == 12
            or _ID_AFTER.search(low[max(0, m.start() - 12) : m.start()])
        ):
            found = m.span("id")
    return found


def name_of(raw: str, low: str) -> str | None:
    """The name given to a new key, as written ("create an api key for my CRM": "CRM"):
    at most NAME_WORDS words, up to a scope or "with"; None when none is given."""
    m = _NAME.search(low)
    if m is None:
        return None
    start = m.end()
    rest = low[start:]
    end = _NAME_END.search(rest)
    stop = start + (end.start() if end else len(rest))
    words = raw[start:stop].split()[:NAME_WORDS]
    name = " ".join(words).strip(" .'\"-")
    if not name or API.search(name.lower()) or KEY.search(name.lower()):
        return None
    return name[:NAME_LENGTH]
