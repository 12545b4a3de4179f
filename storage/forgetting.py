"""'forget me' in the database: the steps of `storage.privacy.PrivacyStore.forget`, run in
one transaction on the connection it opens, and the checks that may refuse it.

Kept: the account's row (its id is the ledger book's name) and the ledger (amounts, books,
keys). Gone: everything that links that number to a person. Another account's own words
(its forwarding rules, its reminders) stay as they are, even where they hold this
account's number: they are what that account wrote, not what we keep about this one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Row, bindparam, delete, func, or_, select, update
from sqlmodel import SQLModel

from domain.calls import CallState, HangupCause
from domain.numbers import cut_number, cut_numbers_in
from storage.ledger_store import account_book
from storage.models import Recording
from storage.withdrawals import UNFINISHED

_tables = SQLModel.metadata.tables
ACCOUNT, IDENTITY, DID, LINK_CODE = (_tables[n] for n in ("account", "identity", "did", "linkcode"))
CALL, EVENT, DIALOG = (_tables[n] for n in ("callrecord", "callevent", "sipdialog"))
BALANCE, TRANSFER, HOLD = (_tables[n] for n in ("balance", "ledgertransfer", "hold"))
REMINDER, RULE, DEPOSIT, WITHDRAWAL = (
    _tables[n] for n in ("reminder", "forwardingrule", "deposit", "withdrawal")
)
REFUSAL, RECORDING, WALLET_LINK, ATTEMPT = (
    _tables[n] for n in ("fraudrefusal", "recording", "walletlink", "linkattempt")
)
SERIES, CALENDAR = _tables["reminderseries"], _tables["calendarsource"]
API_KEY, IDEMPOTENT, VERIFICATION = (
    _tables[n] for n in ("apikey", "idempotentrequest", "verification")
)
ENDPOINT, DELIVERY, WEBHOOK_ATTEMPT = (
    _tables[n] for n in ("webhookendpoint", "webhookdelivery", "webhookattempt")
)

# What replaces an address in the free text kept beside money (a transfer's reason, a
# withdrawal's error) once forgotten.
FORGOTTEN = "[forgotten]"
_ENDED, _SCHEDULED = CallState.ENDED.value, CallState.SCHEDULED.value
_NOT_RUNNING = (_ENDED, _SCHEDULED)
# The account's row once forgotten: Account's defaults, nothing that names a person. The
# extension stays: it names nobody (cut_number keeps extensions in call records for that
# reason), and taken it is never handed to someone else (AccountStore.extension gives
# the highest plus one), whom calls, speed dials and other accounts' forwarding rules to
# that number would then reach. With no softphone digest, no phone and no rules, a call
# to it rings nobody.
_FORGOTTEN_ACCOUNT = {
    "language": "en",
    "timezone": "UTC",
    "phone_number": None,
    "phone_verified": False,
    "allowed_countries": None,
    "sip_ha1": None,
    "sip_password_at": None,
    "hide_caller_id": False,
    "record_calls": False,
    "recording_key": None,
    "wallet_address": None,
}


class Blocker(StrEnum):
    """Why an account cannot be forgotten right now."""

    CALL = "call"  # a call of the account, or to one of its numbers, is in progress
    HOLD = "hold"  # money of the account is held (for a call)
    WITHDRAWAL = "withdrawal"  # a withdrawal neither sent nor refunded yet needs its address


class ForgetBlocked(Exception):
    """The account cannot be forgotten now (`blocker` says why); nothing was changed."""

    def __init__(self, blocker: Blocker) -> None:
        super().__init__(f"cannot forget now: {blocker.value}")
        self.blocker = blocker


@dataclass(frozen=True)
class ForgetResult:
    """What `forget` did: rows deleted and rewritten by table, the recording rows deleted
    (their files are the caller's to remove), the balances left in the ledger (asset ->
    smallest units, non-zero only)."""

    deleted: dict[str, int]
    rewritten: dict[str, int]
    recordings: tuple[Recording, ...]
    balances: dict[str, int]


@dataclass
class _Personal:
    """What names the person behind an account, gathered before it is wiped."""

    numbers: list[str]  # own number, direct numbers, extension
    addresses: list[str]  # wallet, pending proof, withdrawals' and deposits' addresses
    identities: list[tuple[str, str]] = field(default_factory=list)


def forget_account(conn: Connection, account_id: int, now: datetime) -> ForgetResult:
    """Delete everything that names the person behind the account, on `conn` (inside its
    transaction: `PrivacyStore.forget`).

    - deleted: identities, the wrong link codes they wrote, link codes, reminders (one-off
      and repeating), calendars (their addresses, passwords and texts), forwarding rules,
      the pending wallet proof, recording rows (returned: the caller removes their files),
      API keys, idempotent requests, voice verifications, webhook
      endpoints with their delivery log;
    - released: direct numbers; scheduled calls end, cancelled;
    - cut (`domain.numbers.cut_number`): every number of the account's call records,
      their events' details and its fraud refusals; and the account's own numbers
      wherever another account's call records or refusals hold them. What other
      accounts wrote themselves (their forwarding rules, reminders) stays theirs;
    - wiped: deposits' sender (the user's address) and memo (the account's `ET<id>`,
      or a wallet proof's nonce: nothing the account id does not say), withdrawals'
      address, and that address inside their error and the reasons of the book's
      transfers. Deposits and withdrawals keep their chain transaction id, asset and
      amount: they are what reconciles the service wallet with the ledger (`admin
      reconcile`), and the chain keeps those transfers public for ever anyway; our
      database no longer says whose they were;
    - the account's row: number, verification, softphone digest, keys, wallet address,
      allowed countries and settings back to their defaults (the extension is kept, see
      _FORGOTTEN_ACCOUNT), and `forgotten_at` set.
    The ledger's amounts, books and keys are untouched: balances stay, unreachable.

    Raises ForgetBlocked (nothing changed) while a call of the account or to its
    numbers is in progress, money is held, or a withdrawal is unfinished; KeyError for
    an unknown account.
    """
    # The account's row, locked: a call's hold locks it too (its guard, through
    # storage.fraud.committed), so no hold slips in between the check and the end.
    locked = select(ACCOUNT).where(ACCOUNT.c.id == account_id).with_for_update()
    account = conn.execute(locked).first()
    if account is None:
        raise KeyError(account_id)
    personal = _personal(conn, account)
    if (blocker := blocker_of(conn, account_id, personal.numbers)) is not None:
        raise ForgetBlocked(blocker)
    recordings = _recording_rows(conn, account_id)
    deleted = _delete_owned(conn, account_id, personal.identities)
    deleted |= _polls(conn, account_id, now)
    rewritten = {"did": _release_numbers(conn, account_id)}
    _end_scheduled(conn, account_id, now)
    rewritten["callrecord"] = _cut_own_calls(conn, account_id, now)
    rewritten["callrecord"] += _cut_others_calls(conn, account_id, personal.numbers)
    rewritten["fraudrefusal"] = _cut_refusals(conn, account_id, personal.numbers)
    rewritten |= _wipe_money_texts(conn, account_id, personal.addresses)
    conn.execute(
        update(ACCOUNT)
        .where(ACCOUNT.c.id == account_id)
        .values(**_FORGOTTEN_ACCOUNT, forgotten_at=now)
    )
    return ForgetResult(deleted, rewritten, recordings, balances_of(conn, account_id))


def own_numbers(conn: Connection, account: Row) -> list[str]:
    """The account's own phone number, direct numbers and extension."""
    dids = conn.execute(
        select(DID.c.number).where(DID.c.account_id == account.id).order_by(DID.c.number)
    ).scalars()
    return [n for n in (account.phone_number, *dids, account.extension) if n]


def balances_of(conn: Connection, account_id: int) -> dict[str, int]:
    """The book's non-zero balances, asset -> smallest units."""
    query = select(BALANCE.c.asset, BALANCE.c.amount).where(
        BALANCE.c.book == account_book(account_id), BALANCE.c.amount != 0
    )
    return {asset: int(amount) for asset, amount in conn.execute(query.order_by(BALANCE.c.asset))}


def blocker_of(conn: Connection, account_id: int, numbers: Sequence[str]) -> Blocker | None:
    """Why the account cannot be forgotten now, or None."""
    involved = [CALL.c.account_id == account_id]
    if numbers:
        involved += [CALL.c.a_number.in_(numbers), CALL.c.b_number.in_(numbers)]
        involved.append(CALL.c.forwarded_to.in_(numbers))
    own_calls = select(CALL.c.id).where(CALL.c.account_id == account_id).scalar_subquery()
    checks = (
        (Blocker.CALL, select(CALL.c.id).where(CALL.c.state.not_in(_NOT_RUNNING), or_(*involved))),
        # A leg of the account's call still up somewhere (its dialog is kept to end it).
        (Blocker.CALL, select(DIALOG.c.sip_call_id).where(DIALOG.c.call_id.in_(own_calls))),
        (
            Blocker.HOLD,
            select(HOLD.c.id).where(
                HOLD.c.book == account_book(account_id), HOLD.c.state == "open"
            ),
        ),
        (
            Blocker.WITHDRAWAL,
            select(WITHDRAWAL.c.id).where(
                WITHDRAWAL.c.account_id == account_id, WITHDRAWAL.c.state.in_(UNFINISHED)
            ),
        ),
    )
    for blocker, query in checks:
        if conn.execute(query.limit(1)).first() is not None:
            return blocker
    return None


# --- the steps -----------------------------------------------------------------------------


def _personal(conn: Connection, account: Row) -> _Personal:
    """The account's numbers, addresses and identities, read before they are wiped."""
    account_id = account.id
    addresses = [account.wallet_address]
    addresses += conn.execute(
        select(WALLET_LINK.c.address).where(WALLET_LINK.c.account_id == account_id)
    ).scalars()
    addresses += conn.execute(
        select(WITHDRAWAL.c.address).where(WITHDRAWAL.c.account_id == account_id)
    ).scalars()
    addresses += conn.execute(
        select(DEPOSIT.c.sender).where(DEPOSIT.c.account_id == account_id)
    ).scalars()
    identities = conn.execute(
        select(IDENTITY.c.network, IDENTITY.c.external_id).where(
            IDENTITY.c.account_id == account_id
        )
    ).all()
    return _Personal(
        numbers=own_numbers(conn, account),
        addresses=sorted({a for a in addresses if a}, key=len, reverse=True),
        identities=[(network, external_id) for network, external_id in identities],
    )


def _recording_rows(conn: Connection, account_id: int) -> tuple[Recording, ...]:
    rows = conn.execute(select(RECORDING).where(RECORDING.c.account_id == account_id))
    return tuple(Recording(**row._mapping) for row in rows)


def _delete_owned(
    conn: Connection, account_id: int, identities: Iterable[tuple[str, str]]
) -> dict[str, int]:
    """Delete the rows that are the account's alone; rows deleted by table."""
    deleted = {"linkattempt": 0}
    for network, external_id in identities:
        deleted["linkattempt"] += conn.execute(
            delete(ATTEMPT).where(
                ATTEMPT.c.network == network, ATTEMPT.c.external_id == external_id
            )
        ).rowcount
    for table in (IDENTITY, LINK_CODE, REMINDER, SERIES, CALENDAR, RULE, WALLET_LINK, RECORDING):
        result = conn.execute(delete(table).where(table.c.account_id == account_id))
        deleted[table.name] = result.rowcount
    return deleted | _delete_api(conn, account_id) | _end_plan(conn, account_id)


def _polls(conn: Connection, account_id: int, now: datetime) -> dict[str, int]:
    """ETT holders' polls: the poll messages sent to the account go; its votes in polls
    still open are withdrawn (the count is not final yet); its votes in closed polls stay
    in their published, verifiable result (an address, an option and a weight, all
    public on chain) but no longer say which account chose them. Rows by table."""
    votes, notices, polls = (_tables[n] for n in ("pollvote", "pollnotice", "poll"))
    sent = conn.execute(delete(notices).where(notices.c.account_id == account_id))
    deleted = {"pollnotice": sent.rowcount}
    still_open = select(polls.c.id).where(polls.c.closed_at.is_(None), polls.c.closes_at > now)
    deleted["pollvote"] = conn.execute(
        delete(votes).where(votes.c.account_id == account_id, votes.c.poll_id.in_(still_open))
    ).rowcount
    conn.execute(update(votes).where(votes.c.account_id == account_id).values(account_id=None))
    return deleted


def _end_plan(conn: Connection, account_id: int) -> dict[str, int]:
    """The account's monthly plan ends (never renewed from a book nobody can reach) and
    its renewal notices go; its paid periods and the seconds its calls used stay, like the
    ledger transfers that paid them (they name nobody). Rows deleted by table."""
    deleted = {}
    for name in ("plansubscription", "plannotice"):
        table = _tables[name]
        deleted[name] = conn.execute(delete(table).where(table.c.account_id == account_id)).rowcount
    return deleted


def _delete_api(conn: Connection, account_id: int) -> dict[str, int]:
    """The account's API keys, idempotent requests, voice verifications and webhooks with
    their delivery log; rows deleted by table. The ledger keeps the verifications' charges
    (their keys name a verification id, which no longer names a number)."""
    deliveries = select(DELIVERY.c.id).where(DELIVERY.c.account_id == account_id)
    attempts = delete(WEBHOOK_ATTEMPT).where(WEBHOOK_ATTEMPT.c.delivery_id.in_(deliveries))
    deleted = {"webhookattempt": conn.execute(attempts).rowcount}
    for table in (DELIVERY, ENDPOINT, API_KEY, IDEMPOTENT, VERIFICATION):
        result = conn.execute(delete(table).where(table.c.account_id == account_id))
        deleted[table.name] = result.rowcount
    return deleted


def _release_numbers(conn: Connection, account_id: int) -> int:
    """Give the account's direct numbers back to the pool; how many."""
    released = update(DID).where(DID.c.account_id == account_id)
    return conn.execute(released.values(account_id=None, assigned_at=None)).rowcount


def _end_scheduled(conn: Connection, account_id: int, now: datetime) -> None:
    """End the account's scheduled calls, cancelled (as `CallStore.cancel_scheduled`)."""
    scheduled = select(CALL.c.id).where(CALL.c.account_id == account_id, CALL.c.state == _SCHEDULED)
    ids = list(conn.execute(scheduled).scalars())
    if not ids:
        return
    cancelled = HangupCause.CANCELLED.value
    conn.execute(
        update(CALL)
        .where(CALL.c.id.in_(ids))
        .values(state=_ENDED, hangup_cause=cancelled, ended_at=now, updated_at=now)
    )
    events = [{"call_id": i, "event": _ENDED, "detail": cancelled, "at": now} for i in ids]
    conn.execute(EVENT.insert(), events)


_SET_CALL_NUMBERS = (
    update(CALL)
    .where(CALL.c.id == bindparam("p_id"))
    .values(
        a_number=bindparam("p_a"),
        b_number=bindparam("p_b"),
        forwarded_to=bindparam("p_forwarded"),
        dtmf=bindparam("p_dtmf"),
        # A record retention already cut keeps the time it was cut.
        numbers_cut_at=func.coalesce(
            CALL.c.numbers_cut_at, bindparam("p_cut_at", type_=CALL.c.numbers_cut_at.type)
        ),
    )
)
_SET_EVENT_DETAIL = (
    update(EVENT).where(EVENT.c.id == bindparam("p_id")).values(detail=bindparam("p_detail"))
)


def _cut_own_calls(conn: Connection, account_id: int, now: datetime) -> int:
    """Cut every number of the account's call records and their events' details; the
    digits dialled once answered go too. How many records."""
    calls = conn.execute(
        select(CALL.c.id, CALL.c.a_number, CALL.c.b_number, CALL.c.forwarded_to).where(
            CALL.c.account_id == account_id
        )
    ).all()
    if calls:
        conn.execute(
            _SET_CALL_NUMBERS,
            [
                {
                    "p_id": call.id,
                    "p_a": cut_number(call.a_number),
                    "p_b": cut_number(call.b_number),
                    "p_forwarded": cut_number(call.forwarded_to) if call.forwarded_to else None,
                    "p_dtmf": "",
                    "p_cut_at": now,
                }
                for call in calls
            ],
        )
    own = select(CALL.c.id).where(CALL.c.account_id == account_id).scalar_subquery()
    _rewrite_details(conn, EVENT.c.call_id.in_(own), cut_numbers_in)
    return len(calls)


def _cut_others_calls(conn: Connection, account_id: int, numbers: Sequence[str]) -> int:
    """Cut the account's own numbers where other accounts' call records (and their
    events' details) hold them; how many records."""
    numbers = _cuttable(numbers)
    if not numbers:
        return 0
    query = select(CALL).where(
        or_(CALL.c.account_id.is_(None), CALL.c.account_id != account_id),
        or_(
            CALL.c.a_number.in_(numbers),
            CALL.c.b_number.in_(numbers),
            CALL.c.forwarded_to.in_(numbers),
        ),
    )
    calls = conn.execute(query).all()
    for call in calls:
        values = {
            column: cut_number(getattr(call, column))
            for column in ("a_number", "b_number", "forwarded_to")
            if getattr(call, column) in numbers
        }
        conn.execute(update(CALL).where(CALL.c.id == call.id).values(**values))
    if calls:
        touched = EVENT.c.call_id.in_([call.id for call in calls])
        _rewrite_details(conn, touched, lambda text: _cut_these(text, numbers))
    return len(calls)


def _cut_refusals(conn: Connection, account_id: int, numbers: Sequence[str]) -> int:
    """Cut the numbers of the account's fraud refusals, and its own numbers in others'."""
    numbers = _cuttable(numbers)
    rows = conn.execute(
        select(REFUSAL.c.id, REFUSAL.c.account_id, REFUSAL.c.number, REFUSAL.c.detail).where(
            or_(REFUSAL.c.account_id == account_id, REFUSAL.c.number.in_(numbers))
        )
    ).all()
    for row in rows:
        if row.account_id == account_id:
            detail = cut_numbers_in(row.detail)
        else:
            detail = _cut_these(row.detail, numbers)
        number = cut_number(row.number) if row.number else row.number
        conn.execute(
            update(REFUSAL).where(REFUSAL.c.id == row.id).values(number=number, detail=detail)
        )
    return len(rows)


def _wipe_money_texts(
    conn: Connection, account_id: int, addresses: Sequence[str]
) -> dict[str, int]:
    """Deposits lose their sender and memo, withdrawals their address (also inside their
    error), and the book's transfers any of those addresses in their reason."""
    deposits = conn.execute(
        update(DEPOSIT).where(DEPOSIT.c.account_id == account_id).values(sender=None, memo=None)
    ).rowcount
    withdrawals = conn.execute(
        select(WITHDRAWAL.c.id, WITHDRAWAL.c.error).where(WITHDRAWAL.c.account_id == account_id)
    ).all()
    for row in withdrawals:
        error = _blank(row.error, addresses) if row.error else row.error
        conn.execute(
            update(WITHDRAWAL).where(WITHDRAWAL.c.id == row.id).values(address="", error=error)
        )
    book = account_book(account_id)
    transfers = conn.execute(
        select(TRANSFER.c.id, TRANSFER.c.reason).where(
            or_(TRANSFER.c.debit_book == book, TRANSFER.c.credit_book == book)
        )
    ).all()
    changed = 0
    for row in transfers:
        if (reason := _blank(row.reason, addresses)) != row.reason:
            conn.execute(update(TRANSFER).where(TRANSFER.c.id == row.id).values(reason=reason))
            changed += 1
    return {"deposit": deposits, "withdrawal": len(withdrawals), "ledgertransfer": changed}


def _rewrite_details(conn: Connection, which: Any, rewrite: Callable[[str], str]) -> None:
    """Rewrite the details of the events `which` selects with `rewrite(text) -> text`."""
    rows = conn.execute(
        select(EVENT.c.id, EVENT.c.detail).where(which, EVENT.c.detail.is_not(None))
    ).all()
    changed = [
        {"p_id": row.id, "p_detail": new}
        for row in rows
        if (new := rewrite(row.detail)) != row.detail
    ]
    if changed:
        conn.execute(_SET_EVENT_DETAIL, changed)


def _cuttable(numbers: Sequence[str]) -> list[str]:
    """The numbers a cut changes (an extension is kept as it is by `cut_number`: the
    exchange's own number, it names nobody once released)."""
    return [n for n in numbers if cut_number(n) != n]


def _cut_these(text: str, numbers: Sequence[str]) -> str:
    """`text` with each of `numbers` in it cut, also where written without its "+"."""
    for number in numbers:
        # The "+" form first: the bare digits are inside it.
        for written in dict.fromkeys((number, number.lstrip("+"))):
            if written in text:
                text = text.replace(written, cut_number(number))
    return text


def _blank(text: str, addresses: Sequence[str]) -> str:
    """`text` with each of `addresses` in it replaced by FORGOTTEN."""
    for address in addresses:
        text = text.replace(address, FORGOTTEN)
    return text
