"""A real prosody XMPP server on 127.0.0.1 for tests: own config, TLS cert, accounts.

The configuration is generated per run in a temporary directory (never the system's
/etc/prosody), on a free port, with a self-signed certificate for the virtual host
`pbx.test` so clients verify TLS against `cert_file`. An HTTP file upload service
(XEP-0363, prosody's mod_http_file_share) at `upload.pbx.test` serves files over HTTPS on
127.0.0.1 with the same certificate (`file_share=False`: a server without one).
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest

DOMAIN = "pbx.test"
ROOMS = f"rooms.{DOMAIN}"  # the lab's multi-user chat service (XEP-0045)
UPLOAD = f"upload.{DOMAIN}"  # the lab's HTTP file upload service (XEP-0363)
OOB = "jabber:x:oob"  # XEP-0066: a file's URL attached to a message
UPLOAD_NS = "urn:xmpp:http:upload:0"  # XEP-0363
UPLOAD_LIMIT = 16 * 1024 * 1024  # bytes in one uploaded file
MUC = "http://jabber.org/protocol/muc"
MUC_USER = "http://jabber.org/protocol/muc#user"
START_TIMEOUT = 30

CONFIG = """\
-- Generated for one test run.
run_as_root = true
daemonize = false
pidfile = "{run}/prosody.pid"
data_path = "{run}/data"
interfaces = {{ "127.0.0.1" }}
local_interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {port} }}
c2s_require_encryption = true
s2s_ports = {{ }}
modules_enabled = {{ "roster", "saslauth", "tls", "disco", "ping", "posix" }}
modules_disabled = {{ "s2s", "offline", "admin_shell", "admin_socket", "limits" }}
authentication = "internal_hashed"
storage = "internal"
certificates = "{run}"
allow_registration = false
log = {{ {{ levels = {{ min = "info" }}, to = "file", filename = "{run}/prosody.log" }} }}
ssl = {{ key = "{run}/pbx.key", certificate = "{run}/pbx.crt" }}

VirtualHost "{domain}"
    ssl = {{ key = "{run}/pbx.key", certificate = "{run}/pbx.crt" }}

Component "{rooms}" "muc"
    muc_room_locking = false
"""

# mod_http_file_share: HTTPS only, on loopback, with URLs that name 127.0.0.1 (in the
# certificate's subjectAltName), so clients verify it against the lab's certificate.
FILE_SHARE = """\
http_ports = {{ }}
https_ports = {{ {https_port} }}
https_interfaces = {{ "127.0.0.1" }}
https_ssl = {{ key = "{run}/pbx.key", certificate = "{run}/pbx.crt" }}
http_external_url = "https://127.0.0.1:{https_port}/"

Component "{upload}" "http_file_share"
    http_host = "127.0.0.1"  -- served for URLs naming 127.0.0.1 (prosody routes by Host)
    http_file_share_size_limit = {limit}
    http_file_share_daily_quota = {quota}
    http_file_share_expires_after = 86400
"""


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def require(program: str, package: str) -> str:
    """The path of `program`, or fail the test saying which apt package provides it."""
    path = shutil.which(program)
    if path is None:
        pytest.fail(f"{program} is not installed: apt-get install {package}", pytrace=False)
    return path


def terminate(process: subprocess.Popen | None) -> None:
    """Stop a server the lab started: SIGTERM, then SIGKILL after 10 s."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


class ProsodyLab:
    """One prosody process with its own directory, port, certificate and accounts."""

    def __init__(self, run_dir: Path, domain: str = DOMAIN, *, file_share: bool = True) -> None:
        self.run_dir = run_dir
        self.domain = domain
        self.port = free_port()
        self.file_share = file_share
        self.https_port = free_port() if file_share else None
        self.config = run_dir / "prosody.cfg.lua"
        self.cert_file = run_dir / "pbx.crt"
        self.key_file = run_dir / "pbx.key"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        """Write the config and certificate (first time), start prosody, wait for its port."""
        prosody = require("prosody", "prosody")
        require("prosodyctl", "prosody")
        if not self.config.exists():
            self.run_dir.mkdir(parents=True, exist_ok=True)
            (self.run_dir / "data").mkdir(exist_ok=True)
            self._make_certificate()
            self.config.write_text(self._config_text())
        log = open(self.run_dir / "prosody.out", "ab")
        self.process = subprocess.Popen(
            [prosody, "-F", "--config", str(self.config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        for port in (self.port, self.https_port):
            if port is not None:
                self._wait_port(port, deadline)

    def _wait_port(self, port: int, deadline: float) -> None:
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"prosody exited at start:\n{self.logs()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"prosody did not open port {port}:\n{self.logs()}")

    def _config_text(self) -> str:
        text = CONFIG.format(run=self.run_dir, port=self.port, domain=self.domain, rooms=ROOMS)
        if not self.file_share:
            return text
        # Global options must come before the first VirtualHost.
        head, virtual, rest = text.partition("VirtualHost")
        share = FILE_SHARE.format(
            run=self.run_dir,
            https_port=self.https_port,
            upload=UPLOAD,
            limit=UPLOAD_LIMIT,
            quota=100 * UPLOAD_LIMIT,
        )
        options, _, component = share.partition("Component")
        return f"{head}{options}\n{virtual}{rest}\nComponent{component}"

    def stop(self) -> None:
        """Stop prosody (SIGTERM, then SIGKILL after 10 s)."""
        terminate(self.process)

    def restart(self, down_for: float = 0.0) -> None:
        """Stop and start again on the same port (accounts are kept)."""
        self.stop()
        time.sleep(down_for)
        self.start()

    def register(self, user: str | None = None, password: str | None = None) -> tuple[str, str]:
        """Create an account; return (bare JID, password)."""
        user = user or f"u{uuid.uuid4().hex[:12]}"
        password = password or uuid.uuid4().hex
        result = subprocess.run(
            ["prosodyctl", "--config", str(self.config), "register", user, self.domain, password],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if result.returncode != 0:
            raise RuntimeError(f"prosodyctl register failed: {result.stdout}{result.stderr}")
        return f"{user}@{self.domain}", password

    def logs(self) -> str:
        """prosody's own log and console output (for failure messages)."""
        parts = []
        for name in ("prosody.out", "prosody.log"):
            path = self.run_dir / name
            if path.exists():
                parts.append(path.read_text(errors="replace")[-4000:])
        return "\n".join(parts)

    def _make_certificate(self) -> None:
        openssl = require("openssl", "openssl")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:prime256v1", "-nodes", "-days", "3",
                "-keyout", str(self.key_file), "-out", str(self.cert_file),
                "-subj", f"/CN={self.domain}", "-addext",
                f"subjectAltName=DNS:{self.domain},DNS:{UPLOAD},IP:127.0.0.1",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )  # fmt: skip


class XMPPUser:
    """A person's XMPP client (slixmpp) in its own thread, for tests and the benchmark.

    Besides chat messages (`send`, `ask`, `received`), it can send any stanza
    (`send_xml`), ask for a presence subscription (`subscribe`, `presences` received),
    join a multi-user chat room and invite someone to it (`join_room`, `invite`; the
    room's messages in `room_messages`), and fetch a file sent to it (`oob_urls`, the
    XEP-0066 URLs of messages received; `download`).
    """

    def __init__(self, lab: ProsodyLab, jid: str, password: str) -> None:
        self.lab = lab
        self.jid = jid
        self.password = password
        self.received: list[tuple[str, str]] = []  # (from bare JID, body)
        self.oob_urls: list[str | None] = []  # each received message's XEP-0066 URL, if any
        self.presences: list[tuple[str, str]] = []  # (from bare JID, type) of subscriptions
        self.room_messages: list[tuple[str, str]] = []  # (from full JID, body), groupchat
        self.occupants: set[str] = set()  # full JIDs (room/nick) seen present in rooms
        self._cond = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: Any = None
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 30) -> XMPPUser:
        """Log in over verified TLS; return once the session has started."""
        started = threading.Event()
        self._thread = threading.Thread(target=self._main, args=(started,), daemon=True)
        self._thread.start()
        if not started.wait(timeout):
            raise AssertionError(f"{self.jid} could not log in to prosody:\n{self.lab.logs()}")
        return self

    def _main(self, started: threading.Event) -> None:
        from slixmpp import ClientXMPP

        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        client = ClientXMPP(self.jid, self.password)
        client.enable_direct_tls = False
        client.use_aiodns = False
        client.ca_certs = self.lab.cert_file

        async def on_session(_event: Any) -> None:
            await client.get_roster()  # so that presence subscriptions reach this session
            client.send_presence()
            started.set()

        def on_message(message: Any) -> None:
            if message["type"] in ("chat", "normal") and message["body"]:
                oob = message.xml.find(f"{{{OOB}}}x/{{{OOB}}}url")
                with self._cond:
                    self.received.append((message["from"].bare, message["body"]))
                    self.oob_urls.append(oob.text if oob is not None else None)
                    self._cond.notify_all()
            elif message["type"] == "groupchat" and message["body"]:
                with self._cond:
                    self.room_messages.append((str(message["from"]), message["body"]))
                    self._cond.notify_all()

        def on_presence(presence: Any) -> None:
            kind = presence["type"]
            if presence.xml.find(f"{{{MUC_USER}}}x") is not None:
                with self._cond:
                    self.occupants.add(str(presence["from"]))
                    self._cond.notify_all()
            if kind in ("subscribe", "subscribed", "unsubscribe", "unsubscribed"):
                with self._cond:
                    self.presences.append((presence["from"].bare, kind))
                    self._cond.notify_all()

        client.auto_authorize = None  # the test decides
        client.auto_subscribe = False
        client.add_event_handler("session_start", on_session)
        client.add_event_handler("message", on_message)
        client.add_event_handler("presence", on_presence)
        self._client = client
        client.connect("127.0.0.1", self.lab.port)
        loop.run_forever()
        close_loop(loop)

    def send(self, to: str, body: str, lang: str | None = None) -> None:
        """Send a chat message (with xml:lang when `lang` is given)."""

        def send() -> None:
            message = self._client.make_message(mto=to, mbody=body, mtype="chat")
            if lang:
                message["lang"] = lang
            message.send()

        self._loop.call_soon_threadsafe(send)

    def share_file(
        self,
        to: str,
        name: str,
        data: bytes,
        mime: str = "application/octet-stream",
        timeout: float = 30,
    ) -> str:
        """Share a file as clients do: upload it to the lab's upload service (XEP-0363: a
        slot, then an HTTPS PUT), then send its link as the whole body with the same URL as
        out-of-band data (XEP-0066). The link."""
        from xml.etree import ElementTree

        async def slot() -> tuple[str, str, dict[str, str]]:
            iq = self._client.make_iq_get(ito=f"upload.{self.lab.domain}")
            request = ElementTree.Element(
                f"{{{UPLOAD_NS}}}request", filename=name, size=str(len(data))
            )
            request.set("content-type", mime)
            iq.xml.append(request)
            answer = await iq.send(timeout=timeout)
            found = answer.xml.find(f"{{{UPLOAD_NS}}}slot")
            put, get = found.find(f"{{{UPLOAD_NS}}}put"), found.find(f"{{{UPLOAD_NS}}}get")
            headers = {h.get("name"): h.text or "" for h in put.findall(f"{{{UPLOAD_NS}}}header")}
            return put.get("url"), get.get("url"), headers

        assert self._loop is not None
        put_url, get_url, headers = asyncio.run_coroutine_threadsafe(slot(), self._loop).result(
            timeout
        )
        upload = urllib.request.Request(
            put_url, data=data, method="PUT", headers={"Content-Type": mime, **headers}
        )
        context = ssl.create_default_context(cafile=str(self.lab.cert_file))
        urllib.request.urlopen(upload, timeout=timeout, context=context).close()
        link = escape(get_url)
        self.send_xml(
            f"<message to='{to}' type='chat'><body>{link}</body>"
            f"<x xmlns='{OOB}'><url>{link}</url></x></message>"
        )
        return get_url

    def send_xml(self, stanza: str) -> None:
        """Send a stanza written as XML text (in the stream's namespace, jabber:client)."""
        self._loop.call_soon_threadsafe(self._client.send_raw, stanza)

    def subscribe(self, to: str) -> None:
        """Ask for `to`'s presence (add them to the contacts)."""
        self._loop.call_soon_threadsafe(
            lambda: self._client.send_presence(pto=to, ptype="subscribe")
        )

    def join_room(self, room: str, nick: str, timeout: float = 30) -> None:
        """Enter a room of the lab's chat service (created on first entry)."""
        self.send_xml(f"<presence to='{room}/{nick}'><x xmlns='{MUC}'/></presence>")
        self.wait_for(lambda: f"{room}/{nick}" in self.occupants, timeout, f"joining {room}")

    def invite(self, room: str, to: str, reason: str = "join us") -> None:
        """Invite `to` into `room`, through the room (a mediated invitation, XEP-0045 7.8.2)."""
        self.send_xml(
            f"<message to='{room}'><x xmlns='{MUC_USER}'>"
            f"<invite to='{to}'><reason>{reason}</reason></invite></x></message>"
        )

    def wait_for(self, condition: Any, timeout: float = 30, what: str = "a condition") -> None:
        """Wait until `condition()` (evaluated under the user's lock) is true."""
        with self._cond:
            if not self._cond.wait_for(condition, timeout):
                raise AssertionError(f"{self.jid}: timed out waiting for {what}")

    def wait_messages(self, count: int, timeout: float = 30) -> list[str]:
        """Wait until `count` messages have arrived; return all bodies so far."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.received) >= count, timeout):
                raise AssertionError(
                    f"{self.jid} got {len(self.received)} of {count} messages: {self.received}"
                )
            return [body for _sender, body in self.received]

    def ask(self, to: str, body: str, lang: str | None = None, timeout: float = 30) -> str:
        """Send one message and return the next message that arrives."""
        with self._cond:
            seen = len(self.received)
        self.send(to, body, lang)
        return self.wait_messages(seen + 1, timeout)[seen]

    def download(self, url: str, timeout: float = 30) -> tuple[bytes, str]:
        """GET a file of the lab's upload service over verified HTTPS: (bytes, its type)."""
        context = ssl.create_default_context(cafile=str(self.lab.cert_file))
        with urllib.request.urlopen(url, timeout=timeout, context=context) as response:
            return response.read(), response.headers.get_content_type()

    def stop(self) -> None:
        """Log out and end the thread."""
        if self._loop is None:
            return

        async def leave() -> None:
            self._client.disconnect(wait=1)
            try:
                await asyncio.wait_for(self._client.disconnected, 2)
            except (TimeoutError, asyncio.CancelledError):
                self._client.abort()
            from bot.adapters.xmpp import stop_send_loop

            await stop_send_loop(self._client)

        try:
            asyncio.run_coroutine_threadsafe(leave(), self._loop).result(5)
        except Exception:
            pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop = None


def close_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what is still pending on a stopped loop, then close it (as asyncio.run does)."""
    pending = asyncio.all_tasks(loop)
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()
