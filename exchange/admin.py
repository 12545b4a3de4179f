"""Operators' tools of the exchange: `python main.py admin softphone|did|engines ...`.

    softphone IDENTITY [--reset] [--json]
        the softphone (SIP) credentials of the account of IDENTITY (`network:id`, such as
        `telegram:12345`, `xmpp:ann@example.org`, `console:alice`), the account created
        when it does not exist yet; a password is shown only when it is made now (the
        account's first, or a new one with --reset, which ends the old one)

    did list [--json]
        every direct number of the pool (DID_POOL, added to the table first) with the
        account holding it and that account's extension; a number dropped from DID_POOL
        stays listed while someone holds it
    did assign NUMBER IDENTITY
        give a direct number of DID_POOL to the account of IDENTITY (created when it does
        not exist yet, with its extension); refused when another account holds it
    did release NUMBER
        make a direct number free again (also one no longer in DID_POOL)

    engines
        write kamailio's and rtpengine's configuration from the PBX_* settings into
        PBX_RUN_DIR (with a self-signed certificate when PBX_TLS_CERT is not set) and
        print the command line of each engine: for PBX_ENGINES=external, where they run
        as system services (deploy/exchange/README.md)

Every other `admin` command is the wallet's (wallet/admin.py); main.py routes them.
A bad argument (identity, number, a number taken or not in DID_POOL) is one line on
stderr, `error: ...`, and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys

from domain.numbers import is_e164, normalize
from exchange.config import ExchangeConfig, kamailio_command, rtpengine_command, write
from exchange.softphones import SoftphoneCredentials, Softphones
from settings import Settings, SettingsError, load_settings
from storage import NoDatabase, open_existing_database
from storage.accounts import AccountStore
from storage.dids import DidError, DidStore

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
    did = commands.add_parser(
        "did",
        help="direct numbers (DID_POOL): list, assign, release",
        description="The direct numbers the carrier routes to us (DID_POOL) and the "
        "accounts holding them.",
    )
    did.add_argument("--database", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    did_commands = did.add_subparsers(dest="did_command", metavar="ACTION", required=True)
    did_list = did_commands.add_parser(
        "list", help="every number with its holder's extension (the pool synced first)"
    )
    did_list.add_argument("--json", action="store_true", help="print a JSON array")
    assign = did_commands.add_parser(
        "assign",
        help="give a number of DID_POOL to an account",
        description="The account of IDENTITY is created when it does not exist yet.",
    )
    assign.add_argument("number", metavar="NUMBER", help="E.164, e.g. +33199000100")
    assign.add_argument("identity", metavar="IDENTITY", help="network:id, e.g. telegram:12345")
    release = did_commands.add_parser("release", help="make a number free again")
    release.add_argument("number", metavar="NUMBER", help="E.164, e.g. +33199000100")
    for action in (did_list, assign, release):
        action.add_argument("--database", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
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
    if args.command == "did":
        try:
            return _did(args, settings)
        except (IdentityError, NumberError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    try:
        network, external_id = parse_identity(args.identity)
    except IdentityError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        engine = open_existing_database(args.database or settings.DATABASE_URL)
    except NoDatabase as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
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


class NumberError(ValueError):
    """A NUMBER argument that names no direct number the command can use (not E.164, not
    in DID_POOL, held by another account); the message says why."""


def _did(args: argparse.Namespace, settings: Settings) -> int:
    """`admin did list|assign|release`. Raises IdentityError or NumberError (reported as
    one line `error: ...`, exit status 2), checked before anything is changed."""
    pool = settings.did_pool
    number = _e164(args.number) if "number" in args else ""
    identity = parse_identity(args.identity) if "identity" in args else None
    try:
        engine = open_existing_database(args.database or settings.DATABASE_URL)
    except NoDatabase as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        dids, accounts = DidStore(engine), AccountStore(engine)
        dids.sync_pool(pool)
        if args.did_command == "list":
            rows = did_rows(dids, accounts, set(pool))
            print(json.dumps(rows) if args.json else _readable_rows(rows))
            return 0
        if args.did_command == "release":
            print(_release(dids, accounts, pool, number))
            return 0
        assert identity is not None  # argparse: assign has IDENTITY
        print(_assign(dids, accounts, settings, number, identity))
        return 0
    finally:
        engine.dispose()


def _e164(text: str) -> str:
    """NUMBER as E.164 (separators dropped, 00 read as +). Raises NumberError."""
    number = normalize(text)
    if not is_e164(number):
        raise NumberError(f"{text!r} is not an E.164 number such as +33199000100")
    return number


def _assign(
    dids: DidStore,
    accounts: AccountStore,
    settings: Settings,
    number: str,
    identity: tuple[str, str],
) -> str:
    """Give `number` (of DID_POOL, free or already this account's) to the account of
    `identity`, created when new, with its extension (which the number's calls ring).
    Raises NumberError before any account is created when the number is not in the
    pool or another account holds it."""
    if number not in settings.did_pool:
        raise NumberError(f"{number} is not in DID_POOL")
    holder = dids.owner(number)
    known = accounts.find_by_identity(*identity)
    if holder is not None and (known is None or known.id != holder):
        raise NumberError(f"{number} is held by {_holder(accounts, holder)}; release it first")
    account = known or accounts.resolve(
        *identity, language=settings.DEFAULT_LANGUAGE, timezone=settings.DEFAULT_TIMEZONE
    )
    accounts.extension(account.id)
    try:
        dids.assign(number, account.id)
    except DidError as error:  # taken a moment ago by another operator
        reason = error.reason.replace("_", " ")
        raise NumberError(f"{number} could not be assigned: {reason}") from None
    return f"{number} assigned to {_holder(accounts, account.id)}"


def _release(dids: DidStore, accounts: AccountStore, pool: list[str], number: str) -> str:
    """Make `number` free again (also one dropped from DID_POOL that someone still
    holds); what was done. Raises NumberError for a free number not in DID_POOL."""
    holder = dids.owner(number)
    if holder is None:
        if number not in pool:
            raise NumberError(f"{number} is not in DID_POOL")
        return f"{number} was free; nothing to do"
    dids.release(number)
    return f"{number} released from {_holder(accounts, holder)}"


def _holder(accounts: AccountStore, account_id: int) -> str:
    """The account as the operator reads it: "account 7 (extension 1003)"."""
    account = accounts.get(account_id)
    extension = account.extension if account is not None else None
    return f"account {account_id} (extension {extension or 'none'})"


def did_rows(dids: DidStore, accounts: AccountStore, pool: set[str]) -> list[dict]:
    """The direct numbers of the pool and those still held, in order, as {"number": E.164,
    "account": id or None, "extension": the holder's extension or None, "in_pool":
    whether DID_POOL has it (a number dropped from it stays with its holder until
    released; once free it is no longer listed)}."""
    rows = []
    for did in dids.all():
        if did.account_id is None and did.number not in pool:
            continue
        holder = accounts.get(did.account_id) if did.account_id is not None else None
        rows.append(
            {
                "number": did.number,
                "account": did.account_id,
                "extension": holder.extension if holder is not None else None,
                "in_pool": did.number in pool,
            }
        )
    return rows


def _readable_rows(rows: list[dict]) -> str:
    """One line a number: the number, then its extension and account, or "free"."""
    if not rows:
        return "no direct numbers (DID_POOL is empty)"
    lines = []
    for row in rows:
        held = (
            f"extension {row['extension'] or 'none':<6}  account {row['account']}"
            if row["account"] is not None
            else "free"
        )
        note = "" if row["in_pool"] else "  (no longer in DID_POOL)"
        lines.append(f"{row['number']:<16}  {held}{note}")
    return "\n".join(lines)


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
