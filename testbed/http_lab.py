"""A small real HTTP server on 127.0.0.1 (or another loopback address) for tests.

It serves given bytes at given paths (any method), with an ETag and a Last-Modified and a
304 answer to a matching If-None-Match / If-Modified-Since (RFC 9110 13.1), redirects,
and misbehaving answers: a body that trickles forever (`stall`), no answer at all
(`silent`), a huge body with or without Content-Length (`huge`). Every request it gets
is recorded (`requests`) so tests can see what a client sent (a header dropped after a
redirect, a method changed by a 303). With `certificate` (see `make_certificate`) it
serves HTTPS.
"""

from __future__ import annotations

import hashlib
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

TRICKLE_INTERVAL = 0.1  # seconds between two bytes of a stalled answer
CHUNK = 64 * 1024


@dataclass(frozen=True)
class Seen:
    """One request the lab received: method, target (path and query), headers (lower-case
    names), body."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Route:
    kind: str  # "body", "redirect", "stall", "silent", "huge"
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: float | None = None  # POSIX seconds
    location: str = ""
    size: int = 0
    content_length: bool = True


class HttpLab:
    """One threaded HTTP/1.1 server on `host` and a free port; `start()` / `stop()`.
    `certificate`: (certificate file, key file) to serve HTTPS instead."""

    def __init__(self, host: str = "127.0.0.1", certificate: tuple[Path, Path] | None = None):
        self.host = host
        self.certificate = certificate
        self.routes: dict[str, Route] = {}
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def url(self, path: str = "/", host: str | None = None) -> str:
        """The absolute URL of `path` on this server (named `host`, default its address)."""
        scheme = "https" if self.certificate else "http"
        return f"{scheme}://{host or self.host}:{self.port}{path}"

    def start(self) -> HttpLab:
        lab = self

        class Handler(_Handler):
            owner = lab

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        self._server.daemon_threads = True
        if self.certificate is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.certificate)
            # The handshake happens in the request's thread, not in the accepting one.
            self._server.socket = context.wrap_socket(
                self._server.socket, server_side=True, do_handshake_on_connect=False
            )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; stalled answers end too."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
        self._server = None

    def __enter__(self) -> HttpLab:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def serve(
        self,
        path: str,
        body: bytes,
        *,
        status: int = 200,
        content_type: str = "text/calendar; charset=utf-8",
        etag: str | None = "auto",
        last_modified: float | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer `path` (any method, any query) with `body`. `etag="auto"`: a hash of the
        body (None: no ETag); `last_modified`: POSIX seconds (default: now)."""
        if etag == "auto":
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        extra = {"Content-Type": content_type, **(headers or {})}
        moment = time.time() if last_modified is None else last_modified
        self.routes[path] = Route("body", status, body, extra, etag, moment)

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        """Answer `path` with a redirect to `location` (sent as given)."""
        self.routes[path] = Route("redirect", status, location=location)

    def stall(self, path: str) -> None:
        """Answer `path` with headers announcing a body, then one byte every
        TRICKLE_INTERVAL seconds until the client leaves or the lab stops."""
        self.routes[path] = Route("stall")

    def silent(self, path: str) -> None:
        """Read the request for `path` and never answer."""
        self.routes[path] = Route("silent")

    def huge(self, path: str, size: int, *, content_length: bool = True) -> None:
        """Answer `path` with `size` bytes, announced by Content-Length or not (then the
        end of the body is the end of the connection)."""
        self.routes[path] = Route("huge", size=size, content_length=content_length)

    def seen(self, path: str) -> list[Seen]:
        """The requests received for `path` (query ignored), oldest first."""
        with self._lock:
            return [r for r in self.requests if urlsplit(r.target).path == path]


def make_certificate(directory: Path, names: tuple[str, ...] = ("localhost",)) -> tuple[Path, Path]:
    """A self-signed certificate (and its key) for DNS `names`, made with openssl in
    `directory`: (certificate file, key file); the certificate is also its own CA file."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "lab.crt", directory / "lab.key"
    san = ",".join(f"DNS:{name}" for name in names)
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-nodes", "-days", "3", "-keyout", str(key),
            "-out", str(cert), "-subj", f"/CN={names[0]}", "-addext", f"subjectAltName={san}",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return cert, key


class _Handler(BaseHTTPRequestHandler):
    owner: HttpLab
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet; the tests read `requests`

    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        with self.owner._lock:
            self.owner.requests.append(Seen(self.command, self.path, headers, body))
        route = self.owner.routes.get(urlsplit(self.path).path)
        if route is None:
            self._plain(404, b"not found")
        else:
            getattr(self, f"_{route.kind}")(route)

    def __getattr__(self, name: str) -> object:
        if name.startswith("do_"):  # http.server looks up do_<METHOD>: every method is served
            return self._any
        raise AttributeError(name)

    def _plain(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _body(self, route: Route) -> None:
        headers = dict(route.headers)
        if route.etag:
            headers["ETag"] = route.etag
        headers["Last-Modified"] = formatdate(route.last_modified, usegmt=True)
        if self._not_modified(route):
            self.send_response(304)
            for name in ("ETag", "Last-Modified"):
                if name in headers:
                    self.send_header(name, headers[name])
            self.end_headers()
            return
        self._plain(route.status, route.body, headers)

    def _not_modified(self, route: Route) -> bool:
        if self.command not in ("GET", "HEAD") or route.status != 200:
            return False
        match = self.headers.get("If-None-Match")
        if match is not None:  # If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2)
            tags = [tag.strip() for tag in match.split(",")]
            return route.etag is not None and (route.etag in tags or "*" in tags)
        since = self.headers.get("If-Modified-Since")
        if since is None:
            return False
        try:
            return int(route.last_modified) <= parsedate_to_datetime(since).timestamp()
        except (TypeError, ValueError):
            return False

    def _redirect(self, route: Route) -> None:
        self._plain(route.status, b"", {"Location": route.location})

    def _stall(self, _route: Route) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/calendar")
        self.send_header("Content-Length", "100000")  # under any test limit; never all sent
        self.end_headers()
        try:
            while not self.owner._stopping.wait(TRICKLE_INTERVAL):
                self.wfile.write(b"x")
                self.wfile.flush()
        except OSError:
            pass  # the client left
        self.close_connection = True

    def _silent(self, _route: Route) -> None:
        self.owner._stopping.wait(60)
        self.close_connection = True

    def _huge(self, route: Route) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/calendar")
        if route.content_length:
            self.send_header("Content-Length", str(route.size))
        else:
            self.send_header("Connection", "close")
        self.end_headers()
        left = route.size
        try:
            while left > 0 and not self.owner._stopping.is_set():
                piece = min(left, CHUNK)
                self.wfile.write(b"B" * piece)
                left -= piece
        except OSError:
            pass  # the client stopped reading
        self.close_connection = True
