"""A real HTTP receiver of webhooks on 127.0.0.1 for the webhook tests (http.server in a
thread; no tests here): answers the statuses it is given in turn (then 200), keeps every
request, and can hold its answers until released (a slow receiver)."""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    """One request as received: its headers (lower-case names), raw body, path."""

    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)


class Receiver:
    """An HTTP server answering POSTs; `url` is where it listens."""

    def __init__(self, statuses: list[int] | None = None, *, hold: bool = False) -> None:
        self.statuses = list(statuses or [])
        self.received: list[Received] = []
        self.released = threading.Event()
        if not hold:
            self.released.set()
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver.arrived:
                    receiver.received.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver.arrived.notify_all()
                receiver.released.wait(30)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def events(self) -> list[dict[str, Any]]:
        with self.arrived:
            return [r.event for r in self.received]

    def wait_for(self, count: int, timeout: float = 20) -> list[Received]:
        """The first `count` requests (waits for them)."""
        with self.arrived:
            ok = self.arrived.wait_for(lambda: len(self.received) >= count, timeout)
            assert ok, f"{len(self.received)} requests of {count}"
            return list(self.received)

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


def dead_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"
