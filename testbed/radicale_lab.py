"""A real Radicale CalDAV server (Debian's package) on 127.0.0.1 for tests.

Its configuration is written per run in a temporary directory (never /etc/radicale):
collections stored in that directory, htpasswd authentication with a plain-text file
(the lab's accounts, "alice:secret" by default), `owner_only` rights (each user sees only
their own collections), no web interface, its log (stderr) in `radicale.log` there.
Radicale runs under the system's /usr/bin/python3 (the Debian package), never the venv.

    with running_radicale(tmp_path) as lab:
        calendar = lab.make_calendar("work")
        lab.put(calendar, "standup.ics", ICS)
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from xml.sax.saxutils import escape

import httpx

from testbed.prosody_lab import free_port, require, terminate

START_TIMEOUT = 30  # seconds for radicale to answer after it starts

CONFIG = """\
[server]
hosts = 127.0.0.1:{port}

[auth]
type = htpasswd
htpasswd_filename = {run}/users
htpasswd_encryption = plain
delay = 0

[rights]
type = owner_only

[storage]
filesystem_folder = {run}/collections

[web]
type = none

[logging]
level = info
mask_passwords = True
"""

MKCALENDAR = """\
<?xml version="1.0" encoding="utf-8"?>
<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:set><D:prop>
    <D:displayname>{name}</D:displayname>
    <C:supported-calendar-component-set>{components}</C:supported-calendar-component-set>
  </D:prop></D:set>
</C:mkcalendar>
"""


class RadicaleLab:
    """One radicale process with its own directory, port and accounts.

    `url` is the server's root (a CalDAV client discovers the user's calendars from it),
    `user` / `password` the first account's credentials.
    """

    def __init__(self, run_dir: Path, users: dict[str, str] | None = None) -> None:
        self.run_dir = run_dir
        self.users = dict(users or {"alice": "secret"})
        self.user, self.password = next(iter(self.users.items()))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.config = run_dir / "radicale.conf"
        self.process: subprocess.Popen | None = None

    def start(self) -> RadicaleLab:
        """Write the config and accounts, start radicale, wait until it answers HTTP."""
        radicale = require("radicale", "radicale")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "collections").mkdir(exist_ok=True)
        (self.run_dir / "users").write_text(
            "".join(f"{user}:{password}\n" for user, password in self.users.items())
        )
        self.config.write_text(CONFIG.format(run=self.run_dir, port=self.port))
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        log = open(self.run_dir / "radicale.log", "ab")
        self.process = subprocess.Popen(
            [radicale, "--config", str(self.config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )
        log.close()
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"radicale exited at start:\n{self.logs()}")
            try:
                httpx.get(self.url, timeout=1, trust_env=False)
                return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError(f"radicale did not answer on port {self.port}:\n{self.logs()}")

    def stop(self) -> None:
        """Stop radicale (SIGTERM, then SIGKILL after 10 s)."""
        terminate(self.process)

    def logs(self) -> str:
        """The end of radicale's log (for failure messages)."""
        path = self.run_dir / "radicale.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def request(
        self, method: str, url: str, body: str | bytes | None = None, **headers: str
    ) -> httpx.Response:
        """One request as the lab's first user (Basic auth); raises on a non-2xx answer."""
        response = httpx.request(
            method,
            url,
            content=body,
            headers={k.replace("_", "-"): v for k, v in headers.items()},
            auth=(self.user, self.password),
            timeout=30,
            trust_env=False,
        )
        if not response.is_success:
            raise RuntimeError(f"{method} {url}: {response.status_code} {response.text[:500]}")
        return response

    def make_calendar(
        self, name: str | None = None, components: tuple[str, ...] = ("VEVENT",)
    ) -> str:
        """MKCALENDAR (RFC 4791 5.3.1) /user/<name>/ holding `components`; its URL."""
        name = name or f"cal-{uuid.uuid4().hex[:8]}"
        url = f"{self.url}{self.user}/{name}/"
        self.request("PROPFIND", f"{self.url}{self.user}/", Depth="0")  # creates the principal
        parts = "".join(f'<C:comp name="{c}"/>' for c in components)
        body = MKCALENDAR.format(name=escape(name), components=parts)
        self.request("MKCALENDAR", url, body, Content_Type="application/xml; charset=utf-8")
        return url

    def put(self, calendar_url: str, name: str, ics_text: str) -> str:
        """PUT an iCalendar resource `name` (e.g. "standup.ics") into the calendar; its ETag."""
        response = self.request(
            "PUT",
            calendar_url + name,
            ics_text.encode(),
            Content_Type="text/calendar; charset=utf-8",
        )
        return response.headers.get("etag", "")

    def delete(self, calendar_url: str, name: str) -> None:
        """DELETE the resource `name` of the calendar."""
        self.request("DELETE", calendar_url + name)


@contextmanager
def running_radicale(run_dir: Path, users: dict[str, str] | None = None) -> Iterator[RadicaleLab]:
    """A started RadicaleLab in `run_dir`, stopped on exit (the body of a pytest fixture:
    `with running_radicale(tmp_path_factory.mktemp("radicale")) as lab: yield lab`)."""
    lab = RadicaleLab(run_dir, users).start()
    try:
        yield lab
    finally:
        lab.stop()
