"""Is an engine up? One OPTIONS request to a SIP server, one ng `ping` to rtpengine."""

from __future__ import annotations

import secrets
import socket
import time
import uuid


def options_ping(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when a SIP server answers an OPTIONS request over UDP within `timeout`
    seconds (any final or provisional answer); False on silence or ICMP unreachable."""
    branch = "z9hG4bK" + uuid.uuid4().hex
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        local = sock.getsockname()[1]
        request = (
            f"OPTIONS sip:{host}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{local};branch={branch};rport\r\n"
            f"From: <sip:lab@127.0.0.1>;tag={uuid.uuid4().hex[:8]}\r\n"
            f"To: <sip:{host}:{port}>\r\nCall-ID: {uuid.uuid4().hex}\r\n"
            "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        )
        answer = _ask(sock, request.encode(), (host, port), timeout)
    return answer is not None and answer.startswith(b"SIP/2.0 ")


def ng_ping(port: int, timeout: float = 1.0, host: str = "127.0.0.1") -> bool:
    """True when rtpengine answers `ping` with `pong` on its ng control port (UDP: a cookie,
    a space, a bencoded dictionary; rtpengine's ng protocol), retransmitted like `options_ping`."""
    cookie = secrets.token_hex(4).encode()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        answer = _ask(sock, cookie + b" d7:command4:pinge", (host, port), timeout)
    return answer is not None and answer.startswith(cookie + b" ") and b"4:pong" in answer


def _ask(
    sock: socket.socket, request: bytes, address: tuple[str, int], timeout: float
) -> bytes | None:
    """The first datagram answering `request`, None on silence or ICMP unreachable.

    Over UDP a client retransmits until an answer or the deadline: Timer E starts at
    T1 = 0.5 s and doubles up to T2 = 4 s (RFC 3261 §17.1.2.2). A server flooded with
    datagrams may have dropped the first copy from its full receive buffer.
    """
    deadline = time.monotonic() + timeout
    interval = 0.5
    while (left := deadline - time.monotonic()) > 0:
        try:
            sock.sendto(request, address)
            sock.settimeout(min(interval, left))
            data, _ = sock.recvfrom(4096)
        except TimeoutError:
            interval = min(interval * 2, 4.0)
            continue
        except OSError:
            return None
        return data
    return None
