"""Which kind of number a leg dials: an internal extension or an E.164 number.

One rule for the whole exchange (the dialer's check, billing's "free inside the
network", the fraud rules and the chat all read it here):
- E.164 (ITU-T E.164): "+", a country code not starting with 0, at most 15 digits in
  all; at least 7 here, shorter ones are not callable numbers;
- an extension: 2 to 6 digits, no "+" (the internal numbers the exchange allocates).
"""

from __future__ import annotations

import re

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
EXTENSION = re.compile(r"^\d{2,6}$")
_SEPARATORS = re.compile(r"[\s().\-]")


def normalize(number: str) -> str:
    """Strip the separators people type (`+33 1 42-68`) and turn a leading 00 into +."""
    text = _SEPARATORS.sub("", number or "")
    if text.startswith("00"):
        text = "+" + text[2:]
    return text


def is_internal(number: str) -> bool:
    """True for an internal extension (2 to 6 digits, no country code)."""
    return bool(EXTENSION.match(normalize(number)))


def is_e164(number: str) -> bool:
    """True for a well-formed international number `+<country><number>`."""
    return bool(E164.match(normalize(number)))


def is_dialable(number: str) -> bool:
    """True for a number a leg may dial as written: E.164 with + or an extension."""
    return isinstance(number, str) and bool(E164.match(number) or EXTENSION.match(number))


MAX_POOL = 100_000


def expand_pool(text: str) -> list[str]:
    """Direct numbers written as E.164 numbers and ranges separated by commas
    (`+33199000100-+33199000109,+442079460500`), expanded in order, each once.

    A range runs between two numbers of the same length, low to high, both included.
    Raises ValueError naming the first bad entry, or when there are more than MAX_POOL.
    """
    numbers: dict[str, None] = {}
    for entry in (part.strip() for part in (text or "").split(",")):
        if not entry:
            continue
        low, dash, high = entry.partition("-+")
        low, high = normalize(low), normalize("+" + high) if dash else normalize(low)
        if not (is_e164(low) and is_e164(high)):
            raise ValueError(f"{entry!r} is not an E.164 number or range (+33199000100)")
        if len(low) != len(high) or int(high[1:]) < int(low[1:]):
            raise ValueError(f"{entry!r}: a range runs low to high between numbers of one length")
        if int(high[1:]) - int(low[1:]) + len(numbers) >= MAX_POOL:
            raise ValueError(f"more than {MAX_POOL} direct numbers")
        width = len(low) - 1
        for value in range(int(low[1:]), int(high[1:]) + 1):
            numbers[f"+{value:0{width}d}"] = None
    return list(numbers)


# --- what may be shown of a number once it is no longer needed in full -------------------
#
# Two shortened forms, both grouped as libphonenumber writes the number (INTERNATIONAL):
# - masked (logs at INFO, privacy/logs.py): country code, the first national digits and the
#   last two, every other digit "*": "+44 20 79** **00";
# - cut (call records after CDR_RETENTION_DAYS, privacy/retention.py): country code and the
#   first CUT_DIGITS national digits, then CUT_MARK: "+44 20 7…". Enough for a dispute about
#   a tariff zone, not enough to call anybody.

CUT_MARK = "…"
CUT_DIGITS = 3  # national digits a cut number keeps
MASK = "*"
# An E.164 number as it appears in free text: "+", then 7 to 15 digits, each optionally
# after one separator people type ("+44 20 7946 0000", "+1 (212) 555-0123", "sip:+336…@").
NUMBER_IN_TEXT = re.compile(r"\+[1-9](?:[ .\-()/]{0,2}\d){6,14}(?!\d)")
# The user part of a SIP or tel URI written without "+" ("sip:0612345678@host"): amounts
# and ids in free text are runs of digits too, so a bare run is not taken for a number.
URI_DIGITS_IN_TEXT = re.compile(r"(?<=sip:)\d{7,}(?=[@;>])|(?<=tel:)\d{7,}")


def _grouped(e164: str) -> tuple[str, int, int]:
    """`e164` ("+442079460000") written as libphonenumber's INTERNATIONAL format, where its
    national digits start in that text, and how many there are: ("+44 20 7946 0000", 4,
    10). A country code libphonenumber does not know: "+" and the first two digits taken
    as the country code, the rest ungrouped ("+99 912345678", 4, 9)."""
    import phonenumbers  # here: importing it costs ~50 ms that most commands never need

    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        parsed = None
    country = parsed.country_code if parsed is not None else None
    if parsed is not None and country and phonenumbers.region_code_for_country_code(country):
        text = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        national = phonenumbers.national_significant_number(parsed)
        start = len(str(country)) + 2  # "+44 "
        if text[start - 1 : start] == " " and sum(c.isdigit() for c in text[start:]) == len(
            national
        ):
            return text, start, len(national)
    digits = e164[1:]
    return f"+{digits[:2]} {digits[2:]}", 4, len(digits) - 2


def _rewrite_digits(text: str, start: int, keep: int, tail: int, total: int) -> str:
    """`text` with the national digits from `start` on kept for the first `keep` and the
    last `tail` of `total`, masked in between."""
    out, seen = [text[:start]], 0
    for char in text[start:]:
        if char.isdigit():
            out.append(char if seen < keep or seen >= total - tail else MASK)
            seen += 1
        else:
            out.append(char)
    return "".join(out)


def mask_number(number: str) -> str:
    """An E.164 number with its middle digits masked, for logs: "+442079460000" ->
    "+44 20 79** **00" (country code; up to 4 first national digits, never more than half
    of them; the last two; every other digit `*`). Anything that is not E.164 is returned
    as it is (extensions, "anonymous")."""
    e164 = normalize(number)
    if not E164.match(e164):
        return number
    text, start, total = _grouped(e164)
    tail = 2 if total >= 6 else 0
    keep = min(4, (total - tail) // 2)
    return _rewrite_digits(text, start, keep, tail, total)


def cut_number(number: str) -> str:
    """What a call record keeps of a number after CDR_RETENTION_DAYS.

    - E.164: country code and the first CUT_DIGITS national digits (fewer when the national
      number has fewer than 2 * CUT_DIGITS digits: never more than half), then CUT_MARK:
      "+442079460000" -> "+44 20 7…", "+12125550123" -> "+1 212…";
    - an extension (2 to 6 digits): kept, it is the exchange's own internal number and
      says no more than the account id the record keeps anyway;
    - "", "anonymous" and other text without 7 digits in a row: kept;
    - 7 or more digits without "+" (a national number from the trunk): its first
      CUT_DIGITS digits, "0612345678" -> "061…";
    - other text (a SIP URI): each number in it cut (`cut_numbers_in`).

    Idempotent: a cut number is returned as it is.
    """
    if not number or number.endswith(CUT_MARK):
        return number
    e164 = normalize(number)
    if E164.match(e164):
        text, start, total = _grouped(e164)
        digits_at = [i for i, char in enumerate(text) if i >= start and char.isdigit()]
        end = digits_at[min(CUT_DIGITS, total // 2)]  # the first digit dropped
        return text[:end].rstrip(" -") + CUT_MARK
    if EXTENSION.match(e164):
        return number
    if e164.isdigit() and len(e164) >= 7:
        return e164[:CUT_DIGITS] + CUT_MARK
    return cut_numbers_in(number)


def cut_numbers_in(text: str) -> str:
    """`text` with every E.164 number in it cut (`cut_number`), and the digits of a SIP or
    tel URI without "+" cut to their first CUT_DIGITS, for free text kept with a call
    record (an event's detail, a fraud refusal's detail). Other digits (amounts, SIP
    codes) stay."""
    if not text:
        return text
    text = NUMBER_IN_TEXT.sub(lambda m: cut_number(m.group()), text)
    return URI_DIGITS_IN_TEXT.sub(lambda m: m.group()[:CUT_DIGITS] + CUT_MARK, text)


def mask_numbers_in(text: str) -> str:
    """`text` with every E.164 number in it masked (`mask_number`), and the digits of a SIP
    or tel URI without "+" ("sip:0033612345678@trunk", SIP_STRIP_PLUS, SIP_DIAL_PREFIX) masked
    but their first 4 and last 2, for a log line."""
    if "+" in text:
        text = NUMBER_IN_TEXT.sub(lambda m: mask_number(m.group()), text)
    if ":" in text:
        text = URI_DIGITS_IN_TEXT.sub(lambda m: _mask_digits(m.group()), text)
    return text


def _mask_digits(digits: str) -> str:
    return digits[:4] + MASK * (len(digits) - 6) + digits[-2:]
