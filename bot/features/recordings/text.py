"""How recordings and keys read in the chat: durations, sizes, retention, the other party,
and where the account's recording key comes from."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import base58
from babel.dates import format_timedelta
from babel.numbers import format_decimal

from bot.assistant.i18n import DEFAULT_LANGUAGE, LANGUAGES, number_text, t
from storage.models import Account, CallRecord
from wallet.link import address_of

KILOBYTE = 1024
MEGABYTE = 1024 * 1024
# Names of the public Waves networks by chain byte (others are shown by their byte).
NETWORKS = {"W": "Mainnet", "T": "Testnet", "S": "Stagenet"}
DECRYPT_COMMAND = "python main.py recording decrypt"
SIGN_COMMAND = "python main.py recording sign-link"


def duration(seconds: int) -> str:
    """A call's length as "m:ss", or "h:mm:ss" from an hour (as the call status shows it)."""
    minutes, secs = divmod(max(seconds, 0), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def size(lang: str, size_bytes: int) -> str:
    """A file size in KB (below a megabyte) or MB, one decimal, in the number format of
    `lang` ("1.5 MB", "1,5 Mo", "1,5 МБ")."""
    locale = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    if size_bytes < MEGABYTE:
        amount = format_decimal(max(size_bytes, 1) / KILOBYTE, format="#,##0.#", locale=locale)
        return t(lang, "rec_size_kb", size=amount)
    amount = format_decimal(size_bytes / MEGABYTE, format="#,##0.#", locale=locale)
    return t(lang, "rec_size_mb", size=amount)


def days(lang: str, count: int) -> str:
    """A number of days in words, plural forms by CLDR ("1 day", "5 jours", "21 день")."""
    locale = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    return format_timedelta(
        timedelta(days=count), granularity="day", threshold=10**9, locale=locale
    )


def local_time(account: Account, moment: datetime) -> str:
    """A stored (UTC) time as the account's wall-clock time, to the minute."""
    return moment.astimezone(ZoneInfo(account.timezone)).strftime("%Y-%m-%d %H:%M")


def retention(lang: str, retention_days: int) -> str:
    """How long the server keeps a recording (RECORDING_RETENTION_DAYS; 0: until sent)."""
    if retention_days <= 0:
        return t(lang, "rec_retention_sent")
    return t(lang, "rec_retention_days", days=days(lang, retention_days))


def other_party(
    lang: str, account: Account, call: CallRecord | None, unknown: str = "rec_other_unknown"
) -> str:
    """The number at the other end of a recorded call: the leg that is not the account's
    own number or extension (the sentence `unknown` when the call is not known)."""
    if call is None:
        return t(lang, unknown)
    own = {account.phone_number, account.extension} - {None}
    other = call.b_number if call.a_number in own else call.a_number
    return number_text(other)


def network(chain_id: str) -> str:
    """A Waves network as people name it ("Mainnet"), or its chain byte in quotes."""
    return NETWORKS.get(chain_id, f"“{chain_id}”")


def key_is_wallets(account: Account, chain_id: str) -> bool:
    """Whether the account's recording key is the key of its linked wallet (the key
    derives the linked address), rather than one made on request."""
    if not account.recording_key or not account.wallet_address:
        return False
    try:
        key = base58.b58decode(account.recording_key)
    except ValueError:
        return False
    return address_of(key, chain_id) == account.wallet_address
