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

    def low_no_phones(self) -> str:
        """`low` with the address and base58 keys masked but phone digits kept (for
        amounts)."""
        low = _mask_spans(self.low, self.blob_spans, KEY_MARK)
        if self.addr_span is None:
            return low
        a, b = self.addr_span
        return low[:a] + ADDR_MARK * (b - a) + low[b:]


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
    blob_spans = _blob_spans(raw) if len(low) == len(raw) else []
    masked = _mask_spans(low, blob_spans, KEY_MARK)
    address = None
    addr_span = None
    m = _ADDRESS.search(raw)
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
        return Message(raw, low, c, phones, address, addr_span, omap, words, blob_spans)
    return Message(raw, low, masked, phones, address, addr_span, None, words, blob_spans)
