"""A minimal CalDAV client (RFC 4791): find a user's event calendars and read their events.

Built on outbound.fetch, so every request (and every href a server hands back) goes
through the same address checks, size and time limits as any URL a user gives; the
`caldav` PyPI package is not used because it resolves names and opens connections itself,
where those checks could not be enforced. Answers are parsed with defusedxml (a server
is not trusted: no entity expansion, no external entities).

Discovery, without RFC 6764's DNS SRV / .well-known step: PROPFIND (Depth 0) on the URL
given; a calendar collection is used as is; otherwise its calendar-home-set (RFC 4791
6.2.1), or its current-user-principal's (RFC 5397), or the URL itself when it is a plain
collection, is listed (PROPFIND Depth 1) and every calendar in it that can hold VEVENTs
is read with a calendar-query REPORT (RFC 4791 7.8).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from urllib.parse import unquote, urljoin, urlsplit
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from outbound.fetch import MAX_BYTES, Fetched, FetchError, fetch, normalize, origin_of

DAV = "{DAV:}"
CALDAV = "{urn:ietf:params:xml:ns:caldav}"
CS = "{http://calendarserver.org/ns/}"
# Answers that mean "no WebDAV here" rather than a server failing (RFC 4918, RFC 9110).
NOT_DAV_STATUSES = frozenset({400, 404, 405, 406, 410, 415, 501})

PROPFIND = b"""<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"
            xmlns:CS="http://calendarserver.org/ns/">
  <D:prop>
    <D:resourcetype/><D:displayname/><D:current-user-principal/><D:sync-token/>
    <C:calendar-home-set/><C:supported-calendar-component-set/><CS:getctag/>
  </D:prop>
</D:propfind>
"""

CALENDAR_QUERY = b"""<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/><C:calendar-data/></D:prop>
  <C:filter>
    <C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"/></C:comp-filter>
  </C:filter>
</C:calendar-query>
"""

XML_TYPE = "application/xml; charset=utf-8"


class CalDavError(Exception):
    """A CalDAV account that could not be read; `code` (stable): "auth" (the server
    refused the credentials: 401/403), "not_caldav" (not a WebDAV server, or no event
    calendar found). `origin` is "scheme://host" (no path, no credentials)."""

    def __init__(self, code: str, message: str, origin: str = "") -> None:
        super().__init__(f"{origin}: {message}" if origin else message)
        self.code = code
        self.origin = origin


@dataclass(frozen=True)
class CalDavCalendar:
    """One event calendar: its URL, its display name (or last path segment), and its
    change tag (CS:getctag, else DAV:sync-token; None when the server gives neither)."""

    url: str
    name: str
    ctag: str | None


@dataclass(frozen=True)
class CalDavSnapshot:
    """Everything read from an account at one moment: the calendars, the calendar-data
    of every event resource (each a whole VCALENDAR text, UTF-8), and a fingerprint
    (hex) that changes when a calendar's change tag or the set of resource ETags does."""

    calendars: list[CalDavCalendar]
    ics: list[bytes]
    fingerprint: str


@dataclass(frozen=True)
class _Resource:
    url: str  # the href, absolute
    props: dict[str, Element]  # found properties (propstat 2xx), by Clark name


async def read_calendars(
    url: str,
    username: str,
    password: str,
    *,
    allow_private: bool = False,
    max_bytes: int = MAX_BYTES,
    timeout: float = 30.0,
) -> CalDavSnapshot:
    """Discover the event calendars at `url` (a server root, principal, calendar home or
    calendar URL; webcal:// is not CalDAV but normalized like any URL) and read all their
    events, authenticating with HTTP Basic.

    `max_bytes` bounds each answer, `timeout` (seconds) the whole reading. Raises
    CalDavError ("auth", "not_caldav") or outbound.fetch.FetchError (any of its codes:
    a host refused, too big, timeout, a server error…). Credentials are sent only to the
    origin (scheme, host, port) of `url`: a server whose hrefs name another host gets
    none there (a man in the middle of a plain-http answer cannot send them elsewhere).
    """
    start = normalize(url)
    session = _Session((username, password), allow_private, max_bytes, timeout, _origin(start))
    calendars = await _discover(session, start)
    ics: list[bytes] = []
    tags: list[tuple[str, str]] = []
    for calendar in calendars:
        for item_url, etag, data in await _events(session, calendar.url):
            ics.append(data)
            tags.append((item_url, etag or hashlib.sha256(data).hexdigest()))
    return CalDavSnapshot(calendars, ics, _fingerprint(calendars, tags))


class _Session:
    """The credentials and limits shared by one reading's requests."""

    def __init__(
        self,
        auth: tuple[str, str],
        allow_private: bool,
        max_bytes: int,
        timeout: float,
        origin: tuple[str, str, int | None],
    ) -> None:
        self.auth = auth
        self.origin = origin  # the only origin the credentials go to
        self.allow_private = allow_private
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.deadline = asyncio.get_running_loop().time() + timeout

    async def request(self, method: str, url: str, depth: str, body: bytes) -> Fetched:
        """One WebDAV request; 401/403 become CalDavError("auth"), answers meaning "no
        WebDAV here" CalDavError("not_caldav"), other failures pass as FetchError."""
        left = self.deadline - asyncio.get_running_loop().time()
        if left <= 0:
            raise FetchError(
                "timeout", f"no complete answer within {self.timeout:g} s", origin_of(url)
            )
        try:
            return await fetch(
                url,
                method=method,
                headers={"Depth": depth, "Content-Type": XML_TYPE},
                body=body,
                allow_private=self.allow_private,
                max_bytes=self.max_bytes,
                timeout=left,
                auth=self.auth if _origin(url) == self.origin else None,
            )
        except FetchError as error:
            if error.code == "status" and error.status in (401, 403):
                message = "the server refused the user name or password"
                raise CalDavError("auth", message, error.origin) from None
            if error.code == "status" and error.status in NOT_DAV_STATUSES:
                raise CalDavError("not_caldav", _NOT_CALDAV, error.origin) from None
            raise

    async def propfind(self, url: str, depth: str) -> list[_Resource]:
        return _multistatus(await self.request("PROPFIND", url, depth, PROPFIND))


_NOT_CALDAV = "this is not a CalDAV server"


def _origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of a URL (RFC 6454's origin), the port as written or the
    scheme's default."""
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


async def _discover(session: _Session, url: str) -> list[CalDavCalendar]:
    """The event calendars at `url` (module docstring: the discovery steps)."""
    found = await session.propfind(url, "0")
    if not found:
        raise CalDavError("not_caldav", _NOT_CALDAV, origin_of(url))
    first = found[0]
    if _is_calendar(first):
        if _holds_events(first):
            return [_calendar(first)]
        raise CalDavError("not_caldav", "this calendar holds no events", origin_of(url))
    homes = _hrefs(first, CALDAV + "calendar-home-set")
    principals = _hrefs(first, DAV + "current-user-principal")
    if not homes and principals and principals[0] != first.url:
        principal = await session.propfind(principals[0], "0")
        homes = _hrefs(principal[0], CALDAV + "calendar-home-set") if principal else []
    if not homes and _is_collection(first):
        homes = [first.url]
    calendars: dict[str, CalDavCalendar] = {}
    for home in homes:
        for child in await session.propfind(home, "1"):
            if _is_calendar(child) and _holds_events(child):
                calendars.setdefault(child.url, _calendar(child))
    if not calendars:
        raise CalDavError("not_caldav", "no event calendar was found here", origin_of(url))
    return list(calendars.values())


async def _events(session: _Session, calendar_url: str) -> list[tuple[str, str | None, bytes]]:
    """(resource URL, ETag, calendar-data) of the calendar's resources holding a VEVENT."""
    answer = await session.request("REPORT", calendar_url, "1", CALENDAR_QUERY)
    events = []
    for resource in _multistatus(answer):
        data = _text(resource, CALDAV + "calendar-data", strip=False)
        if data.strip():
            events.append((resource.url, _text(resource, DAV + "getetag") or None, data.encode()))
    return events


def _multistatus(answer: Fetched) -> list[_Resource]:
    """The <response>s of a 207 Multi-Status body (RFC 4918 13), hrefs made absolute
    against the URL that answered; CalDavError("not_caldav") when it is not one."""
    origin = origin_of(answer.url)
    try:
        root = fromstring(answer.body)
    except (ParseError, DefusedXmlException, ValueError):
        raise CalDavError("not_caldav", _NOT_CALDAV, origin) from None
    if root.tag != DAV + "multistatus":
        raise CalDavError("not_caldav", _NOT_CALDAV, origin)
    resources = []
    for response in root.findall(DAV + "response"):
        href = (response.findtext(DAV + "href") or "").strip()
        if not href:
            continue
        props: dict[str, Element] = {}
        for propstat in response.findall(DAV + "propstat"):
            status = (propstat.findtext(DAV + "status") or "").split()
            prop = propstat.find(DAV + "prop")
            if len(status) >= 2 and status[1].startswith("2") and prop is not None:
                props.update((child.tag, child) for child in prop)
        resources.append(_Resource(urljoin(answer.url, href), props))
    return resources


def _hrefs(resource: _Resource, name: str) -> list[str]:
    """The absolute URLs in property `name` (a list of DAV:href)."""
    prop = resource.props.get(name)
    if prop is None:
        return []
    hrefs = (href.text.strip() for href in prop.iter(DAV + "href") if href.text)
    return [urljoin(resource.url, href) for href in hrefs if href]


def _resource_types(resource: _Resource) -> set[str]:
    prop = resource.props.get(DAV + "resourcetype")
    return {child.tag for child in prop} if prop is not None else set()


def _is_calendar(resource: _Resource) -> bool:
    return CALDAV + "calendar" in _resource_types(resource)


def _is_collection(resource: _Resource) -> bool:
    return DAV + "collection" in _resource_types(resource)


def _holds_events(resource: _Resource) -> bool:
    """True unless supported-calendar-component-set leaves out VEVENT (absent: any
    component, RFC 4791 5.2.3)."""
    prop = resource.props.get(CALDAV + "supported-calendar-component-set")
    if prop is None:
        return True
    names = {(comp.get("name") or "").upper() for comp in prop.iter(CALDAV + "comp")}
    return not names or "VEVENT" in names


def _calendar(resource: _Resource) -> CalDavCalendar:
    name = _text(resource, DAV + "displayname")
    if not name:
        name = unquote(urlsplit(resource.url).path.rstrip("/").rsplit("/", 1)[-1])
    ctag = _text(resource, CS + "getctag") or _text(resource, DAV + "sync-token")
    return CalDavCalendar(resource.url, name, ctag or None)


def _text(resource: _Resource, name: str, strip: bool = True) -> str:
    """The text of property `name` ("" when absent or empty)."""
    prop = resource.props.get(name)
    text = (prop.text if prop is not None else None) or ""
    return text.strip() if strip else text


def _fingerprint(calendars: list[CalDavCalendar], tags: list[tuple[str, str]]) -> str:
    state = {
        "calendars": sorted([c.url, c.ctag or ""] for c in calendars),
        "resources": sorted([url, tag] for url, tag in tags),
    }
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()
