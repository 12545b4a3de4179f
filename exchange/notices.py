"""What the exchange tells an account on its own: a missed call, a refused call (in its
chat), a call that ended (to its webhooks).

The exchange only describes the event; the composition root (bot/app.py) hands each
notice to the assistant, which words it in the account's language.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class MissedCall:
    """A call to the account that nobody answered: from `caller` (a number, an extension
    or "anonymous") to `dialled` (the account's direct number or extension) at `at`
    (aware UTC)."""

    account_id: int
    caller: str
    dialled: str
    at: datetime
    call_id: str | None = None


@dataclass(frozen=True)
class RefusedCall:
    """A call from one of the account's phones (or forwarded by its rule) that was not
    placed: `rule` is a wallet.fraud.RULES code (or "not_a_number"), `number` the number
    dialled."""

    account_id: int
    rule: str
    number: str
    forwarded: bool = False


@dataclass(frozen=True)
class EndedCall:
    """A call of the account's (from its phones, to its numbers, forwarded) that ended and
    was settled: `call_id` names its call record."""

    account_id: int
    call_id: str


Notice = MissedCall | RefusedCall | EndedCall
Notify = Callable[[Notice], None]
