"""The chart of accounts: ledger book names, transfer kinds and idempotency keys.

Every movement of money is a transfer between two books (a user's `account:<id>` or a
system book below) with a unique idempotency key, so a retried operation never applies
twice; the keys are spelled here once, because several modules must spell them alike.

Invariant checked by `admin reconcile`: for ETT and WAVES, the service wallet's
on-chain balance equals -(DEPOSITS + WITHDRAWALS) in the ledger.
"""

from __future__ import annotations

from enum import StrEnum

USER_BOOK_PREFIX = "account:"
DEPOSITS = "system:deposits"  # debited by every deposit received on chain
WITHDRAWALS = "system:withdrawals"  # credited by every withdrawal and network fee paid
UNATTRIBUTED = "system:unattributed"  # deposits whose memo names no account
REVENUE = "system:revenue"  # call charges and monthly plans
NETWORK_FEES = "system:network_fees"  # WAVES fees the service paid for withdrawals
CALL_HOLD_PREFIX = "call:"  # every call's hold key starts so (the daily cap counts them)


class TransferKind(StrEnum):
    """What a transfer is (`ledger_transfers.kind`)."""

    CALL = "call"  # a call's cost, from a user's book to REVENUE
    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    NETWORK_FEE = "network_fee"
    WITHDRAWAL_REFUND = "withdrawal_refund"
    ADMIN_ASSIGN = "admin_assign"  # an operator credits an unattributed deposit
    ADMIN_REFUND = "admin_refund"  # an operator refunds a call
    PLAN = "plan"  # a monthly plan's period, from a user's book to REVENUE (wallet/subscriptions)


def account_book(account_id: int) -> str:
    """The ledger book of a user account."""
    return f"{USER_BOOK_PREFIX}{account_id}"


def is_user_book(book: str) -> bool:
    """Whether `book` is a user account's book (system books start with `system:`)."""
    return book.startswith(USER_BOOK_PREFIX)


def hold_key(call_id: str) -> str:
    """The idempotency key of the hold that reserves a call's funds."""
    return f"{CALL_HOLD_PREFIX}{call_id}"


def settle_key(hold: str) -> str:
    """The idempotency key of the transfer that settles the hold `hold`."""
    return f"settle:{hold}"


def deposit_key(tx_id: str) -> str:
    """The key of the credit of an on-chain deposit (one per transaction id)."""
    return f"deposit:{tx_id}"


def assign_key(tx_id: str) -> str:
    """The key of an operator's assignment of an unattributed deposit."""
    return f"assign:{tx_id}"


def call_refund_key(call_id: str) -> str:
    """The key of an operator's refund of a call."""
    return f"refund:call:{call_id}"


def fee_key(withdrawal_key: str) -> str:
    """The key of the network fee of a withdrawal."""
    return f"{withdrawal_key}:fee"


def refund_key(withdrawal_key: str) -> str:
    """The key of the refund of a withdrawal the node refused."""
    return f"{withdrawal_key}:refund"
