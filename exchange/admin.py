"""Operators' tools of the exchange: `python main.py admin softphone ...`.

    softphone IDENTITY [--reset] [--json]
        the softphone (SIP) credentials of the account of IDENTITY (`network:id`, such as
        `telegram:12345`, `xmpp:ann@example.org`, `console:alice`), the account created
        when it does not exist yet; a password is shown only when it is made now (the
        account's first, or a new one with --reset, which ends the old one)

    engines
        write kamailio's and rtpengine's configuration from the PBX_* settings into
        PBX_RUN_DIR (with a self-signed certificate when PBX_TLS_CERT is not set) and
        print the command line of each engine: for PBX_ENGINES=external, where they run
        as system services (deploy/exchange/README.md)

Every other `admin` command is the wallet's (wallet/admin.py); main.py routes them.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys

from exchange.config import ExchangeConfig, kamailio_command, rtpengine_command, write
from exchange.softphones import SoftphoneCredentials, Softphones
from settings import Settings, SettingsError, load_settings
from storage import open_database
from storage.accounts import AccountStore

# The networks an identity may name, as the chat adapters store their users.
NETWORKS = ("telegram", "xmpp", "console")
MAX_EXTERNAL_ID = 255  # Identity.external_id


class IdentityError(ValueError):
    """An IDENTITY argument that names no possible user; the message says why."""


def parse_identity(text: str) -> tuple[str, str]:
    """`network:id` as (network, external id) the way the adapters store it: a Telegram
    user id (digits), a bare JID (lower case, no resource), a console user name. Raises
    IdentityError for anything else."""
    network, colon, external_id = text.partition(":")
    network = network.strip().lower()
    external_id = external_id.strip()
    if not colon or network not in NETWORKS:
        raise IdentityError(
            f"IDENTITY must be NETWORK:ID with NETWORK one of {', '.join(NETWORKS)}"
        )
    if (
        not external_id
        or len(external_id) > MAX_EXTERNAL_ID
        or any(c.isspace() for c in external_id)
    ):
        raise IdentityError(
            f"the {network} id must be 1 to {MAX_EXTERNAL_ID} characters, no spaces"
        )
    if network == "telegram" and not (external_id.isascii() and external_id.isdigit()):
        raise IdentityError("a telegram id is the user's number, such as telegram:12345")
    if network == "xmpp":
        bare = external_id.split("/", 1)[0].lower()
        node, at, domain = bare.partition("@")
        if not (node and at and domain and "@" not in domain):
            raise IdentityError("an xmpp id is a JID, such as xmpp:ann@example.org")
        external_id = bare
    return network, external_id


def build_parser() -> argparse.ArgumentParser:
    """The exchange's `admin` command line."""
    parser = argparse.ArgumentParser(
        prog="main.py admin", description="EncryptoTel operators' tools (exchange)."
    )
    parser.add_argument("--database", help="database URL (default: DATABASE_URL)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    softphone = commands.add_parser(
        "softphone",
        help="an account's softphone (SIP) credentials",
        description="The SIP domain, user name (the account's extension) and ports its "
        "softphones register with; the password only when it is made now (the account's "
        "first, or with --reset). The account is created when it does not exist yet.",
    )
    softphone.add_argument("identity", metavar="IDENTITY", help="network:id, e.g. telegram:12345")
    softphone.add_argument(
        "--reset", action="store_true", help="make a new password (the old one stops working)"
    )
    softphone.add_argument("--json", action="store_true", help="print the credentials as JSON")
    softphone.add_argument("--database", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    commands.add_parser(
        "engines",
        help="write kamailio's and rtpengine's configuration, print their commands",
        description="For PBX_ENGINES=external: writes the configurations into PBX_RUN_DIR "
        "and prints the command line of each engine (for its systemd unit).",
    )
    return parser


def main(argv: list[str]) -> int:
    """Run one exchange admin command; return the exit status (2: bad arguments or
    settings)."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    if args.command == "engines":
        return _engines(settings)
    try:
        network, external_id = parse_identity(args.identity)
    except IdentityError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    engine = open_database(args.database or settings.DATABASE_URL)
    try:
        accounts = AccountStore(engine)
        account = accounts.resolve(
            network,
            external_id,
            language=settings.DEFAULT_LANGUAGE,
            timezone=settings.DEFAULT_TIMEZONE,
        )
        credentials = Softphones(accounts, settings).credentials(account.id, reset=args.reset)
    finally:
        engine.dispose()
    print(json.dumps(credentials.as_dict()) if args.json else readable(credentials, account.id))
    return 0


def _engines(settings: Settings) -> int:
    config = write(ExchangeConfig.from_settings(settings))
    print(f"configuration written to {config.run_dir}")
    print("kamailio:  " + shlex.join(kamailio_command(config)))
    print("rtpengine: " + shlex.join(rtpengine_command(config)))
    return 0


def readable(credentials: SoftphoneCredentials, account_id: int) -> str:
    """The credentials as a block of lines for a person."""
    password = credentials.password
    if password is None:
        password = "(shown once when it was made; --reset makes a new one)"
    return "\n".join(
        [
            f"account   {account_id}",
            f"domain    {credentials.domain}",
            f"username  {credentials.username}",
            f"password  {password}",
            f"udp/tcp   {credentials.udp_port}",
            f"tls       {credentials.tls_port}",
        ]
    )
