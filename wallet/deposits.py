"""Deposits: what to send where, and the watcher that credits incoming transfers.

The watcher pages through the service address's transactions (`/transactions/address`,
newest first, `after=<id>` for older pages) down to the height it finished last time,
and handles each incoming transfer with at least WAVES_CONFIRMATIONS confirmations
(a transaction in the newest block has one). Every transaction id is stored once
(Deposit.tx_id is unique) and credited under the ledger key `deposit:<tx id>`, so a
restart at any point neither loses nor doubles a deposit. ETT or WAVES whose memo
names no account are credited to the `system:unattributed` book; other assets are
kept as unattributed Deposit rows only (the ledger holds ETT and WAVES).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote

import base58
from sqlalchemy import Engine

from domain.books import DEPOSITS, TransferKind, deposit_key
from domain.books import UNATTRIBUTED as UNATTRIBUTED_BOOK
from domain.clock import sleep_unless_stopped
from domain.money import DECIMALS, format_amount
from settings import Settings
from storage.accounts import AccountStore
from storage.deposits import CREDITED, PENDING, UNATTRIBUTED, DepositStore
from storage.ledger_store import LedgerStore, account_book
from storage.models import Deposit
from wallet.memo import account_from_memo, memo_for
from wallet.waves import NodeUnavailable, WavesClient

log = logging.getLogger(__name__)
CURSOR = "deposits.height"
MAX_BACKOFF = 300.0
REQUEST_TIMEOUT = 120.0

OnCredit = Callable[[int, str, int, str], Awaitable[None] | None]


@dataclass(frozen=True)
class DepositInfo:
    """Where and how a user sends a deposit."""

    address: str
    memo: str
    link: str
    asset: str
    asset_id: str


@dataclass(frozen=True)
class Credit:
    """A deposit credited to an account by this poll."""

    account_id: int
    asset: str
    amount: int
    tx_id: str


def deposit_info(
    account_id: int,
    address: str,
    *,
    asset: str = "ETT",
    ett_asset_id: str,
    amount: int | None = None,
    link_template: str = Settings.model_fields["WALLET_PAYMENT_LINK"].default,
) -> DepositInfo:
    """The service address, the account's memo and a payment link Waves wallets open.

    The link follows waves.exchange's send URL: `#send/<assetId or WAVES>?recipient=
    <address>&amount=<decimal amount>&attachment=<memo>&strict` (`strict` locks the
    fields); without an amount the `amount` parameter is left out.
    """
    if asset not in DECIMALS:
        raise ValueError(f"deposits are in {', '.join(DECIMALS)}")
    asset_id = ett_asset_id if asset == "ETT" else "WAVES"
    memo = memo_for(account_id)
    template = link_template if amount else link_template.replace("&amount={amount}", "")
    human = format_amount(amount, asset).split()[0] if amount else ""
    link = template.format(
        asset_id=asset_id, address=address, amount=human, memo=quote(memo, safe="")
    )
    return DepositInfo(address, memo, link, asset, asset_id)


def decode_attachment(attachment: str | None) -> str:
    """A transfer's base58 attachment as text (undecodable bytes replaced)."""
    if not attachment:
        return ""
    try:
        raw = base58.b58decode(attachment)
    except ValueError:
        return ""
    return raw.decode("utf-8", errors="replace")[:200]


class DepositWatcher:
    """Credit incoming transfers to the service address, exactly once per transaction."""

    def __init__(
        self,
        engine: Engine,
        client: WavesClient,
        *,
        ett_asset_id: str,
        confirmations: int = 1,
        poll_seconds: float = 10.0,
        on_credit: OnCredit | None = None,
        page_size: int = 100,
    ) -> None:
        self.client = client
        self.address = client.address
        self.ett_asset_id = ett_asset_id
        self.confirmations = max(confirmations, 1)
        self.poll_seconds = poll_seconds
        self.on_credit = on_credit
        self.page_size = page_size
        self.store = DepositStore(engine)
        self.ledger = LedgerStore(engine)
        self.accounts = AccountStore(engine)
        self._decimals_checked = False
        self.failures = 0

    @classmethod
    def from_settings(
        cls, engine: Engine, settings: Settings, on_credit: OnCredit | None = None
    ) -> DepositWatcher:
        """A watcher for WAVES_NODE_URL, WAVES_SEED's address and ETT_ASSET_ID."""
        client = WavesClient.service_wallet(settings, "watching deposits")
        return cls(
            engine,
            client,
            ett_asset_id=settings.ETT_ASSET_ID,
            confirmations=settings.WAVES_CONFIRMATIONS,
            poll_seconds=settings.WALLET_POLL_SECONDS,
            on_credit=on_credit,
        )

    def deposit_info(
        self, account_id: int, asset: str = "ETT", amount: int | None = None
    ) -> DepositInfo:
        """`deposit_info` for this watcher's address and ETT asset."""
        return deposit_info(
            account_id, self.address, asset=asset, ett_asset_id=self.ett_asset_id, amount=amount
        )

    # --- one poll (blocking) --------------------------------------------------------

    def poll_once(self) -> list[Credit]:
        """Scan new confirmed transactions and credit deposits; return what was credited.

        Raises NodeUnavailable when the node cannot be read; nothing is lost then.
        """
        self._check_decimals()
        confirmed_height = self.client.height() - self.confirmations + 1
        done = int(self.store.cursor(CURSOR) or 0)
        if confirmed_height <= done:
            return []
        incoming = []
        after = None
        while True:
            page = self.client.transactions(self.address, self.page_size, after)
            reached_done = False
            for tx in page:
                height = tx.get("height") or 0
                if height > confirmed_height or height == 0:
                    continue
                if height <= done:
                    reached_done = True
                    break
                if self._is_incoming(tx):
                    incoming.append(tx)
            if reached_done or len(page) < self.page_size:
                break
            after = page[-1]["id"]
        credits = [c for c in (self._ingest(tx) for tx in reversed(incoming)) if c]
        self.store.set_cursor(CURSOR, str(confirmed_height))
        return credits

    def _check_decimals(self) -> None:
        if not self._decimals_checked:
            decimals = self.client.asset_decimals(self.ett_asset_id)
            if decimals != DECIMALS["ETT"]:
                raise ValueError(f"ETT_ASSET_ID has {decimals} decimals, expected 8")
            self._decimals_checked = True

    def _is_incoming(self, tx: dict) -> bool:
        return (
            tx.get("type") == 4
            and tx.get("recipient") == self.address
            and tx.get("sender") != self.address
            and tx.get("applicationStatus", "succeeded") == "succeeded"
        )

    def _asset_name(self, asset_id: str | None) -> str:
        if not asset_id:
            return "WAVES"
        return "ETT" if asset_id == self.ett_asset_id else asset_id

    def _ingest(self, tx: dict) -> Credit | None:
        tx_id = tx["id"]
        asset = self._asset_name(tx.get("assetId"))
        memo = decode_attachment(tx.get("attachment"))
        account_id = account_from_memo(memo)
        if account_id is not None and self.accounts.get(account_id) is None:
            account_id = None
        ledger_asset = asset in DECIMALS
        deposit = self.store.record(
            Deposit(
                tx_id=tx_id,
                asset=asset,
                amount=int(tx["amount"]),
                sender=tx.get("sender"),
                memo=memo or None,
                height=tx.get("height"),
                account_id=account_id if ledger_asset else None,
                state=PENDING if (account_id is not None and ledger_asset) else UNATTRIBUTED,
            )
        )
        if not ledger_asset or deposit.state not in (PENDING, UNATTRIBUTED):
            if not ledger_asset:
                log.warning("deposit %s of another asset kept unattributed", tx_id)
            return None
        credit_book = account_book(deposit.account_id) if deposit.account_id else UNATTRIBUTED_BOOK
        result = self.ledger.transfer(
            key=deposit_key(tx_id),
            kind=TransferKind.DEPOSIT,
            asset=asset,
            amount=deposit.amount,
            debit=DEPOSITS,
            credit=credit_book,
            reason=f"deposit {tx_id}" + ("" if deposit.account_id else " (unattributed)"),
            ref=tx_id,
        )
        if deposit.account_id is None:
            if result.applied:
                log.info("unattributed %s deposit %s kept for an operator", asset, tx_id)
            return None
        self.store.set_state(tx_id, CREDITED)
        log.info(
            "credited %s %s to account %s (tx %s)", deposit.amount, asset, deposit.account_id, tx_id
        )
        return Credit(deposit.account_id, asset, deposit.amount, tx_id)

    # --- the loop -------------------------------------------------------------------------

    async def poll_and_notify(self) -> list[Credit]:
        """One poll in a worker thread, then tell `on_credit` about each credit."""
        credits = await asyncio.wait_for(asyncio.to_thread(self.poll_once), REQUEST_TIMEOUT)
        for credit in credits:
            await self._notify(credit)
        return credits

    async def _notify(self, credit: Credit) -> None:
        if self.on_credit is None:
            return
        try:
            result = self.on_credit(credit.account_id, credit.asset, credit.amount, credit.tx_id)
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("on_credit failed for deposit %s", credit.tx_id)

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set; a failing node is retried with backoff, never fatal."""
        while not stop.is_set():
            try:
                await self.poll_and_notify()
                if self.failures:
                    log.info("Waves node reachable again after %d failed polls", self.failures)
                self.failures = 0
                delay = self.poll_seconds
            except (NodeUnavailable, TimeoutError, OSError) as error:
                self.failures += 1
                delay = min(self.poll_seconds * 2 ** min(self.failures, 10), MAX_BACKOFF)
                log.warning("deposit poll failed (%s); retrying in %.0f s", error, delay)
            except Exception:
                self.failures += 1
                delay = min(self.poll_seconds * 2 ** min(self.failures, 10), MAX_BACKOFF)
                log.exception("deposit poll failed; retrying in %.0f s", delay)
            await sleep_unless_stopped(stop, delay)
