"""The assistant core: (who is asking, what they wrote) → what to answer.

Chat adapters (console, Telegram, XMPP) only turn their network's updates into
`Assistant.handle` calls and the returned `Reply` objects into messages. What each
message means is decided by the features' routers (`bot/features/`), handed in by the
composition root; the core knows none of them.

The language of an answer follows one rule, on every path (typed messages, chat
commands, button presses and the words that press them, messages not understood,
messages the assistant pushes later):
1. the language of the words written, when they surely tell it: a command written in
   the words of one language ("solde", "lier …", "привет"), or a message whose language
   the parser's detection is sure of (`nlu.lang.detect`). The account takes that
   language, so it follows the user's last such message;
2. otherwise (a "/command", a number, a button, words of no sure language, a
   notification) the account's language;
3. a new account starts in its chat client's language (Telegram's language_code, XMPP's
   xml:lang), else DEFAULT_LANGUAGE. The client's language plays no other part.

Time: a message is read at the moment it was sent (`sent`: Telegram's date, XMPP's
XEP-0203 delay stamp; the console: now), not when it is processed; one that arrived late
asking for a moment that has passed since is answered so, and nothing is done.

Floods: `admit` (called first by the adapters of networks strangers reach) answers a
sender's messages at most at CHAT_RATE_PER_MINUTE after a burst of CHAT_BURST, with one
"slow down" and then silence (`flood.SenderLimiter`).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from functools import lru_cache

import phonenumbers

import nlu
from bot.assistant.choices import ChoiceMemory
from bot.assistant.context import Context
from bot.assistant.flood import SenderLimiter, Verdict
from bot.assistant.i18n import LANGUAGES, t
from bot.assistant.replies import ReceivedFile, Reply, Sender
from bot.assistant.router import Dispatcher, Router
from bot.assistant.services import Services
from domain.clock import utcnow
from nlu.commands import Command
from nlu.lang import detect
from nlu.message import prepare
from storage.db import is_sqlite
from storage.models import Account

log = logging.getLogger(__name__)
LANGUAGES_REMEMBERED = 10_000
REGIONS_REMEMBERED = 4096
# A message processed this long after it was sent is late: a moment it asks for that has
# passed meanwhile is answered as passed (sooner, the features' own "now" margins apply).
LATE_AFTER = timedelta(seconds=60)
STORED_LANGUAGE_TRUSTED = 5.0  # seconds after which a stored language is read back as stored


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
        # When the writer stored it: the database then counts again after a short while
        # (a row read before the store is not newer), also when another instance changes it.
        self._languages_stored_at: dict[int, float] = {}
        self._languages_lock = threading.Lock()
        settings = services.settings
        self.limiter = SenderLimiter(settings.CHAT_RATE_PER_MINUTE, settings.CHAT_BURST)

    @property
    def menu(self) -> tuple[str, ...]:
        """The chat commands of the bot's menu, in order (Telegram's setMyCommands)."""
        return self.dispatcher.menu

    async def handle(
        self,
        sender: Sender,
        text: str,
        *,
        now: datetime | None = None,
        sent: datetime | None = None,
    ) -> list[Reply]:
        """Answer one message. Never raises: a failure becomes an apology.

        `now`: the current time (default: the clock); `sent`: when the message was sent, as
        its network dates it (default: now): the parser and the request read it then.
        """
        replies = self.answer_now(sender, text, now=now, sent=sent)
        if replies is not None:
            return replies
        return await asyncio.to_thread(self.handle_sync, sender, text, now, sent=sent)

    def answer_now(
        self,
        sender: Sender,
        text: str,
        *,
        now: datetime | None = None,
        sent: datetime | None = None,
    ) -> list[Reply] | None:
        """The answer when it can be given at once on the loop (it only reads, on SQLite);
        None when it must be computed by `handle` in a worker thread."""
        if not self.reads_on_loop:
            return None
        try:
            return self._answer(sender, text, now, read_only=True, sent=sent)
        except Exception:  # answered again in the thread, which apologises if it fails
            log.exception("failed to answer a message from %s on the loop", sender.network)
            return None

    def handle_sync(
        self,
        sender: Sender,
        text: str,
        now: datetime | None = None,
        *,
        sent: datetime | None = None,
    ) -> list[Reply]:
        """`handle` for callers without an event loop (the console, tests)."""
        try:
            return self._answer(sender, text, now, read_only=False, sent=sent) or []
        except Exception:
            log.exception("failed to handle a message from %s", sender.network)
            lang = sender.language if sender.language in LANGUAGES else None
            return [Reply(t(lang or self.services.settings.DEFAULT_LANGUAGE, "error"))]

    def _answer(
        self,
        sender: Sender,
        text: str,
        now: datetime | None,
        *,
        read_only: bool,
        sent: datetime | None = None,
    ) -> list[Reply] | None:
        """The replies to a message; with `read_only`, None when answering would write."""
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
        lang = self._language_of(account)  # rule 2, unless the words tell (rule 1)
        now = now or utcnow()
        sent = now if sent is None or sent > now else sent  # (a clock ahead: now)
        found = self.dispatcher.match(text)
        if found is not None:
            if read_only and not found.route.read_only:
                return None
            if found.lang is not None:  # the command's own words ("solde", "lier")
                lang = self._note_language(account, found.lang)
            context = Context(account, lang, self.services, sender, text, sent, now)
            return self._remember(sender, self.dispatcher.run_command(context, found))
        region = _region_of(account.phone_number)
        parsed = nlu.parse(text, now=sent, tz=account.timezone, region=region)
        if read_only and not self.dispatcher.read_only(parsed["intent"]):
            return None
        lang = self._words_language(account, lang, text, parsed.get("lang"), region)
        command = nlu.command_of(parsed)
        context = Context(account, lang, self.services, sender, text, sent, now)
        if (passed := _moment_passed(context, command, now)) is not None:
            return [passed]
        return self._remember(sender, self.dispatcher.dispatch(context, command))

    def admit(self, sender: Sender) -> list[Reply] | None:
        """None when a message or press of `sender` may be answered; else what to send
        instead: "slow down" once, then nothing, until the sender calms down (`flood`).

        Called first by the adapters of the networks strangers reach; the console (the
        local operator, and scripts piped into it) is not limited.
        """
        verdict = self.limiter.admit((sender.network, sender.external_id))
        if verdict is Verdict.ANSWER:
            return None
        if verdict is Verdict.DROP:
            return []
        return [Reply(t(self.language_for(sender), "slow_down"))]

    def language_for(self, sender: Sender, text: str = "") -> str:
        """The language to answer `sender` in without creating an account (the rule
        above): that of the words of `text` when sure, else the account's, else the
        chat client's, else DEFAULT_LANGUAGE."""
        if text and not text.startswith("/"):
            message = prepare(text, None)
            written, sure = detect(message.raw, message.words)
            if sure:
                return written
        account = self.services.accounts.find_by_identity(sender.network, sender.external_id)
        if account is not None:
            return self._language_of(account)
        if sender.language in LANGUAGES:
            return sender.language
        return self.services.settings.DEFAULT_LANGUAGE

    def private_only(self, sender: Sender, text: str, link: str) -> Reply:
        """The only answer outside a private chat (a group): write to me privately, at
        `link`. Nothing of the account is read or shown, and none is created."""
        return Reply(t(self.language_for(sender, text), "private_only", link=link))

    def takes_file(self, name: str, mime: str | None = None) -> bool:
        """Whether a feature handles files of this name or type (adapters fetch only those
        a user merely links to)."""
        probe = ReceivedFile(name, b"", mime)
        return any(route.takes(probe) for route in self.dispatcher.files)

    async def handle_file(
        self, sender: Sender, file: ReceivedFile, *, sent: datetime | None = None
    ) -> list[Reply]:
        """Answer a file the user sent (a calendar to import, …). Never raises."""
        return await asyncio.to_thread(self.handle_file_sync, sender, file, sent=sent)

    def handle_file_sync(
        self, sender: Sender, file: ReceivedFile, *, sent: datetime | None = None
    ) -> list[Reply]:
        """`handle_file` for callers without an event loop (the console, tests)."""
        lang = sender.language if sender.language in LANGUAGES else None
        try:
            account = self._account(sender)
            lang = self._language_of(account)  # a file tells no language: the account's
            now = utcnow()
            sent = now if sent is None or sent > now else sent
            context = Context(account, lang, self.services, sender, file.name, sent, now)
            return self._remember(sender, self.dispatcher.receive(context, file))
        except Exception:
            log.exception("failed to handle a file from %s", sender.network)
            return [Reply(t(lang or self.services.settings.DEFAULT_LANGUAGE, "error"))]

    async def press(self, sender: Sender, data: str) -> list[Reply]:
        """Answer a button press (`Button.data`). Never raises: a failure becomes an apology."""
        return await asyncio.to_thread(self.press_sync, sender, data)

    def press_sync(self, sender: Sender, data: str) -> list[Reply]:
        """`press` for callers without an event loop."""
        lang = sender.language if sender.language in LANGUAGES else None
        try:
            account = self._account(sender)
            lang = self._language_of(account)  # a press tells no language: the account's
            context = Context(account, lang, self.services, sender, data)
            return self._remember(sender, self.dispatcher.press(context, data))
        except Exception:
            log.exception("failed to handle a button press from %s", sender.network)
            return [Reply(t(lang or self.services.settings.DEFAULT_LANGUAGE, "error"))]

    def _words_language(
        self, account: Account, lang: str, text: str, written: str | None, region: str | None
    ) -> str:
        """Rule 1 for a parsed message: `written` (the parser's language) when the words
        are surely in it, now the account's too; else `lang`."""
        if written == lang or written not in LANGUAGES or not _surely_in(text, written, region):
            return lang
        return self._note_language(account, written)

    def _language_of(self, account: Account) -> str:
        """The account's language: the one its last sure message set, also while that is
        still being stored, else the stored one."""
        lang = self._submitted_languages.get(account.id)
        if lang is None:
            return account.language
        stored = self._languages_stored_at.get(account.id)
        if stored is not None and time.monotonic() - stored > STORED_LANGUAGE_TRUSTED:
            return account.language
        return lang

    def _note_language(self, account: Account, lang: str) -> str:
        """Answer in `lang` and store it as the account's language if it changed; `lang`.

        Stored by one writer thread, in the order the messages were read, so the answer
        need not wait for the write (nor, on the loop, for a lock).
        """
        with self._languages_lock:
            if lang != self._language_of(account):
                self._language_writer.submit(self._store_language, account.id, lang)
                self._languages_stored_at.pop(account.id, None)
            self._submitted_languages[account.id] = lang
            self._submitted_languages.move_to_end(account.id)
            while len(self._submitted_languages) > LANGUAGES_REMEMBERED:
                forgotten, _lang = self._submitted_languages.popitem(last=False)
                self._languages_stored_at.pop(forgotten, None)
        account.language = lang  # this message's own copy of the row
        return lang

    def _store_language(self, account_id: int, lang: str) -> None:
        try:
            account = self.services.accounts.get(account_id)
            if account is not None:
                self.services.accounts.set_language(account, lang)
            with self._languages_lock:
                if self._submitted_languages.get(account_id) == lang:
                    self._languages_stored_at[account_id] = time.monotonic()
        except Exception:
            log.exception("could not store the language of account %s", account_id)
            with self._languages_lock:  # so that the next message stores it again
                self._submitted_languages.pop(account_id, None)
                self._languages_stored_at.pop(account_id, None)

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


def _surely_in(text: str, lang: str, region: str | None) -> bool:
    """Whether the words of `text` are surely in `lang` (asked only when the parser's
    language differs from the account's: most messages never pay for it)."""
    message = prepare(text, region)
    written, sure = detect(message.raw, message.words)
    return sure and written == lang


def _moment_passed(ctx: Context, command: Command, now: datetime) -> Reply | None:
    """The answer to a message that arrived late and asks for a moment that has passed
    since it was sent (a reminder "in 10 minutes" read two hours later): nothing is done.
    A moment already past when it was sent is the features' to refuse."""
    at = getattr(command, "at", None)
    if not isinstance(at, datetime):
        return None
    if now - ctx.now < LATE_AFTER:
        return None
    moment = ctx.in_user_zone(at)
    if not ctx.now < moment <= now:
        return None
    return ctx.say("moment_passed", sent=ctx.local_time(ctx.now), at=ctx.local_time(moment))


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
