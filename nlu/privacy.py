"""The privacy intents (en, fr, ru; folded text): recording calls, the recordings, the
recording key, linking a Waves wallet, the user's data and leaving.

`intent_of` chooses among them once the general rules (nlu.intents) have ruled out a
phone number, a reminder and a call request; the `*_asked` functions read their slots.
"""

from __future__ import annotations

import re

from nlu.message import ADDR_MARK, KEY_MARK
from nlu.negation import negated, negated_at


def _rx(*parts: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in parts))


# Masked base58 blobs, by their length: a signature (64 bytes) and a public key (32 bytes).
SIGNATURE_LENGTHS = range(80, 91)
PUBLIC_KEY_LENGTHS = range(41, 51)
_BLOB = re.compile(f"{KEY_MARK}+")

# --- linking a wallet ("link my wallet 3P…", "lier mon portefeuille", "привяжи кошелёк")
LINK_VERB = _rx(
    r"\b(?:link|connect|bind|attach|associate|verify|prove|register|pair)\w*"
    r"|\badd\s+(?:my\s+|a\s+)?(?:waves\s+)?(?:wallet|address)\b",
    r"\b(?:lie[rz]?|lies|relie\w*|associe\w*|connecte\w*|rattache\w*|verifie\w*|liaison)\b"
    r"|\bajoute\w*\s+(?:mon\s+|un\s+)?(?:portefeuille|adresse|wallet)\b",
    r"\bпривяж\w*|\bпривяз\w*|\bсвяж\w*|\bсвязать\b|\bподключ\w*|\bподтверд\w*"
    r"|\bдобав\w*\s+(?:мой\s+)?(?:кошел|адрес)\w*",
)
WALLET_NOUN = _rx(
    r"\bwallet\b|\baddress\b|\bwaves\s+account\b",
    r"\bportefeuille\b|\badresse\b",
    r"\bкошел\w*|\bкошельк\w*|\bадрес\w*|\bвалет\w*",
)
# "my wallet is 3P…", "voici mon portefeuille : 3P…", "мой кошелёк 3P…": an address claimed.
_OWN_WALLET = _rx(
    r"^\W*(?:this\s+is\s+|here\s+is\s+)?my\s+(?:waves\s+)?(?:wallet|address)\s*(?:address\s*)?"
    r"(?:is\s*|:\s*|=\s*)?\x02+\W*$",
    r"^\W*(?:voici\s+|c'est\s+)?mon\s+(?:portefeuille|adresse)\s*(?:est\s*|:\s*|=\s*)?\x02+\W*$",
    r"^\W*(?:вот\s+|это\s+)?мо[йя]\s+(?:кошел\w*|адрес\w*)\s*[:=-]?\s*\x02+\W*$",
)

# --- leaving: the personal data deleted ("forget me", "oublie-moi", "забудь меня")
FORGET_ME = _rx(
    r"\bforget\s+(?:about\s+)?(?:me|my\s+(?:account|data))\b|\bright\s+to\s+be\s+forgotten\b"
    r"|\b(?:delete|remove|erase|close|cancel|deactivate|terminate|destroy|wipe|nuke|purge)\w*\s+"
    r"(?:(?:all|of|everything)\s+)*(?:my|the)\s+(?:whole\s+|entire\s+|encryptotel\s+|user\s+"
    r"|personal\s+)?(?:account|profile|data|information|info)\b"
    r"|\b(?:delete|remove|erase|wipe)\w*\s+(?:me|everything\s+(?:about|on)\s+me)\b"
    r"|\bunsubscribe\b",
    r"\boubli(?:e|ez)[-\s]+moi\b|\bdroit\s+a\s+l'oubli\b|\bdesinscri\w*"
    r"|\b(?:supprim|effac|ferm|clotur|detrui|resili)\w*\s+(?:pas\s+|plus\s+|jamais\s+)?"
    r"(?:tout(?:es?)?\s+)?"
    r"(?:mon|le|ma|mes|les)\s+(?:compte|profil|donnees|informations)\b"
    r"|\bsupprime[rz]?[-\s]+moi\b|\befface\w*\s+tout\s+(?:sur|de)\s+moi\b",
    r"\bзабуд\w*\s+(?:меня|обо\s+мне|про\s+меня)\b|\bотпиш\w*"
    r"|\b(?:удал|сотр|стер|уничтож|закр|очист)\w*\s+(?:(?:весь|все|вс[её]|мне)\s+)?"
    r"(?:мо[йюи]\s+|моих\s+|свой\s+|свою\s+|свои\s+)?(?:аккаунт\w*|акаунт\w*|учетн\w+\s+запис\w*"
    r"|профил\w*|(?:персональн\w+\s+|личн\w+\s+)?данн\w+)|\bудал\w*\s+меня\b",
)
# The verbs of FORGET_ME ("don't delete my account", "ne supprime pas mon compte").
FORGET_VERB = _rx(
    r"\b(?:forget|delete|remove|erase|close|cancel|deactivate|terminate|destroy|wipe|nuke"
    r"|purge|unsubscribe)\w*",
    r"\b(?:oubli|supprim|effac|ferm|clotur|detrui|resili|desinscri)\w*",
    r"\b(?:забуд|удал|сотр|стер|уничтож|закр|очист|отпиш)\w*",
)

# --- the user's data, exported ("my data", "mes données", "мои данные")
MY_DATA = _rx(
    r"\bmy\s+(?:personal\s+|own\s+|user\s+|account\s+)?(?:data|info|information)\b"
    r"|\bpersonal\s+data\b|\bgdpr\b|\bdata\s+(?:export|request|dump|download)\b"
    r"|\bwhat\s+(?:do|did|does)\s+(?:you|u|encryptotel)\s+(?:\w+\s+)?(?:know|have|keep|store|hold"
    r"|collect|save|record)\w*\s+(?:\w+\s+){0,2}(?:about|on|of)\s+me\b"
    r"|\bwhat\s+(?:data|info|information)\s+(?:do\s+you\s+)?(?:have|hold|keep|store|collect)\w*"
    r"|\b(?:export|download|dump)\w*\s+(?:\w+\s+){0,2}data\b"
    r"|\beverything\s+(?:you\s+)?(?:know|have|keep|store|hold)\s+(?:about|on)\s+me\b",
    r"\bmes\s+(?:donnees|infos|informations)\b|\bdonnees\s+personnelles\b|\brgpd\b"
    r"|\b(?:export|telecharg|recuper|envoi|montr|affich)\w*[-\s]+(?:moi\s+)?(?:toutes\s+)?"
    r"(?:mes|les)\s+donnees\b"
    r"|\bque\s+(?:sais|savez|connais|connaissez)[-\s](?:tu|vous)\s+(?:\w+\s+){0,2}(?:de|sur)\s+moi\b"
    r"|\bqu'est[-\s]ce\s+que\s+(?:tu|vous)\s+(?:sais|savez|connais\w*|gard\w*|stock\w*)\s+"
    r"(?:de|sur)\s+moi\b|\b(?:tu|vous)\s+(?:sais|savez)\s+quoi\s+(?:de|sur)\s+moi\b"
    r"|\bquel(?:le)?s?\s+(?:infos?|informations?|donnees)\b",
    r"\bмо(?:и|их)\s+(?:персональн\w+\s+|личн\w+\s+)?данн\w+|\bперсональн\w+\s+данн\w+"
    r"|\bличн\w+\s+данн\w+|\b(?:выгруз|экспорт|скача|скачи|выдай|пришли|покажи|отправь|дай)\w*\s+"
    r"(?:мне\s+)?(?:все\s+)?(?:мои\s+)?данн\w+"
    r"|\bчто\s+(?:вы|ты)\s+(?:\w+\s+){0,2}(?:зна|храни)\w*\s+(?:\w+\s+)?(?:обо\s+мне|про\s+меня"
    r"|о\s+мне)|\bчто\s+(?:вы|ты)\s+(?:обо\s+мне|про\s+меня|о\s+мне)\s+(?:\w+\s+)?(?:зна|храни)\w*"
    r"|\bкак(?:ие|ую|ая|ой)\s+(?:данн\w+|сведени\w+|информаци\w*)"
    r"|\bинформаци\w*\s+(?:\w+\s+)?(?:обо\s+мне|про\s+меня)",
)
# The verbs of MY_DATA ("don't export my data").
EXPORT_VERB = _rx(
    r"\b(?:export|download|dump)\w*",
    r"\b(?:export|telecharg)\w*",
    r"\b(?:выгруз|экспорт|скача|скачи)\w*",
)

# --- recording: the verb, its singular noun, the recordings and the key they are sealed to
RECORD = _rx(
    r"\brecord(?:ed|ing)?\b|\bauto-?record\w*",
    r"\benregistr(?:e|er|ez|es|ons|ement|ant)\b",
    r"\bзапис\w*|\bзапиш\w*",
)
# The record verb, not its noun: "record all my calls", "enregistre tous mes appels",
# "записывай все мои звонки" (the noun alone names the recordings: "запись разговоров").
RECORD_VERB = _rx(
    r"\brecord(?:ed)?\b|\bauto-?record\w*",
    r"\benregistr(?:e|er|ez|es|ons|ent|ant|ee|ees)\b",
    r"\bзапис(?:ыва\w*|ать|ал\w*|ан\w*)\b|\bзапиш\w*",
)
# The recordings kept on the server: plural ("my recordings", "записи звонков"), the
# recording of calls named alone ("call recording", "запись разговоров"), or one named to
# be seen ("play the recording"). One named to be deleted ("delete the last recording") is
# not read: `delete` deletes them all.
RECORDINGS = _rx(
    r"\brecordings\b|\brecorded\s+(?:calls|conversations)\b"
    r"|\b(?:show|list|play|listen\w*\s+to)\s+(?:me\s+)?(?:the|my|this|that|all)\s+(?:\w+\s+)?"
    r"recording\b|^\W*(?:my\s+)?(?:call|calls|phone)\s+recording\W*$"
    r"|\brecording\s+of\s+(?:my\s+|all\s+)?(?:\w+\s+)?(?:calls|conversations)\b",
    r"\benregistrements\b|\b(?:appels|conversations)\s+enregistres\b"
    r"|\b(?:montr|affich|list|ecout)\w*[-\s]+(?:moi\s+)?(?:l'|les\s+|mes\s+|cet\s+)enregistrement\b"
    r"|\benregistrement\s+(?:de\s+mes|des)\s+(?:appels|conversations)\b",
    r"\bзаписи\b|\bзаписей\b|\bзапис(?:ям|ями|ях)\b|\bзаписанн\w+\s+(?:звонк|разговор|вызов)\w*"
    r"|\bзапись\s+(?:моих\s+|всех\s+)?(?:разговоров|звонков|вызовов)\b",
)
DELETE = _rx(
    r"\b(?:delete|erase|remove|wipe|clear|purge|destroy|trash)\w*|\bget\s+rid\s+of\b",
    r"\b(?:supprim|effac|detrui|vide|enleve)\w*",
    r"\b(?:удал|стер|сотр|очист|уничтож|убер|убра|почист)\w*",
)
KEY_NOUN = _rx(r"\bkeys?\b|\bkey\s*-?\s*pair\b|\bkeypair\b", r"\bcle[fs]?\b", r"\bключ\w*")
_ENCRYPT = _rx(r"\bencrypt\w*|\bseal\w*|\bchiffr\w*|\bшифр\w*")
# A key named alone ("my key", "make me a key", "crée-moi une clé", "создай ключ").
_BARE_KEY = _rx(
    r"^\W*(?:please\s+)?(?:what(?:'s|\s+is|\s+are)\s+|where\s+is\s+|do\s+i\s+have\s+)?"
    r"(?:(?:don'?t\s+|do\s+not\s+)?(?:make|create|generate|give|get|show|send|i\s+want|i\s+need)\s+"
    r"(?:me\s+)?)?(?:(?:my|a|an|the|new|another|fresh|private|public|secret)\s+)*keys?"
    r"(?:\s+pair)?(?:\s+please)?\W*$",
    r"^\W*(?:quelle\s+est\s+|c'est\s+quoi\s+|ou\s+est\s+)?"
    r"(?:(?:ne\s+)?(?:cree|creer|genere|fais|donne|montre|affiche)[-\s]*(?:moi\s+)?"
    r"(?:pas\s+)?)?"
    r"(?:(?:ma|une|la|nouvelle|mes|les|de)\s+)*cle[fs]?(?:\s+(?:privee|publique|secrete))?"
    r"(?:\s+(?:svp|stp))?\W*$",
    r"^\W*(?:какой\s+(?:у\s+меня\s+)?|где\s+)?(?:(?:не\s+)?(?:созда|сгенерир|сдела|да|покажи)\w*\s+"
    r"(?:мне\s+)?)?"
    r"(?:(?:мой|новый|мои|новые|личный|секретный)\s+)*ключ\w*(?:\s+пожалуйста)?\W*$",
)
NEW_KEY = _rx(
    r"\b(?:new|create|make|generat|another|fresh|rotat|regenerat|replac|renew|reset|change"
    r"|issue)\w*|\bset\s+up\b",
    r"\bnouv\w*|\bcre(?:e|er|ez|es)\b|\bgener\w*|\bfabriqu\w*|\bfai(?:s|tes)[-\s]moi\b"
    r"|\bchange\w*|\bremplac\w*|\brenouvel\w*|\breinitialis\w*",
    r"\bнов\w*|\bсозда\w*|\bсгенер\w*|\bгенер\w*|\bсдела\w*|\bсмени\w*|\bзамени\w*|\bпоменя\w*"
    r"|\bвыпуст\w*|\bобнови\w*|\bсброс\w*",
)

# --- the recording default: every call recorded, or none ("record all my calls")
_CALLS = _rx(
    r"\bcalls\b|\bconversations\b|\bcall\s+recording\b",
    r"\bappels\b|\bconversations\b|\bcommunications\b",
    r"\bзвонк(?:и|ов|ам|ами)\b|\bвызов(?:ы|ов)\b|\bразговор(?:ы|ов)\b",
)
_ALWAYS = _rx(
    r"\balways\b|\bautomatic\w*|\bauto\b|\bevery\s+(?:call|conversation)\b|\beverything\b"
    r"|\bfrom\s+now\s+on\b|\bby\s+default\b|\ball\s+the\s+time\b",
    r"\btoujours\b|\bautomatique\w*|\bsystematique\w*|\bdesormais\b|\bdorenavant\b"
    r"|\ba\s+partir\s+de\s+maintenant\b|\bpar\s+defaut\b|\bchaque\s+appel\b|\btout\b",
    r"\bвсегда\b|\bавтоматическ\w*|\bавтоматом\b|\bпостоянно\b|\bпо\s+умолчанию\b|\bотныне\b"
    r"|\bс\s+этого\s+момента\b|\bкажд\w+\s+(?:звон|разговор|вызов)\w*",
)
# Words that switch the recording default off.
_OFF = _rx(
    r"\b(?:stop|quit|cease|pause|never|not|don'?t|dont|do\s+not|no\s+(?:more|longer))\s+(?:\w+\s+){0,2}"
    r"(?:record(?:s|ed|ing)?|auto-?record\w*)\b|\b(?:disabl|deactivat|cancel)\w*"
    r"|\b(?:turn|switch|shut)\w*\s+(?:\w+\s+){0,3}off\b|\boff\b|\bwithout\s+record\w*"
    r"|\b(?:don'?t|do\s+not|never)\s+(?:want|need|like)\b",
    r"\b(?:arret|cess|desactiv|coupe|stoppe|annul)\w*|\bne\s+(?:\w+\s+)?(?:plus|pas|jamais)\b"
    r"|\bn'\w+\s+(?:plus|pas|jamais)\b|\bsans\s+enregistr\w*|\bplus\s+d'enregistrement",
    r"\b(?:выключ|отключ|прекрат|перестан|останов|отмен)\w*|\bхватит\b|\bстоп\b"
    r"|\bне\s+(?:\w+\s+)?запи[сш]\w*|\bбольше\s+не\b|\bбез\s+запис\w*"
    r"|\bне\s+(?:хочу|хотим|нужно|надо)\b",
)
# Words that turn a setting on or off: "recordings" with them is the recording default
# ("выключи режим записи", "désactive les enregistrements").
_SETTING = _rx(
    r"\b(?:turn|switch|set)\w*\s+(?:\w+\s+){0,3}(?:on|off)\b|\b(?:en|dis)abl\w*"
    r"|\b(?:de)?activat\w*",
    r"\b(?:des)?activ\w*",
    r"\b(?:в|вы|от)ключ\w*|\bактивир\w*|\bрежим\w*\s+записи|\bбез\s+записи",
)
# Words that switch the recording default, on or off ("turn on call recording").
_SWITCH = _rx(
    _OFF.pattern,
    _SETTING.pattern,
    r"\brecording\s+(?:is\s+)?on\b|\bstart\w*|\bresume\b|\bkeep\s+recording\b",
    r"\bcommence\w*|\bdemarre\w*|\bmets?\s+en\s+route\b",
    r"\bначн\w*|\bначина\w*",
)
# "call recording on" starts with "call" and is no call request.
_CALL_RECORDING = re.compile(r"^\W*(?:call|appel)\w*\s+(?:record|enregistr)")


def _blob_lengths(c: str) -> list[int]:
    return [m.end() - m.start() for m in _BLOB.finditer(c)]


def _link_wallet(c: str) -> bool:
    """A wallet to link: a linking word with a wallet or an address, an address claimed,
    or a signature or public key pasted."""
    if LINK_VERB.search(c) and (WALLET_NOUN.search(c) or ADDR_MARK in c):
        return True
    if _OWN_WALLET.search(c):
        return True
    lengths = _blob_lengths(c)
    return any(n in SIGNATURE_LENGTHS or n in PUBLIC_KEY_LENGTHS for n in lengths)


def _recording_key(c: str) -> bool:
    """The key recordings are sealed to: a key word with a recording or encryption word,
    or a key named alone."""
    if not KEY_NOUN.search(c) or WALLET_NOUN.search(c):
        return False
    about = (RECORD, RECORDINGS, _ENCRYPT, _BARE_KEY)
    return any(rx.search(c) for rx in about)


def _record_calls(c: str, call_request: bool) -> bool:
    """The recording default: the record verb about calls in general, or a recording word
    with always or switched on or off; not a call request ("call mom and record it")."""
    if not (RECORD.search(c) or RECORDINGS.search(c)):
        return False
    if call_request and not _CALL_RECORDING.search(c):
        return False
    if _ALWAYS.search(c) or _SWITCH.search(c):
        return True
    return bool(_CALLS.search(c) and RECORD_VERB.search(c))


# Words one of which every privacy intent needs (a quick test first: most messages have
# none). Keep it a superset of what the patterns above require.
_MAYBE = re.compile(
    r"record|enregistr|запи[сш]|\bkey|\bcle|ключ|[\x02\x04]|wallet|address|portefeuille|adresse"
    r"|кошел|адрес|валет|forget|forgotten|account|profile|data|info|unsubscribe|oubli|desinscri"
    r"|compte|profil|donnees|забуд|отпиш|аккаунт|акаунт|учетн|профил|данн|сведени|gdpr|rgpd"
    r"|\b(?:delete|remove|erase|wipe)\w*\s+(?:me|everything)\b|supprime[rz]?[-\s]+moi"
    r"|efface\w*\s+tout|удал\w*\s+меня|(?:about|on|of)\s+me\b|(?:de|sur)\s+moi\b"
    r"|(?:обо|о)\s+мне|про\s+меня|информаци"
)


def intent_of(c: str, call_request: bool = False, money_request: bool = False) -> str | None:
    """The privacy intent of canonical text `c` (no phone number, no reminder in it), or
    None. `call_request`: the message asks for a call ("call mom and record it");
    `money_request`: it moves money ("withdraw 5 waves to my connected wallet 3P…")."""
    if not _MAYBE.search(c):
        return None
    if not money_request and _link_wallet(c):
        return "link_wallet"
    if FORGET_ME.search(c):
        return "forget_me"
    if MY_DATA.search(c):
        return "my_data"
    if _recording_key(c):
        return "recording_key"
    if RECORDINGS.search(c) and not _SETTING.search(c):
        return "recordings"
    if _record_calls(c, call_request):
        return "record_calls"
    return None


# --- slots ----------------------------------------------------------------------------------


def recording_on(c: str) -> bool:
    """`record_calls.on`: False when the words switch the recording default off."""
    return _OFF.search(c) is None


def delete_asked(c: str) -> bool:
    """`recordings.delete`: a deleting word not negated ("don't delete" only lists)."""
    return DELETE.search(c) is not None and not negated(c, (DELETE,))


def new_key_asked(c: str) -> bool:
    """`recording_key.new`: a new key asked for, none of its words negated ("don't make a
    new key" shows the key)."""
    found = list(NEW_KEY.finditer(c))
    return bool(found) and not any(negated_at(c, m.start(), m.end()) for m in found)


# What was meant as an address but is none ("3Pnotanaddress", a letter O for a zero): taken
# as written, for the wallet to refuse with the words the user typed.
_ADDRESS_TRIED = re.compile(r"(?<![A-Za-z0-9])3[A-Za-z0-9]{9,59}(?![A-Za-z0-9])")


def address_tried(raw: str) -> str | None:
    """The first word of `raw` that looks meant as a Waves address, or None."""
    found = _ADDRESS_TRIED.search(raw)
    return found.group() if found else None


def proof(blobs: list[str]) -> tuple[str | None, str | None]:
    """(signature, public_key) among the base58 `blobs` of a message, told apart by their
    length (the first of each); None for each not found."""
    signature = next((b for b in blobs if len(b) in SIGNATURE_LENGTHS), None)
    public_key = next((b for b in blobs if len(b) in PUBLIC_KEY_LENGTHS), None)
    return signature, public_key
