"""EncryptoTel: the chat-bot-first private telephone exchange.

python main.py [serve]     run the assistant (console chat when nothing else is configured)
python main.py console     chat with the assistant on this terminal
python main.py parse …     show how a message is understood (see nlu/cli.py)
python main.py call …      place one callback through the SIP server (see dialer/cli.py)
python main.py admin …     operators' tools: accounts, deposits, refunds (see wallet/admin.py),
                           softphone credentials and direct numbers (admin softphone …,
                           admin did …, see exchange/admin.py)
python main.py migrate     apply database migrations and exit
python main.py api         serve the HTTP API alone (API_LISTEN; see api/)
python main.py recording …  open a sealed call recording with its owner's seed, sign a
                           wallet link's message (offline: no settings, no database;
                           see privacy/cli.py)
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import sys

# Subcommands with their own argument parser, imported only when used (parse must start fast).
DELEGATED = {
    "parse": ("nlu.cli", "show how a message is understood, as JSON"),
    "call": ("dialer.cli", "place one callback through the SIP server"),
    "recording": (
        "privacy.cli",
        "open a sealed call recording; sign a wallet link's message (offline)",
    ),
    "admin": (
        "wallet.admin",
        "operators' tools: accounts, deposits, refunds, reconcile, softphone credentials, "
        "direct numbers, the monthly report, ETT holders' polls",
    ),
}
# `admin` commands that are not the wallet's, by the module that runs them.
ADMIN_ROUTES = {
    "softphone": "exchange.admin",
    "did": "exchange.admin",
    "engines": "exchange.admin",
    "poll": "wallet.poll_admin",  # ETT holders' polls
    "report": "ops.report_cli",  # the monthly report (ops/report.py)
}


def build_parser() -> argparse.ArgumentParser:
    """The top-level command line."""
    parser = argparse.ArgumentParser(prog="main.py", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("serve", help="run the assistant and every configured adapter (default)")
    commands.add_parser("console", help="chat with the assistant on this terminal")
    commands.add_parser("migrate", help="apply database migrations and exit")
    commands.add_parser(
        "api", help="serve the HTTP API alone (another instance; no chats, no exchange)"
    )
    for name, (_module, summary) in DELEGATED.items():
        commands.add_parser(name, help=summary, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; return the process exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    from privacy.files import private_umask

    private_umask()  # before any command writes a file: ours alone (issue 14)
    if argv and argv[0] in DELEGATED:
        name = DELEGATED[argv[0]][0]
        if argv[0] == "admin":
            name = ADMIN_ROUTES.get(_admin_command(argv[1:]) or "", name)
        module = importlib.import_module(name)
        return module.main(argv[1:])
    args = build_parser().parse_args(argv)
    settings = _settings_or_exit()
    _configure_logging(settings)
    _tariff_files_or_exit(settings)
    from privacy.files import private_sqlite, tighten

    # Files an earlier version wrote readable by others (issue 14).
    tighten([settings.PBX_RUN_DIR, settings.RECORDING_DIR])
    private_sqlite(settings.DATABASE_URL)
    command = args.command or "serve"
    if command == "migrate":
        from storage import open_database

        open_database(settings.DATABASE_URL).dispose()
        print("database is up to date")
        return 0
    from bot.app import serve

    console = True if command == "console" else None
    return asyncio.run(serve(settings, console=console, api_only=command == "api"))


def _admin_command(argv: list[str]) -> str | None:
    """The command word of `admin` arguments (after `--database URL` if given), or None
    when an option comes first (`--help`)."""
    words = iter(argv)
    for word in words:
        if word == "--database":
            next(words, None)
        elif not word.startswith("--database="):
            return None if word.startswith("-") else word
    return None


def _settings_or_exit():
    from settings import SettingsError, get_settings

    try:
        return get_settings()
    except SettingsError as error:
        print(error, file=sys.stderr)
        raise SystemExit(2) from None


def _tariff_files_or_exit(settings) -> None:  # noqa: ANN001
    """The tariff and plan files, read once before anything starts: a bad one stops the
    service with one line naming the setting, the file and what is wrong (exit 2)."""
    from wallet.plans import Catalogue
    from wallet.tariffs import Tariffs

    checks = (
        ("WALLET_TARIFFS_FILE", lambda: Tariffs.load(settings.WALLET_TARIFFS_FILE)),
        ("PLANS_FILE", lambda: Catalogue.load(settings.PLANS_FILE)),
    )
    for name, load in checks:
        try:
            load()
        except (ValueError, OSError) as error:
            print(f"invalid settings: {name}: {error}", file=sys.stderr)
            raise SystemExit(2) from None


def _configure_logging(settings) -> None:  # noqa: ANN001
    from ops.logs import CallIdFilter, formatter
    from privacy.logs import PrivacyFilter, debug_notice

    handler = logging.StreamHandler()
    handler.setFormatter(formatter(settings.LOG_FORMAT))  # text, or JSON lines
    handler.addFilter(PrivacyFilter.from_settings(settings))
    handler.addFilter(CallIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.LOG_LEVEL)
    if settings.LOG_LEVEL != "DEBUG":
        logging.getLogger("alembic").setLevel(logging.WARNING)
    else:
        logging.getLogger("main").warning(debug_notice())


if __name__ == "__main__":
    sys.exit(main())
