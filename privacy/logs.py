"""What a log line may show: one filter on the service's log handler (main.py).

Issue 14: at INFO and above a log line never holds a full phone number, a message text or
an address. The call sites log ids, not texts (what users wrote is logged at DEBUG at most);
this filter catches what they cannot avoid quoting (an error naming a SIP URI, a node's
refusal naming an address):
- E.164 numbers are masked, "+44 20 79** **00" (domain.numbers.mask_number);
- Waves addresses and JIDs / e-mail addresses keep their first and last 4 characters;
- at every level, DEBUG too: the configured secrets (settings.SECRET_FIELDS), anything
  shaped like a Telegram bot token (aiogram's errors quote request URLs), the secret of
  an API key (`ett_<id>_***`: a chat reply logged at DEBUG shows the one made) and the payloads
  of SASL elements (slixmpp's stanza log; PLAIN carries the password in base64), the
  path and query of every http(s)/webcal URL (a calendar's "secret address in iCal
  format" is its only key; httpx logs the URLs it requests at INFO) and the word after
  "password"/"mot de passe"/"пароль" (a CalDAV account typed in the chat) become `***`.

At DEBUG numbers and addresses are left as they are, to debug calls: `debug_notice()` is
logged once at start to say so.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

from domain.numbers import mask_numbers_in

REDACTED = "***"
# A Telegram bot token, "<bot id>:<35 characters>" (core.telegram.org/bots/api, "Authorizing").
BOT_TOKEN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")
# An API key, "ett_<id>_<secret>" (storage.api_keys): the secret goes, the id is kept.
API_TOKEN = re.compile(r"(ett_[0-9a-f]{12}_)[A-Za-z0-9_-]+")
# The text of a SASL element (RFC 6120 §6.4.2): <auth mechanism="PLAIN">AGJvdABwYXNz</auth>.
SASL = re.compile(r"(<(auth|response|challenge|success)\b[^>]*>)[^<]+(</\2>)")
# XEP-0363 slot headers (a bearer token for the upload) and file URLs (whoever holds one
# can download the file until it expires): <header name="Authorization">…</header>,
# <get url="…"/>, <url>…</url> (XEP-0066).
UPLOAD_HEADER = re.compile(r"(<header\b[^>]*>)[^<]+(</header>)")
UPLOAD_URL = re.compile(r"(<(?:get|put)\b[^>]*?\burl=)([\"'])[^\"']*\2")
OOB_URL = re.compile(r"(<url\b[^>]*>)[^<]+(</url>)")
# A URL's path and query: "https://calendar.example.org/ical/…/private-4f2a/basic.ics".
URL_PATH = re.compile(r"\b((?:https?|webcals?)://[^/\s\"'<>?#]+)[/?#][^\s\"'<>]*", re.IGNORECASE)
# A URL's user information: "https://alice:s3cret@dav.example.org".
URL_USERINFO = re.compile(r"(://)[^/\s\"'<>@]+@")
# A password typed after its name, as the parser reads CalDAV accounts (nlu.calendars):
# "password s3cret", "password: s3cret", "passwd=s3cret", "pwd s3cret", "mot de passe …".
PASSWORD_WORD = re.compile(
    r"\b(password|passwd|pass|pwd|mot\s+de\s+passe|mdp|пароль)(\s*[:=]\s*|\s+)\S+",
    re.IGNORECASE,
)
# A Waves address: base58 of 26 bytes, 35 characters, "3" then the network byte's letter
# ("3P…" mainnet, "3M…"/"3N…" test networks; docs.waves.tech, "Address").
WAVES_ADDRESS = re.compile(r"(?<![1-9A-Za-z])3[1-9A-HJ-NP-Za-km-z]{34}(?![1-9A-Za-z])")
# A bare JID or an e-mail address, "local@domain.tld".
JID = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}\b")
# A run of lower-case words: where a seed phrase (15 words of the BIP39 list) may be.
SEED_MIN_WORDS = 12  # consecutive seed words that are redacted (BIP39 seeds: 12 to 24)
WORD_RUN = re.compile(r"[a-z]+(?:\s+[a-z]+){11,}")  # SEED_MIN_WORDS words or more
KEPT = 4  # characters kept at each end of an address
SHOWN_FROM = logging.INFO  # the level from which numbers and addresses are masked


def debug_notice() -> str:
    """The warning logged once at start when LOG_LEVEL is DEBUG."""
    return (
        "LOG_LEVEL is DEBUG: DEBUG logs may hold phone numbers and message texts "
        "(INFO and above never do)"
    )


def mask_address(address: str) -> str:
    """An address with its first and last KEPT characters only: "3P8p…Xk2d"; a short one
    (under 3 * KEPT characters) keeps a quarter at each end."""
    keep = min(KEPT, len(address) // 4)
    return f"{address[:keep]}…{address[len(address) - keep :]}" if keep else "…"


def mask_personal(text: str) -> str:
    """`text` with its phone numbers, Waves addresses and JIDs masked (the INFO form)."""
    text = mask_numbers_in(text)
    if "@" in text:
        text = JID.sub(lambda m: mask_address(m.group()), text)
    if "3" in text:
        text = WAVES_ADDRESS.sub(lambda m: mask_address(m.group()), text)
    return text


def _without_seeds(run: re.Match[str]) -> str:
    """A run of words with every stretch of SEED_MIN_WORDS or more consecutive seed words
    (a recording key's secret, shown once in a chat message that a DEBUG stanza log or an
    HTTP trace would otherwise keep) replaced by `***`."""
    from privacy.keys import seed_words  # pywaves is imported only once a run is seen

    words, vocabulary = run.group().split(), seed_words()
    kept: list[str] = []
    stretch: list[str] = []
    for word in [*words, ""]:  # "" ends the last stretch
        if word in vocabulary:
            stretch.append(word)
            continue
        kept += [REDACTED] if len(stretch) >= SEED_MIN_WORDS else stretch
        stretch = []
        if word:
            kept.append(word)
    return " ".join(kept) if len(kept) != len(words) else run.group()


class PrivacyFilter(logging.Filter):
    """Rewrite each record's message (and its traceback) as described above.

    `secrets`: values replaced by `***` wherever they appear (empty ones are ignored).
    Install it on the handler, not on a logger, so that it sees every propagated record.
    Always lets the record through.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # Longest first, so that a secret containing another is replaced whole.
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
        self._formatter = logging.Formatter()

    @classmethod
    def from_settings(cls, settings: Any) -> PrivacyFilter:
        """The filter for the service's settings: every set value of SECRET_FIELDS."""
        from settings import SECRET_FIELDS  # settings is above every layer of the product

        values = (getattr(settings, name, None) for name in SECRET_FIELDS)
        return cls(value.get_secret_value() for value in values if value is not None)

    def clean(self, text: str, level: int) -> str:
        """`text` as a record of `level` may show it."""
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        if ":" in text:
            text = BOT_TOKEN.sub(REDACTED, text)
        if "ett_" in text:
            text = API_TOKEN.sub(rf"\1{REDACTED}", text)
        text = WORD_RUN.sub(_without_seeds, text)
        if "://" in text:
            text = URL_USERINFO.sub(rf"\1{REDACTED}@", text)
            text = URL_PATH.sub(rf"\1/{REDACTED}", text)
        text = PASSWORD_WORD.sub(rf"\1\2{REDACTED}", text)
        if "<" in text:
            text = SASL.sub(rf"\1{REDACTED}\3", text)
            text = UPLOAD_HEADER.sub(rf"\1{REDACTED}\2", text)
            text = UPLOAD_URL.sub(rf"\1\2{REDACTED}\2", text)
            text = OOB_URL.sub(rf"\1{REDACTED}\2", text)
        return mask_personal(text) if level >= SHOWN_FROM else text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.clean(message, record.levelno)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            # Formatted here (as the handler's formatter would) so that it can be cleaned.
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.clean(record.exc_text, record.levelno)
        if record.stack_info:
            record.stack_info = self.clean(record.stack_info, record.levelno)
        return True
