"""rtpengine's control protocol ("ng"): a UDP datagram `<cookie> <bencoded dict>`, answered
by a datagram with the same cookie (rtpengine's docs, "ng control protocol").

Used for what kamailio does not do for us: forking a call's media to our recorder
(`subscribe request` / `subscribe answer`, rtpengine ≥ 10) and playing a notice into a
call (`play media`). Bencoding is the `bencode.py` library's (fastbencode refuses
rtpengine's answers: their keys are not sorted).
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import bencodepy

TIMEOUT_SECONDS = 2.0
RETRANSMIT_SECONDS = 0.5


class NgError(RuntimeError):
    """rtpengine refused a command (its `error-reason`), or did not answer."""


class NgClient:
    """Send ng commands to one rtpengine and wait for their answers (asyncio)."""

    def __init__(self, host: str, port: int) -> None:
        self.address = (host, port)

    async def ask(self, command: str, **fields: Any) -> dict[str, Any]:
        """Run `command` with `fields` (names as the protocol spells them, "call-id",
        "from-tag"…: pass them as a dict `**{"call-id": …}`); the answer with str keys
        and values decoded as UTF-8 where they are text. NgError when rtpengine answers
        `result: error` or not within TIMEOUT_SECONDS (retransmitted every
        RETRANSMIT_SECONDS: it is UDP; rtpengine answers a repeated cookie from its cache)."""
        cookie = secrets.token_hex(6).encode()
        datagram = cookie + b" " + bencodepy.encode(_bytes({"command": command, **fields}))
        loop = asyncio.get_running_loop()
        answered: asyncio.Future[bytes] = loop.create_future()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Answer(cookie, answered), remote_addr=self.address
        )
        try:
            deadline = loop.time() + TIMEOUT_SECONDS
            while not answered.done():
                transport.sendto(datagram)
                wait = min(RETRANSMIT_SECONDS, deadline - loop.time())
                if wait <= 0:
                    raise NgError(f"rtpengine did not answer {command!r}")
                try:
                    await asyncio.wait_for(asyncio.shield(answered), wait)
                except TimeoutError:
                    continue
            answer = _text(bencodepy.decode(answered.result()))
        finally:
            transport.close()
        if not isinstance(answer, dict) or answer.get("result") != "ok":
            reason = answer.get("error-reason", "no reason") if isinstance(answer, dict) else ""
            raise NgError(f"rtpengine refused {command!r}: {reason}")
        return answer


class _Answer(asyncio.DatagramProtocol):
    def __init__(self, cookie: bytes, answered: asyncio.Future[bytes]) -> None:
        self.cookie, self.answered = cookie, answered

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        cookie, _, body = data.partition(b" ")
        if cookie == self.cookie and not self.answered.done():
            self.answered.set_result(body)

    def error_received(self, exc: Exception) -> None:
        if not self.answered.done():
            self.answered.set_exception(NgError(f"rtpengine unreachable: {exc}"))


def _bytes(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, dict):
        return {_bytes(k): _bytes(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_bytes(item) for item in value]
    return value


def _text(value: Any) -> Any:
    if isinstance(value, bytes):
        try:
            return value.decode()
        except UnicodeDecodeError:
            return value
    if isinstance(value, dict):
        return {_text(k): _text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_text(item) for item in value]
    return value
