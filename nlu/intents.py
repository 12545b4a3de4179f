"""Cue phrases of each intent (en, fr, ru; folded text) and the choice of the intent."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from nlu import api_keys, calendars, plans, privacy, reminders
from nlu.message import Message


def _rx(*parts: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in parts))


P = r"\x01+"  # a masked phone number

FORWARD = _rx(
    r"\bforward\w*|\bfwd\b|\bdivert\w*|\bredirect\w*|\bre-?rout\w*",
    r"\brenvo[iy]\w*|\bredirig\w*|\bredirection\w*|\bdevie\w*\s+(?:mes|les)\s+appels"
    r"|\btransfert\s+(?:d'|des\s+)appels?|\bcall\s+(?:transfer|diversion)\w*",
    r"\bпереадрес\w*|\bпереадр\b|\bперенаправ\w*|\bредирект\w*|\bфорвард\w*",
)
# Verbs that mean "forward" with calls, "send money" with funds.
TRANSFER = _rx(
    r"\btransf[ea]r\w*",
    r"\btransfer\w*|\bbascul\w*",
    r"\bперевед\w*|\bперевест\w*|\bпереключ\w*|\bперевод\w*|\bпереставь\w*",
)
TRANSFER_WEAK = _rx(
    r"\bmove\b|\bsend\b|\broute\b|\bput\b|\benvoie\w*|\bmets\b|\bотправ\w*|\bпусти\w*"
)
CALLS_NOUN = _rx(
    r"\bcalls\b|\bincoming\b|\bphone\s+line\b",
    r"\bappels\b|\bmes\s+appels\b|\bles\s+appels\b|\bligne\b|\bd'appels?\b",
    r"\bзвонк\w*|\bвызов\w*|\bвходящ\w*",
)
OFF = _rx(
    r"\b(?:turn|switch|shut|set|put)\w*\s+(?:\w+\s+){0,3}off\b|\boff\b|\bstop\w*|\bdisabl\w*"
    r"|\bcancel\w*|\bremov\w*|\bdelet\w*|\bdeactivat\w*|\bclear\w*|\bunset\b|\bno\s+more\b"
    r"|\bdon'?t\b|\bdo\s+not\b|\bkill\b|\bno\s+(?:call\s+)?forward\w*|\bquit\b",
    r"\barret\w*|\bdesactiv\w*|\bsupprim\w*|\bannul\w*|\bcoupe\w*|\benleve\w*|\bretire\w*"
    r"|\bplus\s+de\s+(?:renvoi|transfert)|\bne\s+\w+\s+plus\b|\bn'\w+\s+plus\b|\bsans\s+renvoi"
    r"|\bfin\s+du\b|\bstop\b",
    r"\bвыключ\w*|\bотключ\w*|\bотмен\w*|\bубер\w*|\bубра\w*|\bудал\w*|\bсним\w*|\bснять\b"
    r"|\bпрекрат\w*|\bостанов\w*|\bхватит\b|\bне\s+надо\b|\bне\s+переадрес\w*|\bстоп\b"
    r"|\bвыкл\b|\bбольше\s+не\b|\bбез\s+переадрес\w*|\bсброс\w*\s+переадрес\w*|\bдеактив\w*",
)
HANGUP = _rx(
    r"\bhang\s*-?\s*up\b|\bhangup\b|\bhang\s+it\s+up\b|\bdisconnect\w*"
    r"|\b(?:end|drop|terminate|stop|kill|cancel|finish|cut)\s+(?:the\s+|this\s+|my\s+|current\s+"
    r"|ongoing\s+|active\s+)*(?:call|conversation)\b",
    r"\braccroch\w*|\b(?:termin\w*|coupe\w*|arret\w*|fini\w*|mets?\s+fin\s+a)\s+"
    r"(?:l'|la\s+|cet\s+|cette\s+|mon\s+)?(?:appel|communication|conversation)\b"
    r"|\bfin\s+(?:de\s+l'|d')appel\b|\bfin\s+de\s+la\s+communication",
    r"\bсбрось\w*|\bсбросить\b|\bсбрасыва\w*|\bотбой\b|\b(?:положи|повесь|брось|положить)\w*\s+"
    r"трубк\w*|\b(?:заверш\w*|законч\w*|прерв\w*|прекрат\w*|оборв\w*|останов\w*)\s+"
    r"(?:этот\s+|текущ\w+\s+)?(?:звон\w*|вызов\w*|разговор\w*)",
)
REMIND = _rx(
    r"\bremind\w*(?:\s+(?:me|us))?|(?:\b(?:set|create|add|make|schedule|put|new)\s+(?:up\s+)?"
    r"(?:a\s+|an\s+|the\s+|me\s+a\s+)?)?\breminders?\b(?:\s+(?:for|to|at|on))?"
    r"|\bping\s+me\b|\bnudge\s+me\b"
    r"|\b(?:don'?t|dont|do\s+not)\s+let\s+me\s+forget\b|\bmake\s+sure\s+i\s+(?:don'?t\s+forget"
    r"|remember)\b|\bset\s+(?:an?\s+|up\s+an?\s+)?(?:alarm|alert)\b|\bnotify\s+me\b"
    r"|\balert\s+me\b",
    r"\brappel\w*[-\s]+(?:moi|nous)\b|\bme\s+rappeler\b|\bfai(?:s|tes)[-\s]+moi\s+"
    r"penser\b|\bn'oublie\s+pas\s+de\s+me\s+rappeler\b|\bpense\s+a\s+me\s+rappeler\b"
    r"|\b(?:mets?|cree|creer|programme|ajoute|nouveau|fixe)[-\s]+(?:moi\s+)?(?:un\s+)?rappel\b"
    r"|\brappel\s*:"
    r"|\bprevien[st]?[-\s]moi\b|\bprevenez[-\s]moi\b|\bnotifie[-\s]moi\b",
    r"(?:\b(?:поставь|поставить|создай|создать|сделай|установи|добавь|заведи)\w*\s+)?\bнапомин\w*"
    r"|\bнапомн\w*(?:\s+(?:мне|нам))?|\bне\s+да(?:й|вай)\s+(?:мне\s+)?забыть\b",
)
# A reminder named by its noun, as in chat shorthand: "rappel demain 9h : dentiste",
# "reminder tomorrow 9am", "напоминалка на завтра" (never with a number: "rappel au +X").
REMIND_NOUN = _rx(
    r"^\W*(?:new\s+|a\s+)?(?:reminder|rmd|memo|todo)\b",
    r"^\W*(?:un\s+|nouveau\s+)?(?:rappel|memo|pense[-\s]bete)\b(?!-)",
    r"^\W*(?:нов\w+\s+)?(?:напоминалк\w*|напоминани\w*)",
)
# An event with a time is a note to be reminded of: "rdv chez le dentiste demain 15h",
# "dentist appt tomorrow 3pm", "встреча завтра в 15".
EVENT = _rx(
    r"\b(?:appt|appointment|meeting|mtg)\b",
    r"\b(?:rdv|rendez[-\s]vous|reunion|reu)\b",
    r"\b(?:встреч[аеиу]|при[её]м\s+у|созвон)\b",
)
WAKE = _rx(r"\bwake\s+me\b|\breveille[-\s]moi\b|\bразбуди\w*")
CALL_ME = _rx(
    r"\b(?:call|ring|phone|buzz|dial)\s+me\b|\bgive\s+me\s+a\s+(?:call|ring|buzz)\b"
    r"|\bby\s+(?:phone|a\s+call|call|phone\s+call)\b|\bwith\s+a\s+(?:phone\s+)?call\b"
    r"|\bvia\s+(?:a\s+)?(?:phone\s+)?call\b",
    r"\b(?:appel\w*|telephon\w*|sonne\w*)[-\s]+moi\b|\bm'appel\w*|\bme\s+(?:appeler|"
    r"telephoner|sonner)\b|\bpar\s+(?:un\s+)?(?:appel|telephone)\b|\bpar\s+tel\b",
    r"\b(?:позвон\w*|звякн\w*|набер\w*|прозвон\w*|звон\w*)\s+(?:мне|меня)\b"
    r"|\b(?:мне|меня)\s+(?:позвон\w*|звякн\w*|набер\w*|набрать)|\bзвонком\b|\bпо\s+телефону\b",
)
BY_MESSAGE = _rx(
    r"\bby\s+(?:message|text|sms|chat)\b|\bpar\s+(?:message|sms|texto)\b|\bсообщением\b|\bсмс\b"
)
CALL = _rx(
    r"\bcall\w*|\bring\b|\bdial\w*|(?<!my )\bphone\b|\btelephone\b|\bbuzz\b|\bconnect\w*"
    r"|\breach\b|\bcontact\b|\bput\s+me\s+through\b|\bpatch\s+me\b|\bbridge\b|\bget\s+me\b",
    r"\bappel\w*|(?<!mon )\btelephon\w*|\bcompos\w*|\bjoindre\b|\bjoins\b|\bcontacte\w*"
    r"|\brelie\w*|\bmets?[-\s](?:moi\s+)?en\s+(?:relation|contact)|\bpasse[-\s]moi\b|\bsonne\b",
    r"\bпозвон\w*|\bзвон(?:и|ите|ить)\b|\bзвякн\w*|\bнабер\w*|\bнабрать\b|\bнабира\w*"
    r"|\bсоедин\w*|\bвызов(?:и|ите)\b|\bвызвать\b|\bпрозвон\w*|\bдозвон\w*|\bсвяж\w*"
    r"|\bбрякн\w*|\bзвонок\s+на\b|\bсделай\s+звонок\b",
)
BRIDGE = _rx(
    r"\bconnect\w*|\bbridge\b|\blink\b|\bput\s+.{1,40}\s+through\b",
    r"\brelie\w*|\bmets?\s+en\s+relation|\bconnecte\w*|\bmettre\s+en\s+relation",
    r"\bсоедин\w*|\bсвяж\w*",
)
ANON = _rx(
    r"\banonym\w*|\bhid(?:e|den|ing)\b|\bwithh[oe]ld\w*|\bprivate\w*|\bno\s+caller\s*-?id\b"
    r"|\bwithout\s+(?:showing\s+|displaying\s+)?(?:my\s+)?(?:number|caller\s*-?id|id)\b"
    r"|\bincognito\b|\bunknown\s+number\b|\bblock\w*\s+(?:my\s+)?(?:number|caller\s*-?id|id)\b"
    r"|\bmask\w*\b|\bsecret\w*|\bunlisted\b|\bconceal\w*"
    r"|\b(?:don'?t|do\s+not|never|without)\s+(?:show|display|reveal|shar|send|present|giv"
    r"|expos|pass)\w*\s+(?:them\s+|out\s+)?(?:my\s+)?(?:phone\s+)?(?:number|caller\s*-?id|id)\b",
    r"\bmasqu\w*|\bcache\w*|\bnumero\s+(?:cache|prive|secret)\b|\ben\s+prive\b|\bincognito\b"
    r"|\bsans\s+(?:afficher|montrer|presenter|devoiler)\s+(?:mon\s+)?numero\b|\banonym\w*"
    r"|\b(?:ne\s+|n')(?:montre|affiche|presente|devoile|donne|transmet)\w*\s+pas\s+(?:mon\s+)?"
    r"numero|\bsans\s+que\s+(?:mon\s+)?numero\s+(?:s'affiche|apparaisse|soit\s+visible)",
    r"\bаноним\w*|\bскр(?:ой|ыть|ойте|ыв\w*|ыт\w*|оет)\b|\bинкогнито\b|\bбез\s+(?:определени\w+\s+"
    r"|показа\s+)?номера\b|\bне\s+показ\w*\s+(?:мой\s+)?номер\w*|\bспряч\w*|\bспрячь\w*"
    r"|\bприватн\w*|\bс\s+неизвестн\w+\s+номер\w*|\bтайн\w*|\bскрытн\w*|\bс\s+неопредел\w*"
    r"|\bне\s+(?:свет|отображ|высвечива|раскрыва|пали|показыва)\w*\s+(?:мой\s+)?номер\w*",
)
RECORD = _rx(
    r"\brecord\w*|\btape\b",
    r"\benregistr\w*",
    r"\bзапис\w*|\bзапиш\w*",
)
NEGATION = re.compile(
    r"(?:\b(?:don'?t|do\s+not|without|no|never|ne|n'|pas|sans|не|без)\s+(?:\w+\s+){0,2})$"
)
SET_NUMBER = _rx(
    r"\bmy\s+(?:(?:new|own|real|mobile|cell|personal|main|phone|home|work)\s+)*(?:number|phone|"
    r"mobile|cell|cellphone)\b|\bhere'?s\s+my\b|\b(?:set|save|store|register|update|change|use|"
    r"remember|add)\s+(?:\w+\s+){0,2}(?:number|phone)\b|\bnumber\s*(?:is|:|=)\s*"
    + P
    + r"|\bmy\s+(?:num|nbr|nr|no\.|tel|mob|#)(?!\w)",
    r"\bmon\s+(?:(?:nouveau|propre|vrai)\s+)?(?:numero|tel|telephone|portable|mobile|phone)\b"
    r"|\b(?:enregistre|memorise|retiens|sauvegarde|change|modifie|note|mets\s+a\s+jour)\w*\s+"
    r"(?:mon\s+|le\s+)?(?:numero|tel)\b|\bvoici\s+mon\b|\bmon\s+(?:num|no|n°|nro|gsm|tel)(?!\w)",
    r"\bмо[йе]\s+(?:нов\w+\s+|личн\w+\s+|мобильн\w+\s+|сотов\w+\s+|основн\w+\s+)*(?:номер\w*|"
    r"телефон\w*|мобильн\w*|сотов\w*)|\b(?:запомни|сохрани|запиши|смени|измени|обнови|установи|"
    r"поменяй|пропиши|привяжи)\w*\s+(?:мой\s+|мне\s+)?(?:номер|телефон)\w*|\bвот\s+мой\b"
    r"|\bмо[йе]\s+(?:ном|тел|моб|мобила|сотик)(?!\w)",
)
EXTENSION = _rx(
    r"\bextension\w*|\bext\b|\binternal\s+(?:number|line|ext\w*|phone)\b|\bshort\s+number\b"
    r"|\bshort\s+code\b",
    r"\bnumero\s+(?:interne|court|de\s+poste)\b|\bposte\b|\bligne\s+interne\b",
    r"\bвнутренн\w*|\bвнутр\b|\bдобавочн\w*|\bкоротк\w+\s+номер\w*",
)
# The softphone (SIP) account: its settings, user name and password ("my SIP account",
# "mes identifiants SIP", "настройки SIP"), softphone apps named by their brand; the
# softphone's password is the only password the service has.
SOFTPHONE = _rx(
    r"\bsoft\s*-?\s*(?:phone|fone)s?\b|\bsip\b|\bvoip\b|\bzoiper\b|\blinphone\b|\bmicrosip\b"
    r"|\bpasswords?\b",
    r"\btelephone\s+logiciel\b|\blogiciel\s+de\s+telephon\w*|\bmots?\s+de\s+passe\b",
    r"\bсофтфон\w*|\bсип\b|\bвоип\b|\bip[-\s]телефон\w*|\bпарол\w*",
)
# A new password asked for (the softphone's is the only password the service has).
PASSWORD_RESET = _rx(
    r"\breset\w*|\bnew\s+(?:\w+\s+){0,2}(?:password|credentials)\b|\b(?:change|renew|regenerat"
    r"|rotat|replac|forg[eo]t|lost)\w*\s+(?:\w+\s+){0,3}password\b",
    r"\breinitialis\w*|\bnouveaux?\s+(?:\w+\s+){0,2}(?:mot\s+de\s+passe|identifiants)\b"
    r"|\b(?:change|renouvel|regener|remplace|oubli|perdu)\w*\s+(?:\w+\s+){0,3}mot\s+de\s+passe\b"
    r"|\bmot\s+de\s+passe\s+(?:\w+\s+){0,2}(?:oublie|perdu)\b",
    r"\bнов\w*\s+(?:\w+\s+){0,2}парол\w*|\b(?:сброс|смен|поменя|измен|обнов|замен|забыл|потерял)"
    r"\w*\s+(?:\w+\s+){0,3}парол\w*|\bпарол\w*\s+(?:\w+\s+){0,2}(?:сброс\w*|забыл\w*)",
)
# The user's numbers: direct numbers (DIDs), extension and caller ID ("my numbers",
# "what is my number", "mes numéros", "мои номера"); a question about the caller ID
# ("is my number hidden?") is answered by the same list.
NUMBERS = _rx(
    r"\bmy\s+(?:\w+\s+)?numbers\b|\bdirect\s+(?:dial\s+|inward\s+\w+\s+)?(?:numbers?|lines?)\b"
    r"|\bdids\b|\bmy\s+did\b|\bdid\s+numbers?\b|\bshow\s+me\s+(?:my\s+)?(?:\w+\s+)?numbers?\b"
    r"|\bwhat(?:\s+is|'s|s)\s+my\s+(?:phone\s+)?number\b|\b(?:which|what)\s+numbers?\s+(?:do\s+i\s+have|have\s+i\s+got)\b"
    r"|\bis\s+my\s+(?:\w+\s+)?(?:number|caller\s*-?id)\s+(?:hidden|shown|visible|private|blocked)\b",
    r"\bmes\s+(?:\w+\s+)?numeros\b|\bnumeros?\s+directs?\b|\blignes?\s+directes?\b|\bsda\b"
    r"|\bmontre[-\s]moi\s+(?:mon|mes)\s+numeros?\b|\bquel\s+est\s+mon\s+numero\b"
    r"|\bmon\s+numero\s+est[-\s](?:il\s+)?(?:masque|cache|visible|affiche|prive)\b",
    r"\bмои\s+(?:\w+\s+)?номера\b|\bпрям\w+\s+(?:\w+\s+)?номер\w*"
    r"|\bкак(?:ой|ие)\s+(?:у\s+меня\s+|мой\s+|мои\s+)(?:\w+\s+)?номер(?:а)?\b|\bпокаж\w*\s+(?:мне\s+)?(?:мо[йи]\s+)?номер\w*"
    r"|\b(?:скрыт|виден|показыва\w*|отобража\w*)\s+ли\b",
)
# The caller ID shown again on every outside call ("show my number", "afficher mon
# numéro", "показывать мой номер"); hiding it is ANON. Singular: "show my numbers" lists.
SHOW_NUMBER = _rx(
    r"\b(?:show|display|reveal|present|send|unhide|unmask|unblock|expos)\w*\s+(?:my\s+)?"
    r"(?:phone\s+)?(?:number|caller\s*-?id)\b(?!s)",
    r"\b(?:affich|montr|present|devoil|demasqu|decach|transmet)\w*\s+(?:mon\s+|le\s+)?numero\b(?!s)",
    r"\b(?:показыва|отобража|высвечива|раскрыва)\w*\s+(?:мой\s+)?номер\b",
)
# Words that name the caller ID.
NUMBER_WORD = _rx(r"\bnumber\b|\bcaller\s*-?id\b|\bnumero\b|\bномер\w*")
# A message that starts with a call verb is a call, with or without its number ("call
# with hidden number" asks whom to call).
CALL_START = re.compile(
    r"^\W*(?:please\s+|pls\s+|пожалуйста\s+)?(?:call|ring|dial|phone|appelle\w*|telephone"
    r"|compose\w*|позвони\w*|набери\w*|звони\w*)\b"
)
QUESTION = _rx(r"\bwhat\b|\bwhat'?s\b|\bwhich\b|\bshow\b|\bquel\w*|\bc'est\s+quoi\b|\bкак\w+\b|\?")
BALANCE = _rx(
    r"\bbalance\w*|\bbal\b|\bhow\s+much\s+(?:money|funds|ett|waves|credit|do\s+i\s+have|is\s+left"
    r"|have\s+i\s+got|i\s+have|left|is\s+(?:there\s+)?in)|\bfunds\b|\bwallet\b|\bcredit\s+left\b",
    r"\bsolde\w*|\bcombien\s+(?:d'argent|il\s+me\s+reste|me\s+reste|j'ai|ai[-\s]je|de\s+credit"
    r"|reste|sur\s+mon)|\bportefeuille\b|\bcredit\s+restant\b|^\W*(?:mon\s+)?credit\W*$",
    r"\bбаланс\w*|\bсколько\s+(?:у\s+меня\s+)?(?:денег|средств|осталось|на\s+сч[её]т\w*|на\s+"
    r"балансе|токенов|ett|waves|есть)|\bостат\w*|\bкошел[её]к\w*|\bкошельк\w*|\bсредств\w*",
)
HISTORY = _rx(
    r"\b(?:my|recent|last|latest|missed|past|previous|incoming|outgoing|all)\s+(?:\w+\s+)?calls\b"
    r"|\bcall\s*(?:history|log|logs|list|records?|journal)\b|\bhistory\b|\bwho\s+called\b"
    r"|\blist\s+(?:of\s+)?(?:my\s+)?calls\b|\bcalls\s+(?:list|history|log)\b|^\s*calls\s*$"
    r"|\b(?:who|whom|which\s+(?:numbers?|people|persons?|contacts?)|what\s+numbers?"
    r"|how\s+many\s+(?:calls|times|people|numbers?))\s+(?:did|have|had|do)\s+i\s+(?:\w+\s+)?"
    r"(?:call|ring|rung|dial|phone)\w*|\bcalls?\s+(?:that\s+)?(?:i\s+|i'?ve\s+)(?:have\s+)?"
    r"(?:made|placed|did|had)\b|\bcalls\s+(?:made|placed)\b|\b(?:list|show)\s+(?:me\s+)?"
    r"(?:the\s+|all\s+)?(?:calls|numbers\s+i\s+(?:called|dialed|dialled|rang))\b"
    r"|\bwho\s+have\s+i\s+(?:called|rung|phoned)\b|^\W*(?:hist|histo|logs?|(?:my\s+)?calls)\W*$"
    r"|\bhow\s+many\s+calls\b",
    r"\bmes\s+(?:\w+\s+)?appels\b|\bhistorique\w*|\bjournal\s+(?:des\s+|d')?appels?\b"
    r"|\b(?:derniers|recents)\s+appels\b|\bappels\s+(?:recents|manques|passes|recus)\b"
    r"|\bqui\s+m'a\s+appele|\bliste\s+des\s+appels"
    r"|\bqui\s+(?:ai[-\s]je|j'ai|est[-\s]ce\s+que\s+j'ai|avons[-\s]nous)\s+(?:\w+\s+)?"
    r"(?:appel\w*|contact\w*|joint|telephon\w*)|\bj'ai\s+(?:appel\w*|contact\w*)\s+qui\b"
    r"|\bquels?\s+numeros?\s+(?:ai[-\s]je|j'ai|est[-\s]ce\s+que\s+j'ai)\s+(?:\w+\s+)?"
    r"(?:appel\w*|compos\w*|contact\w*)|\bappels\s+(?:que\s+j'ai|emis|effectues|sortants|de\s+la"
    r"\s+semaine|d'hier|du\s+jour)|\bcombien\s+d'appels\b|\bliste\s+de\s+mes\s+appels"
    r"|^\W*(?:hist|histo|(?:mes\s+)?appels)\W*$",
    r"\bмои\s+(?:\w+\s+)?(?:звонки|вызовы)\b|\bистори\w*|\bжурнал\w*|\bпоследн\w+\s+(?:звонк\w*"
    r"|вызов\w*)|\bпропущенн\w*|\bкто\s+(?:мне\s+)?звонил\w*|\bсписок\s+(?:звонков|вызовов)"
    r"|^\s*звонки\s*$|\bкому\s+(?:же\s+)?(?:я|мы)\s+(?:\w+\s+)?(?:звонил\w*|набирал\w*|дозвонил\w*"
    r"|позвонил\w*)|\bкуда\s+(?:я|мы)\s+(?:\w+\s+)?звонил\w*|\b(?:на\s+)?как\w+\s+номер\w*\s+"
    r"(?:я|мы)\s+(?:\w+\s+)?(?:звонил\w*|набирал\w*)|\b(?:я|мы)\s+звонил\w*\s+кому\b"
    r"|\bсколько\s+(?:раз\s+)?(?:я|мы)\s+(?:\w+\s+)?звонил\w*|\bисходящ\w*\s+(?:звонк\w*"
    r"|вызов\w*)|\bзвонки\s+за\s+(?:эту\s+|прошл\w+\s+)?(?:неделю|день|месяц|сегодня|вчера)"
    r"|^\W*(?:мои\s+)?(?:звонки|вызовы)\W*$",
)
DEPOSIT = _rx(
    r"\bdeposit\w*|\btop\s*-?\s*up\w*|\btopup\w*|\brecharg\w*|\brefill\w*|\breload\w*|\bfund\s+(?:my|the)\b"
    r"|\badd\s+(?:\w+\s+){0,3}(?:funds|money|credit|ett|waves|to\s+(?:my\s+)?(?:wallet|balance|"
    r"account))\b|\bload\s+(?:my\s+)?(?:wallet|account|balance)\b|\bcredit\s+my\b"
    r"|\bput\s+(?:\w+\s+){0,3}(?:in|into|on)\s+my\b|\bbuy\s+(?:\w+\s+)?(?:ett|waves|credit)\b",
    r"\bdepos\w*|\bdepot\b|\bcrediter\b|\bcredite[rz]?\s+mon\b|\balimente\w*|\bapprovisionn\w*"
    r"|\bajout\w*\s+(?:\w+\s+){0,3}(?:fonds|argent|credit|ett|waves)\b|\bverse[rz]?\b",
    r"\bпополн\w*|\bзакин\w*|\bзачисл\w*|\bдепозит\w*|\bвнес\w*|\bвнест\w*|\bположи\w*\s+"
    r"(?:\w+\s+){0,3}на\s+(?:сч[её]т|баланс|кошел)|\bдобав\w*\s+(?:\w+\s+){0,3}(?:денег|средств|"
    r"ett|waves|на\s+баланс)",
)
WITHDRAW_STRONG = _rx(
    r"\bwithdr[ae]w\w*|\bcash\s*-?\s*out\b|\bpay\s*-?\s*out\b",
    r"\bretir\w*|\bretrait\w*",
    r"\bвывод\w*|\bвывед\w*|\bвывест\w*|\bвыве\w*|\bвыдай\w*|\bобнальн?\w*",
)
WITHDRAW_WEAK = _rx(
    r"\bsend\b|\btransf[ea]r\w*|\bmove\b|\bpay\b",
    r"\benvo[iy]\w*|\bvir\w*|\btransfer\w*|\bpaye\w*",
    r"\bотправ\w*|\bперевед\w*|\bперевест\w*|\bперевод\w*|\bсним\w*|\bснять\b|\bпошли\b"
    r"|\bскинь\b|\bкинь\b|\bзаплат\w*",
)
HELP = _rx(
    r"\bhelp\w*|\bwhat\s+(?:can|could)\s+(?:you|u)\s+do\b|\bwhat\s+do\s+you\s+do\b|\bcommands?\b"
    r"|\bhow\s+(?:does\s+(?:this|it)\s+work|do\s+i\s+use|to\s+use)\b|\bmenu\b|\binstructions?\b"
    r"|\bwhat\s+are\s+you\b|\bwho\s+are\s+you\b|^\s*/?start\s*$|\bsupport\b|\bassist\w*"
    r"|\bhow\s+(?:can|do)\s+(?:i|you)\b|\bfeatures\b|\bwhat\s+can\s+i\s+do\b|\boptions\b|^\s*\?+\s*$"
    r"|^\W*sos\W*$",
    r"\baide\w*|\bau\s+secours\b|\bque\s+(?:peux|sais|pouvez|savez)[-\s](?:tu|vous)\s+faire\b"
    r"|\bqu'est[-\s]ce\s+que\s+(?:tu|vous)\s+(?:peux|sais|pouvez|savez)\s+faire\b"
    r"|\b(?:tu|vous)\s+(?:sais|peux|savez|pouvez)\s+faire\s+quoi\b|\bcomment\s+(?:ca|cela)\s+"
    r"(?:marche|fonctionne)\b|\bcommandes?\b|\bmode\s+d'emploi\b|\bque\s+faites[-\s]vous\b"
    r"|\bfonctionnalites\b|\bcomment\s+(?:utiliser|on\s+fait)\b",
    r"\bпомо(?:щь|ги|гите|жешь|жете)\w*|\bчто\s+(?:ты\s+|вы\s+)?(?:умеешь|можешь|умеете|можете)"
    r"|\bкоманд\w*|\bсправк\w*|\bкак\s+(?:это\s+|тобой\s+|этим\s+)?(?:работает|пользоваться)"
    r"|\bхелп\b|\bменю\b|\bинструкци\w*|\bчто\s+ты\s+такое\b|\bкто\s+ты\b|\bфункци\w*"
    r"|\bвозможност\w*|\bчем\s+(?:ты\s+)?(?:можешь\s+)?помочь",
)
# Words after which the intent depends on whether a moment was read ("call me tomorrow"
# is a reminder by call; "rdv demain 15h" a reminder).
TIME_CUES = _rx(CALL_ME.pattern, EVENT.pattern)
MONEY_CONTEXT = _rx(
    r"\bett\b|\bwaves?\b|\x02|\bencryptotel\b|\btokens?\b|\bjetons?\b|\bтокен\w*|\bвейвс\w*"
    r"|\bвэйвс\w*|\bfunds\b|\bmoney\b|\bargent\b|\bденьги\b|\bденег\b|\bсредств\w*|\bwallet\b"
    r"|\bportefeuille\b|\bкошел\w*|\baddress\b|\badresse\b|\bадрес\w*"
)


@dataclass
class Cues:
    """Which cue families occur in a message."""

    text: str

    def has(self, rx: re.Pattern[str]) -> bool:
        """True if `rx` occurs in the text."""
        return rx.search(self.text) is not None


@dataclass
class _Signals(Cues):
    """The cues of a message with what else the choice of the intent looks at."""

    n_phones: int = 0
    has_time: bool = False
    skip: frozenset[str] = frozenset()
    msg: Message | None = None
    has_digits: bool = field(init=False)
    money: bool = field(init=False)

    def __post_init__(self) -> None:
        self.has_digits = any(ch.isdigit() for ch in self.text)
        self.money = self.has(MONEY_CONTEXT)


def _forward_or_off(signals: _Signals) -> str | None:
    """Forwarding ("forward", or "forward_off"): a forwarding word, or moving calls."""
    calls_ctx = signals.has(CALLS_NOUN) or signals.n_phones > 0
    fwd = (
        signals.has(TRANSFER)
        and calls_ctx
        or signals.has(TRANSFER_WEAK)
        and signals.has(CALLS_NOUN)
    )
    if signals.has(FORWARD) or (fwd and not signals.money):
        return (
            "forward_off" if signals.has(OFF) and not _forward_on_words(signals.text) else "forward"
        )
    return None


def _withdraw(signals: _Signals) -> str | None:
    """A withdrawal: a strong word, or a weak one about money with no phone number."""
    if signals.has(WITHDRAW_STRONG) or (
        signals.has(WITHDRAW_WEAK)
        and (signals.money or signals.has_digits)
        and not signals.n_phones
    ):
        return "withdraw"
    return None


def _set_number_or_extension(signals: _Signals) -> str | None:
    """Setting one's number ("my number is ..."); "numbers" when asked with no number."""
    if (
        signals.has(SET_NUMBER)
        and not signals.has(ANON)
        and (not signals.has(CALL) or _set_number_words(signals.text))
    ):
        if signals.n_phones == 0 and signals.has(QUESTION):
            return "numbers"
        return "set_number"
    return None


# Words that make a message about SIP something else: a reminder's text, or a question
# about money or calls ("the balance of my SIP account").
_NOT_SOFTPHONE = (REMIND, WAKE, REMIND_NOUN, BALANCE, HISTORY, DEPOSIT, WITHDRAW_STRONG)


def _softphone(signals: _Signals) -> str | None:
    """The softphone credentials: a SIP word, or a new password asked for; with no phone
    number, and not about a reminder, money or past calls."""
    if signals.n_phones or not (signals.has(SOFTPHONE) or signals.has(PASSWORD_RESET)):
        return None
    if any(signals.has(rx) for rx in _NOT_SOFTPHONE):
        return None
    return None if signals.has(TIME_CUES) and signals.has_time else "softphone"


# Words that make a message about hiding a number something else: a reminder's text, a
# callback ("call me … with my number hidden").
_NOT_CALLER_ID = (REMIND, WAKE, REMIND_NOUN, CALL_ME)


def _caller_id(signals: _Signals) -> str | None:
    """The account's caller ID, hidden or shown on every outside call: a hiding or
    showing word with a number word, no phone number, not a call, a reminder or a
    question about it ("is my number hidden?" lists the numbers)."""
    if signals.n_phones or not signals.has(NUMBER_WORD):
        return None
    if not (signals.has(ANON) or signals.has(SHOW_NUMBER)) or signals.has(NUMBERS):
        return None
    if any(signals.has(rx) for rx in _NOT_CALLER_ID) or CALL_START.search(signals.text):
        return None
    return None if signals.has(TIME_CUES) and signals.has_time else "caller_id"


def _numbers(signals: _Signals) -> str | None:
    """The account's numbers (direct numbers, extension, caller ID), asked with no phone
    number and not about past calls."""
    if signals.n_phones or not signals.has(NUMBERS) or signals.has(HISTORY):
        return None
    return "numbers"


# Words that make a message about privacy something else: a reminder's text.
_NOT_PRIVACY = (REMIND, WAKE, REMIND_NOUN)


def _privacy(signals: _Signals) -> str | None:
    """Recording, the recordings and their key, a wallet to link, the user's data or
    leaving (nlu.privacy); with no phone number, not a reminder. One found negated ("don't
    delete my account") is "unknown", never another intent of the same words."""
    if signals.n_phones or privacy.intent_of(signals.text) is None:
        return None  # (most messages: the guards below cost more than this)
    if any(signals.has(rx) for rx in _NOT_PRIVACY):
        return None
    if signals.has(TIME_CUES) and signals.has_time:
        return None
    call_request = bool(CALL_START.search(signals.text)) or signals.has(CALL_ME)
    money_request = (
        signals.has(WITHDRAW_STRONG)
        or signals.has(DEPOSIT)
        or (signals.has(WITHDRAW_WEAK) and signals.has_digits)
    )
    intent = privacy.intent_of(signals.text, call_request, money_request)
    return "unknown" if intent is not None and intent in signals.skip else intent


def _api_key(signals: _Signals) -> str | None:
    """The keys of the HTTP API (nlu.api_keys): made, listed or revoked; not a reminder
    ("remind me to revoke my api key")."""
    if not api_keys.asked(signals.text):
        return None
    if any(signals.has(rx) for rx in _NOT_PRIVACY):
        return None
    return None if signals.has(TIME_CUES) and signals.has_time else "api_key"


def _plan(signals: _Signals) -> str | None:
    """Monthly plans (nlu.plans): listed, subscribed to, cancelled, their minutes left;
    with no phone number, not a reminder ("remind me to cancel my plan")."""
    if signals.n_phones or not plans.asked(signals.text):
        return None
    if any(signals.has(rx) for rx in _NOT_PRIVACY):
        return None
    return None if signals.has(TIME_CUES) and signals.has_time else "plan"


def _calendar(signals: _Signals) -> str | None:
    """The user's calendars (nlu.calendars): connected (a calendar URL alone too), listed,
    disconnected, the reminders exported, the events' default reminder; not a reminder
    to set ("remind me to connect my calendar"). One found negated is "unknown"."""
    if signals.msg is None or calendars.action_of(signals.msg) is None:
        return None
    return "unknown" if "calendar" in signals.skip else "calendar"


def _reminders(signals: _Signals) -> str | None:
    """The user's reminders (nlu.reminders): listed or cancelled; not a reminder to set
    ("remind me to stop the heating"). One found negated is "unknown"."""
    if reminders.action_of(signals.text) is None:
        return None
    return "unknown" if "reminders" in signals.skip else "reminders"


# The intent is the first these rules give; "unknown" when none does.
_INTENT_RULES: tuple[Callable[[_Signals], str | None], ...] = (
    _calendar,  # before "hangup": "disconnect my calendar"; before "call": "connect my calendar"
    _reminders,  # before "remind": "stop the medicine reminder" names a reminder
    _api_key,  # before forwarding: "send me an api key for calls"; before the recording key
    _plan,  # before "balance": "how many minutes are left"; before "hangup": "stop my plan"
    _forward_or_off,
    _privacy,  # before "balance": "link my wallet"; before "history": "record all my calls"
    _softphone,  # before "hangup": "сбросить пароль SIP" resets a password
    lambda s: "hangup" if s.has(HANGUP) else None,
    lambda s: "remind" if s.has(REMIND) or s.has(WAKE) else None,
    lambda s: "remind" if not s.n_phones and s.has(REMIND_NOUN) else None,
    lambda s: "remind" if s.has(TIME_CUES) and s.has_time and s.n_phones == 0 else None,
    _withdraw,
    lambda s: "deposit" if s.has(DEPOSIT) else None,
    lambda s: "balance" if not s.n_phones and s.has(BALANCE) else None,
    _caller_id,  # before "set_number": "show my number" is no number to store
    lambda s: "extension" if not s.n_phones and s.has(EXTENSION) else None,
    _numbers,
    _set_number_or_extension,
    lambda s: "history" if not s.n_phones and s.has(HISTORY) else None,
    lambda s: "call" if s.has(CALL) or s.n_phones > 0 else None,
    lambda s: "help" if s.has(HELP) else None,
)


def classify(
    c: str,
    n_phones: int,
    has_time: bool,
    skip: frozenset[str] = frozenset(),
    msg: Message | None = None,
) -> str:
    """The intent of canonical text `c` (with `n_phones` masked numbers in it).

    `has_time`: a moment was read in a message with `TIME_CUES`. Intents in `skip` (found
    negated) are passed over. `msg`: the message `c` is of (its web addresses and words
    as written: the calendar intent needs them); without it, no calendar is found.
    """
    if not c.strip() and not (msg is not None and msg.url_spans):
        return "unknown"
    signals = _Signals(c, n_phones, has_time, skip, msg)
    for rule in _INTENT_RULES:
        intent = rule(signals)
        if intent is not None and intent not in skip:
            return intent
    return "unknown"


# The verbs of each intent a message can ask not to be done ("don't call +X").
NEGATABLE: dict[str, tuple[re.Pattern[str], ...]] = {
    "call": (CALL,),
    "remind": (REMIND, CALL_ME, WAKE),
    "hangup": (HANGUP,),
    "deposit": (DEPOSIT,),
    "withdraw": (WITHDRAW_STRONG, WITHDRAW_WEAK),
    "forget_me": (privacy.FORGET_VERB,),
    "my_data": (privacy.EXPORT_VERB,),
    "link_wallet": (privacy.LINK_VERB,),
    "api_key": (api_keys.REVOKE, api_keys.NEW),
    "reminders": (reminders.CANCEL, reminders.STOP_REMINDING),
    "calendar": (calendars.CONNECT, calendars.DISCONNECT, calendars.EXPORT),
}


_FWD_ON = re.compile(r"\b(?:turn|switch|set)\s+on\b|\benable\w*|\bactiv(?:e|er|ate)\b|\bвключ\w*")


def _forward_on_words(c: str) -> bool:
    return _FWD_ON.search(c) is not None


_SETNUM_STRONG = re.compile(
    r"\bmy\s+(?:\w+\s+)?(?:number|num)\s+is\b|\bmon\s+(?:numero|num|tel|no)\s+(?:est|c'est)\b"
    r"|\bмой\s+(?:номер|ном|тел)\s*[:\x01]"
    r"|\b(?:set|save|update|change)\s+my\s+(?:\w+\s+)?number\b"
)


_CALL_VERB_STRICT = re.compile(r"\b(?:call|ring|dial|appelle|позвони)\b")


def _set_number_words(c: str) -> bool:
    # "call me back, my number is ..." is a call; "my number is ..." alone is set_number.
    return _SETNUM_STRONG.search(c) is not None and not _CALL_VERB_STRICT.search(c)
