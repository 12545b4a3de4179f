"""calendars.caldav against a real Radicale (testbed.radicale_lab) and a plain HTTP server."""

from __future__ import annotations

import asyncio

import pytest

from calendars.caldav import CalDavError, read_calendars
from outbound.fetch import FetchError
from testbed.http_lab import HttpLab
from testbed.radicale_lab import running_radicale

pytestmark = pytest.mark.timeout(120)


def event(uid: str, summary: str, start: str = "20260105T090000Z") -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//EncryptoTel//tests//EN\r\n"
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{start}\r\n"
        f"DURATION:PT30M\r\nSUMMARY:{summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


TODO = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//EncryptoTel//tests//EN\r\n"
    "BEGIN:VTODO\r\nUID:todo-1\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:buy milk\r\n"
    "END:VTODO\r\nEND:VCALENDAR\r\n"
)


def read(url: str, user: str = "alice", password: str = "secret", **options):
    options.setdefault("allow_private", True)
    options.setdefault("max_bytes", 1024 * 1024)
    options.setdefault("timeout", 30.0)
    return asyncio.run(read_calendars(url, user, password, **options))


def summaries(snapshot) -> list[str]:
    found = []
    for data in snapshot.ics:
        text = data.decode()
        assert text.startswith("BEGIN:VCALENDAR")
        found += [line[8:] for line in text.splitlines() if line.startswith("SUMMARY:")]
    return sorted(found)


@pytest.fixture
def radicale(tmp_path):
    with running_radicale(tmp_path / "radicale") as lab:
        yield lab


@pytest.fixture
def work(radicale):
    """alice's calendar "work" with two events, and a task list that holds no events."""
    url = radicale.make_calendar("work")
    radicale.put(url, "standup.ics", event("standup-1", "standup"))
    radicale.put(url, "dentist.ics", event("dentist-1", "dentist", "20260107T140000Z"))
    tasks = radicale.make_calendar("tasks", components=("VTODO",))
    radicale.put(tasks, "milk.ics", TODO)
    return url


def test_discovery_from_the_server_root_finds_the_event_calendar(radicale, work):
    snapshot = read(radicale.url)
    assert [(c.url, c.name) for c in snapshot.calendars] == [(work, "work")]
    assert snapshot.calendars[0].ctag
    assert summaries(snapshot) == ["dentist", "standup"]


def test_the_calendar_url_and_the_principal_url_read_the_same(radicale, work):
    from_root = read(radicale.url)
    from_calendar = read(work)
    from_principal = read(f"{radicale.url}alice/")
    assert summaries(from_calendar) == summaries(from_principal) == ["dentist", "standup"]
    assert from_calendar.fingerprint == from_root.fingerprint == from_principal.fingerprint


def test_a_wrong_password_is_an_auth_error(radicale, work):
    for user, password in (("alice", "wrong"), ("mallory", "secret")):
        with pytest.raises(CalDavError) as caught:
            read(radicale.url, user, password)
        assert caught.value.code == "auth"
        assert password not in str(caught.value)


def test_the_fingerprint_changes_with_a_put_and_a_delete_only(radicale, work):
    first = read(radicale.url).fingerprint
    assert read(radicale.url).fingerprint == first  # nothing changed
    radicale.put(work, "lunch.ics", event("lunch-1", "lunch", "20260106T120000Z"))
    added = read(radicale.url)
    assert added.fingerprint != first
    assert summaries(added) == ["dentist", "lunch", "standup"]
    assert read(radicale.url).fingerprint == added.fingerprint
    radicale.delete(work, "dentist.ics")
    removed = read(radicale.url)
    assert removed.fingerprint not in (first, added.fingerprint)
    assert summaries(removed) == ["lunch", "standup"]


def test_a_changed_event_changes_the_fingerprint(radicale, work):
    first = read(work)
    radicale.put(work, "standup.ics", event("standup-1", "standup", "20260105T093000Z"))
    moved = read(work)
    assert moved.fingerprint != first.fingerprint
    assert any(b"DTSTART:20260105T093000Z" in data for data in moved.ics)


def test_the_address_rules_apply_to_caldav(radicale, work):
    with pytest.raises(FetchError) as caught:
        read(radicale.url, allow_private=False)
    assert caught.value.code == "private"


def test_a_plain_http_server_is_not_caldav():
    with HttpLab() as plain:
        plain.serve("/", b"<html><body>hello</body></html>", content_type="text/html")
        plain.serve("/cal.ics", event("x", "x").encode())
        for path in ("/", "/cal.ics", "/missing"):
            with pytest.raises(CalDavError) as caught:
                read(plain.url(path))
            assert caught.value.code == "not_caldav", path


def test_hostile_xml_is_refused_without_expanding_it():
    laughs = (
        b'<?xml version="1.0"?>\n<!DOCTYPE m [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>'
        b'<D:multistatus xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
        b"<D:response><D:href>/dav/</D:href><D:propstat><D:prop><D:displayname>&c;"
        b"</D:displayname><D:resourcetype><D:collection/><C:calendar/></D:resourcetype>"
        b"</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>"
        b"</D:multistatus>"
    )
    with HttpLab() as hostile:
        hostile.serve("/dav/", laughs, status=207, content_type="application/xml")
        with pytest.raises(CalDavError) as caught:
            read(hostile.url("/dav/"))
        assert caught.value.code == "not_caldav"


def test_relative_hrefs_and_a_calendar_home_elsewhere_are_followed():
    """A server answering with relative hrefs: the principal names its calendar home
    ("../home/"), the home its calendar ("cal/"), the calendar its event ("e1.ics")."""
    principal = (
        b'<?xml version="1.0"?><D:multistatus xmlns:D="DAV:" '
        b'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:response><D:href>./</D:href>'
        b"<D:propstat><D:prop><D:resourcetype><D:collection/></D:resourcetype>"
        b"<C:calendar-home-set><D:href>../home/</D:href></C:calendar-home-set></D:prop>"
        b"<D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>"
    )
    home = (
        b'<?xml version="1.0"?><D:multistatus xmlns:D="DAV:" '
        b'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:response><D:href>cal/</D:href>'
        b"<D:propstat><D:prop><D:resourcetype><D:collection/><C:calendar/></D:resourcetype>"
        b"<D:displayname>Home</D:displayname></D:prop>"
        b"<D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>"
    )
    data = event("rel-1", "relative").replace("\r\n", "\n")
    calendar = (
        '<?xml version="1.0"?><D:multistatus xmlns:D="DAV:" '
        'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:response><D:href>e1.ics</D:href>'
        '<D:propstat><D:prop><D:getetag>"1"</D:getetag>'
        f"<C:calendar-data>{data}</C:calendar-data></D:prop>"
        "<D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>"
    ).encode()
    with HttpLab() as server:
        xml = "application/xml"
        server.serve("/dav/principal/", principal, status=207, content_type=xml)
        server.serve("/dav/home/", home, status=207, content_type=xml)
        server.serve("/dav/home/cal/", calendar, status=207, content_type=xml)
        snapshot = read(server.url("/dav/principal/"))
        assert [(c.url, c.name) for c in snapshot.calendars] == [
            (server.url("/dav/home/cal/"), "Home")
        ]
        assert summaries(snapshot) == ["relative"]
        assert server.seen("/dav/home/cal/")[-1].method == "REPORT"
