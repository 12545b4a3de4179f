"""The assistant core: (who is asking, what they wrote) → what to answer.

Chat adapters (console, Telegram, XMPP) only turn their network's updates into
`Assistant.handle` calls and the returned `Reply` objects into messages.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
from sqlalchemy import Engine

import nlu
from bot import commands, skills
from bot.background import Background
from bot.choices import ChoiceMemory
from bot.i18n import LANGUAGES, t
from bot.outbox import Outbox
from settings import Settings
from storage.accounts import AccountStore
from storage.calls import CallStore
from storage.clock import utcnow
from storage.db import is_sqlite
from storage.ledger_store import LedgerStore
from storage.models import Account
from wallet.billing import Billing

log = logging.getLogger(__name__)
LANGUAGES_REMEMBERED = 10_000


@dataclass(frozen=True)
class Sender:
    """A user of one chat network, as the adapter knows them."""

    network: str
    external_id: str
    language: str | None = None


@dataclass(frozen=True)
class Button:
    """An inline choice; `data` comes back to `Assistant.press`."""

    label: str
    data: str
    # What a user of a text-only network types instead of pressing (None: its number).
    word: str | None = None


@dataclass(frozen=True)
class Reply:
    """One message to show. Replies with the same `key` update one message in place."""

    text: str
    buttons: tuple[Button, ...] = ()
    key: str | None = None
    # The language of `text`, so adapters can phrase button hints alike (None: default).
    lang: str | None = None
    # A progress update of the keyed message (a call's running time): networks that
    # cannot edit a message skip it rather than send a new one each time.
    progress: bool = False


@dataclass
class Services:
    """What the assistant can reach; None means not configured on this server."""

    engine: Engine
    settings: Settings
    accounts: AccountStore = field(init=False)
    calls: CallStore = field(init=False)
    ledger: LedgerStore = field(init=False)
    billing: Billing = field(init=False)
    # The SIP dialer (dialer.Dialer) when SIP_SERVER is set.
    dialer: Any | None = None
    # The reminder scheduler (bot.scheduler.Scheduler) while the service runs.
    scheduler: Any | None = None
    # The deposit watcher (wallet.DepositWatcher) when WAVES_NODE_URL is set.
    wallet: Any | None = None
    # Withdrawals from the service wallet (wallet.Withdrawals) when WAVES_SEED is set.
    withdrawals: Any | None = None
    outbox: Outbox = field(init=False)
    background: Background = field(init=False)

    def __post_init__(self) -> None:
        self.accounts = AccountStore(self.engine)
        self.calls = CallStore(self.engine)
        self.ledger = LedgerStore(self.engine)
        self.billing = Billing.from_settings(self.engine, self.settings)
        self.outbox = Outbox(self.accounts)
        self.background = Background()


@dataclass(frozen=True)
class Context:
    """One request: the account that asks, the language to answer in, the services."""

    account: Account
    lang: str
    services: Services
    sender: Sender
    text: str
    # When the message was sent: reminders in the past are refused against it.
    now: datetime = field(default_factory=utcnow)

    def say(self, key: str, **values: object) -> Reply:
        """A reply from the catalogue in the request's language."""
        return Reply(t(self.lang, key, **values))

    def reply(self, text: str) -> Reply:
        """A reply composed from catalogue lines already translated."""
        return Reply(text)

    def moment(self, iso: str | None) -> datetime | None:
        """A time the parser gave (ISO 8601) as an aware datetime; a bare local time is
        read in the user's zone. None when there is none or it does not parse."""
        if not iso:
            return None
        try:
            moment = datetime.fromisoformat(iso)
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo(self.account.timezone))
        return moment

    def local_time(self, moment: datetime) -> str:
        """A stored UTC time as the user's local wall-clock time."""
        return moment.astimezone(ZoneInfo(self.account.timezone)).strftime("%Y-%m-%d %H:%M")


class Assistant:
    """Understands messages and answers them, on behalf of the account that asks."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.choices = ChoiceMemory()
        # SQLite in WAL mode never makes a reader wait for a writer, so answers that only
        # read are computed on the event loop: no thread hop for most messages. Anything
        # that writes, and everything on PostgreSQL (each read is a network round trip),
        # runs in a worker thread so that the loop (chats, RTP relay) never waits.
        self.reads_on_loop = is_sqlite(services.engine)
        self._language_writer = ThreadPoolExecutor(1, thread_name_prefix="language")
        # The language last submitted to the writer, by account (the newest accounts): a
        # message read before that write is stored must not take the older one for current.
        self._submitted_languages: OrderedDict[int, str] = OrderedDict()
        self._languages_lock = threading.Lock()

    async def handle(
        self, sender: Sender, text: str, *, now: datetime | None = None
    ) -> list[Reply]:
        """Answer one message. Never raises: a failure becomes an apology."""
        replies = self.answer_now(sender, text, now=now)
        if replies is not None:
            return replies
        return await asyncio.to_thread(self.handle_sync, sender, text, now)

    def answer_now(
        self, sender: Sender, text: str, *, now: datetime | None = None
    ) -> list[Reply] | None:
        """The answer when it can be given at once on the loop (it only reads, on SQLite);
        None when it must be computed by `handle` in a worker thread."""
        if not self.reads_on_loop:
            return None
        try:
            return self._answer(sender, text, now, read_only=True)
        except Exception:  # answered again in the thread, which apologises if it fails
            log.exception("failed to answer a message from %s on the loop", sender.network)
            return None

    def handle_sync(self, sender: Sender, text: str, now: datetime | None = None) -> list[Reply]:
        """`handle` for callers without an event loop (the console, tests)."""
        try:
            return self._answer(sender, text, now, read_only=False)
        except Exception:
            log.exception("failed to handle a message from %s", sender.network)
            lang = sender.language if sender.language in LANGUAGES else None
            return [Reply(t(lang or self.services.settings.DEFAULT_LANGUAGE, "error"))]

    def _answer(
        self, sender: Sender, text: str, now: datetime | None, *, read_only: bool
    ) -> list[Reply] | None:
        """The replies to a message; with `read_only`, None when answering would write."""
        lang = sender.language if sender.language in LANGUAGES else None
        if read_only:
            if self.choices.pending(sender):
                return None  # the message may press a button, and presses write
            account = self.services.accounts.find_by_identity(sender.network, sender.external_id)
            if account is None:
                return None  # first contact creates the account
        else:
            if (chosen := self.choices.take(sender, text)) is not None:
                return self.press_sync(sender, chosen)
            account = self._account(sender)
        lang = lang or account.language
        command = commands.match(text)
        if command is not None:
            if read_only and command.name not in skills.READ_ONLY:
                return None
            # Like the parser's: the language of the words written wins.
            lang = command.lang or lang
            context = Context(account, lang, self.services, sender, text)
            return self._remember(sender, commands.run(context, command))
        parsed = nlu.parse(
            text,
            now=now or utcnow(),
            tz=account.timezone,
            region=_region_of(account.phone_number),
        )
        if read_only and parsed["intent"] not in skills.READ_ONLY:
            return None
        if parsed["intent"] != "unknown" and parsed.get("lang") in LANGUAGES:
            lang = parsed["lang"]
            self._note_language(account, lang)
        context = Context(account, lang, self.services, sender, text, now or utcnow())
        return self._remember(sender, skills.dispatch(context, parsed))

    async def press(self, sender: Sender, data: str) -> list[Reply]:
        """Answer a button press (`Button.data`). Never raises: a failure becomes an apology."""
        return await asyncio.to_thread(self.press_sync, sender, data)

    def press_sync(self, sender: Sender, data: str) -> list[Reply]:
        """`press` for callers without an event loop."""
        lang = sender.language if sender.language in LANGUAGES else None
        try:
            account = self._account(sender)
            lang = lang or account.language
            context = Context(account, lang, self.services, sender, data)
            return self._remember(sender, commands.press(context, data))
        except Exception:
            log.exception("failed to handle a button press from %s", sender.network)
            return [Reply(t(lang or self.services.settings.DEFAULT_LANGUAGE, "error"))]

    def _note_language(self, account: Account, lang: str) -> None:
        """Answer in `lang` and store it as the account's language if it changed.

        Stored by one writer thread, in the order the messages were read, so the answer
        need not wait for the write (nor, on the loop, for a lock).
        """
        with self._languages_lock:
            current = self._submitted_languages.get(account.id, account.language)
            if lang != current:
                self._language_writer.submit(self._store_language, account.id, lang)
            self._submitted_languages[account.id] = lang
            self._submitted_languages.move_to_end(account.id)
            while len(self._submitted_languages) > LANGUAGES_REMEMBERED:
                self._submitted_languages.popitem(last=False)
        account.language = lang  # this message's own copy of the row

    def _store_language(self, account_id: int, lang: str) -> None:
        try:
            account = self.services.accounts.get(account_id)
            if account is not None:
                self.services.accounts.set_language(account, lang)
        except Exception:
            log.exception("could not store the language of account %s", account_id)
            with self._languages_lock:  # so that the next message stores it again
                self._submitted_languages.pop(account_id, None)

    def _remember(self, sender: Sender, replies: list[Reply]) -> list[Reply]:
        # The last choices offered can also be answered in words ("yes", "2").
        self.choices.offer(sender, replies)
        return replies

    def _account(self, sender: Sender) -> Account:
        language = sender.language if sender.language in LANGUAGES else None
        return self.services.accounts.resolve(
            sender.network,
            sender.external_id,
            language=language or self.services.settings.DEFAULT_LANGUAGE,
            timezone=self.services.settings.DEFAULT_TIMEZONE,
        )


def _region_of(number: str | None) -> str | None:
    """The country of the user's own number: how they write local numbers."""
    if not number:
        return None
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(number))
    except phonenumbers.NumberParseException:
        return None
