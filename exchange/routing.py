"""Where a call to an account goes, and what an outside call presents: pure decisions over
the stores, no SIP, no money.

- `dialled`: what a phone dialled, read as a number (extension, E.164 with +, 00…, or the
  national format of the account's region, optionally after *67 / *82);
- `caller_id`: the number an outside call presents, or a withheld one (RFC 3323);
- `plan`: the targets a call to an account tries in turn (its phones, its forwarding rule).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import phonenumbers

from domain.numbers import is_e164, is_internal, normalize
from storage.accounts import AccountStore
from storage.dids import DidStore
from storage.forwarding import ForwardingStore, Target, targets
from storage.models import Account
from wallet.fraud import country_of

# Vertical service codes (North American usage, also what most softphones know): *67
# withholds the caller ID for one call, *82 presents it when withheld by default.
WITHHOLD, PRESENT = "*67", "*82"
# How long the account's own phones ring before its forwarding rule is tried.
PHONES_RING_SECONDS = 20
LOCAL, TRUNK = "local", "trunk"


class NotANumber(ValueError):
    """What a phone dialled is neither an extension nor a number of the account's region."""


@dataclass(frozen=True)
class Dialled:
    """A number as a phone dialled it: `number` (an extension, or E.164 with +) and
    `withheld` (True: *67, False: *82, None: the account's default)."""

    number: str
    withheld: bool | None = None


@dataclass(frozen=True)
class CallerId:
    """What an outside call presents: `number` (E.164 the account holds, "" for none) and
    `withheld` (From anonymous and Privacy: id, RFC 3323 §4.2)."""

    number: str
    withheld: bool


@dataclass(frozen=True)
class Step:
    """One target of a call's plan: `kind` LOCAL (the phones of extension `target`) or
    TRUNK (the outside number `target`, paid by `payer`), ringing `ring_seconds` (None:
    until it answers or fails) before the next step."""

    kind: str
    target: str
    ring_seconds: int | None
    payer: int | None = None


def region_of(account: Account, held: list[str], default: str) -> str:
    """The ISO 3166 region numbers in national format are read in: the country of the
    account's verified number, else of its first direct number (`held`, DidStore.numbers_of),
    else `default`."""
    candidates = [account.phone_number] if account.phone_verified else []
    candidates += held[:1]
    for number in candidates:
        region = country_of(number) if number else None
        if region and region != "ZZ":
            return region
    return default


def dialled(text: str, region: str) -> Dialled:
    """Read what a phone dialled (the request URI's user part): *67/*82, then an extension,
    +E.164, 00… or a national number of `region` (libphonenumber's rules for that region).
    Raises NotANumber."""
    withheld: bool | None = None
    for code, flag in ((WITHHOLD, True), (PRESENT, False)):
        if text.startswith(code):
            text, withheld = text[len(code) :], flag
            break
    number = normalize(text)
    if is_internal(number) or is_e164(number):
        return Dialled(number, withheld)
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        raise NotANumber(text) from None
    if not phonenumbers.is_valid_number(parsed):
        raise NotANumber(text)
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return Dialled(e164, withheld)


def caller_id(account: Account, held: list[str], withheld: bool | None) -> CallerId:
    """The caller ID of an outside call from `account`: its first direct number (of
    `held`, DidStore.numbers_of), else its verified number (never a number it does not
    hold); withheld per call (`withheld`), else per the account's default, and always when
    it holds no number."""
    numbers = list(held)
    if not numbers and account.phone_verified and account.phone_number:
        numbers = [account.phone_number]
    hide = account.hide_caller_id if withheld is None else withheld
    number = numbers[0] if numbers else ""
    return CallerId(number, hide or not number)


class Planner:
    """The steps of calls to accounts, from their forwarding rules."""

    def __init__(
        self,
        accounts: AccountStore,
        forwarding: ForwardingStore,
        *,
        trunk: bool,
        region: str,
        dids: DidStore,
    ) -> None:
        self.accounts = accounts
        self.forwarding = forwarding
        self.trunk = trunk
        self.region = region
        self.dids = dids

    def plan(self, account: Account, caller: str, at: datetime, *, via_did: bool) -> list[Step]:
        """The steps of a call from `caller` (a number or an extension) to `account` at the
        aware moment `at`:
        - to a direct number: the forwarding rule that applies (by caller, weekday and hour
          in the account's time zone, storage.forwarding), else the account's phones;
        - to an extension: its phones (PHONES_RING_SECONDS when a rule applies), then that
          rule; so an extension with no phone registered falls through to its rule.
        A rule's extension target that does not exist, and an outside target without a
        trunk, are left out."""
        rule = self.forwarding.match(account.id, caller, at, account=account)
        own = Step(LOCAL, account.extension or "", None)
        if rule is None:
            return [own] if account.extension else []
        forwarded = self._targets(account, rule_targets=targets(rule))
        if via_did:
            return forwarded
        phones = Step(LOCAL, own.target, PHONES_RING_SECONDS if forwarded else None)
        return ([phones] if account.extension else []) + [
            step for step in forwarded if step.target != own.target
        ]

    def _targets(self, account: Account, rule_targets: list[Target]) -> list[Step]:
        steps = []
        for target in rule_targets:
            try:
                number = dialled(target.number, self._region(account)).number
            except NotANumber:
                continue
            if is_internal(number):
                if self.accounts.by_extension(number) is not None:
                    steps.append(Step(LOCAL, number, target.ring_seconds))
            elif self.trunk:
                steps.append(Step(TRUNK, number, target.ring_seconds, payer=account.id))
        return steps

    def _region(self, account: Account) -> str:
        return region_of(account, self.dids.numbers_of(account.id), self.region)
