"""A carrier's SIP trunk on 127.0.0.1 for integration tests: kamailio (testbed/carrier.cfg)
plus headless baresip "outside phones" registered under E.164 numbers, plain RTP.

    carrier = CarrierLab(user="trunkuser", password="s3cret", dids=["+33199000100"],
                         fixed_answers={"+33600000486": 486})
    carrier.plan_phone("+33612345678", ANSWER, 1000.0)   # before start (add_phone after)
    carrier.route_dids_to("127.0.0.1", exchange_port)    # before or after start
    carrier.start()
    ...                                                  # carrier.port, carrier.phones[number]
    carrier.invites()                                    # what the exchange sent
    carrier.stop()

Outbound (exchange -> carrier): every INVITE is challenged (407, realm `realm`, qop=auth);
the trunk user's or an outside phone's credentials are accepted, wrong ones get 403. The
request-URI user picks the target (host ignored, "336..." read as "+336..."): a direct
number goes to the exchange, a number of `fixed_answers` gets that code (486: busy; a code
below 200, e.g. 180, rings until cancelled, then 487), else the outside phone registered
under it (404 when none; a NO_ANSWER phone rings, a BUSY one answers 486).
The carrier record-routes, so ACK and BYE pass through it.

Inbound (carrier -> exchange): an outside phone dialling (`dial`) a number of `dids`
(exact E.164 numbers, or prefixes ending in "*") is relayed to the exchange address set by
`route_dids_to`/`exchange=`, unauthenticated, from the carrier's own socket
(127.0.0.1:`port`), the caller's From kept (sip:+14155550100@127.0.0.1:port) plus a
P-Asserted-Identity <sip:+14155550100@realm>; 480 while no exchange address is set.

`invites()` lists every initial INVITE that reached the carrier (not from its own outside
phones unless asked), challenged or not, oldest first, as dicts:
    auth      "none" (challenged: 407), "stale" (407 again), "bad" (403), "ok" (routed)
    user      digest username it carried, or None
    ruri      request URI, e.g. "sip:+33612345678@127.0.0.1:25062"
    from, to  the From and To header values
    pai, privacy, diversion   P-Asserted-Identity, Privacy, Diversion values, or None
    call_id   Call-ID
    source    "ip:port" it came from
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import socket
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from testbed.sip_lab import ANSWER, PORTS, Kamailio, LabError, Phone, SipLab

CARRIER_CFG = Path(__file__).resolve().parent / "carrier.cfg"
LOG_MARK = "CARRIER-INVITE "
_NUMBER = re.compile(r"\+?[0-9]+\*?")


@dataclass
class CarrierKamailio(Kamailio):
    """kamailio running testbed/carrier.cfg (see the module docstring)."""

    realm: str = "carrier.test"
    dids: tuple[str, ...] = ()
    exchange: str | None = None  # "host:port" that direct numbers are relayed to
    rpc_port: int = 0

    def _write_config(self) -> None:
        assert self.workdir is not None
        self.rpc_port = self.rpc_port or PORTS.sip_port()
        shutil.copy(CARRIER_CFG, self.workdir / "kamailio.cfg")
        (self.workdir / "kamailio-local.cfg").write_text(
            f"listen=udp:127.0.0.1:{self.port}\n"
            f'#!define RPC_SOCKET "udp:127.0.0.1:{self.rpc_port}"\n'
        )
        lines = ["event_route[htable:mod-init] {", f'\t$sht(cfg=>realm) = "{self.realm}";']
        lines += [f'\t$sht(users=>{user}) = "{pw}";' for user, pw in self.users.items()]
        lines += [f'\t$sht(answers=>{n}) = "{code}";' for n, code in self.fixed_answers.items()]
        if self.exchange:
            lines.append(f'\t$sht(route=>exchange) = "{self.exchange}";')
        lines += ["}", "", "route[IS_DID] {", f'\tif ($rU =~ "{did_pattern(self.dids)}") {{']
        lines += ["\t\treturn 1;", "\t}", "\treturn -1;", "}"]
        (self.workdir / "kamailio-accounts.cfg").write_text("\n".join(lines) + "\n")

    def rpc(self, method: str, *params: object, timeout: float = 3.0) -> Any:
        """Call a kamailio RPC command (jsonrpcs over UDP); return its result."""
        request = {"jsonrpc": "2.0", "method": method, "params": list(params), "id": 1}
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(timeout)
            sock.sendto(json.dumps(request).encode(), ("127.0.0.1", self.rpc_port))
            answer = json.loads(sock.recv(65535))
        if "error" in answer:
            raise LabError(f"carrier RPC {method} failed: {answer['error']}")
        return answer.get("result")


def did_pattern(dids: Iterable[str]) -> str:
    """A kamailio regex matching the direct numbers ("+33199000100", or "+331990001*")."""
    alternatives = []
    for did in dids:
        if not _NUMBER.fullmatch(did):
            raise ValueError(f"not an E.164 number or prefix: {did!r}")
        digits = did.lstrip("+").rstrip("*")
        alternatives.append("[+]" + digits + ("[0-9]*" if did.endswith("*") else ""))
    return "^(" + "|".join(alternatives) + ")$" if alternatives else "^[+][+]$"  # matches nothing


class CarrierLab(SipLab):
    """A carrier's SIP trunk: kamailio plus outside phones (see the module docstring)."""

    def __init__(
        self,
        *,
        user: str = "trunkuser",
        password: str | None = None,
        dids: Iterable[str] = (),
        exchange: tuple[str, int] | None = None,
        fixed_answers: dict[str, int] | None = None,
        realm: str = "carrier.test",
    ) -> None:
        super().__init__(dialer_user=user, dialer_password=password)
        self.kamailio: CarrierKamailio = CarrierKamailio(
            users=self.kamailio.users,
            fixed_answers=dict(fixed_answers or {}),
            realm=realm,
            dids=tuple(dids),
        )
        for did in self.kamailio.dids:
            did_pattern([did])  # fail early on a malformed number
        if exchange is not None:
            self.route_dids_to(*exchange)

    @property
    def user(self) -> str:
        """The trunk's digest username (what our exchange authenticates with)."""
        return self.dialer_user

    @property
    def password(self) -> str:
        return self.dialer_password

    @property
    def realm(self) -> str:
        return self.kamailio.realm

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def fixed_answers(self) -> dict[str, int]:
        """Numbers answered with a fixed final code (set before start)."""
        return self.kamailio.fixed_answers

    @fixed_answers.setter
    def fixed_answers(self, answers: dict[str, int]) -> None:
        self.kamailio.fixed_answers = dict(answers)

    def _running(self) -> bool:
        process = self.kamailio.process
        return process is not None and process.poll() is None

    def route_dids_to(self, host: str, port: int) -> None:
        """Relay calls to the direct numbers to `host`:`port` (our exchange), now or at start."""
        self.kamailio.exchange = f"{host}:{port}"
        if self._running():
            self.kamailio.rpc("htable.sets", "route", "exchange", self.kamailio.exchange)

    def add_phone(self, number: str, behaviour: str = ANSWER, tone_hz: float = 440.0) -> Phone:
        """Start an outside phone under `number` once the carrier runs; wait until registered."""
        phone = Phone(number, uuid.uuid4().hex[:12], self.port, behaviour, tone_hz)
        self.kamailio.users[number] = phone.password
        self.kamailio.rpc("htable.sets", "users", number, phone.password)
        self.start_phones([phone])
        return phone

    def dial(self, phone: Phone, number: str) -> None:
        """Make an outside phone call `number` through the carrier."""
        phone.command("dial", f"sip:{number}@{self.host}:{self.port}")

    def invites(self, include_phones: bool = False) -> list[dict[str, str | None]]:
        """Initial INVITEs received so far, oldest first (keys: see the module docstring);
        those sent by the carrier's outside phones only with `include_phones`."""
        phone_sources = {f"127.0.0.1:{phone.sip_port}" for phone in self.phones.values()}
        found = []
        for line in self.kamailio.log_text().splitlines():
            _, mark, payload = line.partition(LOG_MARK)
            if not mark:
                continue
            raw = json.loads(payload)
            invite: dict[str, str | None] = {
                key: (raw[key] if key in ("auth", "source") else _unbase64(raw[key])) for key in raw
            }
            if include_phones or invite["source"] not in phone_sources:
                found.append(invite)
        return found


def _unbase64(value: str) -> str | None:
    return base64.b64decode(value).decode(errors="replace") if value else None
