"""Deposits: what to send where, and the watcher that credits incoming transfers.

The watcher pages through the service address's transactions (`/transactions/address`,
newest first, `after=<id>` for older pages) and handles every transaction whose height
is above the last *final* block it finished and has at least WAVES_CONFIRMATIONS
confirmations (a transaction in the newest block has one). On Waves the newest block
keeps growing (microblocks) until the next key block, so the scan position only ever
moves to the block below the newest: the newest block is read again at the next poll.
A page is read to its end and filtered by height (pages are not always strictly newest
first); paging stops after a page that holds nothing above the scan position.

Every entry that pays our address (or one of its aliases) is a deposit: a transfer
(type 4), each transfer to us inside a mass transfer (type 11, keyed `<tx id>:<n>`, the
n-th payment to us in it) and an Ethereum-style transfer (type 18). Each is stored once
(Deposit.tx_id is unique) and credited under the ledger key `deposit:<that key>`, so a
rescan or a restart at any point neither loses nor doubles one. Transactions sent by the
service address itself, and those the chain did not apply (applicationStatus other than
`succeeded`), pay nothing. ETT or WAVES whose memo names no account are credited to the
`system:unattributed` book; other assets are kept as unattributed Deposit rows only (the
ledger holds ETT and WAVES).

A transfer whose memo is the message of a pending wallet link (wallet.link) proves that
link when it was sent from the claimed address (`on_linked` is told), and its amount is
credited to the account of that link like any deposit: no money is lost either way.

A node whose ETT asset has other than 8 decimals stops the watcher (`AssetMisconfigured`)
before anything is credited. The watcher's loop also finishes or refunds withdrawals
left unfinished by a crash (`wallet.withdrawal_recovery`), at start and periodically.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterator
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
from storage.models import Deposit, Withdrawal
from storage.withdrawals import FAILED, SENT
from wallet.link import Linked, LinkRefused, WalletLinker, is_link_message
from wallet.memo import account_from_memo, memo_for
from wallet.waves import NodeUnavailable, WavesClient
from wallet.withdrawal_recovery import WithdrawalRecovery

log = logging.getLogger(__name__)
CURSOR = "deposits.height"
MAX_BACKOFF = 300.0
REQUEST_TIMEOUT = 120.0
RECOVERY_SECONDS = 60.0  # how often unfinished withdrawals are looked up on the node
SUCCEEDED = "succeeded"
TRANSFER, MASS_TRANSFER, ETHEREUM = 4, 11, 18

OnCredit = Callable[[int, str, int, str], Awaitable[None] | None]
# Told of each withdrawal the recovery finished: its row, `sent` or `failed` (refunded).
OnWithdrawal = Callable[[Withdrawal], Awaitable[None] | None]
# Told of each wallet link a transfer proved (wallet.link).
OnLinked = Callable[[Linked], Awaitable[None] | None]
DEFAULT_LINK: str = Settings.model_fields["WALLET_PAYMENT_LINK"].default


class AssetMisconfigured(ValueError):
    """ETT_ASSET_ID names an asset whose decimals are not ETT's: nothing can be credited."""


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
    """A deposit credited to an account by this poll (`tx_id`: the deposit's key, the
    transaction id, or `<tx id>:<n>` for a mass transfer's n-th payment to us)."""

    account_id: int
    asset: str
    amount: int
    tx_id: str


@dataclass(frozen=True)
class Payment:
    """One payment to our address inside a chain transaction."""

    key: str  # the transaction id, or `<tx id>:<n>` for the n-th payment to us in it
    asset_id: str | None
    amount: int
    sender: str | None
    attachment: str | None
    height: int
    sender_public_key: str | None = None


def deposit_info(
    account_id: int,
    address: str,
    *,
    asset: str = "ETT",
    ett_asset_id: str,
    amount: int | None = None,
    link_template: str = DEFAULT_LINK,
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


def payments_to(tx: dict, ours: frozenset[str], address: str) -> list[Payment]:
    """The payments a confirmed transaction makes to us (`ours`: our address and aliases).

    Nothing for a transaction the chain did not apply or that our address sent.
    """
    if tx.get("applicationStatus", SUCCEEDED) != SUCCEEDED or tx.get("sender") == address:
        return []
    kind = tx.get("type")
    if kind == TRANSFER:
        entries = [(tx.get("recipient"), tx.get("assetId"), tx.get("amount"))]
    elif kind == MASS_TRANSFER:
        entries = [
            (t.get("recipient"), tx.get("assetId"), t.get("amount")) for t in tx["transfers"]
        ]
    elif kind == ETHEREUM and (tx.get("payload") or {}).get("type") == "transfer":
        payload = tx["payload"]
        entries = [(payload.get("recipient"), payload.get("asset"), payload.get("amount"))]
    else:
        return []
    mine = [(asset, int(amount)) for to, asset, amount in entries if to in ours and amount]
    return [
        Payment(
            key=f"{tx['id']}:{n}" if kind == MASS_TRANSFER else tx["id"],
            asset_id=asset or None,
            amount=amount,
            sender=tx.get("sender"),
            attachment=tx.get("attachment"),
            height=int(tx.get("height") or 0),
            sender_public_key=tx.get("senderPublicKey"),
        )
        for n, (asset, amount) in enumerate(mine)
    ]


class DepositWatcher:
    """Credit incoming transfers to the service address, exactly once per payment."""

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
        recovery: WithdrawalRecovery | None = None,
        recovery_seconds: float = RECOVERY_SECONDS,
        link_template: str = DEFAULT_LINK,
        on_withdrawal: OnWithdrawal | None = None,
        linker: WalletLinker | None = None,
        on_linked: OnLinked | None = None,
    ) -> None:
        self.client = client
        self.link_template = link_template
        self.address = client.address
        self.ett_asset_id = ett_asset_id
        self.confirmations = max(confirmations, 1)
        self.poll_seconds = poll_seconds
        self.on_credit = on_credit
        self.page_size = page_size
        self.recovery = recovery
        self.recovery_seconds = recovery_seconds
        self.on_withdrawal = on_withdrawal
        self.linker = linker
        self.on_linked = on_linked
        self._linked: list[Linked] = []  # proven by this poll, told after it
        self.store = DepositStore(engine)
        self.ledger = LedgerStore(engine)
        self.accounts = AccountStore(engine)
        self._decimals_checked = False
        self._next_recovery = 0.0
        self.failures = 0

    @classmethod
    def from_settings(
        cls,
        engine: Engine,
        settings: Settings,
        on_credit: OnCredit | None = None,
        on_withdrawal: OnWithdrawal | None = None,
        on_linked: OnLinked | None = None,
    ) -> DepositWatcher:
        """A watcher for WAVES_NODE_URL, WAVES_SEED's address and ETT_ASSET_ID, that also
        finishes or refunds interrupted withdrawals of that wallet (telling
        `on_withdrawal` of each) and proves wallet links by transfer (telling `on_linked`)."""
        client = WavesClient.service_wallet(settings, "watching deposits")
        return cls(
            engine,
            client,
            ett_asset_id=settings.ETT_ASSET_ID,
            confirmations=settings.WAVES_CONFIRMATIONS,
            poll_seconds=settings.WALLET_POLL_SECONDS,
            on_credit=on_credit,
            on_withdrawal=on_withdrawal,
            linker=WalletLinker.from_settings(engine, settings),
            on_linked=on_linked,
            link_template=settings.WALLET_PAYMENT_LINK,
            recovery=WithdrawalRecovery(
                engine,
                client,
                ett_asset_id=settings.ETT_ASSET_ID,
                network_fee=settings.WALLET_NETWORK_FEE,
            ),
        )

    def deposit_info(
        self, account_id: int, asset: str = "ETT", amount: int | None = None
    ) -> DepositInfo:
        """`deposit_info` for this watcher's address, ETT asset and payment link
        (WALLET_PAYMENT_LINK)."""
        return deposit_info(
            account_id,
            self.address,
            asset=asset,
            ett_asset_id=self.ett_asset_id,
            amount=amount,
            link_template=self.link_template,
        )

    # --- one poll (blocking) --------------------------------------------------------

    def poll_once(self) -> list[Credit]:
        """Scan new confirmed transactions and credit deposits; return what was credited.

        Raises NodeUnavailable when the node cannot be read (nothing is lost then), and
        AssetMisconfigured before crediting anything when ETT's decimals are wrong.
        """
        self._check_decimals()
        height = self.client.height()
        confirmed = height - self.confirmations + 1
        final = min(confirmed, height - 1)  # the newest block may still grow
        done = int(self.store.cursor(CURSOR) or 0)
        if confirmed <= done:
            return []
        ours = frozenset([self.address, *self.client.aliases(self.address)])
        payments = sorted(self._payments(done, confirmed, ours), key=lambda p: p[0])
        credits = [c for c in (self._ingest(p) for _order, p in payments) if c]
        if final > done:
            self.store.set_cursor(CURSOR, str(final))
        return credits

    def _payments(
        self, done: int, confirmed: int, ours: frozenset[str]
    ) -> Iterator[tuple[tuple[int, int], Payment]]:
        """Payments to us in blocks done+1 … confirmed, each with its (height, -position)
        (oldest first once sorted); every page is read to its end."""
        after, position = None, 0
        while True:
            page = self.client.transactions(self.address, self.page_size, after)
            newer = False
            for tx in page:
                position += 1
                height = int(tx.get("height") or 0)
                newer = newer or height > done
                if done < height <= confirmed:
                    for payment in payments_to(tx, ours, self.address):
                        yield (height, -position), payment
            if not newer or len(page) < self.page_size:
                return
            after = page[-1]["id"]

    def _check_decimals(self) -> None:
        if not self._decimals_checked:
            decimals = self.client.asset_decimals(self.ett_asset_id)
            if decimals != DECIMALS["ETT"]:
                raise AssetMisconfigured(
                    f"ETT_ASSET_ID names an asset with {decimals} decimals, ETT has "
                    f"{DECIMALS['ETT']}: check the setting (nothing credited)"
                )
            self._decimals_checked = True

    def _asset_name(self, asset_id: str | None) -> str:
        if not asset_id:
            return "WAVES"
        return "ETT" if asset_id == self.ett_asset_id else asset_id

    def _ingest(self, payment: Payment) -> Credit | None:
        key = payment.key
        asset = self._asset_name(payment.asset_id)
        memo = decode_attachment(payment.attachment)
        account_id = account_from_memo(memo)
        if account_id is None:
            account_id = self._link(payment, memo)
        if account_id is not None and self.accounts.get(account_id) is None:
            account_id = None
        ledger_asset = asset in DECIMALS
        deposit = self.store.record(
            Deposit(
                tx_id=key,
                asset=asset,
                amount=payment.amount,
                sender=payment.sender,
                memo=memo or None,
                height=payment.height,
                account_id=account_id if ledger_asset else None,
                state=PENDING if (account_id is not None and ledger_asset) else UNATTRIBUTED,
            )
        )
        if not ledger_asset or deposit.state not in (PENDING, UNATTRIBUTED):
            if not ledger_asset:
                log.warning("deposit %s of another asset kept unattributed", key)
            return None
        return self._credit(deposit, asset)

    def _link(self, payment: Payment, memo: str) -> int | None:
        """The account of the wallet link whose message is `memo` (proven by this transfer
        when it came from the claimed address), None when it is no link's message or the
        transfer was handled before."""
        if self.linker is None or not is_link_message(memo) or self.store.get(payment.key):
            return None
        try:
            linked = self.linker.prove_transfer(payment.sender, payment.sender_public_key, memo)
        except LinkRefused as refused:
            log.info("deposit %s proves no wallet link (%s)", payment.key, refused.reason)
            return self.linker.account_of(memo)
        self._linked.append(linked)
        return linked.account_id

    def _credit(self, deposit: Deposit, asset: str) -> Credit | None:
        key = deposit.tx_id
        credit_book = account_book(deposit.account_id) if deposit.account_id else UNATTRIBUTED_BOOK
        result = self.ledger.transfer(
            key=deposit_key(key),
            kind=TransferKind.DEPOSIT,
            asset=asset,
            amount=deposit.amount,
            debit=DEPOSITS,
            credit=credit_book,
            reason=f"deposit {key}" + ("" if deposit.account_id else " (unattributed)"),
            ref=key,
        )
        if deposit.account_id is None:
            if result.applied:
                log.info("unattributed %s deposit %s kept for an operator", asset, key)
            return None
        self.store.set_state(key, CREDITED)
        log.info(
            "credited %s %s to account %s (%s)", deposit.amount, asset, deposit.account_id, key
        )
        return Credit(deposit.account_id, asset, deposit.amount, key)

    # --- the loop -------------------------------------------------------------------------

    async def poll_and_notify(self) -> list[Credit]:
        """One poll in a worker thread, then tell `on_credit` about each credit."""
        credits = await asyncio.wait_for(asyncio.to_thread(self.poll_once), REQUEST_TIMEOUT)
        linked, self._linked = self._linked, []
        for link in linked:
            await self._notify_linked(link)
        for credit in credits:
            await self._notify(credit)
        return credits

    async def _notify_linked(self, linked: Linked) -> None:
        if self.on_linked is None:
            return
        try:
            result = self.on_linked(linked)
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("on_linked failed for account %s", linked.account_id)

    async def _notify(self, credit: Credit) -> None:
        if self.on_credit is None:
            return
        try:
            result = self.on_credit(credit.account_id, credit.asset, credit.amount, credit.tx_id)
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("on_credit failed for deposit %s", credit.tx_id)

    async def _notify_withdrawals(self, keys: list[str]) -> None:
        """Tell `on_withdrawal` of each withdrawal of `keys` the recovery sent or refunded
        (one stored without a debit, closed `refused`, moved no money: not told)."""
        if self.on_withdrawal is None or self.recovery is None:
            return
        for key in keys:
            try:
                row = await asyncio.to_thread(self.recovery.store.get, key)
                if row is None or row.state not in (SENT, FAILED):
                    continue
                result = self.on_withdrawal(row)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("on_withdrawal failed for withdrawal %s", key)

    async def recover_withdrawals(self) -> None:
        """Finish or refund interrupted withdrawals when due (at the first call, then every
        `recovery_seconds`); a failure is logged and tried again at the next one."""
        loop = asyncio.get_running_loop()
        if self.recovery is None or loop.time() < self._next_recovery:
            return
        self._next_recovery = loop.time() + self.recovery_seconds
        try:
            report = await asyncio.wait_for(
                asyncio.to_thread(self.recovery.run_once), REQUEST_TIMEOUT
            )
        except (NodeUnavailable, TimeoutError, OSError) as error:
            log.warning("interrupted withdrawals not looked up (%s); trying again later", error)
            return
        except Exception:
            log.exception("interrupted withdrawals not looked up; trying again later")
            return
        await self._notify_withdrawals([*report.sent, *report.refunded])

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set; a failing node is retried with backoff, never fatal.

        Raises AssetMisconfigured (the watcher stops, nothing credited) when ETT_ASSET_ID
        names an asset with the wrong decimals.
        """
        while not stop.is_set():
            await self.recover_withdrawals()
            delay = await self._poll_step()
            await sleep_unless_stopped(stop, delay)

    async def _poll_step(self) -> float:
        """One poll; the delay until the next one."""
        try:
            await self.poll_and_notify()
        except AssetMisconfigured as error:
            log.critical("deposit watcher stopped: %s", error)
            raise
        except (NodeUnavailable, TimeoutError, OSError) as error:
            self.failures += 1
            delay = min(self.poll_seconds * 2 ** min(self.failures, 10), MAX_BACKOFF)
            log.warning("deposit poll failed (%s); retrying in %.0f s", error, delay)
            return delay
        except Exception:
            self.failures += 1
            delay = min(self.poll_seconds * 2 ** min(self.failures, 10), MAX_BACKOFF)
            log.exception("deposit poll failed; retrying in %.0f s", delay)
            return delay
        if self.failures:
            log.info("Waves node reachable again after %d failed polls", self.failures)
        self.failures = 0
        return self.poll_seconds
