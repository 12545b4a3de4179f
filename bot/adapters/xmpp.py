"""The XMPP adapter (slixmpp): chat messages in, `Assistant` replies out as plain text.

Buttons become a line such as `Reply "yes" for Link, "no" for Cancel.` (the core takes
the typed word as the press). Presence is sent at each session start; after the server
goes away the client reconnects by itself, with a short capped delay.

Only a person writing privately is answered: not a room (groupchat, an invitation, a
room occupant's private message), nor a server. A sender's flood is answered once
(`Assistant.admit`); a delayed message is read at its XEP-0203 stamp. Presence
subscriptions are granted to JIDs that have written, never asked back.

A reply's file is uploaded to the server's HTTP upload service (XEP-0363, found by
service discovery) and its URL sent in a message of its own with XEP-0066 out-of-band
data, so clients show it as a file; on a server without one the user is told so.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections import OrderedDict
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import aiohttp
from slixmpp import JID, ClientXMPP
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.stanza import Message

from bot.assistant import Assistant, Reply, Sender
from bot.assistant.choices import as_text
from bot.assistant.i18n import DEFAULT_LANGUAGE, LANGUAGES, t
from bot.assistant.replies import Attachment, AttachmentNotSent, ReceivedFile
from outbound.fetch import FetchError, fetch
from privacy.logs import PrivacyFilter
from settings import Settings

log = logging.getLogger(__name__)
ANSWER_GRACE = 3.0  # seconds a stopping adapter waits for answers being computed
NETWORK = "xmpp"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
MUC_USER = "{http://jabber.org/protocol/muc#user}x"  # a room's message, a mediated invitation
CONFERENCE = "{jabber:x:conference}x"  # a direct invitation (XEP-0249)
DELAY = "{urn:xmpp:delay}delay"  # XEP-0203: when a delayed message was sent
SUBSCRIPTIONS_WAITING = 10_000
ROSTER_TIMEOUT = 10.0

SESSION_TIMEOUT = 30.0  # a login that hangs (e.g. no common mechanism) is retried after this
MAX_RECONNECT_DELAY = 5.0
DISCONNECT_WAIT = 1.5
UPLOAD_REQUEST = "urn:xmpp:http:upload:0"  # XEP-0363
UPLOAD_TIMEOUT = 120.0  # seconds to discover the service, get a slot and PUT a file
MAX_FILE_BYTES = 20 * 1024 * 1024  # a file a user shares is fetched up to this size
# The only slot headers XEP-0363 lets a client send with its PUT.
SLOT_HEADERS = {"authorization", "cookie", "expires"}

SLIXMPP_STREAM_LOGGER = "slixmpp.xmlstream.xmlstream"
# Hides SASL payloads in slixmpp's stanza debug log (PLAIN carries the password).
_redactor = PrivacyFilter()


class _Client(ClientXMPP):
    """slixmpp client whose reconnection back-off stays short (a PBX must come back fast)."""

    def reschedule_connection_attempt(self) -> asyncio.Future | None:
        if self._current_connection_attempt is None:
            return None
        self._connect_loop_wait = min(MAX_RECONNECT_DELAY, self._connect_loop_wait * 1.5)
        self._current_connection_attempt = asyncio.ensure_future(self._connect_loop())
        return self._current_connection_attempt


class XMPPAdapter:
    """The bot's JID on one XMPP server, answering with the assistant."""

    network = NETWORK
    edits = False

    def __init__(self, assistant: Assistant, settings: Settings) -> None:
        if settings.XMPP_JID is None or settings.XMPP_PASSWORD is None:
            raise ValueError("XMPP_JID and XMPP_PASSWORD are not set")
        self.assistant = assistant
        self.settings = settings
        self.ready = asyncio.Event()
        self.sessions = 0  # how many times a session started (reconnections + 1)
        self._stopping = False
        self._failures = 0  # connections lost in a row without a session: the back-off grows
        self._login_watchdog: asyncio.TimerHandle | None = None
        self._answering: set[asyncio.Future] = set()  # answers computed in worker threads
        # Subscription requests of JIDs that have not written yet: granted at their first
        # message (see `_on_subscription_request`).
        self._waiting_subscriptions: OrderedDict[str, None] = OrderedDict()
        client = _Client(settings.XMPP_JID, settings.XMPP_PASSWORD.get_secret_value())
        client.enable_direct_tls = False
        client.enable_starttls = True
        client.enable_plaintext = False
        client.use_aiodns = False
        # Presence subscriptions are decided here, never granted blindly nor asked back.
        client.auto_authorize = None
        client.auto_subscribe = False
        if settings.XMPP_CA_FILE:
            client.ca_certs = Path(settings.XMPP_CA_FILE)
        client.register_plugin("xep_0030")
        client.register_plugin("xep_0066")  # out-of-band data: a file's URL on a message
        client.register_plugin("xep_0363")  # HTTP file upload: slot requests
        client.register_plugin("xep_0199", {"keepalive": True, "interval": 60, "timeout": 20})
        client.add_event_handler("connected", self._on_connected)
        client.add_event_handler("session_start", self._on_session_start)
        client.add_event_handler("message", self._on_message)
        client.add_event_handler("roster_subscription_request", self._on_subscription_request)
        client.add_event_handler("disconnected", self._on_disconnected)
        client.add_event_handler("failed_auth", self._on_failed_auth)
        client.add_event_handler("ssl_invalid_chain", self._on_untrusted_certificate)
        self.client = client
        # Files are PUT over HTTPS trusting what the XMPP stream trusts (made at the first).
        self._http_ssl: ssl.SSLContext | None = None
        # The server's upload service (JID, size limit), looked up at a session's first file;
        # None: not looked up yet; False: the server has none.
        self._upload_service: tuple[JID, int | None] | bool | None = None

    @property
    def connected(self) -> bool:
        """True while a session is established."""
        return self.ready.is_set()

    async def run(self, stop: asyncio.Event) -> None:
        """Stay connected until `stop` is set, then leave the server cleanly."""
        logging.getLogger(SLIXMPP_STREAM_LOGGER).addFilter(_redactor)
        self.assistant.services.outbox.register(NETWORK, self.send)
        try:
            self._connect()
            await stop.wait()
        finally:
            self._stopping = True
            if self._answering:  # answers being computed are still sent
                await asyncio.wait(set(self._answering), timeout=ANSWER_GRACE)
            self.assistant.services.outbox.unregister(NETWORK)
            await self._disconnect()
            logging.getLogger(SLIXMPP_STREAM_LOGGER).removeFilter(_redactor)

    def _connect(self) -> None:
        host = self.settings.XMPP_HOST or self.client.boundjid.domain
        self.client.connect(host, self.settings.XMPP_PORT)

    async def _disconnect(self) -> None:
        self.client.cancel_connection_attempt()
        self._cancel_watchdog()
        if self.client.transport is None:
            await stop_send_loop(self.client)
            return
        try:
            self.client.send_presence(ptype="unavailable")
            await asyncio.wait_for(
                asyncio.shield(self.client.disconnect(wait=DISCONNECT_WAIT)),
                DISCONNECT_WAIT + 0.5,
            )
        except Exception as error:  # already gone or slow: cut the connection
            log.info("XMPP disconnect: %s", type(error).__name__)
        self.client.abort()
        await stop_send_loop(self.client)

    # -- connection events -----------------------------------------------------------------

    def _on_connected(self, _event: Any) -> None:
        self._cancel_watchdog()
        loop = asyncio.get_running_loop()
        self._login_watchdog = loop.call_later(SESSION_TIMEOUT, self._login_timed_out)

    def _login_timed_out(self) -> None:
        if not self.ready.is_set() and not self._stopping:
            log.error("XMPP login did not complete in %s s; reconnecting", SESSION_TIMEOUT)
            self.client.abort()

    def _cancel_watchdog(self) -> None:
        if self._login_watchdog is not None:
            self._login_watchdog.cancel()
            self._login_watchdog = None

    async def _on_session_start(self, _event: Any) -> None:
        self._cancel_watchdog()
        self._upload_service = None  # a server restarted with other services: ask again
        # The roster first: only a session that asked for it is given presence subscription
        # requests (RFC 6121 3.1.3), also those that waited while the bot was away.
        try:
            await self.client.get_roster(timeout=ROSTER_TIMEOUT)
        except Exception as error:  # no roster: no subscription requests, messages still work
            log.warning("could not get the XMPP roster: %s", type(error).__name__)
        self.client.send_presence()
        self.sessions += 1
        self._failures = 0
        self.ready.set()
        log.info("XMPP session started as %s", self.client.boundjid.bare)

    def _on_failed_auth(self, _event: Any) -> None:
        log.error("XMPP authentication failed for %s", self.client.boundjid.bare)

    def _on_untrusted_certificate(self, error: Exception) -> None:
        log.error(
            "the XMPP server's TLS certificate is not trusted (%s); check XMPP_CA_FILE",
            getattr(error, "verify_message", None) or type(error).__name__,
        )
        self.client.abort()

    async def _on_disconnected(self, _reason: Any) -> None:
        self.ready.clear()
        self._cancel_watchdog()
        if self._stopping:
            return
        delay = min(MAX_RECONNECT_DELAY, 0.25 * 2**self._failures)
        self._failures += 1
        log.warning("XMPP connection lost; reconnecting in %.2g s", delay)
        await asyncio.sleep(delay)
        if not self._stopping and self.client.transport is None:
            self._connect()

    # -- messages --------------------------------------------------------------------------

    def _on_message(self, message: Message) -> None:
        # A plain function, not a coroutine: most answers are given at once, with no task.
        if not _a_person_writing(message):
            return
        body = message["body"]
        # slixmpp stamps stanzas without xml:lang with the server stream's default: only a
        # language other than that one was chosen by the sender's client.
        declared = message.xml.get(XML_LANG)
        if declared == self.client.peer_default_lang:
            declared = None
        language = (declared or "")[:2].lower()
        jid = message["from"]  # a new JID at each lookup: once
        sender = Sender(NETWORK, jid.bare, language if language in LANGUAGES else None)
        if (refused := self.assistant.admit(sender)) is not None:
            for reply in refused:  # "slow down" once, then nothing
                self._send(jid, reply)
            return
        if self._waiting_subscriptions and jid.bare in self._waiting_subscriptions:
            self._grant_subscription(jid.bare)
        sent = _delayed_from(message)  # read at the moment it was sent (XEP-0203)
        shared = _shared_file(message)
        if shared is not None and self.assistant.takes_file(_url_file_name(shared)):
            task = asyncio.ensure_future(self._receive_file(jid, sender, shared, sent))
            self._answering.add(task)
            task.add_done_callback(self._answering.discard)
            return
        replies = self.assistant.answer_now(sender, body, sent=sent)
        if replies is None:
            task = asyncio.ensure_future(self._answer(jid, sender, body, sent))
            self._answering.add(task)
            task.add_done_callback(self._answering.discard)
            return
        self._reply(jid, replies)

    async def _answer(self, to: Any, sender: Sender, body: str, sent: datetime | None) -> None:
        for reply in await self.assistant.handle(sender, body, sent=sent):
            await self._deliver(to, reply)

    async def _receive_file(self, to: Any, sender: Sender, url: str, sent: datetime | None) -> None:
        """A file the user shared (XEP-0363 upload, its link sent as XEP-0066 out-of-band
        data): fetched as any URL a user gives (outbound.fetch: no private addresses unless
        FETCH_ALLOW_PRIVATE, size and time limits), then handed to the assistant."""
        name = _url_file_name(url)
        try:
            if self._http_ssl is None:
                self._http_ssl = ssl.create_default_context(
                    cafile=self.settings.XMPP_CA_FILE or None
                )
            got = await fetch(
                url,
                allow_private=self.settings.FETCH_ALLOW_PRIVATE,
                max_bytes=MAX_FILE_BYTES,
                timeout=UPLOAD_TIMEOUT,
                verify=self._http_ssl,
            )
        except FetchError as error:
            log.warning("a file shared on XMPP could not be fetched: %s", error.code)
            lang = await asyncio.to_thread(self.assistant.language_for, sender)
            await self._deliver(to, Reply(t(lang, "file_not_fetched", name=name), lang=lang))
            return
        received = ReceivedFile(name, got.body, got.headers.get("content-type"))
        for reply in await self.assistant.handle_file(sender, received, sent=sent):
            await self._deliver(to, reply)

    # -- presence subscriptions ------------------------------------------------------------

    async def _on_subscription_request(self, presence: Any) -> None:
        """Someone adds the bot to their contacts. Granted to a JID that has written to the
        bot (it has an account); a stranger's request waits for its first message, so
        subscription floods from JIDs that never write fill no roster. The bot never asks
        for anyone's presence in return: it needs none, and sends no requests to strangers.
        (The server keeps a request that waits, and delivers it again at the next login.)"""
        jid = presence["from"].bare
        accounts = self.assistant.services.accounts
        if await asyncio.to_thread(accounts.find_by_identity, NETWORK, jid) is not None:
            self._grant_subscription(jid)
            return
        self._waiting_subscriptions[jid] = None
        while len(self._waiting_subscriptions) > SUBSCRIPTIONS_WAITING:
            self._waiting_subscriptions.popitem(last=False)

    def _grant_subscription(self, jid: str) -> None:
        self._waiting_subscriptions.pop(jid, None)
        self.client.client_roster[jid].authorize()  # "subscribed", and our presence

    async def send(self, external_id: str, reply: Reply) -> None:
        """Outbox sender: a new message to the user's bare JID (XMPP has no edits)."""
        if not self.connected:
            raise ConnectionError("not connected to the XMPP server")
        if not await self._deliver(external_id, reply):
            raise AttachmentNotSent(reply.attachment.name if reply.attachment else "")

    def _send(self, to: Any, reply: Reply) -> None:
        self.client.send_message(mto=to, mbody=as_text(reply), mtype="chat")

    # -- files -----------------------------------------------------------------------------

    def _reply(self, to: Any, replies: Iterable[Reply]) -> None:
        """Send replies in order: at once when all are text; in a task when one carries a
        file (uploading it takes time; a stopping adapter still waits for it)."""
        replies = list(replies)
        if not any(reply.attachment for reply in replies):
            for reply in replies:
                self._send(to, reply)
            return
        task = asyncio.ensure_future(self._deliver_all(to, replies))
        self._answering.add(task)
        task.add_done_callback(self._answering.discard)

    async def _deliver_all(self, to: Any, replies: list[Reply]) -> None:
        for reply in replies:
            await self._deliver(to, reply)

    async def _deliver(self, to: Any, reply: Reply) -> bool:
        """Send a reply: its text, then its file (if any) as a message of its own, whose
        body is the file's URL with the same URL as out-of-band data (XEP-0066), the form
        clients show as a file. False when the file could not be sent (the user is told)."""
        if reply.attachment is None or reply.text.strip() or reply.buttons:
            self._send(to, reply)
        if reply.attachment is not None:
            return await self._send_file(to, reply.attachment, reply.lang or DEFAULT_LANGUAGE)
        return True

    async def _send_file(self, to: Any, attachment: Attachment, lang: str) -> bool:
        """Upload the file and send its URL (True); or tell the user why it cannot be sent
        (False)."""
        try:
            url = await asyncio.wait_for(self._upload(attachment), UPLOAD_TIMEOUT)
        except _NoUploadService:
            notice = t(lang, "file_unsupported", name=attachment.name)
        except _FileTooBig as error:
            megabytes = f"{error.limit / 1_000_000:.3g}"
            notice = t(lang, "file_too_big", name=attachment.name, megabytes=megabytes)
        except _UPLOAD_ERRORS as error:
            log.warning("could not upload a file to the XMPP server: %s", type(error).__name__)
            notice = t(lang, "file_failed", name=attachment.name)
        else:
            message = self.client.make_message(mto=to, mbody=url, mtype="chat")
            message["oob"]["url"] = url
            message.send()
            return True
        self.client.send_message(mto=to, mbody=notice, mtype="chat")
        return False

    async def _upload(self, attachment: Attachment) -> str:
        """Put a file on the server's HTTP upload service (XEP-0363); its download URL."""
        service, limit = await self._find_upload_service()
        data = await asyncio.to_thread(attachment.read)
        if limit is not None and len(data) > limit:
            raise _FileTooBig(limit)
        request = self.client.plugin["xep_0363"].request_slot(
            service, _file_name(attachment.name), len(data), attachment.mime
        )
        slot = (await request)["http_upload_slot"]
        get_url, put_url = slot["get"]["url"], slot["put"]["url"]
        if not (get_url.startswith("https://") and put_url.startswith("https://")):
            raise _UploadFailed("the upload service offers no HTTPS")  # a file in clear: no
        headers = {"Content-Type": attachment.mime, **_slot_headers(slot)}
        if self._http_ssl is None:  # the system's CAs, or only XMPP_CA_FILE's as for XMPP
            self._http_ssl = ssl.create_default_context(cafile=self.settings.XMPP_CA_FILE or None)
        async with (
            aiohttp.ClientSession() as session,
            session.put(put_url, data=data, headers=headers, ssl=self._http_ssl) as response,
        ):
            if response.status >= 300:
                raise _UploadFailed(f"HTTP {response.status}")
        return get_url

    async def _find_upload_service(self) -> tuple[JID, int | None]:
        """The server's upload service and its size limit, by service discovery of the
        server and its items (asked once a session); _NoUploadService when it has none."""
        if self._upload_service is None:
            disco = self.client.plugin["xep_0030"]
            infos = await disco.get_info_from_domain(cached=False, timeout=UPLOAD_TIMEOUT / 4)
            self._upload_service = _upload_service(infos) or False
        if not isinstance(self._upload_service, tuple):
            raise _NoUploadService
        return self._upload_service


class _NoUploadService(Exception):
    """The XMPP server offers no HTTP file upload."""


class _FileTooBig(Exception):
    """The file is larger than the upload service takes."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} bytes")
        self.limit = limit


class _UploadFailed(Exception):
    """The upload service refused the file, or offers no HTTPS."""


# What an upload may fail with besides "no service" and "too big": the file unreadable,
# the slot refused (IqError, e.g. a quota) or late, the HTTP PUT failed or refused.
_UPLOAD_ERRORS = (OSError, IqError, IqTimeout, aiohttp.ClientError, TimeoutError, _UploadFailed)


def _upload_service(infos: Iterable[Any]) -> tuple[JID, int | None] | None:
    """The first upload service among disco#info results (a "store/file" identity with the
    XEP-0363 feature), with its announced size limit (None: none announced)."""
    for info in infos:
        disco = info["disco_info"]
        stores = any(i[0] == "store" and i[1] == "file" for i in disco["identities"])
        if stores and UPLOAD_REQUEST in disco["features"]:
            return info["from"], _size_limit(disco)
    return None


def _size_limit(disco: Any) -> int | None:
    """The `max-file-size` of the service's XEP-0128 form for XEP-0363, if any."""
    for form in disco.iterables:
        values = form["values"]
        form_type = values.get("FORM_TYPE")
        if form_type in (UPLOAD_REQUEST, [UPLOAD_REQUEST]):
            limit = values.get("max-file-size")
            limit = limit[0] if isinstance(limit, list) and limit else limit
            try:
                return int(limit)
            except (TypeError, ValueError):
                return None
    return None


def _file_name(name: str) -> str:
    """A file name the upload service takes (no path separators)."""
    return name.replace("/", "_").replace("\\", "_").strip() or "file"


def _slot_headers(slot: Any) -> dict[str, str]:
    """The headers of an upload slot that a client may send (XEP-0363: Authorization,
    Cookie, Expires), without line breaks."""
    return {
        header["name"]: header["value"].replace("\r", "").replace("\n", "")
        for header in slot["put"]["headers"]
        if header["name"].lower() in SLOT_HEADERS
    }


def _a_person_writing(message: Message) -> bool:
    """Whether a message is a person writing to the bot privately: a chat (or normal)
    message with words, from a user's JID. Not a room's message (groupchat), a room
    invitation (mediated, muc#user; direct, jabber:x:conference), a private message from
    a room occupant (it comes from the room's JID), nor a server's or service's notice."""
    if message["type"] not in ("chat", "normal"):
        return False
    body = message["body"]
    if not body or not body.strip():
        return False
    xml = message.xml
    if xml.find(MUC_USER) is not None or xml.find(CONFERENCE) is not None:
        return False
    return bool(message["from"].user)


def _shared_file(message: Message) -> str | None:
    """The link of a file the message shares: out-of-band data (XEP-0066) whose URL is the
    whole body, as clients send an HTTP upload's (XEP-0363); None for other messages."""
    url = (message["oob"]["url"] or "").strip()
    return url if url and url == message["body"].strip() else None


def _url_file_name(url: str) -> str:
    """The file name a link ends with ("…/slot/abc/holidays.ics" → "holidays.ics")."""
    return unquote(urlsplit(url).path.rstrip("/").rpartition("/")[2]) or "file"


def _delayed_from(message: Message) -> datetime | None:
    """When a delayed message was sent (XEP-0203 `<delay stamp=…>`, added by the server
    that kept it); None for a message delivered as it was sent."""
    delay = message.xml.find(DELAY)
    stamp = delay.get("stamp") if delay is not None else None
    if not stamp:
        return None
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def stop_send_loop(client: ClientXMPP) -> None:
    """End slixmpp's outgoing-stanza task, which it leaves pending after a disconnect."""
    task = client._run_out_filters
    client._run_out_filters = None
    if task is not None and not task.done():
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
