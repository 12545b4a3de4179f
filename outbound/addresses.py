"""Which URLs given by users the service may call (webhooks, calendars, shared files):
http(s) to public addresses only.

A URL naming (or resolving to) a loopback, private, link-local, multicast, reserved or
otherwise non-global address (Python's `ipaddress.is_global`, after the IANA special
registries) is refused unless the operator allows private addresses (WEBHOOK_ALLOW_PRIVATE,
FETCH_ALLOW_PRIVATE): a user's URL must not reach the service's own network (SSRF). The
check is made when the URL is given and again at each request (the name may resolve
elsewhere by then: DNS rebinding); the caller then connects to the address it checked
(webhooks.dispatcher, outbound.fetch).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

import httpx

MAX_URL_LENGTH = 2048


class UnsafeUrl(ValueError):
    """A URL the service will not call; `code` says why (stable): "scheme", "host",
    "unresolved", "private"."""

    def __init__(self, code: str, message: str, subject: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.subject = subject  # the host (and address) at fault, for messages


def parse(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL; UnsafeUrl("scheme"|"host") otherwise."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl("host", f"the URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise UnsafeUrl("host", f"the URL is not valid: {error}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsafeUrl("scheme", "only http and https URLs can receive webhooks")
    if not parts.hostname:
        raise UnsafeUrl("host", "the URL has no host")
    if parts.username or parts.password:
        raise UnsafeUrl("host", "the URL must not hold a user name or password")
    try:
        httpx.URL(url)  # what the dispatcher will send to
    except httpx.InvalidURL as error:
        raise UnsafeUrl("host", f"the URL is not valid: {error}") from None
    return scheme, parts.hostname, port or (443 if scheme == "https" else 80)


# IPv6 prefixes that carry an IPv4 address in their last 32 bits, which is what is reached:
# NAT64's well-known prefix (RFC 6052) and IPv4-compatible addresses (RFC 4291 2.5.5.1).
_CARRY_IPV4 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("::/96"))
# Never public although Python may call them global: NAT64 for local use (RFC 8215) and
# the IETF protocol assignments (RFC 6890: 192.0.0.0/24, e.g. 192.0.0.8 the dummy address).
_NOT_PUBLIC = (ipaddress.ip_network("64:ff9b:1::/48"), ipaddress.ip_network("192.0.0.0/24"))


def is_public(address: str) -> bool:
    """True for a global unicast address. An IPv6 address that carries an IPv4 one
    (IPv4-mapped, NAT64, IPv4-compatible, 6to4, Teredo's client) is judged by that IPv4
    address: a NAT64 gateway would take `64:ff9b::a00:1` to 10.0.0.1."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if any(ip in network for network in _NOT_PUBLIC):
            return False
        if ip.ipv4_mapped is not None:
            return is_public(str(ip.ipv4_mapped))
        if ip.sixtofour is not None:
            return is_public(str(ip.sixtofour))
        if ip.teredo is not None:
            return is_public(str(ip.teredo[1]))
        if any(ip in network for network in _CARRY_IPV4) and int(ip) > 1:
            return is_public(str(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)))
    elif any(ip in network for network in _NOT_PUBLIC):
        return False
    return ip.is_global and not ip.is_multicast


def _checked(host: str, infos: list, allow_private: bool) -> list[str]:
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise UnsafeUrl("unresolved", f"{host} has no address", host)
    if not allow_private:
        for address in addresses:
            if not is_public(address):
                raise UnsafeUrl(
                    "private",
                    f"{host} is a private, loopback or link-local address ({address})",
                    f"{host}: {address}" if host != address else host,
                )
    return addresses


def resolve(url: str, allow_private: bool) -> list[str]:
    """The addresses of `url`'s host, all checked (blocking: DNS). Raises UnsafeUrl."""
    _scheme, host, port = parse(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError) as error:
        raise UnsafeUrl("unresolved", f"{host} cannot be resolved: {error}", host) from None
    return _checked(host, infos, allow_private)


async def resolve_async(url: str, allow_private: bool) -> list[str]:
    """As `resolve`, on the running loop's resolver."""
    _scheme, host, port = parse(url)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError) as error:
        raise UnsafeUrl("unresolved", f"{host} cannot be resolved: {error}", host) from None
    return _checked(host, infos, allow_private)
