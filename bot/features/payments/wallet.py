"""Deposits and withdrawals in the chat, and the deposit notifications of the service.

A withdrawal is asked, checked, then confirmed with a button. The question is kept in
memory under a random token (see `PendingWithdrawals`, made once by the composition root
and handed to `build_router`): only the account that asked can confirm it, once, within
`CONFIRM_SECONDS`; after a restart the button reads as expired.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from decimal import Decimal

from bot.assistant import Button, Context, Reply, Router
from bot.assistant.buttons import ButtonData
from bot.assistant.i18n import DEFAULT_LANGUAGE, money_text, t
from bot.assistant.outbox import Outbox
from bot.assistant.services import WithdrawalDesk
from domain.money import ASSETS, to_units
from nlu.commands import Deposit, Withdraw
from storage.accounts import AccountStore
from storage.ledger_store import InsufficientFunds, LedgerStore, account_book
from storage.models import Withdrawal
from storage.withdrawals import SENT
from wallet.waves import InvalidAddress, NodeUnavailable
from webhooks.events import WebhookEvents

log = logging.getLogger(__name__)
CONFIRM_SECONDS = 600.0
MAX_PENDING = 10_000
# Longest address echoed back in an error (what the user typed may be anything).
MAX_SHOWN_ADDRESS = 60


@dataclass(frozen=True)
class PendingWithdrawal:
    """A withdrawal the user was asked to confirm."""

    account_id: int
    amount: int
    asset: str
    address: str
    expires: float


class PendingWithdrawals:
    """Withdrawals waiting for their confirmation, by random token (in memory, bounded)."""

    def __init__(self, ttl: float = CONFIRM_SECONDS, limit: int = MAX_PENDING) -> None:
        self.ttl = ttl
        self.limit = limit
        self._items: dict[str, PendingWithdrawal] = {}
        self._lock = threading.Lock()

    def add(self, account_id: int, amount: int, asset: str, address: str) -> str:
        """Keep a withdrawal to confirm; return its token."""
        token = secrets.token_urlsafe(12)
        now = time.monotonic()
        with self._lock:
            for old in [k for k, p in self._items.items() if p.expires <= now]:
                del self._items[old]
            while len(self._items) >= self.limit:
                del self._items[next(iter(self._items))]
            self._items[token] = PendingWithdrawal(
                account_id, amount, asset, address, now + self.ttl
            )
        return token

    def take(self, token: str, account_id: int) -> PendingWithdrawal | None:
        """The withdrawal of `token`, removed, if it is the account's and not expired."""
        with self._lock:
            pending = self._items.get(token)
            if pending is None or pending.account_id != account_id:
                return None
            del self._items[token]
        return pending if pending.expires > time.monotonic() else None


@dataclass(frozen=True)
class WithdrawData(ButtonData, prefix="withdraw"):
    """A withdrawal question's button: `choice` "yes" sends, "no" cancels."""

    choice: str
    token: str


def build_router(pending: PendingWithdrawals) -> Router:
    """The payments routes, keeping withdrawal questions in `pending`."""
    router = Router("payments")

    @router.intent(Deposit)
    def deposit_route(ctx: Context, cmd: Deposit) -> list[Reply]:
        return deposit(ctx, cmd)

    @router.intent(Withdraw)
    def withdraw_route(ctx: Context, cmd: Withdraw) -> list[Reply]:
        return withdraw(ctx, cmd, pending)

    @router.action(WithdrawData)
    def press_route(ctx: Context, data: WithdrawData) -> list[Reply]:
        return press(ctx, data, pending)

    return router


def key_of(token: str) -> str:
    """The key of a withdrawal question: its outcome replaces it."""
    return f"withdraw:{token}"


def _units(amount: object, asset: str) -> int:
    """The parser's amount (a number) as smallest units; ValueError unless positive."""
    units = to_units(Decimal(str(amount)), asset)
    if units <= 0:
        raise ValueError("amount must be positive")
    return units


def _asset(cmd: Deposit | Withdraw) -> str:
    return cmd.asset if cmd.asset in ASSETS else "ETT"


# --- deposit -----------------------------------------------------------------------------


def deposit(ctx: Context, cmd: Deposit) -> list[Reply]:
    """Where to send ETT or WAVES, with the account's memo and a payment link."""
    watcher = ctx.services.deposits
    if watcher is None:
        return [ctx.say("deposit_not_configured")]
    asset = _asset(cmd)
    amount = None
    if cmd.amount is not None:
        try:
            amount = _units(cmd.amount, asset)
        except ValueError:
            return [ctx.say("amount_invalid")]
    info = watcher.deposit_info(ctx.account.id, asset, amount)
    return [
        ctx.say(
            "deposit_info",
            address=info.address,
            memo=info.memo,
            asset=asset,
            link=info.link,
            confirmations=watcher.confirmations,
        )
    ]


def credit_notifier(
    accounts: AccountStore,
    ledger: LedgerStore,
    outbox: Outbox,
    webhooks: WebhookEvents | None = None,
) -> Callable[[int, str, int, str], Awaitable[None]]:
    """The watcher's `on_credit(account_id, asset, amount in smallest units, tx_id)`: tell
    the account, in its language, what arrived and its new balance (and its webhooks:
    `deposit.credited`)."""

    async def on_credit(account_id: int, asset: str, amount: int, tx_id: str) -> None:
        if webhooks is not None:
            await asyncio.to_thread(webhooks.deposit_credited, account_id, asset, amount, tx_id)
        reply = await asyncio.to_thread(_credit_reply, accounts, ledger, account_id, asset, amount)
        delivered = await outbox.notify(account_id, reply)
        log.info("deposit %s notified to %d chats of account %s", tx_id, delivered, account_id)

    return on_credit


def _credit_reply(
    accounts: AccountStore, ledger: LedgerStore, account_id: int, asset: str, amount: int
) -> Reply:
    account = accounts.get(account_id)
    lang = account.language if account else DEFAULT_LANGUAGE
    balance = ledger.balance(account_book(account_id), asset).amount
    text = t(
        lang,
        "deposit_received",
        amount=money_text(amount, asset, lang),
        balance=money_text(balance, asset, lang),
    )
    return Reply(text, lang=lang)


def withdrawal_notifier(
    accounts: AccountStore,
    ledger: LedgerStore,
    outbox: Outbox,
    webhooks: WebhookEvents | None = None,
) -> Callable[[Withdrawal], Awaitable[None]]:
    """The watcher's `on_withdrawal(row)`: tell the account, in its language, how a
    withdrawal left unfinished (a crash, a silent node) ended: sent, or refunded (and its
    webhooks, when sent: `withdrawal.sent`)."""

    async def on_withdrawal(row: Withdrawal) -> None:
        if webhooks is not None and row.state == SENT:
            await asyncio.to_thread(webhooks.withdrawal_sent, row)
        reply = await asyncio.to_thread(_withdrawal_reply, accounts, ledger, row)
        delivered = await outbox.notify(row.account_id, reply)
        log.info("withdrawal %s outcome told to %d chats", row.id, delivered)

    return on_withdrawal


def _withdrawal_reply(accounts: AccountStore, ledger: LedgerStore, row: Withdrawal) -> Reply:
    account = accounts.get(row.account_id)
    lang = account.language if account else DEFAULT_LANGUAGE
    balance = ledger.balance(account_book(row.account_id), row.asset).amount
    key = "withdraw_finished_sent" if row.state == SENT else "withdraw_finished_refunded"
    text = t(
        lang,
        key,
        amount=money_text(row.amount, row.asset, lang),
        address=row.address,
        tx_id=row.tx_id or "",
        balance=money_text(balance, row.asset, lang),
    )
    return Reply(text, lang=lang)


# --- withdraw ----------------------------------------------------------------------------


def withdraw(ctx: Context, cmd: Withdraw, pending: PendingWithdrawals) -> list[Reply]:
    """Check a withdrawal and ask the user to confirm it."""
    withdrawals = ctx.services.withdrawals
    if withdrawals is None:
        return [ctx.say("withdraw_not_configured")]
    asset = _asset(cmd)
    if cmd.amount is None:
        return [ctx.say("withdraw_need_amount")]
    try:
        amount = _units(cmd.amount, asset)
    except ValueError:
        return [ctx.say("amount_invalid")]
    shown = money_text(amount, asset, ctx.lang)
    address = (cmd.address or "").strip()
    if not address:
        return [ctx.say("withdraw_need_address", amount=shown)]
    if not withdrawals.client.is_valid_address(address):
        return [ctx.say("withdraw_bad_address", address=address[:MAX_SHOWN_ADDRESS])]
    available = ctx.services.ledger.balance(account_book(ctx.account.id), asset).available
    if amount > available:
        return [_insufficient(ctx, available, amount, asset)]
    token = pending.add(ctx.account.id, amount, asset, address)
    buttons = (
        Button(
            t(ctx.lang, "button_withdraw"),
            WithdrawData("yes", token).pack(),
            t(ctx.lang, "word_yes"),
        ),
        Button(
            t(ctx.lang, "button_cancel"), WithdrawData("no", token).pack(), t(ctx.lang, "word_no")
        ),
    )
    text = t(ctx.lang, "withdraw_confirm", amount=shown, address=address)
    return [Reply(text, buttons=buttons, key=key_of(token), lang=ctx.lang)]


def press(ctx: Context, data: WithdrawData, questions: PendingWithdrawals) -> list[Reply]:
    """A press of a withdrawal question's button: "yes" sends, "no" cancels."""
    token = data.token
    if data.choice == "no":
        questions.take(token, ctx.account.id)
        return [_answer(ctx, token, "cancelled")]
    pending = questions.take(token, ctx.account.id) if data.choice == "yes" else None
    withdrawals = ctx.services.withdrawals
    if pending is None or withdrawals is None:
        return [_answer(ctx, token, "choice_expired")]
    log.info("account %s confirmed withdrawal %s", ctx.account.id, token)
    return [_send(ctx, withdrawals, pending, token)]


def _send(
    ctx: Context, withdrawals: WithdrawalDesk, pending: PendingWithdrawal, token: str
) -> Reply:
    amount = money_text(pending.amount, pending.asset, ctx.lang)
    try:
        row = withdrawals.withdraw(
            pending.account_id, pending.amount, pending.asset, pending.address, key=key_of(token)
        )
    except InsufficientFunds as error:
        return _outcome(
            ctx, token, _insufficient(ctx, error.available, pending.amount, pending.asset)
        )
    except InvalidAddress:
        return _answer(ctx, token, "withdraw_bad_address", address=pending.address)
    except NodeUnavailable:
        return _answer(ctx, token, "withdraw_node_down")
    except ValueError:
        return _answer(ctx, token, "amount_invalid")
    if row.state == "sent":
        if ctx.services.webhooks is not None:
            ctx.services.webhooks.withdrawal_sent(row)
        balance = ctx.services.ledger.balance(account_book(pending.account_id), pending.asset)
        return _answer(
            ctx,
            token,
            "withdraw_sent",
            amount=amount,
            address=pending.address,
            tx_id=row.tx_id,
            balance=money_text(balance.amount, pending.asset, ctx.lang),
        )
    if row.state in ("failed", "refused"):  # refunded, or never debited
        return _answer(ctx, token, "withdraw_failed", amount=amount)
    return _answer(ctx, token, "withdraw_unknown", amount=amount, tx_id=row.tx_id or "?")


def _insufficient(ctx: Context, available: int, amount: int, asset: str) -> Reply:
    return ctx.say(
        "withdraw_insufficient",
        available=money_text(available, asset, ctx.lang),
        amount=money_text(amount, asset, ctx.lang),
    )


def _answer(ctx: Context, token: str, key: str, **values: object) -> Reply:
    """The catalogue sentence `key`, as the outcome that replaces the question of `token`."""
    return _outcome(ctx, token, ctx.say(key, **values))


def _outcome(ctx: Context, token: str, reply: Reply) -> Reply:
    return replace(reply, key=key_of(token), lang=ctx.lang)
