"""The rules of placing a callback, the same for the chat and the HTTP API (api/).

`check` turns a request (to, from, extension digits, time, recording) into what will be
dialled and its quote, or raises the reason it may not be: `Refusal` (the request itself:
a number that is not one, a first leg that is not the requester's) or `CallRefused` (the
toll-fraud rules of wallet.fraud). `launch` authorises a created call record (its hold, see
wallet.billing) and hands it to the call runner.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.assistant import Refusal, Services
from bot.assistant.i18n import number_text
from domain.numbers import is_internal, normalize
from storage.models import Account
from wallet.billing import Quote

OWN_NUMBER = "m"  # the first leg is the requester's verified number, checked again on press
# A time within this of now means "now"; later, the call is stored and placed then.
NOW_GRACE = timedelta(seconds=60)
# The longest extension a quote's button can carry: 64 bytes less the other fields at
# their longest (a 6-digit extension as first leg, a 15-digit number, both flags).
MAX_DTMF = 8


@dataclass(frozen=True)
class Checked:
    """A callback that passed the rules: its legs (E.164 or an extension), the digits
    dialled once `to` answers, when to place it (None: now) and its price (`quote.asset`
    None when no balance pays its first minute)."""

    first: str
    to: str
    dtmf: str
    when: datetime | None
    quote: Quote


def check(
    services: Services,
    account: Account,
    *,
    to: str | None,
    source: str | None,
    dtmf: str = "",
    record: bool = False,
    at: datetime | None = None,
    now: datetime,
    has_digits: bool = True,
    quote_only: bool = False,
) -> Checked:
    """Check a callback request against every rule, in the order the user fixes them.

    `at`: an aware time, or a naive one in the account's zone. `has_digits`: whether the
    request had digits at all (a missing number reads differently from a bad one).
    `quote_only`: only priced, never placed (the API's quotes): the first leg may be any
    number (the one given, else the account's own, verified or not), since nobody is rung.
    Raises Refusal (catalogue key) or wallet.fraud.CallRefused (`rule`).
    """
    number = normalize(to or "")
    if not number:
        raise Refusal("call_invalid_number" if has_digits else "call_need_number")
    if len(dtmf) > MAX_DTMF:
        raise Refusal("call_extension_too_long", limit=MAX_DTMF, digits=dtmf)
    first = priced_leg(account, source) if quote_only else first_leg(account, source)
    check_recording(services, account.id, record)
    when = None
    if at is not None:
        when = at if at.tzinfo is not None else at.replace(tzinfo=ZoneInfo(account.timezone))
        if when < now - NOW_GRACE:
            local = when.astimezone(ZoneInfo(account.timezone)).strftime("%Y-%m-%d %H:%M")
            raise Refusal("call_in_past", at=local)
        if when <= now + NOW_GRACE:
            when = None
    services.billing.rules.check(account, first, number)
    quote = services.billing.quote(account.id, first, number)
    return Checked(first, number, dtmf, when, quote)


def check_recording(services: Services, account_id: int, asked: bool) -> None:
    """A call asked to be recorded needs the account's recording key (privacy.recordings:
    the file is sealed to it): Refusal, saying how to get one, when it has none."""
    if asked and services.recordings.key_of(account_id) is None:
        raise Refusal("rec_call_needs_key")


def priced_leg(account: Account, source: str | None) -> str:
    """The first leg a quote is priced for: `source` when it is a number, else the
    account's own number, verified or not. Refusal when there is none."""
    number = normalize(source or "") if source not in (None, "", "me", OWN_NUMBER) else ""
    number = number or account.phone_number or ""
    if not number:
        raise Refusal("call_need_own_number")
    return number


def first_leg(account: Account, source: str | None) -> str:
    """The number to ring first: the requester's verified number or their own extension.

    Nobody can make the service ring a number they have not proven is theirs: raises
    Refusal otherwise.
    """
    if source in (None, "", "me", OWN_NUMBER):
        if not account.phone_number:
            raise Refusal("call_need_own_number")
        if not account.phone_verified:
            raise Refusal("call_need_verified", number=number_text(account.phone_number))
        return account.phone_number
    number = normalize(source or "")
    if number == account.phone_number and account.phone_verified:
        return number
    if is_internal(number) and number == account.extension:
        return number
    raise Refusal("call_from_unverified", number=number_text(number or source or ""))
