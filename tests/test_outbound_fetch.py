"""outbound.fetch against real HTTP servers on loopback addresses (testbed.http_lab).

127.0.0.2 plays a public host where a test needs one: `allow_address` admits it and
nothing else, so the private-address rule still judges every other hop.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from email.utils import formatdate

import httpx
import pytest

from outbound.fetch import FetchError, fetch, normalize
from testbed.http_lab import HttpLab, make_certificate
from testbed.prosody_lab import free_port

ICS = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"
PUBLIC = "127.0.0.2"  # stands for a public address in the redirect tests


def run(coroutine):
    return asyncio.run(coroutine)


def refused(url: str, **options) -> FetchError:
    with pytest.raises(FetchError) as caught:
        run(fetch(url, **options))
    return caught.value


def as_public(address: str) -> bool:
    return address == PUBLIC


@pytest.fixture(scope="module")
def lab():
    with HttpLab("127.0.0.1") as server:
        yield server


@pytest.fixture(scope="module")
def other():
    with HttpLab(PUBLIC) as server:
        yield server


# -- addresses ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "localhost",
        "10.1.2.3",
        "192.168.1.10",
        "172.16.0.1",
        "169.254.169.254",
        "0.0.0.0",
        "[::1]",
        "[::ffff:127.0.0.1]",
        "[fe80::1]",
        "[fd00::1]",
    ],
)
def test_private_hosts_are_refused_before_any_request(lab, host):
    lab.serve("/feed.ics", ICS)
    before = len(lab.requests)
    error = refused(f"http://{host}:{lab.port}/feed.ics")
    assert error.code == "private"
    assert len(lab.requests) == before


def test_allow_private_fetches_loopback_with_the_name_in_host(lab):
    lab.serve("/feed.ics", ICS)
    for host in ("127.0.0.1", "localhost"):
        got = run(fetch(f"http://{host}:{lab.port}/feed.ics", allow_private=True))
        assert (got.status, got.body) == (200, ICS)
        assert got.url == f"http://{host}:{lab.port}/feed.ics"
        assert got.headers["content-type"].startswith("text/calendar")
        assert lab.seen("/feed.ics")[-1].headers["host"] == f"{host}:{lab.port}"


@pytest.mark.parametrize(
    "url", ["ftp://example.com/a.ics", "file:///etc/passwd", "gopher://x/", "javascript:alert(1)"]
)
def test_other_schemes_are_refused(url):
    assert refused(url, allow_private=True).code == "scheme"


def test_invalid_urls_and_credentials_in_urls_are_refused():
    assert refused("http://", allow_private=True).code == "host"
    error = refused("https://alice:pa55word@example.com/cal.ics", allow_private=True)
    assert error.code == "host"
    assert "pa55word" not in str(error) and "alice" not in str(error)


def test_unknown_host_is_unresolved():
    error = refused("https://no-such-host.invalid/cal.ics")
    assert error.code == "unresolved"
    assert error.origin == "https://no-such-host.invalid"


def test_webcal_is_read_as_https():
    assert normalize("  webcal://example.com/a.ics\n") == "https://example.com/a.ics"
    assert normalize("WEBCALS://example.com/a.ics") == "https://example.com/a.ics"
    assert normalize(" http://example.com/a ") == "http://example.com/a"
    error = refused(" webcal://10.0.0.1/basic.ics ")
    assert (error.code, error.origin) == ("private", "https://10.0.0.1")


def test_a_refused_connection_is_a_network_error():
    error = refused(f"http://127.0.0.1:{free_port()}/x", allow_private=True)
    assert error.code == "network"


def test_https_is_verified_against_the_name_while_connecting_to_the_address(tmp_path):
    """The request goes to 127.0.0.1, the certificate names only "localhost": it is
    accepted for https://localhost (the name is sent in SNI and checked) and refused for
    https://127.0.0.1; the default trust store refuses the self-signed certificate."""
    cert, key = make_certificate(tmp_path, ("localhost",))

    async def fetch_with_lab_ca(url: str):
        context = ssl.create_default_context(cafile=str(cert))
        async with httpx.AsyncClient(verify=context, trust_env=False) as client:
            return await fetch(url, allow_private=True, client=client)

    with HttpLab("127.0.0.1", certificate=(cert, key)) as secure:
        secure.serve("/tls.ics", ICS)
        got = run(fetch_with_lab_ca(secure.url("/tls.ics", host="localhost")))
        assert (got.status, got.body) == (200, ICS)
        assert secure.seen("/tls.ics")[-1].headers["host"] == f"localhost:{secure.port}"
        with pytest.raises(FetchError) as caught:
            run(fetch_with_lab_ca(secure.url("/tls.ics")))
        assert caught.value.code == "network"
        untrusted = refused(secure.url("/tls.ics", host="localhost"), allow_private=True)
        assert untrusted.code == "network"


# -- redirects ---------------------------------------------------------------------------


def test_a_redirect_chain_is_followed(lab):
    lab.redirect("/r1", f"http://localhost:{lab.port}/r2", 301)
    lab.redirect("/r2", "/r3", 307)  # relative
    lab.redirect("/r3", "final", 308)  # relative to /r3's directory
    lab.serve("/final", ICS)
    got = run(fetch(lab.url("/r1"), allow_private=True))
    assert (got.status, got.body) == (200, ICS)
    assert got.url == f"http://localhost:{lab.port}/final"


def test_too_many_redirects(lab):
    lab.redirect("/loop", "/loop")
    assert refused(lab.url("/loop"), allow_private=True).code == "redirects"
    lab.redirect("/a", "/b")
    lab.redirect("/b", "/c")
    lab.serve("/c", ICS)
    assert run(fetch(lab.url("/a"), allow_private=True, max_redirects=2)).body == ICS
    error = refused(lab.url("/a"), allow_private=True, max_redirects=1)
    assert error.code == "redirects"


@pytest.mark.parametrize("target", ["file:///etc/passwd", "ftp://example.com/x", "gopher://x/"])
def test_a_redirect_to_another_scheme_is_refused(lab, target):
    lab.redirect("/to-scheme", target)
    assert refused(lab.url("/to-scheme"), allow_private=True).code == "scheme"


def test_a_redirect_from_a_public_host_to_a_private_one_is_refused(lab, other):
    other.serve("/direct.ics", ICS)
    assert run(fetch(other.url("/direct.ics"), allow_address=as_public)).body == ICS
    lab.serve("/inside", b"internal")
    before = len(lab.requests)
    for target in (
        lab.url("/inside"),
        f"http://localhost:{lab.port}/inside",
        "http://10.0.0.1/inside",
        f"http://[::1]:{lab.port}/inside",
    ):
        other.redirect("/hop", target)
        error = refused(other.url("/hop"), allow_address=as_public)
        assert error.code == "private", target
    assert len(lab.requests) == before  # never reached


def test_basic_auth_goes_to_the_first_host_only(lab, other):
    lab.serve("/same-final", ICS)
    lab.redirect("/same", "/same-final")
    run(fetch(lab.url("/same"), allow_private=True, auth=("alice", "pa55word")))
    assert lab.seen("/same")[-1].headers["authorization"].startswith("Basic ")
    assert lab.seen("/same-final")[-1].headers["authorization"].startswith("Basic ")

    other.serve("/elsewhere", ICS)
    lab.redirect("/away", other.url("/elsewhere"))
    got = run(
        fetch(
            lab.url("/away"),
            allow_private=True,
            auth=("alice", "pa55word"),
            headers={"Cookie": "session=1"},
        )
    )
    assert got.url == other.url("/elsewhere")
    assert "authorization" in lab.seen("/away")[-1].headers
    arrived = other.seen("/elsewhere")[-1].headers
    assert "authorization" not in arrived and "cookie" not in arrived


def test_303_turns_into_get_and_307_keeps_the_method(lab):
    lab.serve("/target", b"ok")
    lab.redirect("/see-other", "/target", 303)
    lab.redirect("/temporary", "/target", 307)
    run(fetch(lab.url("/see-other"), method="POST", body=b"payload", allow_private=True))
    seen = lab.seen("/target")[-1]
    assert (seen.method, seen.body) == ("GET", b"")
    run(fetch(lab.url("/temporary"), method="POST", body=b"payload", allow_private=True))
    seen = lab.seen("/target")[-1]
    assert (seen.method, seen.body) == ("POST", b"payload")


# -- conditional GET ---------------------------------------------------------------------


def test_etag_gives_304_until_the_body_changes(lab):
    lab.serve("/etag.ics", ICS)
    first = run(fetch(lab.url("/etag.ics"), allow_private=True))
    assert first.etag
    again = run(
        fetch(lab.url("/etag.ics"), allow_private=True, headers={"If-None-Match": first.etag})
    )
    assert (again.status, again.body, again.etag) == (304, b"", first.etag)
    lab.serve("/etag.ics", ICS + b"changed")
    changed = run(
        fetch(lab.url("/etag.ics"), allow_private=True, headers={"If-None-Match": first.etag})
    )
    assert changed.status == 200 and changed.body.endswith(b"changed")
    assert changed.etag != first.etag


def test_last_modified_gives_304_until_it_is_newer(lab):
    lab.serve("/lm.ics", ICS, etag=None, last_modified=time.time() - 3600)
    first = run(fetch(lab.url("/lm.ics"), allow_private=True))
    assert first.etag is None and first.last_modified
    since = {"If-Modified-Since": first.last_modified}
    again = run(fetch(lab.url("/lm.ics"), allow_private=True, headers=since))
    assert (again.status, again.body) == (304, b"")
    lab.serve("/lm.ics", ICS, etag=None, last_modified=time.time())
    newer = run(fetch(lab.url("/lm.ics"), allow_private=True, headers=since))
    assert newer.status == 200 and newer.body == ICS
    assert newer.last_modified != formatdate(0, usegmt=True)


# -- limits ------------------------------------------------------------------------------


@pytest.mark.parametrize("content_length", [True, False])
def test_a_body_over_max_bytes_is_cut(lab, content_length):
    lab.huge("/huge", 3 * 1024 * 1024, content_length=content_length)
    error = refused(lab.url("/huge"), allow_private=True, max_bytes=1024 * 1024)
    assert error.code == "too_big"
    lab.huge("/exact", 1000, content_length=content_length)
    assert len(run(fetch(lab.url("/exact"), allow_private=True, max_bytes=1000)).body) == 1000


def test_a_trickling_server_is_cut_by_the_timeout(lab):
    lab.stall("/stall")
    assert refused(lab.url("/stall"), allow_private=True, timeout=1).code == "timeout"


def test_a_silent_server_is_cut_by_the_timeout(lab):
    lab.silent("/silent")
    assert refused(lab.url("/silent"), allow_private=True, timeout=1).code == "timeout"


def test_a_final_error_status_keeps_the_status(lab):
    error = refused(lab.url("/missing"), allow_private=True)
    assert (error.code, error.status) == ("status", 404)
    lab.serve("/broken", b"oops", status=500)
    error = refused(lab.url("/broken"), allow_private=True)
    assert (error.code, error.status) == ("status", 500)


# -- secrets -----------------------------------------------------------------------------


def test_messages_hold_no_path_query_or_credentials(lab, other):
    secret_path = "/s3cr3t-feed-7f3a/basic.ics"
    query = "?token=t0ken-9b1c"
    lab.serve(secret_path, b"x" * 5000)
    lab.stall("/s3cr3t-stall")
    lab.redirect("/s3cr3t-loop", "/s3cr3t-loop")
    other.redirect("/s3cr3t-hop", lab.url(secret_path) + query)
    auth = ("alice", "pa55word")
    errors = [
        refused(lab.url(secret_path) + query, auth=auth),  # private
        refused(lab.url(secret_path) + query, auth=auth, allow_private=True, max_bytes=10),
        refused(lab.url("/s3cr3t-stall") + query, auth=auth, allow_private=True, timeout=1),
        refused(lab.url("/s3cr3t-loop") + query, auth=auth, allow_private=True),
        refused(lab.url("/s3cr3t-missing") + query, auth=auth, allow_private=True),
        refused(f"http://127.0.0.1:{free_port()}{secret_path}{query}", allow_private=True),
        refused(other.url("/s3cr3t-hop") + query, auth=auth, allow_address=as_public),
        refused(f"webcal://alice:pa55word@example.com{secret_path}{query}"),
        refused(f"https://no-such-host.invalid{secret_path}{query}", auth=auth),
    ]
    codes = [error.code for error in errors]
    assert codes == [
        "private",
        "too_big",
        "timeout",
        "redirects",
        "status",
        "network",
        "private",
        "host",
        "unresolved",
    ]
    for error in errors:
        text = f"{error} {error!r} {error.origin}"
        for secret in ("s3cr3t", "t0ken", "pa55word", "alice"):
            assert secret not in text, (error.code, text)
        assert error.__cause__ is None


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2001:4860:4860::8888", True),
        ("64:ff9b::808:808", True),  # NAT64 to a public IPv4 address
        ("2002:808:808::1", True),  # 6to4 of a public one
        ("64:ff9b::a00:1", False),  # NAT64 to 10.0.0.1
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 to 169.254.169.254 (cloud metadata)
        ("64:ff9b:1::a00:1", False),  # local-use NAT64 (RFC 8215)
        ("2002:7f00:1::", False),  # 6to4 of 127.0.0.1
        ("::7f00:1", False),  # IPv4-compatible 127.0.0.1
        ("::ffff:10.1.2.3", False),  # IPv4-mapped
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo, client 192.0.2.45
        ("192.0.0.8", False),  # IETF protocol assignments
    ],
)
def test_addresses_that_carry_a_private_ipv4_address_are_not_public(address, public):
    from outbound.addresses import is_public

    assert is_public(address) is public
