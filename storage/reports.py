"""The operator's monthly figures, aggregated by the database (`admin report`).

Every function reads one period [start, end) and returns grouped sums only: no row of a
call, a refusal or an account leaves the database, and nothing names a number or an
account (the privacy of the report: aggregates only). Times are compared as stored (UTC).

A call belongs to the period it was placed in: its `scheduled_at` for a call scheduled
ahead, else its `created_at` (the CDR's start), whatever the time it ended.
Leg durations are computed exactly, in integer microseconds, on both databases; each
answered leg is rounded like billing rounds it (wallet/tariffs.py: at least
`min_seconds`, then up to a multiple of `increment`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Engine,
    Integer,
    String,
    and_,
    case,
    cast,
    extract,
    func,
    literal,
    not_,
    select,
    union,
)
from sqlmodel import col

from domain.books import REVENUE, USER_BOOK_PREFIX
from domain.calls import REFUSED_PREFIX, CallKind, HangupCause
from storage.calls import ENDED
from storage.db import is_sqlite, read
from storage.models import CallRecord, FraudRefusal, LedgerEntry, LedgerTransfer

MICROSECONDS = 1_000_000
# Calls that ring the account's own phone on leg a only: that leg is the answered one.
SINGLE_LEG_KINDS = (
    CallKind.VERIFICATION.value,
    CallKind.REMINDER.value,
    CallKind.TWO_FACTOR.value,
)
# Line classes of `leg_minutes`: a leg of a call to (or from) an outside number, priced
# by its own number; a call between two extensions; a call from the trunk to a DID.
LEG, INTERNAL, INBOUND = "leg", CallKind.INTERNAL.value, CallKind.INBOUND.value
# The revenue line of the API's voice 2FA charges: their ledger key starts so
# (api/verify.py, `_charge`), their kind is `call`.
VERIFY_KEY_PREFIX, VERIFICATION = "verify:", "verification"


@dataclass(frozen=True)
class RevenueLine:
    """What the REVENUE book received (`credited`) and gave back (`debited`, refunds) in
    one asset for one transfer kind, in smallest units (both >= 0)."""

    asset: str
    kind: str
    credited: int
    debited: int


@dataclass(frozen=True)
class LegMinutes:
    """Answered legs grouped by line class and the first characters of the number
    (`prefix`, separators removed, at most `prefix_chars`), with `long` True when the
    number had 7 or more characters (not an extension): their count and the sum of their
    billable seconds."""

    line: str
    prefix: str
    long: bool
    legs: int
    billable_seconds: int


@dataclass(frozen=True)
class CallTotals:
    """Calls placed in the period (ended, not cancelled, not refused before dialling):
    `attempted`, `answered` (the callee's leg answered; leg a for service calls), and
    `answered_microseconds`, the sum of the answered calls' durations."""

    attempted: int
    answered: int
    answered_microseconds: int


def revenue(engine: Engine, start: datetime, end: datetime) -> list[RevenueLine]:
    """The REVENUE book's entries of the period by asset and transfer kind (any kind:
    a kind added later appears by itself), sorted by asset then kind. The voice 2FA
    codes of the API, charged as kind `call` under a `verify:` key (api/verify.py), are
    the line VERIFICATION of their own."""
    transfers = LedgerTransfer.__table__  # type: ignore[attr-defined]
    entry, transfer = LedgerEntry.__table__.c, transfers.c  # type: ignore[attr-defined]
    kind = case(
        (transfer.idempotency_key.startswith(VERIFY_KEY_PREFIX), literal(VERIFICATION)),
        else_=transfer.kind,
    ).label("revenue_line")
    credited = func.sum(case((entry.amount > 0, entry.amount), else_=0))
    debited = func.sum(case((entry.amount < 0, -entry.amount), else_=0))
    query = (
        select(entry.asset, kind, credited, debited)
        .join(transfers, transfer.id == entry.transfer_id)
        .where(entry.book == REVENUE, entry.created_at >= start, entry.created_at < end)
        .group_by(entry.asset, kind)
        .order_by(entry.asset, kind)
    )
    with read(engine) as conn:
        return [RevenueLine(a, k, int(c or 0), int(d or 0)) for a, k, c, d in conn.execute(query)]


def leg_minutes(
    engine: Engine,
    start: datetime,
    end: datetime,
    *,
    prefix_chars: int,
    min_seconds: int,
    increment: int,
) -> list[LegMinutes]:
    """Billable seconds of every answered leg of the calls placed in the period, grouped
    (see LegMinutes): both legs of a callback each under its own number, the outside leg
    of an exchange call, one line for calls between extensions and one for calls from
    the trunk. `prefix_chars` must cover "+" and the longest tariff prefix."""
    if prefix_chars < 1 or min_seconds < 0 or increment < 1:
        raise ValueError("prefix_chars and increment must be >= 1, min_seconds >= 0")
    sqlite = is_sqlite(engine)
    kind = col(CallRecord.kind)
    line = case(
        (kind == INTERNAL, literal(INTERNAL)),
        (kind == INBOUND, literal(INBOUND)),
        else_=literal(LEG),
    )
    records = CallRecord.__table__.c  # type: ignore[attr-defined]
    selects = []
    for leg in ("a", "b"):
        answered = records[f"{leg}_answered_at"]
        ended = func.coalesce(records[f"{leg}_ended_at"], records.ended_at)
        number = func.replace(func.replace(records[f"{leg}_number"], " ", ""), "-", "")
        micro = _microseconds(answered, ended, sqlite)
        seconds = _billable(micro, min_seconds, increment, sqlite)
        # ended > answered: a leg answered for 0 s bills nothing (Tariffs.billable_seconds)
        conditions = [_placed_in(start, end), answered.is_not(None), ended > answered]
        if leg == "b":  # a service call rings leg a only (its b_number repeats a_number)
            conditions.append(not_(records.kind.in_(SINGLE_LEG_KINDS)))
        selects.append(
            select(
                line.label("line"),
                func.substr(number, 1, prefix_chars).label("prefix"),
                case((func.length(number) >= 7, 1), else_=0).label("long"),
                seconds.label("seconds"),
            ).where(*conditions)
        )
    legs = selects[0].union_all(selects[1]).subquery()
    query = (
        select(
            legs.c.line,
            legs.c.prefix,
            legs.c.long,
            func.count(),
            func.coalesce(func.sum(legs.c.seconds), 0),
        )
        .group_by(legs.c.line, legs.c.prefix, legs.c.long)
        .order_by(legs.c.line, legs.c.prefix, legs.c.long)
    )
    with read(engine) as conn:
        return [
            LegMinutes(line, prefix or "", bool(long), int(count), int(total))
            for line, prefix, long, count, total in conn.execute(query)
        ]


def call_totals(engine: Engine, start: datetime, end: datetime) -> CallTotals:
    """Attempted and answered calls of the period and the answered calls' total duration
    (for ASR = answered / attempted and ACD = duration / answered)."""
    sqlite = is_sqlite(engine)
    single = col(CallRecord.kind).in_(SINGLE_LEG_KINDS)
    answered = case((single, col(CallRecord.a_answered_at)), else_=col(CallRecord.b_answered_at))
    ended = case(
        (single, func.coalesce(col(CallRecord.a_ended_at), col(CallRecord.ended_at))),
        else_=func.coalesce(col(CallRecord.b_ended_at), col(CallRecord.ended_at)),
    )
    duration = _microseconds(answered, ended, sqlite)
    query = select(
        func.count(),
        func.coalesce(func.sum(case((answered.is_not(None), 1), else_=0)), 0),
        func.coalesce(func.sum(case((answered.is_not(None), duration), else_=0)), 0),
    ).where(
        _placed_in(start, end),
        col(CallRecord.state) == ENDED,
        func.coalesce(col(CallRecord.hangup_cause), "") != HangupCause.CANCELLED.value,
        not_(func.coalesce(col(CallRecord.hangup_cause), "").startswith(REFUSED_PREFIX)),
    )
    with read(engine) as conn:
        attempted, answered_calls, total = conn.execute(query).one()
    return CallTotals(int(attempted), int(answered_calls), int(total))


def active_accounts(engine: Engine, start: datetime, end: datetime) -> int:
    """How many accounts have a call record placed in the period or a ledger entry on
    their book in it (a deposit, a charge, a refund, a withdrawal)."""
    book = literal(USER_BOOK_PREFIX, String).concat(cast(col(CallRecord.account_id), String))
    callers = select(book.label("book")).where(
        _placed_in(start, end), col(CallRecord.account_id).is_not(None)
    )
    entry = LedgerEntry.__table__.c  # type: ignore[attr-defined]
    movers = select(entry.book.label("book")).where(
        entry.book.startswith(USER_BOOK_PREFIX),
        entry.created_at >= start,
        entry.created_at < end,
    )
    books = union(callers, movers).subquery()
    with read(engine) as conn:
        return int(conn.execute(select(func.count()).select_from(books)).scalar_one())


def refusals_by_rule(
    engine: Engine, start: datetime, end: datetime, *, limit: int
) -> tuple[list[tuple[str, int]], int]:
    """The `limit` fraud rules that refused most calls in the period, as (rule, count),
    most first (ties by rule name), and the count of every refusal of the period."""
    count = func.count().label("n")
    in_period = and_(col(FraudRefusal.created_at) >= start, col(FraudRefusal.created_at) < end)
    query = (
        select(col(FraudRefusal.rule), count)
        .where(in_period)
        .group_by(col(FraudRefusal.rule))
        .order_by(count.desc(), col(FraudRefusal.rule))
        .limit(limit)
    )
    with read(engine) as conn:
        top = [(rule, int(n)) for rule, n in conn.execute(query)]
        total = conn.execute(select(func.count()).where(in_period)).scalar_one()
    return top, int(total)


def _placed_in(start: datetime, end: datetime) -> ColumnElement[bool]:
    placed = func.coalesce(col(CallRecord.scheduled_at), col(CallRecord.created_at))
    return and_(placed >= start, placed < end)


def _microseconds(start: ColumnElement, end: ColumnElement, sqlite: bool) -> ColumnElement[int]:
    """Exact microseconds from `start` to `end`. SQLite stores "YYYY-MM-DD HH:MM:SS.ffffff"
    (whole seconds by strftime, microseconds from the text: julianday's float would be
    off by tens of microseconds); PostgreSQL's EXTRACT(EPOCH …) is an exact numeric."""
    if sqlite:
        whole = cast(func.strftime("%s", end), Integer) - cast(func.strftime("%s", start), Integer)
        micro = cast(func.substr(end, 21, 6), Integer) - cast(func.substr(start, 21, 6), Integer)
        return whole * MICROSECONDS + micro
    return cast(extract("epoch", end - start) * MICROSECONDS, BigInteger)


def _billable(
    micro: ColumnElement[int], min_seconds: int, increment: int, sqlite: bool
) -> ColumnElement[int]:
    """Billable seconds of `micro` (> 0) answered microseconds as wallet/tariffs.py rounds
    them (Tariffs.billable_seconds): the whole seconds rounded up, at least `min_seconds`,
    rounded up to a multiple of `increment`. `micro` appears once in the expression: it
    is the costly part, computed once per leg."""
    whole = (micro + (MICROSECONDS - 1)) // MICROSECONDS  # a ceiling
    at_least = func.max(whole, min_seconds) if sqlite else func.greatest(whole, min_seconds)
    return (at_least + (increment - 1)) // increment * increment
