"""One HTTP request to a URL a user gave (a calendar feed, a CalDAV server), made safely.

Only http and https (`webcal://`, the scheme calendar apps give subscription links, is read
as https). Every hop's host is resolved and checked by `outbound.addresses` (loopback,
private, link-local, multicast and reserved addresses refused unless `allow_private`: no
SSRF into the service's own network) and the request goes to the address that was checked,
with the name in `Host` and in TLS SNI (so a name that resolves elsewhere a moment later,
DNS rebinding, gains nothing). Redirects are followed here, each target checked again. The
answer's body is read as a stream and cut past `max_bytes`; the whole exchange (DNS, every
hop, the body) is cut after `timeout` seconds, so a server that trickles bytes forever
costs `timeout` at most.

A URL may itself be a secret (the "secret address in iCal format" of Google, Fastmail,
Nextcloud): a FetchError's message names the scheme and host only, never the path, query,
user name or password.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from outbound.addresses import UnsafeUrl, is_public, parse, resolve_async

USER_AGENT = "EncryptoTel/1.0"
REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_BYTES = 5 * 1024 * 1024
# Caller headers that carry credentials: not sent to another origin after a redirect.
SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
CODES = (
    "scheme",  # not http(s) (also a redirect to another scheme)
    "host",  # not a valid URL, or one holding a user name or password
    "unresolved",  # the host name has no address
    "private",  # the host is in a loopback, private, link-local… network
    "redirects",  # more than max_redirects redirects
    "too_big",  # the body is longer than max_bytes
    "timeout",  # no complete answer within timeout seconds
    "status",  # the final answer is not 2xx nor 304 (FetchError.status holds it)
    "network",  # the connection failed (refused, reset, TLS, bad HTTP)
)


class FetchError(Exception):
    """A request that did not give an answer; `code` (stable, one of CODES) says why.

    `origin` is "scheme://host" of the hop at fault (safe to show), `status` the HTTP
    status for code "status". The message holds the origin and never the path, query or
    credentials of the URL.
    """

    def __init__(self, code: str, message: str, origin: str = "", status: int | None = None):
        super().__init__(f"{origin}: {message}" if origin else message)
        self.code = code
        self.origin = origin
        self.status = status


@dataclass(frozen=True)
class Fetched:
    """An answer: status (2xx, or 304 with an empty body), the final URL after redirects,
    headers (lower-case names; repeated ones joined by ", "), the body, and the validators
    to send next time (If-None-Match: etag, If-Modified-Since: last_modified)."""

    status: int
    url: str
    headers: dict[str, str]
    body: bytes
    etag: str | None
    last_modified: str | None


def normalize(url: str) -> str:
    """`url` without surrounding whitespace, with webcal:// (and webcals://) read as
    https:// (the webcal scheme is an unregistered alias calendar apps use for a
    subscription served over HTTP; every provider serves it over https)."""
    text = url.strip()
    scheme, separator, rest = text.partition("://")
    if separator and scheme.lower() in ("webcal", "webcals"):
        return f"https://{rest}"
    return text


def origin_of(url: str) -> str:
    """ "scheme://host" of `url` for messages (no port, path, query or credentials); ""
    when it has none."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    scheme = parts.scheme.lower()
    if scheme in ("http", "https") and host:
        return f"{scheme}://{host}"
    return host


async def fetch(
    url: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    allow_private: bool = False,
    max_bytes: int = MAX_BYTES,
    timeout: float = 15.0,
    max_redirects: int = 5,
    auth: tuple[str, str] | None = None,
    client: httpx.AsyncClient | None = None,
    allow_address: Callable[[str], bool] | None = None,
    verify: ssl.SSLContext | bool = True,
) -> Fetched:
    """Send `method` to `url` (normalized) and read the answer; raises FetchError.

    Redirects (301, 302, 303, 307, 308) are followed up to `max_redirects` hops, each
    target checked like the first URL; 303 (and 301/302 after a POST) continue as GET
    without a body, as browsers do (RFC 9110 15.4). `auth` (user, password) is sent as
    HTTP Basic (RFC 7617) to the first URL's origin only, as are caller headers holding
    credentials (Authorization, Cookie). Conditional GET: pass If-None-Match /
    If-Modified-Since in `headers`; a 304 answer is returned, not raised. `max_bytes`
    bounds the body as decoded (Content-Length past it is refused before reading).
    `timeout` (seconds) bounds the whole call. `client` may be shared by calls to one
    host; pooled connections are keyed by address, so don't share one across hosts.
    `allow_address(address) -> True` admits a non-public address although
    `allow_private` is false (tests make a loopback address stand for a public one).
    `verify`: how the clients made here check TLS certificates (httpx's `verify`: the
    system's CAs by default, or an SSLContext trusting a server's own CA).
    """
    start = _checked_url(normalize(url))
    where = [origin_of(str(start))]
    try:
        async with asyncio.timeout(timeout), contextlib.AsyncExitStack() as stack:
            clients = _Clients(stack, client, timeout, verify)
            request = _Hop(method.upper(), start, _base_headers(headers), body, auth)
            policy = _Policy(allow_private, allow_address)
            return await _follow(request, clients, where, max_redirects, max_bytes, policy)
    except TimeoutError:
        raise FetchError("timeout", f"no complete answer within {timeout:g} s", where[0]) from None


@dataclass(frozen=True)
class _Policy:
    allow_private: bool
    allow_address: Callable[[str], bool] | None


@dataclass(frozen=True)
class _Hop:
    method: str
    url: httpx.URL  # with the host name, never the address
    headers: dict[str, str]
    body: bytes | None
    auth: tuple[str, str] | None


class _Clients:
    """The caller's client, or one client per host (a TLS connection made for one name
    must not carry a request for another name served from the same address)."""

    def __init__(
        self,
        stack: contextlib.AsyncExitStack,
        given: httpx.AsyncClient | None,
        timeout: float,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.stack = stack
        self.given = given
        self.timeout = timeout
        self.verify = verify
        self.own: dict[str, httpx.AsyncClient] = {}

    async def for_host(self, host: str) -> httpx.AsyncClient:
        if self.given is not None:
            return self.given
        if host not in self.own:
            client = httpx.AsyncClient(
                timeout=self.timeout, follow_redirects=False, trust_env=False, verify=self.verify
            )
            self.own[host] = await self.stack.enter_async_context(client)
        return self.own[host]


def _base_headers(headers: dict[str, str] | None) -> dict[str, str]:
    merged = {"user-agent": USER_AGENT}
    for name, value in (headers or {}).items():
        if name.lower() != "host":
            merged[name.lower()] = value
    return merged


def _checked_url(url: str) -> httpx.URL:
    """`url` as httpx sees it, once outbound.addresses.parse accepts it."""
    origin = origin_of(url)
    try:
        parse(url)
        return httpx.URL(url).copy_with(fragment=None)
    except UnsafeUrl as refused:
        if refused.code == "scheme":
            raise FetchError(
                "scheme", "only http and https addresses can be read", origin
            ) from None
        try:
            parts = urlsplit(url)
            with_user = bool(parts.username or parts.password)
        except ValueError:
            with_user = False
        message = (
            "the address must not hold a user name or password (give them separately)"
            if with_user
            else "this is not a valid web address"
        )
        raise FetchError("host", message, origin) from None
    except (httpx.InvalidURL, ValueError):
        raise FetchError("host", "this is not a valid web address", origin) from None


async def _follow(
    hop: _Hop,
    clients: _Clients,
    where: list[str],
    max_redirects: int,
    max_bytes: int,
    policy: _Policy,
) -> Fetched:
    first_origin = (hop.url.scheme, hop.url.host, hop.url.port)
    for _ in range(max_redirects + 1):
        where[0] = origin_of(str(hop.url))
        address = (await _addresses(hop.url, policy, where[0]))[0]
        client = await clients.for_host(hop.url.host)
        same_origin = (hop.url.scheme, hop.url.host, hop.url.port) == first_origin
        response = await _send(client, hop, address, same_origin, where[0])
        try:
            location = response.headers.get("location")
            if response.status_code in REDIRECTS and location:
                hop = _redirected(hop, response.status_code, location, where[0])
                continue
            return await _read(response, hop.url, max_bytes, where[0])
        finally:
            await response.aclose()
    raise FetchError("redirects", f"more than {max_redirects} redirects", where[0])


async def _addresses(url: httpx.URL, policy: _Policy, origin: str) -> list[str]:
    """The checked addresses of the URL's host (DNS on the running loop)."""
    try:
        found = await resolve_async(str(url), True)
    except UnsafeUrl as refused:
        if refused.code == "unresolved":
            raise FetchError("unresolved", "this host name has no address", origin) from None
        raise FetchError(refused.code, "this is not a valid web address", origin) from None
    if policy.allow_private:
        return found
    for address in found:
        allowed = policy.allow_address is not None and policy.allow_address(address)
        if not allowed and not is_public(address):
            raise FetchError(
                "private",
                f"the host is in a private, loopback or link-local network ({address})",
                origin,
            )
    return found


async def _send(
    client: httpx.AsyncClient, hop: _Hop, address: str, same_origin: bool, origin: str
) -> httpx.Response:
    """Send the hop to `address` with the host name in Host and SNI (the pattern of
    webhooks.dispatcher); the response is streamed (the caller closes it)."""
    headers = dict(hop.headers)
    if not same_origin:
        for name in SECRET_HEADERS:
            headers.pop(name, None)
    elif hop.auth is not None:
        user, password = hop.auth
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        headers["authorization"] = f"Basic {token}"
    headers["host"] = hop.url.netloc.decode("ascii")
    extensions = (
        {"sni_hostname": hop.url.raw_host.decode("ascii")} if hop.url.scheme == "https" else {}
    )
    try:
        request = client.build_request(
            hop.method,
            hop.url.copy_with(host=address),
            content=hop.body,
            headers=headers,
            extensions=extensions,
        )
        return await client.send(request, stream=True, follow_redirects=False)
    except httpx.TimeoutException:
        raise FetchError("timeout", "the server did not answer in time", origin) from None
    except httpx.InvalidURL:
        raise FetchError("host", "this is not a valid web address", origin) from None
    except httpx.HTTPError as error:
        raise FetchError(
            "network", f"the connection failed ({type(error).__name__})", origin
        ) from None


def _redirected(hop: _Hop, status: int, location: str, origin: str) -> _Hop:
    """The next hop after a redirect answer (its target not yet resolved nor checked)."""
    try:
        target = hop.url.join(location.strip()).copy_with(fragment=None)
    except (httpx.InvalidURL, ValueError):
        raise FetchError("host", "the server redirected to an invalid address", origin) from None
    if target.scheme not in ("http", "https"):
        raise FetchError(
            "scheme", "the server redirected to an address that is not http(s)", origin
        )
    target = _checked_url(str(target))
    method, body, headers = hop.method, hop.body, hop.headers
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        method, body = "GET", None
        headers = {k: v for k, v in headers.items() if k not in ("content-type", "content-length")}
    return _Hop(method, target, headers, body, hop.auth)


async def _read(response: httpx.Response, url: httpx.URL, max_bytes: int, origin: str) -> Fetched:
    status = response.status_code
    if status != 304 and not 200 <= status < 300:
        raise FetchError("status", f"the server answered {status}", origin, status)
    body = b""
    if status != 304:
        body = await _body(response, max_bytes, origin)
    headers = {name.lower(): value for name, value in response.headers.items()}
    return Fetched(
        status, str(url), headers, body, headers.get("etag"), headers.get("last-modified")
    )


async def _body(response: httpx.Response, max_bytes: int, origin: str) -> bytes:
    too_big = FetchError("too_big", f"the answer is larger than {_size(max_bytes)}", origin)
    declared = response.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_big
    received = bytearray()
    try:
        async for chunk in response.aiter_bytes():
            received += chunk
            if len(received) > max_bytes:
                raise too_big
    except httpx.TimeoutException:
        raise FetchError("timeout", "the server did not answer in time", origin) from None
    except httpx.HTTPError as error:
        raise FetchError(
            "network", f"the answer broke off ({type(error).__name__})", origin
        ) from None
    return bytes(received)


def _size(count: int) -> str:
    if count >= 1024 * 1024:
        return f"{count / (1024 * 1024):g} MiB"
    if count >= 1024:
        return f"{count / 1024:g} KiB"
    return f"{count} bytes"
