"""Everything kept about one account: read out ("my data", `PrivacyStore.export`), weighed
before leaving (`PrivacyStore.summary`) and wiped ("forget me", `PrivacyStore.forget`,
whose steps are in `storage.forgetting`).

What is about an account: its row; the rows that name it (`account_id`: identities,
direct numbers, call records, reminders, forwarding rules, deposits, withdrawals, fraud
refusals, recordings, link codes, the pending wallet proof); the events and SIP dialogs
of its calls; the wrong link codes its identities wrote; and its ledger book
(`account:<id>`): the book's balances, entries and holds, and the transfers to or from it.
`ABOUT_ACCOUNTS` names the section of each table; `NOT_ABOUT_ACCOUNTS` the tables that
hold nothing about anybody (scan positions, claimed chat updates, our own SIP users).

No chat message is stored: the only words of the user kept are their reminders' texts.

Forgetting keeps the account's row and its ledger book: money is neither lost nor created,
a balance stays in the book, unreachable, under the account's number (its id) alone. Every
link from that number to a person goes: identities (so the same Telegram user or JID
starts a new, empty account at its next message), numbers, keys, texts, addresses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, Engine, Row, Table, func, or_, select
from sqlmodel import SQLModel

from domain.clock import utcnow
from storage.db import read
from storage.forgetting import (
    API_KEY,
    DELIVERY,
    ENDPOINT,
    IDEMPOTENT,
    VERIFICATION,
    WEBHOOK_ATTEMPT,
    Blocker,
    ForgetResult,
    balances_of,
    blocker_of,
    forget_account,
    own_numbers,
)
from storage.ledger_store import account_book

_tables = SQLModel.metadata.tables
ACCOUNT, IDENTITY, DID, LINK_CODE = (_tables[n] for n in ("account", "identity", "did", "linkcode"))
CALL, EVENT, DIALOG = (_tables[n] for n in ("callrecord", "callevent", "sipdialog"))
BALANCE, TRANSFER, ENTRY, HOLD = (
    _tables[n] for n in ("balance", "ledgertransfer", "ledgerentry", "hold")
)
REMINDER, RULE, DEPOSIT, WITHDRAWAL = (
    _tables[n] for n in ("reminder", "forwardingrule", "deposit", "withdrawal")
)
SERIES, CALENDAR = _tables["reminderseries"], _tables["calendarsource"]
REFUSAL, RECORDING, WALLET_LINK, ATTEMPT = (
    _tables[n] for n in ("fraudrefusal", "recording", "walletlink", "linkattempt")
)

# The export's section of every table that may hold something about an account.
ABOUT_ACCOUNTS = {
    "account": "account",
    "identity": "identities",
    "did": "direct_numbers",
    "callrecord": "calls",
    "callevent": "calls[].events",
    "sipdialog": "calls[].sip_dialogs",
    "balance": "ledger.balances",
    "ledgertransfer": "ledger.transfers",
    "ledgerentry": "ledger.entries",
    "hold": "ledger.holds",
    "reminder": "reminders",
    "reminderseries": "reminder_series",
    "calendarsource": "calendars",
    "forwardingrule": "forwarding_rules",
    "deposit": "deposits",
    "withdrawal": "withdrawals",
    "fraudrefusal": "fraud_refusals",
    "recording": "recordings",
    "linkcode": "link_codes",
    "linkattempt": "link_attempts",
    "walletlink": "wallet_link",
    "apikey": "api.keys",
    "idempotentrequest": "api.idempotent_requests",
    "webhookendpoint": "api.webhooks",
    "webhookdelivery": "api.webhooks[].deliveries",
    "webhookattempt": "api.webhooks[].deliveries[].attempts",
    "verification": "api.verifications",
    "plansubscription": "plans.subscription",
    "planperiod": "plans.periods",
    "planusage": "plans.usage",
    "plannotice": "plans.notices",
    "pollvote": "polls.votes",
    "pollnotice": "polls.notices",
}
NOT_ABOUT_ACCOUNTS = frozenset({"walletcursor", "chatupdate", "sipserviceuser"})
# ETT holders' polls and the chain's balances at their snapshots name no account.
NOT_ABOUT_ACCOUNTS |= {"poll", "pollweight"}


@dataclass(frozen=True)
class ForgetSummary:
    """What forgetting an account would lose, and what would stay.

    `numbers`: its own phone number, direct numbers and extension, as stored; `calls`:
    how many call records lose their numbers; `balances`: asset -> amount (smallest
    units, non-zero only) that would stay in the ledger, unreachable; `blocker`: why it
    cannot be forgotten now (None: it can).
    """

    identities: int
    numbers: tuple[str, ...]
    calls: int
    reminders: int
    rules: int
    recordings: int
    balances: dict[str, int]
    blocker: Blocker | None


class PrivacyStore:
    """Export, weigh and forget one account's data."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- "my data" ---------------------------------------------------------------------

    def export(self, account_id: int) -> dict[str, Any]:
        """Every row about the account, JSON-serialisable: sections named as in
        `ABOUT_ACCOUNTS`, each a list of rows (column -> value; times ISO 8601 UTC, money
        integers in smallest units beside their asset column). The softphone password's
        digest is not given, only whether one is set (`softphone_password`: "set" or None).

        Each table is read as committed when it is read (no snapshot across tables).
        Raises KeyError for an unknown account.
        """
        book = account_book(account_id)
        with read(self.engine) as conn:
            account = conn.execute(select(ACCOUNT).where(ACCOUNT.c.id == account_id)).first()
            if account is None:
                raise KeyError(account_id)
            identities = _rows(conn, select(IDENTITY).where(IDENTITY.c.account_id == account_id))
            return {
                "account": _account_out(account),
                "identities": identities,
                "direct_numbers": _owned(conn, DID, account_id, DID.c.number),
                "calls": _calls_out(conn, account_id),
                "ledger": _ledger_out(conn, book),
                "reminders": _owned(conn, REMINDER, account_id, REMINDER.c.id),
                "reminder_series": _owned(conn, SERIES, account_id, SERIES.c.id),
                "calendars": _calendars_out(conn, account_id),
                "forwarding_rules": _owned(conn, RULE, account_id, RULE.c.id),
                "deposits": _owned(conn, DEPOSIT, account_id, DEPOSIT.c.id),
                "withdrawals": _owned(conn, WITHDRAWAL, account_id, WITHDRAWAL.c.id),
                "fraud_refusals": _owned(conn, REFUSAL, account_id, REFUSAL.c.id),
                "recordings": _owned(conn, RECORDING, account_id, RECORDING.c.created_at),
                "link_codes": _owned(conn, LINK_CODE, account_id, LINK_CODE.c.expires_at),
                "link_attempts": _attempts_out(conn, identities),
                "wallet_link": next(iter(_owned(conn, WALLET_LINK, account_id)), None),
                "api": _api_out(conn, account_id),
                "plans": _plans_out(conn, account_id),
                "polls": _polls_out(conn, account_id),
            }

    # --- "forget me" -------------------------------------------------------------------

    def summary(self, account_id: int) -> ForgetSummary:
        """What forgetting the account would lose now (see ForgetSummary); KeyError for an
        unknown account."""
        with read(self.engine) as conn:
            account = conn.execute(select(ACCOUNT).where(ACCOUNT.c.id == account_id)).first()
            if account is None:
                raise KeyError(account_id)
            numbers = own_numbers(conn, account)

            def count(table: Table) -> int:
                query = select(func.count()).select_from(table)
                return int(conn.execute(query.where(table.c.account_id == account_id)).scalar_one())

            return ForgetSummary(
                identities=count(IDENTITY),
                numbers=tuple(numbers),
                calls=count(CALL),
                reminders=count(REMINDER),
                rules=count(RULE),
                recordings=count(RECORDING),
                balances=balances_of(conn, account_id),
                blocker=blocker_of(conn, account_id, numbers),
            )

    def forget(self, account_id: int, *, now: datetime | None = None) -> ForgetResult:
        """Forget the account, in one transaction: see `storage.forgetting.forget_account`.

        Raises ForgetBlocked (nothing changed) while a call of the account or to its
        numbers is in progress, money is held, or a withdrawal is unfinished; KeyError for
        an unknown account."""
        with self.engine.begin() as conn:
            return forget_account(conn, account_id, now or utcnow())


# --- reading ------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A column's value as JSON has it: times ISO 8601 in UTC."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat()
    return value


def _row_out(row: Row) -> dict[str, Any]:
    return {key: _plain(value) for key, value in row._mapping.items()}


def _rows(conn: Connection, query: Any) -> list[dict[str, Any]]:
    return [_row_out(row) for row in conn.execute(query)]


def _owned(conn: Connection, table: Table, account_id: int, *order: Any) -> list[dict[str, Any]]:
    """The rows of `table` whose account_id is the account's, in `order`."""
    return _rows(conn, select(table).where(table.c.account_id == account_id).order_by(*order))


def _calendars_out(conn: Connection, account_id: int) -> list[dict[str, Any]]:
    """The account's calendars (storage.calendars) with the text last read from each; a
    feed's address only as far as its host (the rest is the secret that reads it), a
    CalDAV password only as "set"."""
    rows = _owned(conn, CALENDAR, account_id, CALENDAR.c.id)
    for row in rows:
        if row["url"]:
            parts = urlsplit(row["url"])
            row["url"] = f"{parts.scheme}://{parts.hostname}/…"
        row["password"] = "set" if row["password"] else None
    return rows


def _plans_out(conn: Connection, account_id: int) -> dict[str, Any]:
    """The account's monthly plan (storage.plans): its subscription, paid periods,
    included seconds its calls used, renewal notices sent."""
    tables = {n: _tables[n] for n in ("plansubscription", "planperiod", "planusage", "plannotice")}
    subscription = _owned(conn, tables["plansubscription"], account_id)
    return {
        "subscription": subscription[0] if subscription else None,
        "periods": _owned(conn, tables["planperiod"], account_id, tables["planperiod"].c.id),
        "usage": _owned(conn, tables["planusage"], account_id, tables["planusage"].c.id),
        "notices": _owned(conn, tables["plannotice"], account_id, tables["plannotice"].c.sent_at),
    }


def _polls_out(conn: Connection, account_id: int) -> dict[str, Any]:
    """The votes the account chose (storage.polls) and the poll messages it was sent."""
    votes, notices = _tables["pollvote"], _tables["pollnotice"]
    return {
        "votes": _owned(conn, votes, account_id, votes.c.poll_id),
        "notices": _owned(conn, notices, account_id, notices.c.poll_id, notices.c.kind),
    }


def _api_out(conn: Connection, account_id: int) -> dict[str, Any]:
    """The account's API keys, idempotent requests, webhooks (their deliveries and
    attempts) and voice verifications, without any secret: not a key's hash, an
    endpoint's signing secret or a code's HMAC; an idempotent request's stored answer is
    given only as its status."""
    keys = _owned(conn, API_KEY, account_id, API_KEY.c.created_at)
    requests = _owned(conn, IDEMPOTENT, account_id, IDEMPOTENT.c.created_at)
    webhooks = _owned(conn, ENDPOINT, account_id, ENDPOINT.c.created_at)
    for endpoint in webhooks:
        endpoint.pop("secret")
        query = select(DELIVERY).where(DELIVERY.c.endpoint_id == endpoint["id"])
        endpoint["deliveries"] = _rows(conn, query.order_by(DELIVERY.c.created_at))
        for delivery in endpoint["deliveries"]:
            tries = select(WEBHOOK_ATTEMPT).where(WEBHOOK_ATTEMPT.c.delivery_id == delivery["id"])
            delivery["attempts"] = _rows(conn, tries.order_by(WEBHOOK_ATTEMPT.c.id))
    verifications = _owned(conn, VERIFICATION, account_id, VERIFICATION.c.created_at)
    for row in keys:
        row.pop("token_hash")
    for row in requests:
        row.pop("body")
        row.pop("headers")
    for row in verifications:
        row.pop("code_hash")
    return {
        "keys": keys,
        "idempotent_requests": requests,
        "webhooks": webhooks,
        "verifications": verifications,
    }


def _account_out(account: Row) -> dict[str, Any]:
    out = _row_out(account)
    out["softphone_password"] = "set" if out.pop("sip_ha1") else None
    return out


def _calls_out(conn: Connection, account_id: int) -> list[dict[str, Any]]:
    """The account's call records, oldest first, each with its events and SIP dialogs."""
    calls = _owned(conn, CALL, account_id, CALL.c.created_at, CALL.c.id)
    ids = select(CALL.c.id).where(CALL.c.account_id == account_id).scalar_subquery()
    events = _rows(conn, select(EVENT).where(EVENT.c.call_id.in_(ids)).order_by(EVENT.c.id))
    dialogs = _rows(conn, select(DIALOG).where(DIALOG.c.call_id.in_(ids)))
    by_id: dict[str, dict[str, list]] = {
        call["id"]: {"events": [], "sip_dialogs": []} for call in calls
    }
    for section, rows in (("events", events), ("sip_dialogs", dialogs)):
        for row in rows:  # (a call made between the reads has rows but no record here)
            if (found := by_id.get(row["call_id"])) is not None:
                found[section].append(row)
    return [call | by_id[call["id"]] for call in calls]


def _ledger_out(conn: Connection, book: str) -> dict[str, Any]:
    """The account's book: its balances, the transfers to or from it, its entries, holds."""
    moved = or_(TRANSFER.c.debit_book == book, TRANSFER.c.credit_book == book)
    return {
        "book": book,
        "balances": _rows(conn, select(BALANCE).where(BALANCE.c.book == book)),
        "transfers": _rows(conn, select(TRANSFER).where(moved).order_by(TRANSFER.c.id)),
        "entries": _rows(conn, select(ENTRY).where(ENTRY.c.book == book).order_by(ENTRY.c.id)),
        "holds": _rows(conn, select(HOLD).where(HOLD.c.book == book).order_by(HOLD.c.id)),
    }


def _attempts_out(conn: Connection, identities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The wrong link codes the account's identities wrote (kept a day)."""
    out: list[dict[str, Any]] = []
    for identity in identities:
        query = select(ATTEMPT).where(
            ATTEMPT.c.network == identity["network"],
            ATTEMPT.c.external_id == identity["external_id"],
        )
        out += _rows(conn, query.order_by(ATTEMPT.c.id))
    return out
