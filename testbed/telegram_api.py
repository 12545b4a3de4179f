"""A local emulator of the Telegram Bot API: a real aiohttp server on 127.0.0.1.

It runs in its own thread and event loop, so tests (sync or async) and the service
under test (in-process or a subprocess) talk to it over real HTTP. It implements the
methods a bot calls (getMe, getUpdates with long polling and offsets, sendMessage,
editMessageText, answerCallbackQuery, setMyCommands, webhooks, …), form, multipart and
JSON bodies with JSON-string fields, and the `{"ok": false, ...}` error envelope.

Test API: `send_text` / `send_document` / `press_button` inject updates (in a private chat, or in a
`group` of type group, supergroup or channel; with an old `date`; as a reply to a bot
message), `redeliver` delivers an update again (as Telegram does after a late or failed
webhook answer, or an unconfirmed offset), `messages` / `wait_messages` read what the
bot sent to a chat, `fail_next` makes the next calls of a method fail with 429
(retry_after) or 5xx.

Files: `sendDocument` takes a multipart upload (a field named in `document` as
`attach://NAME`, or the `document` field itself) or the file_id of a file sent before;
the message carries `document` and `caption` as Telegram's do. `file_bytes(file_id)`
gives back exactly the bytes sent; bots fetch them as on the real server, with `getFile`
and GET `/file/bot<token>/<file_path>`.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import itertools
import json
import mimetypes
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp
from aiohttp import web

TOKEN = "123456789:AAH-emulator-token-0123456789abcdefXYZ"
BOT_ID = 123456789
# Fields that bot libraries send as JSON text inside form bodies.
JSON_FIELDS = {
    "reply_markup",
    "allowed_updates",
    "commands",
    "entities",
    "caption_entities",
    "scope",
    "link_preview_options",
    "reply_parameters",
    "media",
}
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_UPLOAD = 50 * 1024 * 1024  # bytes a bot may upload (multipart)
MAX_DOWNLOAD = 20 * 1024 * 1024  # bytes of a file getFile serves to a bot
CHAT_TYPES = ("private", "group", "supergroup", "channel")
_MENTION = re.compile(r"(?<!\w)@\w{3,32}")


class APIError(Exception):
    """An error answer: HTTP status `code` with the Bot API envelope."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def response(self) -> web.Response:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return web.json_response(body, status=self.code)


@dataclass
class SentMessage:
    """A message the bot sent to a chat, as it is now, with its earlier texts."""

    chat_id: int
    message_id: int
    text: str
    reply_markup: dict | None = None
    date: int = field(default_factory=lambda: int(time.time()))
    edits: list[str] = field(default_factory=list)
    # A document message: its Document object and caption (`text` is then "").
    document: dict | None = None
    caption: str | None = None

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """The inline keyboard as (label, callback_data) pairs, row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]


class UploadedFile(bytes):
    """A file part of a multipart request: its bytes, with the part's file name and type."""

    filename: str | None
    content_type: str | None

    def __new__(cls, data: bytes, filename: str | None, content_type: str | None) -> UploadedFile:
        upload = super().__new__(cls, data)
        upload.filename, upload.content_type = filename, content_type
        return upload


@dataclass
class StoredFile:
    """A file the bot sent, kept as Telegram keeps it (by file_id)."""

    file_id: str
    file_unique_id: str
    file_name: str
    mime_type: str
    data: bytes
    file_path: str

    def document(self) -> dict:
        """The Document object of a message carrying this file."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_name": self.file_name,
            "mime_type": self.mime_type,
            "file_size": len(self.data),
        }


@dataclass
class Call:
    """One Bot API request the emulator received."""

    method: str
    params: dict
    at: float  # time.monotonic()
    status: int = 200


class BotAPIEmulator:
    """The emulated Bot API server for one bot token."""

    def __init__(self, token: str = TOKEN, username: str = "EncryptoTelTestBot") -> None:
        self.token = token
        self.bot_user = {
            "id": int(token.split(":")[0]),
            "is_bot": True,
            "first_name": "EncryptoTel",
            "username": username,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self._cond = threading.Condition()
        self._update_ids = itertools.count(1)
        self._pending: list[dict] = []  # updates not yet confirmed
        self._message_ids: dict[int, itertools.count] = {}
        self._users: dict[int, dict] = {}
        self._chats: dict[int, dict] = {}  # every chat the bot may write to, by id
        self._updates: dict[int, dict] = {}  # every update made, by update_id
        self._again: list[dict] = []  # updates getUpdates delivers again, whatever the offset
        self._sent: dict[int, list[SentMessage]] = {}
        self._files: dict[str, StoredFile] = {}  # by file_id
        self._file_ids = itertools.count(1)
        self._failures: dict[str, deque[APIError]] = {}
        self.calls: list[Call] = []
        self.commands: dict[tuple[str, str], list[dict]] = {}
        self.confirmed_offset = 0
        self.webhook: dict | None = None
        self.webhook_deliveries = 0
        # Called as on_send(chat_id, message) for each sendMessage (the benchmark's clock).
        self.on_send: Any = None
        self._poll_generation = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._new_update: asyncio.Event | None = None
        self._webhook_task: asyncio.Task | None = None
        self.port = 0

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The Bot API root to configure as TELEGRAM_API_URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> BotAPIEmulator:
        """Serve on a free port of 127.0.0.1 in a background thread."""
        started = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(started,), daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("the Bot API emulator did not start")
        return self

    def stop(self) -> None:
        """Stop the server and its thread."""
        if self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop = None

    def _serve(self, started: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        self._new_update = asyncio.Event()
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None)
        loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        started.set()
        loop.run_forever()
        loop.close()

    async def _shutdown(self) -> None:
        if self._webhook_task:
            self._webhook_task.cancel()
        await self._runner.cleanup()

    # -- test API --------------------------------------------------------------------------

    def user(self, user_id: int, language_code: str | None = "en", first_name: str = "Ann") -> dict:
        """The Telegram User object of a (test) person; registers their private chat."""
        user = {"id": user_id, "is_bot": False, "first_name": first_name}
        if language_code:
            user["language_code"] = language_code
        with self._cond:
            self._users[user_id] = user
            self._chats[user_id] = {"id": user_id, "type": "private", "first_name": first_name}
            self._message_ids.setdefault(user_id, itertools.count(1))
            self._sent.setdefault(user_id, [])
        return user

    def group(self, chat_id: int, chat_type: str = "supergroup", title: str = "Team") -> dict:
        """A group, supergroup or channel the bot is in (negative ids, as Telegram's)."""
        if chat_type not in CHAT_TYPES[1:]:
            raise ValueError(f"not a group chat type: {chat_type}")
        chat = {"id": chat_id, "type": chat_type, "title": title}
        with self._cond:
            self._chats[chat_id] = chat
            self._message_ids.setdefault(chat_id, itertools.count(1))
            self._sent.setdefault(chat_id, [])
        return chat

    def send_text(
        self,
        user_id: int,
        text: str,
        language_code: str | None = "en",
        *,
        chat_id: int | None = None,
        date: datetime | float | None = None,
        reply_to: SentMessage | None = None,
    ) -> int:
        """A user writes `text` to the bot; returns the update_id.

        `chat_id`: in that group (see `group`; default: the user's private chat); a
        channel's post comes as `channel_post`, signed by the channel. `date`: when it was
        sent (default now: an older one makes a late update). `reply_to`: a message of the
        bot this one answers.
        """
        user = self.user(user_id, language_code)
        with self._cond:
            chat = self._chats[user_id if chat_id is None else chat_id]
            message: dict[str, Any] = {
                "message_id": next(self._message_ids[chat["id"]]),
                "date": int(
                    date.timestamp() if isinstance(date, datetime) else date or time.time()
                ),
                "chat": chat,
                "text": text,
            }
            entities = _entities(text)
            if entities:
                message["entities"] = entities
            if reply_to is not None:
                message["reply_to_message"] = self._message_object(reply_to)
            if chat["type"] == "channel":
                message["sender_chat"] = chat
                return self._add_update({"channel_post": message})
            message["from"] = user
            return self._add_update({"message": message})

    def send_document(
        self,
        user_id: int,
        name: str,
        data: bytes,
        *,
        caption: str | None = None,
        language_code: str | None = "en",
    ) -> int:
        """A user sends a file to the bot in their private chat (a message with `document`
        and `caption`, as Telegram's); the bot fetches it with getFile. The update_id."""
        user = self.user(user_id, language_code)
        upload = UploadedFile(data, name, None)
        with self._cond:
            stored = self._store(upload)
            chat = self._chats[user_id]
            message: dict[str, Any] = {
                "message_id": next(self._message_ids[chat["id"]]),
                "date": int(time.time()),
                "chat": chat,
                "from": user,
                "document": stored.document(),
            }
            if caption is not None:
                message["caption"] = caption
            return self._add_update({"message": message})

    def update(self, update_id: int) -> dict:
        """A copy of an update made by `send_text` or `press_button`."""
        with self._cond:
            return copy.deepcopy(self._updates[update_id])

    def redeliver(self, update_id: int, times: int = 1) -> None:
        """Deliver an update again, `times` more times: by webhook one after the other; by
        getUpdates all in the next answer, whatever offset the bot has confirmed."""
        with self._cond:
            update = self._updates[update_id]
            if self.webhook:
                self._pending.extend(copy.deepcopy(update) for _ in range(times))
            else:
                self._again.extend(copy.deepcopy(update) for _ in range(times))
            self._cond.notify_all()
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._new_update.set)

    def press_button(
        self, user_id: int, message: SentMessage, data: str, language_code: str | None = "en"
    ) -> int:
        """A user presses an inline button of a bot message; returns the update_id."""
        user = self.user(user_id, language_code)
        with self._cond:
            query = {
                "id": str(next(self._update_ids) * 1000 + 7),
                "from": user,
                "chat_instance": f"ci-{user_id}",
                "message": self._message_object(message),
                "data": data,
            }
            return self._add_update({"callback_query": query})

    def messages(self, chat_id: int) -> list[SentMessage]:
        """Copies of what the bot sent to a chat, oldest first (edits applied)."""
        with self._cond:
            return copy.deepcopy(self._sent.get(chat_id, []))

    def wait_messages(self, chat_id: int, count: int, timeout: float = 30) -> list[SentMessage]:
        """Wait until the bot has sent at least `count` messages to the chat."""
        self.wait_for(
            lambda: len(self._sent.get(chat_id, [])) >= count,
            timeout,
            f"{count} messages to chat {chat_id}",
        )
        return self.messages(chat_id)

    def file_bytes(self, file_id: str) -> bytes:
        """The exact bytes of a file the bot sent (see `SentMessage.document`)."""
        with self._cond:
            return self._files[file_id].data

    def wait_for(self, condition: Any, timeout: float = 30, what: str = "a condition") -> None:
        """Wait until `condition()` (evaluated under the emulator's lock) is true."""
        with self._cond:
            if not self._cond.wait_for(condition, timeout):
                raise AssertionError(f"timed out after {timeout} s waiting for {what}")

    def wait_calls(self, method: str, count: int = 1, timeout: float = 30) -> list[Call]:
        """Wait until `method` was called at least `count` times; return those calls."""
        self.wait_for(
            lambda: len(self.calls_of(method)) >= count, timeout, f"{count} calls of {method}"
        )
        return self.calls_of(method)

    def calls_of(self, method: str) -> list[Call]:
        """The calls of one method so far."""
        return [c for c in self.calls if c.method == method.lower()]

    def fail_next(
        self, method: str, count: int = 1, status: int = 429, retry_after: int | None = None
    ) -> None:
        """Make the next `count` calls of `method` fail with `status`."""
        descriptions = {
            429: f"Too Many Requests: retry after {retry_after}",
            500: "Internal Server Error",
            502: "Bad Gateway",
            503: "Service Unavailable",
        }
        error = APIError(status, descriptions.get(status, "Error"), retry_after)
        with self._cond:
            self._failures.setdefault(method.lower(), deque()).extend([error] * count)

    @property
    def pending_updates(self) -> list[dict]:
        """Updates not confirmed by the bot yet."""
        with self._cond:
            return copy.deepcopy(self._pending)

    # -- server ----------------------------------------------------------------------------

    def _add_update(self, body: dict) -> int:
        # Called with self._cond held.
        update_id = next(self._update_ids)
        update = {"update_id": update_id, **body}
        self._updates[update_id] = update
        self._pending.append(copy.deepcopy(update))
        self._cond.notify_all()
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._new_update.set)
        return update_id

    def _message_object(self, sent: SentMessage) -> dict:
        message = {
            "message_id": sent.message_id,
            "date": sent.date,
            "chat": self._chats.get(sent.chat_id, {"id": sent.chat_id, "type": "private"}),
            "from": self.bot_user,
        }
        if sent.document is None:
            message["text"] = sent.text
        else:
            message["document"] = sent.document
            if sent.caption:
                message["caption"] = sent.caption
        if sent.reply_markup:
            message["reply_markup"] = sent.reply_markup
        if sent.edits:
            message["edit_date"] = int(time.time())
        return message

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"].lower()
        try:
            params = await _read_params(request)
        except (ValueError, json.JSONDecodeError) as error:
            return APIError(400, f"Bad Request: can't parse request: {error}").response()
        call = Call(method, params, time.monotonic())
        with self._cond:
            self.calls.append(call)
            self._cond.notify_all()
        try:
            if request.match_info["token"] != self.token:
                raise APIError(401, "Unauthorized")
            with self._cond:
                queue = self._failures.get(method)
                if queue:
                    raise queue.popleft()
            handler = getattr(self, f"_m_{method}", None)
            if handler is None:
                raise APIError(404, "Not Found")
            result = await handler(params)
        except APIError as error:
            call.status = error.code
            return error.response()
        return web.json_response({"ok": True, "result": result})

    async def _m_getme(self, _params: dict) -> dict:
        return self.bot_user

    async def _m_getupdates(self, params: dict) -> list[dict]:
        if self.webhook:
            raise APIError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        # A newer getUpdates terminates the one still waiting (as on the real server).
        self._poll_generation += 1
        generation = self._poll_generation
        self._new_update.set()
        await asyncio.sleep(0)
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        limit = max(1, min(100, int(params.get("limit") or 100)))
        allowed = params.get("allowed_updates") or None
        deadline = time.monotonic() + timeout
        while True:
            if generation != self._poll_generation:
                raise APIError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            self._new_update.clear()
            with self._cond:
                if offset > 0:
                    self._pending = [u for u in self._pending if u["update_id"] >= offset]
                    self.confirmed_offset = max(self.confirmed_offset, offset)
                batch = self._pending[-abs(offset) :] if offset < 0 else list(self._pending)
                batch, self._again = self._again + batch, []
                if allowed:
                    batch = [u for u in batch if set(u) & set(allowed)]
                batch = batch[:limit]
                self._cond.notify_all()
            remaining = deadline - time.monotonic()
            if batch or remaining <= 0:
                return batch
            try:
                await asyncio.wait_for(self._new_update.wait(), remaining)
            except TimeoutError:
                pass

    def _chat(self, params: dict) -> int:
        try:
            chat_id = int(params.get("chat_id"))
        except (TypeError, ValueError):
            raise APIError(400, "Bad Request: chat not found") from None
        if chat_id not in self._chats:
            raise APIError(400, "Bad Request: chat not found")
        return chat_id

    async def _m_sendmessage(self, params: dict) -> dict:
        text = params.get("text") or ""
        with self._cond:
            chat_id = self._chat(params)
            if not text.strip():
                raise APIError(400, "Bad Request: message text is empty")
            if len(text) > MAX_TEXT:
                raise APIError(400, "Bad Request: message is too long")
            sent = SentMessage(
                chat_id,
                next(self._message_ids[chat_id]),
                text,
                _markup(params.get("reply_markup")),
            )
            self._sent[chat_id].append(sent)
            self._cond.notify_all()
            if self.on_send is not None:
                self.on_send(chat_id, sent)
            return self._message_object(sent)

    async def _m_editmessagetext(self, params: dict) -> dict:
        text = params.get("text") or ""
        with self._cond:
            chat_id = self._chat(params)
            message_id = int(params.get("message_id") or 0)
            found = [m for m in self._sent[chat_id] if m.message_id == message_id]
            if not found:
                raise APIError(400, "Bad Request: message to edit not found")
            sent = found[0]
            if sent.document is not None:
                raise APIError(400, "Bad Request: there is no text in the message to edit")
            markup = _markup(params.get("reply_markup"))
            if not text.strip():
                raise APIError(400, "Bad Request: message text is empty")
            if text == sent.text and markup == sent.reply_markup:
                raise APIError(
                    400,
                    "Bad Request: message is not modified: specified new message content "
                    "and reply markup are exactly the same as a current content and reply "
                    "markup of the message",
                )
            sent.edits.append(sent.text)
            sent.text, sent.reply_markup = text, markup
            self._cond.notify_all()
            return self._message_object(sent)

    async def _m_senddocument(self, params: dict) -> dict:
        caption = params.get("caption") or ""
        with self._cond:
            chat_id = self._chat(params)
            if len(caption) > MAX_CAPTION:
                raise APIError(400, "Bad Request: message caption is too long")
            stored = self._document(params)
            sent = SentMessage(
                chat_id,
                next(self._message_ids[chat_id]),
                "",
                _markup(params.get("reply_markup")),
                document=stored.document(),
                caption=caption or None,
            )
            self._sent[chat_id].append(sent)
            self._cond.notify_all()
            return self._message_object(sent)

    def _document(self, params: dict) -> StoredFile:
        """The file a sendDocument names: uploaded in the request (stored now), or the
        file_id of one sent before. Called with self._cond held."""
        value = params.get("document")
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value.removeprefix("attach://"))
        if isinstance(value, str) and value:
            if value not in self._files:
                raise APIError(400, "Bad Request: wrong file identifier/HTTP URL specified")
            return self._files[value]
        if not isinstance(value, bytes):
            raise APIError(400, "Bad Request: there is no document in the request")
        if not value:
            raise APIError(400, "Bad Request: file must be non-empty")
        if len(value) > MAX_UPLOAD:
            raise APIError(413, "Request Entity Too Large")
        return self._store(value)

    def _store(self, upload: bytes) -> StoredFile:
        number = next(self._file_ids)
        name = getattr(upload, "filename", None) or "document"
        # Telegram names the type by the file name's extension; else what the part said.
        mime = mimetypes.guess_type(name)[0] or getattr(upload, "content_type", None)
        digest = hashlib.sha256(bytes(upload)).hexdigest()
        suffix = name.rpartition(".")[2] if "." in name else ""
        stored = StoredFile(
            file_id=f"BQACAgI{number:08d}{digest[:24]}",
            file_unique_id=f"AgAD{digest[:12]}",
            file_name=name,
            mime_type=mime or "application/octet-stream",
            data=bytes(upload),
            file_path=f"documents/file_{number}" + (f".{suffix}" if suffix else ""),
        )
        self._files[stored.file_id] = stored
        return stored

    async def _m_getfile(self, params: dict) -> dict:
        with self._cond:
            stored = self._files.get(params.get("file_id") or "")
        if stored is None:
            raise APIError(400, "Bad Request: invalid file_id")
        if len(stored.data) > MAX_DOWNLOAD:
            raise APIError(400, "Bad Request: file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    async def _download(self, request: web.Request) -> web.Response:
        """GET /file/bot<token>/<file_path>: a file's bytes, as api.telegram.org serves them."""
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        path = request.match_info["path"]
        with self._cond:
            found = [f for f in self._files.values() if f.file_path == path]
        if not found:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        return web.Response(body=found[0].data, content_type="application/octet-stream")

    async def _m_answercallbackquery(self, params: dict) -> bool:
        if not params.get("callback_query_id"):
            raise APIError(400, "Bad Request: query is too old and response timeout expired")
        return True

    async def _m_setmycommands(self, params: dict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or not commands:
            raise APIError(400, "Bad Request: commands must be non-empty")
        scope = (params.get("scope") or {}).get("type", "default")
        with self._cond:
            self.commands[(scope, params.get("language_code") or "")] = commands
        return True

    async def _m_getmycommands(self, params: dict) -> list[dict]:
        scope = (params.get("scope") or {}).get("type", "default")
        return self.commands.get((scope, params.get("language_code") or ""), [])

    async def _m_deletemycommands(self, params: dict) -> bool:
        scope = (params.get("scope") or {}).get("type", "default")
        with self._cond:
            self.commands.pop((scope, params.get("language_code") or ""), None)
        return True

    async def _m_setwebhook(self, params: dict) -> bool:
        url = params.get("url") or ""
        if not url:
            return await self._m_deletewebhook(params)
        with self._cond:
            self.webhook = {
                "url": url,
                "secret_token": params.get("secret_token"),
                "allowed_updates": params.get("allowed_updates") or None,
            }
            if str(params.get("drop_pending_updates")).lower() == "true":
                self._pending.clear()
        self._poll_generation += 1  # ends a waiting getUpdates
        self._new_update.set()
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.create_task(self._deliver_webhook())
        return True

    async def _m_deletewebhook(self, params: dict) -> bool:
        with self._cond:
            self.webhook = None
            if str(params.get("drop_pending_updates")).lower() == "true":
                self._pending.clear()
        if self._webhook_task:
            self._webhook_task.cancel()
            self._webhook_task = None
        return True

    async def _m_getwebhookinfo(self, _params: dict) -> dict:
        with self._cond:
            return {
                "url": (self.webhook or {}).get("url", ""),
                "has_custom_certificate": False,
                "pending_update_count": len(self._pending),
            }

    async def _m_logout(self, _params: dict) -> bool:
        return True

    async def _m_close(self, _params: dict) -> bool:
        return True

    async def _deliver_webhook(self) -> None:
        """POST pending updates to the webhook, one at a time, retrying failures."""
        async with aiohttp.ClientSession() as session:
            while self.webhook:
                self._new_update.clear()
                with self._cond:
                    update = self._pending[0] if self._pending else None
                    hook = dict(self.webhook)
                    allowed = hook["allowed_updates"]
                    if update is not None and allowed and not set(update) & set(allowed):
                        self._pending.pop(0)  # a kind the bot did not ask for: never sent
                        continue
                if update is None:
                    await self._new_update.wait()
                    continue
                headers = {}
                if hook["secret_token"]:
                    headers["X-Telegram-Bot-Api-Secret-Token"] = hook["secret_token"]
                try:
                    async with session.post(
                        hook["url"], json=update, headers=headers, timeout=aiohttp.ClientTimeout(10)
                    ) as response:
                        delivered = response.status < 300
                except (aiohttp.ClientError, TimeoutError):
                    delivered = False
                if delivered:
                    with self._cond:
                        if self._pending and self._pending[0] is update:
                            self._pending.pop(0)  # this copy only: a redelivery stays queued
                        self.webhook_deliveries += 1
                        self._cond.notify_all()
                else:
                    await asyncio.sleep(0.2)


async def _read_params(request: web.Request) -> dict:
    """Query string and body (form, multipart or JSON) as one dict, JSON fields decoded."""
    params: dict[str, Any] = dict(request.query)
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            params.update(await request.json())
        else:
            form = await request.post()
            for name, value in form.items():
                if isinstance(value, str):
                    params[name] = value
                else:  # a file part (bytes, with its name and type)
                    params[name] = UploadedFile(
                        value.file.read(), value.filename, value.content_type
                    )
    for name in JSON_FIELDS & set(params):
        if isinstance(params[name], str | bytes):
            params[name] = json.loads(params[name])
    return params


def _entities(text: str) -> list[dict]:
    """The entities Telegram marks in a text: a leading /command, and @mentions."""
    entities = []
    if text.startswith("/"):
        entities.append({"type": "bot_command", "offset": 0, "length": len(text.split()[0])})
    for found in _MENTION.finditer(text):
        if found.start() > 0 or not text.startswith("/"):
            entities.append(_utf16_entity("mention", text, found.start(), found.end()))
    return entities


def _utf16_entity(kind: str, text: str, start: int, end: int) -> dict:
    """An entity with Telegram's offsets, in UTF-16 code units."""
    offset = len(text[:start].encode("utf-16-le")) // 2
    length = len(text[start:end].encode("utf-16-le")) // 2
    return {"type": kind, "offset": offset, "length": length}


def _markup(value: Any) -> dict | None:
    return value if isinstance(value, dict) and value.get("inline_keyboard") else None
