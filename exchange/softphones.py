"""Softphone (SIP) credentials: every account's phones register to our kamailio as its
extension, with one password per account.

The user name is the account's free internal number (`AccountStore.extension`), the
domain (digest realm) `PBX_DOMAIN`. Only the digest HA1 of the password is kept,
MD5(username ":" realm ":" password) as RFC 2617 and RFC 8760 (MD5) define it, which is
what kamailio checks a REGISTER or an INVITE against (`ha1`, asked through our control
API). The password is made here, shown once to its owner, and never stored nor logged:
a user who lost it asks for a new one (`reset`), and the old one stops working. The HA1
binds the realm: after a change of `PBX_DOMAIN` every password must be made again.

Every phone and app of the account may register at once with the same credentials
(kamailio keeps one contact per device).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from domain.numbers import EXTENSION
from exchange.config import existing_control_token
from exchange.rpc import KamailioRpc
from settings import Settings
from storage.accounts import AccountStore

log = logging.getLogger(__name__)

# Lower-case letters and digits without the look-alikes (0 o, 1 l i), so the password
# reads and types unambiguously on any phone or app: 20 of 31 symbols, about 99 bits.
PASSWORD_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
PASSWORD_LENGTH = 20


@dataclass(frozen=True)
class SoftphoneCredentials:
    """What a softphone needs to register: the SIP domain (server and digest realm), the
    user name (the account's extension), and the transports' ports (`udp_port` serves UDP
    and TCP, `tls_port` TLS). `password` is the password made by this request, None when
    one existed already (it was shown once, when it was made)."""

    domain: str
    username: str
    password: str | None = field(repr=False)
    udp_port: int
    tls_port: int

    def as_dict(self) -> dict[str, str | int | None]:
        """The credentials as JSON-ready values (`password` None when not made now)."""
        return {
            "domain": self.domain,
            "username": self.username,
            "password": self.password,
            "udp_port": self.udp_port,
            "tls_port": self.tls_port,
        }


def digest_ha1(username: str, realm: str, password: str) -> str:
    """MD5(username ":" realm ":" password) as 32 lowercase hex digits: the HA1 of HTTP
    digest authentication (RFC 2617 section 3.2.2.2, RFC 8760 for SIP), UTF-8 encoded."""
    return hashlib.md5(f"{username}:{realm}:{password}".encode(), usedforsecurity=False).hexdigest()


def new_password() -> str:
    """A fresh random password: PASSWORD_LENGTH symbols of PASSWORD_ALPHABET (`secrets`)."""
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))


class Softphones:
    """The softphone credentials of every account, and their check for kamailio."""

    def __init__(self, accounts: AccountStore, settings: Settings) -> None:
        self.accounts = accounts
        self.domain = settings.PBX_DOMAIN
        self.udp_port = settings.PBX_SIP_PORT
        self.tls_port = settings.PBX_TLS_PORT
        # kamailio caches each user's HA1: told at once when a password is replaced.
        self.rpc_url = f"http://127.0.0.1:{settings.PBX_RPC_PORT}/RPC"
        self.run_dir = Path(settings.PBX_RUN_DIR).resolve()
        self.pbx_enabled = settings.PBX_ENABLED

    def credentials(self, account_id: int, *, reset: bool = False) -> SoftphoneCredentials:
        """The account's credentials, its extension allocated if it had none.

        A password is made when the account has none yet, or on `reset` (the old one then
        no longer authenticates); `password` holds it only then, None otherwise. Raises
        KeyError for an unknown account.
        """
        username = self.accounts.extension(account_id)
        password = new_password()
        ha1 = digest_ha1(username, self.domain, password)
        stored = self.accounts.set_sip_ha1(account_id, ha1, only_if_none=not reset)
        if stored and reset:
            self._tell_kamailio(username)
        if stored:
            log.info(
                "softphone password %s for account %s (%s)",
                "reset" if reset else "made",
                account_id,
                username,
            )
        return SoftphoneCredentials(
            domain=self.domain,
            username=username,
            # None: one exists (made before, or by a request at the same moment).
            password=password if stored else None,
            udp_port=self.udp_port,
            tls_port=self.tls_port,
        )

    def _tell_kamailio(self, username: str) -> None:
        """Drop kamailio's cache and registrations of `username` (a new password); nothing
        to do when the exchange is off or has never run here (no token: no kamailio)."""
        token = existing_control_token(self.run_dir) if self.pbx_enabled else None
        if token is not None:
            KamailioRpc(self.rpc_url, token).forget_credentials(username)

    def ha1(self, username: str) -> str | None:
        """The stored HA1 of the extension `username` (for kamailio's digest check); None
        for a user name that is no extension, an unknown one, or one with no password."""
        if not isinstance(username, str) or not EXTENSION.match(username):
            return None
        return self.accounts.sip_ha1(username)

    def verify(self, username: str, password: str) -> bool:
        """Whether `password` is the current softphone password of the extension
        `username` (HA1s compared in constant time)."""
        stored = self.ha1(username)
        if stored is None or not isinstance(password, str):
            return False
        given = digest_ha1(username, self.domain, password)
        return hmac.compare_digest(given.encode(), stored.encode())
