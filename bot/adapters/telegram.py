"""The Telegram adapter (aiogram 3): updates in, `Assistant` replies out.

Long polling by default; webhook mode when TELEGRAM_WEBHOOK_URL is set (several
instances behind a load balancer). Each update is handled in its own task, so a slow
answer never delays another user, and once, whichever instance and however often it is
delivered (`storage.updates`). Outside private chats only what is addressed to this bot
is answered, with a link to a private chat; a sender's flood is answered once
(`Assistant.admit`); a message is read at its own date.
"""

from __future__ import annotations

import asyncio
import functools
import io
import logging
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiohttp
from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ChatType
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageText,
    GetMe,
    GetUpdates,
    SendDocument,
    SendMessage,
    SetMyCommands,
    SetWebhook,
)
from aiogram.methods.base import Response
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    CallbackQuery,
    FSInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    TelegramObject,
    Update,
    User,
)
from aiogram.utils.token import TokenValidationError
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.assistant import Assistant, Reply, Sender
from bot.assistant.i18n import DEFAULT_LANGUAGE, LANGUAGES, t
from bot.assistant.replies import Attachment, AttachmentNotSent, ReceivedFile
from domain.clock import sleep_unless_stopped
from privacy.logs import PrivacyFilter
from settings import Settings
from storage.updates import SeenUpdates

log = logging.getLogger(__name__)
NETWORK = "telegram"
T = TypeVar("T")

SEND_ATTEMPTS = 5
SERVER_ERROR_DELAY = 1.0
MAX_RETRY_AFTER = 300  # seconds; a longer ban is not waited out inside one handler
POLL_TIMEOUT = 30
DRAIN_SECONDS = 2.0  # at shutdown: how long updates in progress may still finish
RESTART_DELAY = 5.0
KEYS_REMEMBERED = 10_000
MAX_DOWNLOAD = 20 * 1024 * 1024  # bytes: the Bot API's getFile serves no bigger file
PRIVATE_START = "group"  # the /start payload of the link to a private chat given in groups
MAX_TEXT = 4096  # characters in one Telegram message
MAX_CAPTION = 1024  # characters in the caption of a document
AIOGRAM_LOGGERS = (
    "aiogram",
    "aiogram.dispatcher",
    "aiogram.event",
    "aiogram.middlewares",
    "aiogram.webhook",
    "aiogram.scene",
)
# aiogram reads every answer of the Bot API as `Response[T]`, a generic pydantic model that
# pydantic caches only weakly: each time the garbage collector frees one, the next request
# builds the class again (schema and validator, a millisecond or more, and a pile of
# objects that bring on the next full collection). Held here, they stay cached.
_RESPONSE_TYPES = tuple(
    Response[method.__returning__]  # type: ignore[name-defined]
    for method in (
        GetMe,
        GetUpdates,
        SendMessage,
        SendDocument,
        EditMessageText,
        AnswerCallbackQuery,
        SetMyCommands,
        SetWebhook,
    )
)


class _WebhookHandler(SimpleRequestHandler):
    """aiogram's webhook handler (secret checked first, answered at once, handled in the
    background), answering 400, not 500 with a traceback, to a body that is no update."""

    async def _handle_request_background(self, bot: Bot, request: web.Request) -> web.Response:
        try:
            body = await request.json(loads=bot.session.json_loads)
            update = Update.model_validate(body, context={"bot": bot})
        except ValueError:  # not JSON, not UTF-8, or not an Update (pydantic's errors too)
            return web.Response(status=400, text="Bad Request: not a Telegram update")
        task = asyncio.create_task(self._feed(bot, update))
        self._background_feed_update_tasks.add(task)
        task.add_done_callback(self._background_feed_update_tasks.discard)
        return web.json_response({}, dumps=bot.session.json_dumps)

    async def _feed(self, bot: Bot, update: Update) -> None:
        try:
            await self.dispatcher.feed_update(bot, update, **self.data)
        except Exception:
            log.exception("failed to handle Telegram update %s", update.update_id)


class TelegramAdapter:
    """One bot account on one Bot API server, answering with the assistant."""

    network = NETWORK
    edits = True

    def __init__(
        self, assistant: Assistant, settings: Settings, updates: SeenUpdates | None = None
    ) -> None:
        if settings.TELEGRAM_BOT_TOKEN is None:
            raise ValueError("TELEGRAM_BOT_TOKEN is not set")
        self.assistant = assistant
        self.settings = settings
        token = settings.TELEGRAM_BOT_TOKEN.get_secret_value()
        # aiogram's network errors can quote request URLs, and so the bot token.
        self._redactor = PrivacyFilter([token])
        for name in AIOGRAM_LOGGERS:
            logging.getLogger(name).addFilter(self._redactor)
        api = TelegramAPIServer.from_base(settings.TELEGRAM_API_URL.rstrip("/"))
        try:
            self.bot = Bot(token, session=AiohttpSession(api=api))
        except TokenValidationError:
            raise ValueError("TELEGRAM_BOT_TOKEN is not a bot token (digits:letters)") from None
        # No FSM: the assistant keeps its own state, and aiogram's would cost every update.
        self.dispatcher = Dispatcher(disable_fsm=True)
        router = Router(name="encryptotel")
        # A coroutine filter: aiogram runs a plain function (as F.text) in a worker thread.
        router.message.register(self._on_message, _has_text)
        router.message.register(self._on_document, _has_document)
        router.callback_query.register(self._on_button)
        self.dispatcher.include_router(router)
        self.dispatcher.update.outer_middleware(self._track)
        self.ready = asyncio.Event()
        self.last_update_id: int | None = None
        self._in_progress: set[asyncio.Task] = set()
        self._keys: OrderedDict[tuple[int, str], int] = OrderedDict()
        # Each update is handled once, by whichever instance claims it first.
        self.updates = updates if updates is not None else SeenUpdates(assistant.services.engine)
        self._source = f"{NETWORK}:{self.bot.id}"

    # -- running ---------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until `stop` is set, then finish updates in progress and confirm them."""
        self.assistant.services.outbox.register(NETWORK, self.send, edits=True)
        try:
            if self.settings.TELEGRAM_WEBHOOK_URL:
                await self._run_webhook(stop)
            else:
                await self._run_polling(stop)
        finally:
            self.assistant.services.outbox.unregister(NETWORK)
            await self.bot.session.close()
            for name in AIOGRAM_LOGGERS:
                logging.getLogger(name).removeFilter(self._redactor)

    async def _run_polling(self, stop: asyncio.Event) -> None:
        await self._set_commands()
        while not stop.is_set():
            polling = asyncio.create_task(
                self.dispatcher.start_polling(
                    self.bot,
                    polling_timeout=POLL_TIMEOUT,
                    handle_signals=False,
                    close_bot_session=False,
                )
            )
            self.ready.set()
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait({polling, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if not polling.done():
                try:
                    await self.dispatcher.stop_polling()
                except RuntimeError:  # stopped before polling had started
                    polling.cancel()
            try:
                await polling
            except asyncio.CancelledError:
                if not stop.is_set():
                    raise
            except Exception as error:  # getMe failed: the Bot API is unreachable
                log.error("Telegram polling failed (%s); retrying", type(error).__name__)
                await sleep_unless_stopped(stop, RESTART_DELAY)
        await self._drain()
        await self._confirm_offset()

    async def _run_webhook(self, stop: asyncio.Event) -> None:
        secret = self.settings.TELEGRAM_WEBHOOK_SECRET
        webhook_url = self.settings.TELEGRAM_WEBHOOK_URL or ""
        app = web.Application()
        _WebhookHandler(
            dispatcher=self.dispatcher,
            bot=self.bot,
            secret_token=secret.get_secret_value() if secret else None,
        ).register(app, path=urlsplit(webhook_url).path or "/")
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        host, port = self.settings.telegram_webhook_address
        await web.TCPSite(runner, host, port).start()
        try:
            await self._set_commands()
            while not stop.is_set():
                try:
                    await self._call(
                        lambda: self.bot.set_webhook(
                            webhook_url,
                            secret_token=secret.get_secret_value() if secret else None,
                            allowed_updates=self.dispatcher.resolve_used_update_types(),
                        )
                    )
                    break
                except Exception as error:  # the Bot API is unreachable: try again
                    log.error("setWebhook failed (%s); retrying", type(error).__name__)
                    await sleep_unless_stopped(stop, RESTART_DELAY)
            self.ready.set()
            await stop.wait()
        finally:
            # The webhook stays set: other instances behind the load balancer keep serving.
            await runner.cleanup()
            await self._drain()

    async def _set_commands(self) -> None:
        """The bot menu in each language (setMyCommands); a failure is logged, not fatal."""
        try:
            for lang in LANGUAGES:
                commands = [
                    BotCommand(command=c, description=t(lang, f"menu_{c}"))
                    for c in self.assistant.menu
                ]
                await self._call(
                    functools.partial(
                        self.bot.set_my_commands,
                        commands,
                        language_code=None if lang == DEFAULT_LANGUAGE else lang,
                    )
                )
        except Exception as error:
            log.warning("could not set the Telegram command menu: %s", type(error).__name__)

    async def _drain(self) -> None:
        await asyncio.sleep(0)  # let update tasks created just before the stop start
        if self._in_progress:
            await asyncio.wait(set(self._in_progress), timeout=DRAIN_SECONDS)

    async def _confirm_offset(self) -> None:
        """Tell the Bot API the last update handled, so a restart does not see it again."""
        if self.last_update_id is None:
            return
        try:
            await self.bot(
                GetUpdates(offset=self.last_update_id + 1, timeout=0, limit=1), request_timeout=2
            )
        except Exception as error:
            log.warning("could not confirm the Telegram update offset: %s", type(error).__name__)

    async def _track(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        update: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if isinstance(update, Update) and (
            self.last_update_id is None or update.update_id > self.last_update_id
        ):
            self.last_update_id = update.update_id
        task = asyncio.current_task()
        if task is not None:
            self._in_progress.add(task)
        try:
            if isinstance(update, Update) and not await self._claim(update.update_id):
                log.info("Telegram update %s was delivered again: skipped", update.update_id)
                return None
            return await handler(update, data)
        finally:
            if task is not None:
                self._in_progress.discard(task)

    async def _claim(self, update_id: int) -> bool:
        """Whether this delivery of the update is the first (to be handled), across every
        instance on the database; handled anyway when the database cannot tell."""
        try:
            return await asyncio.to_thread(self.updates.claim, self._source, update_id)
        except Exception as error:
            log.warning("could not claim Telegram update %s: %s", update_id, type(error).__name__)
            return True

    # -- updates ---------------------------------------------------------------------------

    async def _on_message(self, message: Message) -> None:
        user = message.from_user
        if user is None or user.is_bot or message.text is None:
            return
        sender = _sender(user)
        if message.chat.type != ChatType.PRIVATE:
            await self._in_group(message, sender, message.text)
            return
        text = _own_command(message.text, await self._username())
        if text is None:
            return  # "/command@OtherBot": not ours
        replies = self.assistant.admit(sender)
        if replies is None:
            # Read at the moment it was sent (a late update's "in 10 minutes").
            replies = await self.assistant.handle(sender, text, sent=message.date)
        try:
            for reply in replies:
                await self.deliver(message.chat.id, reply)
        except TelegramAPIError as error:  # e.g. the user blocked the bot meanwhile
            log.warning("could not answer on Telegram: %s", type(error).__name__)

    async def _on_document(self, message: Message) -> None:
        """A file sent in a private chat (an .ics calendar): fetched with getFile and
        handed to the assistant; files in groups, and files over the Bot API's download
        limit, are not fetched."""
        user, document = message.from_user, message.document
        if user is None or user.is_bot or document is None:
            return
        if message.chat.type != ChatType.PRIVATE:
            return
        sender = _sender(user)
        replies = self.assistant.admit(sender)
        if replies is None:
            replies = await self._receive(sender, document, message.date)
        try:
            for reply in replies:
                await self.deliver(message.chat.id, reply)
        except TelegramAPIError as error:
            log.warning("could not answer a file on Telegram: %s", type(error).__name__)

    async def _receive(self, sender: Sender, document: Any, sent: datetime) -> list[Reply]:
        """The answer to a document: fetched only when a feature takes its kind, and it is
        within the Bot API's download limit; a failed download is said."""
        name, mime = document.file_name or "document", document.mime_type
        if not self.assistant.takes_file(name, mime):  # "I don't know what to do with it"
            return await self.assistant.handle_file(sender, ReceivedFile(name, b"", mime))
        lang = await asyncio.to_thread(self.assistant.language_for, sender)
        if (document.file_size or 0) > MAX_DOWNLOAD:
            return [Reply(t(lang, "file_too_big_to_read", name=name), lang=lang)]
        try:
            data = await self._download(document.file_id)
        except (TelegramAPIError, aiohttp.ClientError, TimeoutError) as error:
            log.warning("a document could not be downloaded: %s", type(error).__name__)
            return [Reply(t(lang, "file_not_fetched", name=name), lang=lang)]
        received = ReceivedFile(name, data, mime)
        return await self.assistant.handle_file(sender, received, sent=sent)

    async def _download(self, file_id: str) -> bytes:
        """A user's file's bytes (getFile, then the file URL)."""
        found = await self._call(lambda: self.bot.get_file(file_id))
        buffer = io.BytesIO()
        await self.bot.download_file(found.file_path or "", destination=buffer)
        return buffer.getvalue()

    async def _on_button(self, query: CallbackQuery) -> None:
        try:
            await query.answer()
        except Exception as error:  # the spinner stops by itself; the press still counts
            log.info("answerCallbackQuery failed: %s", type(error).__name__)
        if not query.data:
            return
        if query.message is not None and query.message.chat.type != ChatType.PRIVATE:
            return  # no button of ours is ever shown outside a private chat
        sender = _sender(query.from_user)
        replies = self.assistant.admit(sender)
        if replies is None:
            replies = await self.assistant.press(sender, query.data)
        pressed = query.message.message_id if query.message else None
        chat_id = query.message.chat.id if query.message else query.from_user.id
        try:
            for reply in replies:
                # The answer to a press replaces the question that carried the button.
                edit = pressed if reply.key else None
                await self.deliver(chat_id, reply, edit_message_id=edit)
                if edit is not None:
                    pressed = None
        except TelegramAPIError as error:
            log.warning("could not answer a button press on Telegram: %s", type(error).__name__)

    async def _in_group(self, message: Message, sender: Sender, text: str) -> None:
        """Outside a private chat only what is addressed to this bot ("/cmd@ThisBot", a
        reply to it, a mention of it) is answered, and only with a link to a private chat:
        balances, numbers and payments are nobody else's business."""
        me = await self.bot.me()
        if not _addressed_to(message, text, me):
            return
        if self.assistant.admit(sender) is not None:
            return  # flooding a group: silence there
        link = f"https://t.me/{me.username}?start={PRIVATE_START}"
        reply = await asyncio.to_thread(self.assistant.private_only, sender, text, link)
        try:
            await self.deliver(message.chat.id, reply)
        except TelegramAPIError as error:
            log.warning("could not answer in a Telegram group: %s", type(error).__name__)

    async def _username(self) -> str:
        """This bot's username (getMe, asked once)."""
        return (await self.bot.me()).username or ""

    # -- sending ---------------------------------------------------------------------------

    async def send(self, external_id: str, reply: Reply) -> None:
        """Outbox sender: push a reply to a user's private chat (AttachmentNotSent when its
        file could not be read: the user is told instead)."""
        if reply.attachment is not None:
            if not await self._send_document(int(external_id), reply):
                raise AttachmentNotSent(reply.attachment.name)
            return
        await self.deliver(int(external_id), reply)

    async def deliver(
        self, chat_id: int, reply: Reply, *, edit_message_id: int | None = None
    ) -> None:
        """Send `reply`, or edit the message that carries its key (or `edit_message_id`)."""
        if reply.attachment is not None:
            await self._send_document(chat_id, reply)
            return
        if len(reply.text) > MAX_TEXT:
            # Too long for one message: send it in parts, the buttons under the last one.
            *heads, tail = _split(reply.text)
            for head in heads:
                await self._call(functools.partial(self.bot.send_message, chat_id, head))
            reply = Reply(tail, reply.buttons, reply.key, reply.lang)
        markup = _keyboard(reply)
        key = (chat_id, reply.key) if reply.key else None
        message_id = edit_message_id or (self._keys.get(key) if key else None)
        if message_id is not None:
            try:
                await self._call(
                    lambda: self.bot.edit_message_text(
                        text=reply.text, chat_id=chat_id, message_id=message_id, reply_markup=markup
                    )
                )
                self._remember(key, message_id)
                return
            except TelegramBadRequest as error:
                if "not modified" in error.message:
                    self._remember(key, message_id)
                    return
                log.info("edit failed (%s): sending a new message", error.message)
        sent = await self._call(
            lambda: self.bot.send_message(chat_id, reply.text, reply_markup=markup)
        )
        self._remember(key, sent.message_id)

    async def _send_document(self, chat_id: int, reply: Reply) -> bool:
        """A reply with a file: the file as a document (sendDocument) captioned with the text
        when it fits a caption, else the text first; the buttons under the last message.
        A document is always a new message: a text cannot be edited into one. False when
        the file could not be read (the user is told)."""
        attachment = reply.attachment
        assert attachment is not None
        try:
            document = await asyncio.to_thread(_input_file, attachment)
        except OSError as error:  # the file is gone or unreadable: say so, with the buttons
            log.warning("could not read a file to send on Telegram: %s", type(error).__name__)
            if reply.text.strip():
                await self.deliver(chat_id, Reply(reply.text, lang=reply.lang))
            failed = t(reply.lang or DEFAULT_LANGUAGE, "file_failed", name=attachment.name)
            await self.deliver(chat_id, Reply(failed, reply.buttons, lang=reply.lang))
            return False
        caption = reply.text if len(reply.text) <= MAX_CAPTION else ""
        if not caption and reply.text.strip():
            await self.deliver(chat_id, Reply(reply.text, lang=reply.lang))
        markup = _keyboard(reply)
        await self._call(
            lambda: self.bot.send_document(
                chat_id, document, caption=caption or None, reply_markup=markup
            )
        )
        return True

    def _remember(self, key: tuple[int, str] | None, message_id: int) -> None:
        if key is None:
            return
        self._keys[key] = message_id
        self._keys.move_to_end(key)
        while len(self._keys) > KEYS_REMEMBERED:
            self._keys.popitem(last=False)

    async def _call(self, request: Callable[[], Awaitable[T]]) -> T:
        """Run a Bot API request, waiting out 429 `retry_after` and retrying 5xx answers."""
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                return await request()
            except TelegramRetryAfter as error:
                if attempt == SEND_ATTEMPTS or error.retry_after > MAX_RETRY_AFTER:
                    raise
                log.info("Telegram asks to retry after %s s", error.retry_after)
                await asyncio.sleep(error.retry_after)
            except TelegramServerError:
                if attempt == SEND_ATTEMPTS:
                    raise
                await asyncio.sleep(SERVER_ERROR_DELAY * attempt)
        raise AssertionError("unreachable")


async def _has_text(message: Message) -> bool:
    return bool(message.text)  # as F.text


async def _has_document(message: Message) -> bool:
    return message.document is not None  # as F.document


def _own_command(text: str, username: str) -> str | None:
    """`text` with a "/command@ThisBot" read as "/command"; None for a command addressed to
    another bot ("/balance@SomeOtherBot"); any other text as it is."""
    if not text.startswith("/"):
        return text
    head, space, rest = text.partition(" ")
    command, at, bot = head.partition("@")
    if not at:
        return text
    if not username or bot.casefold() != username.casefold():
        return None
    return command + space + rest


def _addressed_to(message: Message, text: str, me: User) -> bool:
    """Whether a group message is meant for this bot: "/command@ThisBot", a reply to one
    of its messages, or a mention of it (an entity, or "@ThisBot" in the text)."""
    username = (me.username or "").casefold()
    head = text.partition(" ")[0]
    if head.startswith("/"):
        return bool(username) and head.partition("@")[2].casefold() == username
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == me.id:
        return True
    for entity in message.entities or ():
        if entity.type == "text_mention" and entity.user is not None and entity.user.id == me.id:
            return True
    mention = re.compile(rf"(?<!\w)@{re.escape(username)}\b") if username else None
    return mention is not None and mention.search(text.casefold()) is not None


def _sender(user: Any) -> Sender:
    language = (user.language_code or "")[:2].lower() or None
    return Sender(NETWORK, str(user.id), language)


def _split(text: str, size: int = MAX_TEXT) -> list[str]:
    """`text` in parts of at most `size` characters, cut at line ends where possible."""
    parts = []
    while len(text) > size:
        cut = text.rfind("\n", 0, size)
        cut = cut if cut > 0 else size
        parts.append(text[:cut])
        text = text[cut:].lstrip("\n")
    return [*parts, text] if text else parts


def _input_file(attachment: Attachment) -> BufferedInputFile | FSInputFile:
    """A reply's file for aiogram, under its own name: its bytes, or its path on disk
    (read as it is sent; OSError now when it cannot be opened)."""
    if attachment.data is not None:
        return BufferedInputFile(attachment.data, filename=attachment.name)
    path = Path(attachment.path or "")
    with path.open("rb"):
        pass
    return FSInputFile(path, filename=attachment.name)


def _keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=b.label, callback_data=b.data)] for b in reply.buttons
        ]
    )
