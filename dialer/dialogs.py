"""The SIP dialog of one call leg, and the requests that end it from any process.

A leg's dialog (RFC 3261 §12) is saved as it is established so that, after a crash,
the instance that closes the call can still end the leg: BYE for an answered leg
(§15.1.1: same Call-ID and tags, CSeq + 1, the route set and remote target, §12.2.1.1),
CANCEL for a ringing one (§9.1: same Request-URI, top Via, Call-ID, From, To and CSeq
number as the INVITE). Pure functions: building messages, parsing the few header
fields they need, and telling whether the process that owned a dialog still runs.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
from dataclasses import dataclass, field
from pathlib import Path

EARLY, CONFIRMED = "early", "confirmed"  # RFC 3261 §12: before and after the 2xx


@dataclass
class LegDialog:
    """What it takes to end one leg of a call.

    state: EARLY (INVITE sent, no answer: CANCEL it) or CONFIRMED (answered: BYE it).
    via: the INVITE's top Via value; from_header/to_header: the full header values
    (From with our tag; To with the remote tag once CONFIRMED); cseq: the INVITE's
    CSeq number; remote_target: the Contact URI of the 2xx; route_set: the Record-Route
    values of the 2xx, reversed (the order a UAC uses, §12.1.2); owner: `owner_id()` of
    the process that placed the call.
    """

    sip_call_id: str
    call_id: str
    leg: str
    state: str
    request_uri: str
    via: str
    from_header: str
    to_header: str
    cseq: int
    remote_target: str = ""
    route_set: list[str] = field(default_factory=list)
    owner: str = ""


def owner_id() -> str:
    """This process, as `host:pid:start-ticks` (start time tells a reused pid apart)."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_ticks(pid)}"


def owner_gone(owner: str) -> bool:
    """True when `owner` (an `owner_id()`) is a process of this host that no longer runs;
    False when it runs, or when it is another host's and so cannot be told."""
    host, _, rest = owner.partition(":")
    pid, _, ticks = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    return _start_ticks(int(pid)) != ticks


def _start_ticks(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]  # field 22: starttime, in clock ticks


def uri_of(value: str) -> str:
    """The URI of a name-addr (`"A" <sip:a@h;lr>;tag=1` -> `sip:a@h;lr`) or a bare URI."""
    match = re.search(r"<([^>]*)>", value)
    return (match.group(1) if match else value.split(";", 1)[0]).strip()


def target_of(uri: str, default_port: int = 5060) -> tuple[str, int]:
    """Host and port a request for `uri` is sent to (RFC 3263 without DNS: maddr,
    else the host; port from the URI, else 5060). ValueError for a URI without a host."""
    match = re.match(r"\s*<?sips?:(?:[^@;>]*@)?(\[[^\]]+\]|[^:;>?]+)(?::(\d+))?([^>]*)", uri)
    if match is None:
        raise ValueError(f"no host in SIP URI {uri!r}")
    maddr = re.search(r";maddr=([^;>?]+)", match.group(3) or "")
    host = maddr.group(1) if maddr else match.group(1).strip("[]")
    return host, int(match.group(2) or default_port)


def _via(local_ip: str, local_port: int) -> str:
    return f"SIP/2.0/UDP {local_ip}:{local_port};branch=z9hG4bK{secrets.token_hex(10)};rport"


def _message(start: str, headers: list[str]) -> bytes:
    return (
        "\r\n".join([start, *headers, "Max-Forwards: 70", "Content-Length: 0"]) + "\r\n\r\n"
    ).encode()


def bye_request(dialog: LegDialog, local_ip: str, local_port: int) -> tuple[bytes, tuple[str, int]]:
    """A BYE for a CONFIRMED dialog and where to send it (RFC 3261 §15.1.1, §12.2.1.1:
    to the first route when there is a route set — a strict router's URI becomes the
    Request-URI — else to the remote target)."""
    routes = list(dialog.route_set)
    request_uri = dialog.remote_target
    if routes and ";lr" not in uri_of(routes[0]):  # strict routing, RFC 3261 §12.2.1.1
        request_uri = uri_of(routes.pop(0))
        routes.append(f"<{dialog.remote_target}>")
        first = request_uri
    else:
        first = uri_of(routes[0]) if routes else dialog.remote_target
    headers = [
        f"Via: {_via(local_ip, local_port)}",
        *(f"Route: {route}" for route in routes),
        f"From: {dialog.from_header}",
        f"To: {dialog.to_header}",
        f"Call-ID: {dialog.sip_call_id}",
        f"CSeq: {dialog.cseq + 1} BYE",
    ]
    return _message(f"BYE {request_uri} SIP/2.0", headers), target_of(first)


def cancel_request(dialog: LegDialog) -> bytes:
    """A CANCEL for an EARLY dialog's INVITE (RFC 3261 §9.1), sent where the INVITE went."""
    headers = [
        f"Via: {dialog.via}",
        f"From: {dialog.from_header}",
        f"To: {dialog.to_header}",
        f"Call-ID: {dialog.sip_call_id}",
        f"CSeq: {dialog.cseq} CANCEL",
    ]
    return _message(f"CANCEL {dialog.request_uri} SIP/2.0", headers)


def ack_for_failure(dialog: LegDialog, to_header: str) -> bytes:
    """The ACK of a non-2xx final answer to the INVITE (RFC 3261 §17.1.1.3: same branch,
    the response's To), sent where the INVITE went."""
    headers = [
        f"Via: {dialog.via}",
        f"From: {dialog.from_header}",
        f"To: {to_header}",
        f"Call-ID: {dialog.sip_call_id}",
        f"CSeq: {dialog.cseq} ACK",
    ]
    return _message(f"ACK {dialog.request_uri} SIP/2.0", headers)


def ack_for_success(
    dialog: LegDialog, local_ip: str, local_port: int
) -> tuple[bytes, tuple[str, int]]:
    """The ACK of a 2xx (RFC 3261 §13.2.2.4: a new transaction within the CONFIRMED
    dialog, sent like a BYE) and where to send it."""
    bye, target = bye_request(dialog, local_ip, local_port)
    text = bye.decode()
    text = text.replace("BYE ", "ACK ", 1).replace(
        f"CSeq: {dialog.cseq + 1} BYE", f"CSeq: {dialog.cseq} ACK"
    )
    return text.encode(), target
