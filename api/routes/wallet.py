"""The wallet: balances, ledger movements, where to deposit, withdrawals.

The same rules as the chat's "deposit" and "withdraw" (bot.features.payments.wallet):
the address must be one of the service's Waves chain, the amount covered by the available
balance (the network fee is the service's). A withdrawal with an Idempotency-Key is
sent once whatever the retries: its ledger key is made from the header (wallet.withdrawals
keeps one row per key, so a retry after a crash finds the first instead of sending again).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Caller, Paying, Reader, ServicesDep
from api.cursors import (
    MAX_ROW_ID,
    Cursor,
    Limit,
    Since,
    Until,
    decode_int,
    next_cursor,
    optional_utc,
)
from api.problems import Problem
from api.schemas import PROBLEMS, Money, Page, ProblemDoc
from bot.assistant.i18n import money_text, t
from bot.features.payments.wallet import MAX_SHOWN_ADDRESS
from domain.money import ASSETS
from storage.ledger_store import InsufficientFunds, account_book
from storage.models import Withdrawal
from storage.withdrawals import WithdrawalStore
from wallet.waves import InvalidAddress, NodeUnavailable

router = APIRouter(tags=["wallet"], responses=PROBLEMS)
Asset = Literal["ETT", "WAVES"]
# Ids of rows (a 64-bit integer at most).
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="the withdrawal's id")]
MAX_UNITS = 10**18  # far above any supply; keeps amounts in a BIGINT
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"model": ProblemDoc, "content": {"application/problem+json": {}}}
}
PAYMENT: dict[int | str, dict[str, Any]] = {
    status: {"model": ProblemDoc, "content": {"application/problem+json": {}}}
    for status in (402, 409, 503)
}


class AssetBalance(BaseModel):
    """One asset of the account: `total` = `available` + `held` (held: reserved for calls
    in progress)."""

    available: Money
    held: Money
    total: Money


class LedgerLine(BaseModel):
    """One movement of the account's balance (a ledger entry)."""

    id: int
    time: datetime
    kind: str = Field(description="deposit, call charge, withdrawal, refund, …")
    amount: Money = Field(description="signed: positive credits the account")
    reason: str
    reference: str | None = Field(description="what it is about (a call id, a deposit, …)")


class DepositOut(BaseModel):
    """Where to send a deposit: the memo (attachment) tells the service whose it is."""

    asset: str
    asset_id: str = Field(description='the Waves asset id ("WAVES" for WAVES)')
    address: str
    memo: str = Field(description="put it as the transfer's attachment, exactly")
    link: str = Field(description="a payment link for Waves wallets")
    confirmations: int = Field(description="blocks on top before the deposit is credited")


class MoneyIn(BaseModel):
    """An amount to send: smallest units of an asset."""

    model_config = ConfigDict(extra="forbid")

    units: int = Field(le=MAX_UNITS, description="smallest units (1 ETT = 100000000)")
    asset: Asset


class WithdrawalRequest(BaseModel):
    """Send `amount` from the account's balance to a Waves `address`."""

    model_config = ConfigDict(extra="forbid")

    amount: MoneyIn
    address: str = Field(max_length=64, description="a Waves address of the service's chain")


class WithdrawalOut(BaseModel):
    """A withdrawal: `state` is sent (on chain), pending/signed/unknown (deciding: the
    service keeps asking the node), failed (refunded) or refused (never debited)."""

    id: int
    amount: Money
    address: str
    state: str
    tx_id: str | None = Field(description="the Waves transaction id")
    error: str | None = None
    created_at: datetime

    @classmethod
    def of(cls, row: Withdrawal) -> WithdrawalOut:
        return cls(
            id=row.id,
            amount=Money(units=row.amount, asset=row.asset),
            address=row.address,
            state=row.state,
            tx_id=row.tx_id,
            error=row.error,
            created_at=row.created_at,
        )


@router.get("/v1/balance")
def balance(services: ServicesDep, caller: Reader) -> dict[str, AssetBalance]:
    """The account's balance in each asset (ETT, WAVES), in smallest units."""
    found = services.ledger.balances(account_book(caller.account.id))
    answer = {}
    for asset in ASSETS:
        view = found.get(asset)
        amount, held = (view.amount, view.held) if view is not None else (0, 0)
        answer[asset] = AssetBalance(
            available=Money(units=amount - held, asset=asset),
            held=Money(units=held, asset=asset),
            total=Money(units=amount, asset=asset),
        )
    return answer


@router.get("/v1/ledger")
def ledger(
    services: ServicesDep,
    caller: Reader,
    limit: Limit = 50,
    cursor: Cursor = None,
    since: Since = None,
    until: Until = None,
) -> Page[LedgerLine]:
    """The movements of the account's balance, newest first."""
    before = decode_int(cursor, caller.lang)[1] if cursor else None
    rows = services.ledger.entries_page(
        account_book(caller.account.id),
        limit=limit + 1,
        before_id=before,
        since=optional_utc(since),
        until=optional_utc(until),
    )
    page, after = next_cursor(rows, limit, lambda r: (r["created_at"], r["id"]))
    lines = [
        LedgerLine(
            id=row["id"],
            time=row["created_at"],
            kind=row["kind"],
            amount=Money(units=row["amount"], asset=row["asset"]),
            reason=row["reason"],
            reference=row["ref"],
        )
        for row in page
    ]
    return Page[LedgerLine](data=lines, next_cursor=after)


@router.get("/v1/deposit", responses=UNAVAILABLE)
def deposit(
    services: ServicesDep,
    caller: Reader,
    asset: Asset = "ETT",
    amount: Annotated[
        int | None, Query(ge=1, le=MAX_UNITS, description="smallest units, for the link")
    ] = None,
) -> DepositOut:
    """The service's address and the account's memo for a deposit of `asset`, with a
    payment link (for `amount` when given). 503 when Waves is not configured here."""
    watcher = services.deposits
    if watcher is None:
        raise _not_configured(caller, "deposit_not_configured")
    info = watcher.deposit_info(caller.account.id, asset, amount)
    return DepositOut(
        asset=info.asset,
        asset_id=info.asset_id,
        address=info.address,
        memo=info.memo,
        link=info.link,
        confirmations=watcher.confirmations,
    )


@router.post("/v1/withdrawals", status_code=201, responses=PAYMENT)
def withdraw(
    body: WithdrawalRequest,
    services: ServicesDep,
    caller: Paying,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> WithdrawalOut:
    """Send ETT or WAVES to a Waves address (the network fee is the service's). Refusals:
    `amount-invalid`, `withdraw-bad-address`, `withdraw-insufficient` (402),
    `withdraw-node-down` (503: nothing sent). The answer's `state` says whether it left."""
    desk = services.withdrawals
    if desk is None:
        raise _not_configured(caller, "withdraw_not_configured")
    amount, asset = body.amount.units, body.amount.asset
    address = body.address.strip()
    if amount <= 0:
        raise Problem("amount_invalid", t(caller.lang, "amount_invalid"))
    if not desk.client.is_valid_address(address):
        raise _bad_address(caller, address)
    available = services.ledger.balance(account_book(caller.account.id), asset).available
    if amount > available:
        raise _insufficient(caller, available, amount, asset)
    key = _ledger_key(caller.account.id, idempotency_key)
    try:
        row = desk.withdraw(caller.account.id, amount, asset, address, key=key)
    except InsufficientFunds as error:
        raise _insufficient(caller, error.available, amount, asset) from None
    except InvalidAddress:
        raise _bad_address(caller, address) from None
    except NodeUnavailable:
        detail = t(caller.lang, "withdraw_node_down")
        raise Problem("withdraw_node_down", detail, status=503) from None
    except ValueError:
        raise Problem("amount_invalid", t(caller.lang, "amount_invalid")) from None
    if row.state == "sent" and services.webhooks is not None:  # as the chat's withdrawals
        services.webhooks.withdrawal_sent(row)
    response.headers["Location"] = f"/v1/withdrawals/{row.id}"
    return WithdrawalOut.of(row)


@router.get("/v1/withdrawals")
def list_withdrawals(
    services: ServicesDep, caller: Reader, limit: Limit = 50
) -> Page[WithdrawalOut]:
    """The account's newest withdrawals (`limit` of them; no further pages)."""
    rows = WithdrawalStore(services.engine).list(caller.account.id, limit=limit)
    return Page[WithdrawalOut](data=[WithdrawalOut.of(row) for row in rows])


@router.get("/v1/withdrawals/{withdrawal_id}")
def get_withdrawal(withdrawal_id: RowId, services: ServicesDep, caller: Reader) -> WithdrawalOut:
    """One withdrawal of the account, with its current state."""
    row = WithdrawalStore(services.engine).by_id(withdrawal_id)
    if row is None or row.account_id != caller.account.id:
        raise Problem("not-found", t(caller.lang, "api_not_found", what="withdrawal"))
    return WithdrawalOut.of(row)


def _ledger_key(account_id: int, idempotency_key: str | None) -> str:
    """The withdrawal's idempotency key in the ledger: from the header when given (the
    same header, the same withdrawal), else a new one. At most 128 characters."""
    if idempotency_key is None:
        return f"api:{account_id}:{uuid.uuid4().hex}"
    return f"api:{account_id}:{hashlib.sha256(idempotency_key.encode()).hexdigest()}"


def _not_configured(caller: Caller, key: str) -> Problem:
    return Problem(key, t(caller.lang, key), status=503)


def _bad_address(caller: Caller, address: str) -> Problem:
    shown = address[:MAX_SHOWN_ADDRESS]
    return Problem("withdraw_bad_address", t(caller.lang, "withdraw_bad_address", address=shown))


def _insufficient(caller: Caller, available: int, amount: int, asset: str) -> Problem:
    lang = caller.lang
    detail = t(
        lang,
        "withdraw_insufficient",
        available=money_text(available, asset, lang),
        amount=money_text(amount, asset, lang),
    )
    return Problem("withdraw_insufficient", detail, status=402)
