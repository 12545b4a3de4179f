"""One message prepared for matching: cleaned, folded, numbers masked, typos fixed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import partial

from nlu.fuzzy import WORD_RE, correct
from nlu.normalize import clean, fold
from nlu.phones import Phone, find_extensions, find_forward_extensions, find_phones

PHONE_MARK = "\x01"
ADDR_MARK = "\x02"
KEY_MARK = "\x04"
URL_MARK = "\x05"
# A web address as written: http(s), or webcal(s) for calendar subscriptions. Found first
# and masked, so that its digits ("private-1234567890abcdef/basic.ics", "?token=12345678")
# are never read as a phone number, a time or an amount.
_URL = re.compile(r"\b(?:https?|webcals?)://[^\s<>\"']+", re.IGNORECASE)
_URL_TAIL = ".,;:!?)]}"
# A Waves address: base58, 35 characters, starting with 3 (accept 26-40 to be lenient).
_ADDRESS = re.compile(r"(?<![A-Za-z0-9])3[1-9A-HJ-NP-Za-km-z]{25,39}(?![A-Za-z0-9])")
# A signature or public key (base58, longer than any address: a public key has 43-44
# characters, a signature 86-88), with a digit and a letter in it.
_BLOB = re.compile(r"(?<![A-Za-z0-9])[1-9A-HJ-NP-Za-km-z]{41,100}(?![A-Za-z0-9])")
# Latin letters that look Cyrillic, for words typed on a mixed keyboard.
_HOMOGLYPH = str.maketrans("aceopxyk", "асеорхук")
_CYR = re.compile(r"[а-я]")


@dataclass
class Message:
    """`raw` as written (cleaned); `low` folded; `c` canonical text used by the rules.

    Phone numbers and addresses are masked in `c` (same length) so that their digits
    are never read as times or amounts; `omap` maps offsets of `c` to offsets of `raw`.
    """

    raw: str
    low: str
    c: str
    phones: list[Phone]
    address: str | None
    addr_span: tuple[int, int] | None
    omap: list[int] | None = None
    words: list[str] = field(default_factory=list)
    blob_spans: list[tuple[int, int]] = field(default_factory=list)
    url_spans: list[tuple[int, int]] = field(default_factory=list)

    @property
    def urls(self) -> list[str]:
        """The web addresses in the message, as written, in order."""
        return [self.raw[a:b] for a, b in self.url_spans]

    @property
    def blobs(self) -> list[str]:
        """The signatures and public keys (base58) in the message, as written."""
        return [self.raw[a:b] for a, b in self.blob_spans]

    def to_raw(self, i: int) -> int:
        """Offset in `raw` of offset `i` of `c`."""
        if self.omap is None:
            return i
        if i >= len(self.omap):
            return len(self.raw)
        return self.omap[i]

    def original(self, start: int, end: int) -> str:
        """The words at `start`:`end` of `c` as the user wrote them (case kept)."""
        return self.raw[self.to_raw(start) : self.to_raw(end)]

    def low_no_urls(self) -> str:
        """`low` with the web addresses masked (same length)."""
        return _mask_spans(self.low, self.url_spans, URL_MARK)

    def low_no_phones(self) -> str:
        """`low` with the web addresses, the address and base58 keys masked but phone
        digits kept (for amounts)."""
        low = _mask_spans(self.low_no_urls(), self.blob_spans, KEY_MARK)
        if self.addr_span is None:
            return low
        a, b = self.addr_span
        return low[:a] + ADDR_MARK * (b - a) + low[b:]


def url_spans(raw: str) -> list[tuple[int, int]]:
    """Where the web addresses of `raw` are (http, https, webcal, webcals), without the
    punctuation that ends a sentence after them ("see https://x.org/a.ics.")."""
    spans = []
    for m in _URL.finditer(raw):
        end = m.end()
        while end > m.start() and raw[end - 1] in _URL_TAIL:
            end -= 1
        spans.append((m.start(), end))
    return spans


def _blob_spans(raw: str) -> list[tuple[int, int]]:
    """Where the signatures and public keys of `raw` are (base58 with a digit and a letter)."""
    return [
        m.span()
        for m in _BLOB.finditer(raw)
        if any(ch.isdigit() for ch in m.group()) and any(ch.isalpha() for ch in m.group())
    ]


def _mask_spans(text: str, spans: list[tuple[int, int]], mark: str) -> str:
    """`text` with `spans` replaced by `mark`, same length."""
    for a, b in spans:
        text = text[:a] + mark * (b - a) + text[b:]
    return text


def _mask(text: str, phones: list[Phone]) -> str:
    chars = list(text)
    for p in phones:
        chars[p.start : p.end] = PHONE_MARK * (p.end - p.start)
    return "".join(chars)


def prepare(text: object, region: str | None) -> Message:
    """Build the Message for `text` (never raises on odd input)."""
    raw = clean(text)
    low = fold(raw)
    urls = url_spans(raw) if len(low) == len(raw) else []
    seen = _mask_spans(raw, urls, " ")  # the rest of the message, for keys and addresses
    blob_spans = _blob_spans(seen) if len(low) == len(raw) else []
    masked = _mask_spans(_mask_spans(low, urls, URL_MARK), blob_spans, KEY_MARK)
    address = None
    addr_span = None
    m = _ADDRESS.search(seen)
    if m and any(ch.isdigit() for ch in m.group()) and any(ch.isalpha() for ch in m.group()):
        address = m.group()
        addr_span = m.span()
        masked = masked[: m.start()] + ADDR_MARK * (m.end() - m.start()) + masked[m.end() :]
    # Extensions to forward to first ("1002 20 s" is no number), then numbers, then
    # extensions to call.
    phones: list[Phone] = []
    for find in (find_forward_extensions, partial(find_phones, region=region), find_extensions):
        found = find(masked)
        if found:
            masked = _mask(masked, found)
            phones = sorted(phones + found)
    # Canonical words: typos corrected (lengths may change, so keep an offset map).
    pieces: list[str] = []
    omap: list[int] = []
    changed = False
    pos = 0
    words: list[str] = []
    for w in WORD_RE.finditer(masked):
        s, e = w.span()
        tok = w.group()
        if _CYR.search(tok) and not tok.isascii():
            tok2 = tok.translate(_HOMOGLYPH)
        else:
            tok2 = tok
        fixed = correct(tok2)
        words.append(fixed)
        if fixed != tok:
            changed = True
        pieces.append(masked[pos:s])
        omap.extend(range(pos, s))
        pieces.append(fixed)
        if len(fixed) == e - s:
            omap.extend(range(s, e))
        else:
            omap.extend([s] * (len(fixed) - 1) + [e - 1] if fixed else [])
        pos = e
    if changed:
        pieces.append(masked[pos:])
        omap.extend(range(pos, len(masked) + 1))
        c = "".join(pieces)
        return Message(raw, low, c, phones, address, addr_span, omap, words, blob_spans, urls)
    return Message(raw, low, masked, phones, address, addr_span, None, words, blob_spans, urls)
