"""What the assistant and its features can reach, built once by the composition root.

`Services` is frozen: every collaborator is made before it (see `bot/app.py`), so no
feature can swap one in the middle of a conversation. The optional ones are None when
not configured on this server; they are typed by the Protocols below (what the features
call), which the real `dialer.Dialer`, `wallet.DepositWatcher`, `wallet.Withdrawals` and
`exchange.softphones.Softphones` satisfy.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sqlalchemy import Engine

from bot.assistant.background import Background
from bot.assistant.outbox import Outbox
from calendars.sync import CalendarReader
from dialer import AnnounceResult, CallbackRequest, CallSummary, DialerEvent
from dialer.dialogs import LegDialog
from exchange.softphones import SoftphoneCredentials
from privacy.recordings import RecordingDesk
from settings import Settings
from storage.accounts import AccountStore
from storage.api_keys import ApiKeyStore
from storage.calendars import CalendarStore
from storage.calls import CallStore
from storage.dids import DidStore
from storage.forwarding import ForwardingStore
from storage.ledger_store import LedgerStore
from storage.models import Withdrawal
from storage.reminder_series import SeriesStore
from storage.reminders import ReminderStore
from storage.service_calls import ServiceCallStore
from wallet.billing import Billing
from wallet.deposits import DepositInfo
from webhooks.events import WebhookEvents

# What the dialer calls with each transition of a call (as `dialer.core.EventHandler`).
EventHandler = Callable[[DialerEvent], Awaitable[None] | None]


class DialerConfig(Protocol):
    """The dialer's settings the features read."""

    @property
    def ring_timeout(self) -> int:
        """Seconds a leg may ring before it is cancelled."""
        ...


class CallPlacer(Protocol):
    """The SIP dialer (`dialer.Dialer`) as the features use it."""

    @property
    def config(self) -> DialerConfig:
        """Its settings."""
        ...

    @property
    def active_calls(self) -> list[str]:
        """Ids of the calls this instance is running."""
        ...

    async def start(self) -> None:
        """Register with the SIP server; DialerError when it cannot."""
        ...

    async def stop(self) -> None:
        """End every call (cause "shutdown") and unregister."""
        ...

    async def hangup(self, call_id: str) -> bool:
        """End a call in progress; False when there is none."""
        ...

    async def callback(
        self, request: CallbackRequest, on_event: EventHandler | None = None
    ) -> CallSummary:
        """Ring both legs, bridge them, and return how the call ended."""
        ...

    async def end_dialogs(self, dialogs: list[LegDialog], timeout: float = 4.0) -> dict[str, int]:
        """BYE or CANCEL legs a stopped process placed; their final SIP status by Call-ID."""
        ...

    async def announce(
        self,
        number: str,
        wav_path: str | Path,
        *,
        collect_digits: int = 0,
        timeout: float = 60,
        call_id: str,
        on_event: EventHandler | None = None,
    ) -> AnnounceResult:
        """Ring `number`, play the WAV, collect DTMF digits, hang up."""
        ...


class DepositDesk(Protocol):
    """The deposit watcher (`wallet.DepositWatcher`) as the features use it."""

    @property
    def confirmations(self) -> int:
        """Blocks on top of a deposit before it is credited."""
        ...

    def deposit_info(
        self, account_id: int, asset: str = "ETT", amount: int | None = None
    ) -> DepositInfo:
        """Address, memo and payment link for a deposit (`amount` in smallest units)."""
        ...

    async def run(self, stop: asyncio.Event) -> None:
        """Credit deposits until `stop` is set."""
        ...


class AddressChecker(Protocol):
    """The Waves client's address check."""

    def is_valid_address(self, address: str) -> bool:
        """True for an address of the configured chain with a valid checksum."""
        ...


class WithdrawalDesk(Protocol):
    """Withdrawals from the service wallet (`wallet.Withdrawals`)."""

    @property
    def client(self) -> AddressChecker:
        """The Waves client, for its address check."""
        ...

    def withdraw(
        self, account_id: int, amount: int, asset: str, address: str, *, key: str | None = None
    ) -> Withdrawal:
        """Debit and broadcast a transfer of `amount` smallest units of `asset`."""
        ...


class ReminderFiring(Protocol):
    """The reminder scheduler (`bot.features.reminders.scheduler.Scheduler`)."""

    @property
    def can_call(self) -> bool:
        """Whether call reminders are phoned (otherwise they come as messages)."""
        ...

    async def run(self, stop: asyncio.Event) -> None:
        """Fire due reminders until `stop` is set."""
        ...


class SoftphoneDesk(Protocol):
    """The softphone (SIP) credentials of the accounts (`exchange.softphones.Softphones`)."""

    def credentials(self, account_id: int, *, reset: bool = False) -> SoftphoneCredentials:
        """Domain, user name (the extension, allocated if needed) and ports; a password
        made when the account has none or on `reset` (then in `password`, else None)."""
        ...


@dataclass(frozen=True)
class Services:
    """Everything a feature may use. None: not configured (or not running) here."""

    engine: Engine
    settings: Settings
    accounts: AccountStore
    calls: CallStore
    ledger: LedgerStore
    billing: Billing
    reminders: ReminderStore
    # Repeating reminders, and the users' calendars read into reminders.
    series: SeriesStore
    calendars: CalendarStore
    calendar_reader: CalendarReader
    forwarding: ForwardingStore
    # The direct numbers (DIDs) and who holds each; the operator assigns them.
    dids: DidStore
    service_calls: ServiceCallStore
    outbox: Outbox
    background: Background
    # Needs no configuration: the PBX_* settings name the domain and ports.
    softphones: SoftphoneDesk
    # Recorded calls' sealed files (privacy/): made, delivered, deleted.
    recordings: RecordingDesk
    # Keys of the HTTP API (api/), made and revoked from the chat.
    api_keys: ApiKeyStore
    dialer: CallPlacer | None = None
    # The reminder scheduler while the service runs (reminders are stored only then).
    scheduler: ReminderFiring | None = None
    deposits: DepositDesk | None = None
    withdrawals: WithdrawalDesk | None = None
    # Queues the account's events for its webhooks (webhooks/; the dispatcher sends them).
    webhooks: WebhookEvents | None = None
