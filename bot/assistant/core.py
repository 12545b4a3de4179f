"""The assistant core: (who is asking, what they wrote) → what to answer.

Chat adapters (console, Telegram, XMPP) only turn their network's updates into
`Assistant.handle` calls and the returned `Reply` objects into messages. What each
message means is decided by the features' routers (`bot/features/`), handed in by the
composition root; the core knows none of them.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import lru_cache

import phonenumbers

import nlu
from bot.assistant.choices import ChoiceMemory
from bot.assistant.context import Context
from bot.assistant.i18n import LANGUAGES, t
from bot.assistant.replies import Reply, Sender
from bot.assistant.router import Dispatcher, Router
from bot.assistant.services import Services
from storage.clock import utcnow
from storage.db import is_sqlite
from storage.models import Account

log = logging.getLogger(__name__)
LANGUAGES_REMEMBERED = 10_000
REGIONS_REMEMBERED = 4096


class Assistant:
    """Understands messages and answers them, on behalf of the account that asks."""

    def __init__(self, services: Services, routers: Iterable[Router]) -> None:
        self.services = services
        self.dispatcher = Dispatcher(routers)
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

    @property
    def menu(self) -> tuple[str, ...]:
        """The chat commands of the bot's menu, in order (Telegram's setMyCommands)."""
        return self.dispatcher.menu

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
            return self._answer(sender, text, now, read_only=False) or []  # never None here
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
        found = self.dispatcher.match(text)
        if found is not None:
            if read_only and not found.route.read_only:
                return None
            # Like the parser's: the language of the words written wins.
            lang = found.lang or lang
            context = Context(account, lang, self.services, sender, text)
            return self._remember(sender, self.dispatcher.run_command(context, found))
        parsed = nlu.parse(
            text,
            now=now or utcnow(),
            tz=account.timezone,
            region=_region_of(account.phone_number),
        )
        if read_only and not self.dispatcher.read_only(parsed["intent"]):
            return None
        if parsed["intent"] != "unknown" and parsed.get("lang") in LANGUAGES:
            lang = parsed["lang"]
            self._note_language(account, lang)
        context = Context(account, lang, self.services, sender, text, now or utcnow())
        return self._remember(sender, self.dispatcher.dispatch(context, nlu.command_of(parsed)))

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
            return self._remember(sender, self.dispatcher.press(context, data))
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
    return _region_of_number(number) if number else None


@lru_cache(maxsize=REGIONS_REMEMBERED)
def _region_of_number(number: str) -> str | None:
    # phonenumbers.parse costs about a third of a whole answer, asked again at each message
    # of a user with a number; the country of a number never changes.
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(number))
    except phonenumbers.NumberParseException:
        return None
