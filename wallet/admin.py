"""Operators' tools: `python main.py admin COMMAND ...`.

    accounts                         accounts and their ETT/WAVES balances
    deposits [--state STATE]         deposits (credited, unattributed, assigned, pending)
    assign TX_ID ACCOUNT --reason R  credit an unattributed deposit to an account
    refund CALL_ID --reason R        give a call's charge back (or --amount part of it)
    reconcile                        the service wallet on chain against the ledger
    withdrawals [--all]              unfinished withdrawals (all of them with --all)
    withdrawals resolve ID --sent|--refund --reason R
                                     an operator's outcome for an unfinished withdrawal
    softphone IDENTITY [--reset]     an account's SIP credentials (exchange/admin.py)
    did list|assign|release          direct numbers (exchange/admin.py)
    engines                          the engines' configuration (exchange/admin.py)
    report --month YYYY-MM           the month's figures (ops/report_cli.py)
    poll open|list|close|results|export  ETT holders' votes (wallet/poll_admin.py)

Every change of money is a ledger transfer carrying the operator's reason.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

from sqlalchemy import Engine

from domain.books import (
    DEPOSITS,
    REVENUE,
    WITHDRAWALS,
    TransferKind,
    assign_key,
    call_refund_key,
)
from domain.books import UNATTRIBUTED as UNATTRIBUTED_BOOK
from domain.clock import utcnow
from domain.money import ASSETS, format_amount, to_units
from settings import Settings, SettingsError, load_settings
from storage import NoDatabase, open_existing_database
from storage.accounts import AccountStore
from storage.calls import CallStore
from storage.deposits import ASSIGNED, UNATTRIBUTED, DepositStore
from storage.ledger_store import LedgerStore, account_book
from storage.models import Withdrawal
from storage.wallet_reports import accounts_with_balances
from storage.withdrawals import UNFINISHED, WithdrawalStore
from wallet.waves import NodeUnavailable, WavesClient
from wallet.withdrawal_recovery import decide
from wallet.withdrawals import WithdrawalBooks

# `admin` commands main.py hands to other modules (main.ADMIN_ROUTES), for `--help`.
ROUTED_ELSEWHERE = {
    "softphone": "an account's softphone (SIP) credentials",
    "did": "direct numbers: list, assign, release",
    "engines": "kamailio's and rtpengine's configuration for PBX_ENGINES=external",
    "report": "the month's revenue, minutes by destination, ASR/ACD, accounts, refusals",
    "poll": "ETT holders' votes: open, list, close, results, export",
}


class AdminError(Exception):
    """An operator's request that cannot be done; the message says why."""


def build_parser() -> argparse.ArgumentParser:
    """The `admin` command line."""
    parser = argparse.ArgumentParser(
        prog="main.py admin",
        description="EncryptoTel operators' tools (wallet and billing).",
        epilog="softphone, did and engines run in exchange/admin.py, report in "
        "ops/report_cli.py, poll in wallet/poll_admin.py: `main.py admin COMMAND --help`.",
    )
    parser.add_argument("--database", help="database URL (default: DATABASE_URL)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    commands.add_parser("accounts", help="list accounts and their balances")
    deposits = commands.add_parser("deposits", help="list deposits")
    deposits.add_argument("--state", choices=["credited", "unattributed", "assigned", "pending"])
    deposits.add_argument("--limit", type=int, default=100)
    assign = commands.add_parser("assign", help="credit an unattributed deposit to an account")
    assign.add_argument("tx_id")
    assign.add_argument("account_id", type=int)
    assign.add_argument("--reason", required=True)
    refund = commands.add_parser("refund", help="refund the charge of a call")
    refund.add_argument("call_id")
    refund.add_argument("--reason", required=True)
    refund.add_argument("--amount", help="part of the charge to refund, e.g. 0.25")
    reconcile = commands.add_parser("reconcile", help="compare the chain with the ledger")
    reconcile.add_argument("--node-url", help="default: WAVES_NODE_URL")
    reconcile.add_argument("--address", help="service address (default: from WAVES_SEED)")
    _withdrawals_parser(commands)
    for name, summary in ROUTED_ELSEWHERE.items():  # listed here, run by their own module
        commands.add_parser(name, help=summary, add_help=False)
    return parser


def _withdrawals_parser(commands: argparse._SubParsersAction) -> None:
    withdrawals = commands.add_parser(
        "withdrawals",
        help="list unfinished withdrawals; `withdrawals resolve ID` decides one",
        description="Withdrawals a crash or a silent node left unfinished are finished or "
        "refunded automatically by the running service (deposit watcher); these are the rest.",
    )
    withdrawals.add_argument("--all", action="store_true", help="every withdrawal, newest first")
    withdrawals.add_argument("--limit", type=int, default=100)
    actions = withdrawals.add_subparsers(dest="action", metavar="ACTION")
    resolve = actions.add_parser("resolve", help="mark a withdrawal sent, or refund it")
    resolve.add_argument("id", help="the withdrawal's id (first column) or idempotency key")
    outcome = resolve.add_mutually_exclusive_group(required=True)
    outcome.add_argument("--sent", action="store_true", help="it is on chain: book its fee")
    outcome.add_argument("--refund", action="store_true", help="it was never sent: refund it")
    resolve.add_argument("--reason", required=True)


def main(argv: list[str]) -> int:
    """Run one admin command; return the exit status (1 when reconcile finds a gap)."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    try:
        engine = open_existing_database(args.database or settings.DATABASE_URL)
    except NoDatabase as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        command = COMMANDS[args.command]
        return command(engine, args, settings)
    except AdminError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()


def _accounts(engine: Engine, _args: argparse.Namespace, _settings: Settings) -> int:
    print(f"{'account':>8}  {'extension':>9}  {'phone':<16}  balances (held)")
    for row in accounts_with_balances(engine):
        parts = [
            f"{format_amount(amount, asset)} ({format_amount(held, asset)})"
            for asset, (amount, held) in sorted(row["balances"].items())
        ]
        print(
            f"{row['id']:>8}  {row['extension'] or '-':>9}  {row['phone_number'] or '-':<16}  "
            f"{', '.join(parts) or '0'}"
        )
    return 0


def _deposits(engine: Engine, args: argparse.Namespace, _settings: Settings) -> int:
    print(f"{'state':<12}  {'account':>7}  {'amount':>22}  {'height':>7}  tx id / memo")
    for d in DepositStore(engine).list(args.state, args.limit):
        amount = format_amount(d.amount, d.asset) if d.asset in ASSETS else f"{d.amount} {d.asset}"
        print(
            f"{d.state:<12}  {d.account_id or '-':>7}  {amount:>22}  {d.height or '-':>7}  "
            f"{d.tx_id}  {d.memo or ''!r}"
        )
    return 0


def _assign(engine: Engine, args: argparse.Namespace, _settings: Settings) -> int:
    store = DepositStore(engine)
    deposit = store.get(args.tx_id)
    if deposit is None:
        raise AdminError(f"no deposit {args.tx_id}")
    if deposit.state != UNATTRIBUTED:
        raise AdminError(f"deposit is {deposit.state}, not unattributed")
    if deposit.asset not in ASSETS:
        raise AdminError(f"{deposit.asset} is not ETT or WAVES: return it on chain instead")
    if AccountStore(engine).get(args.account_id) is None:
        raise AdminError(f"no account {args.account_id}")
    LedgerStore(engine).transfer(
        key=assign_key(deposit.tx_id),
        kind=TransferKind.ADMIN_ASSIGN,
        asset=deposit.asset,
        amount=deposit.amount,
        debit=UNATTRIBUTED_BOOK,
        credit=account_book(args.account_id),
        reason=f"admin assign: {args.reason}",
        ref=deposit.tx_id,
    )
    store.set_state(deposit.tx_id, ASSIGNED, args.account_id)
    print(f"assigned {format_amount(deposit.amount, deposit.asset)} to account {args.account_id}")
    return 0


def _refund(engine: Engine, args: argparse.Namespace, _settings: Settings) -> int:
    call = CallStore(engine).get(args.call_id)
    if call is None:
        raise AdminError(f"no call {args.call_id}")
    if call.settled_at is None or not call.cost or call.cost_asset not in ASSETS:
        raise AdminError("the call has no settled charge to refund")
    if call.account_id is None:
        raise AdminError("the call belongs to no account")
    amount = to_units(args.amount, call.cost_asset) if args.amount else call.cost
    if not 0 < amount <= call.cost:
        raise AdminError("the refund must be positive and at most the call's charge")
    ledger = LedgerStore(engine)
    result = ledger.transfer(
        key=call_refund_key(call.id),
        kind=TransferKind.ADMIN_REFUND,
        asset=call.cost_asset,
        amount=amount,
        debit=REVENUE,
        credit=account_book(call.account_id),
        reason=f"admin refund: {args.reason}",
        ref=call.id,
    )
    if not result.applied:
        raise AdminError("this call was already refunded")
    print(f"refunded {format_amount(amount, call.cost_asset)} to account {call.account_id}")
    return 0


def reconcile(ledger: LedgerStore, client: WavesClient, address: str, ett_asset_id: str) -> dict:
    """{asset: (on-chain balance, balance the ledger expects)} for ETT and WAVES."""
    report = {}
    for asset, asset_id in (("ETT", ett_asset_id), ("WAVES", None)):
        on_chain = client.balance(asset_id, address)
        expected = -(
            ledger.balance(DEPOSITS, asset).amount + ledger.balance(WITHDRAWALS, asset).amount
        )
        report[asset] = (on_chain, expected)
    return report


def _reconcile(engine: Engine, args: argparse.Namespace, settings: Settings) -> int:
    node_url = args.node_url or settings.WAVES_NODE_URL
    if not node_url:
        raise AdminError("set WAVES_NODE_URL or pass --node-url")
    seed = settings.WAVES_SEED.get_secret_value() if settings.WAVES_SEED else None
    client = WavesClient(node_url, settings.WAVES_CHAIN_ID, seed)
    address = args.address or (client.address if seed else None)
    if not address:
        raise AdminError("set WAVES_SEED or pass --address")
    try:
        report = reconcile(LedgerStore(engine), client, address, settings.ETT_ASSET_ID)
    except NodeUnavailable as error:
        raise AdminError(str(error)) from None
    status = 0
    print(f"service wallet {address}")
    for asset, (on_chain, expected) in report.items():
        gap = on_chain - expected
        verdict = "ok" if gap == 0 else f"GAP {format_amount(gap, asset)}"
        print(
            f"{asset:<6} on chain {format_amount(on_chain, asset):>24}  "
            f"ledger {format_amount(expected, asset):>24}  {verdict}"
        )
        status = status or int(gap != 0)
    return status


def _withdrawals(engine: Engine, args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "resolve":
        return _resolve_withdrawal(engine, args, settings)
    store = WithdrawalStore(engine)
    rows = store.list(limit=args.limit) if args.all else store.unfinished()[: args.limit]
    if not rows:
        print("no unfinished withdrawals" if not args.all else "no withdrawals")
        return 0
    print(f"{'id':>6}  {'state':<10}  {'account':>7}  {'amount':>20}  {'age':>8}  tx id / address")
    now = utcnow()
    for row in rows:
        print(
            f"{row.id:>6}  {row.state:<10}  {row.account_id:>7}  "
            f"{format_amount(row.amount, row.asset):>20}  {_age(now, row.created_at):>8}  "
            f"{row.tx_id or '-'} -> {row.address}  {row.error or ''}"
        )
    return 0


def _age(now: datetime, then: datetime) -> str:
    minutes = int((now - then).total_seconds() // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


def _resolve_withdrawal(engine: Engine, args: argparse.Namespace, settings: Settings) -> int:
    store = WithdrawalStore(engine)
    row = _find_withdrawal(store, args.id)
    if row.state not in UNFINISHED:
        raise AdminError(f"withdrawal {row.id} is {row.state}: already finished")
    client = None
    if settings.WAVES_NODE_URL:  # asked whether it has the transfer (refund refused if so)
        client = WavesClient(settings.WAVES_NODE_URL, settings.WAVES_CHAIN_ID)
    try:
        done = decide(
            WithdrawalBooks(engine),
            row,
            sent=args.sent,
            reason=args.reason,
            client=client,
            network_fee=settings.WALLET_NETWORK_FEE,
        )
    except ValueError as error:
        raise AdminError(str(error)) from None
    print(f"withdrawal {done.id}: {done.state} ({format_amount(done.amount, done.asset)})")
    return 0


def _find_withdrawal(store: WithdrawalStore, ident: str) -> Withdrawal:
    row = store.by_id(int(ident)) if ident.isdigit() else store.get(ident)
    if row is None:
        raise AdminError(f"no withdrawal {ident}")
    return row


COMMANDS = {
    "accounts": _accounts,
    "deposits": _deposits,
    "assign": _assign,
    "refund": _refund,
    "reconcile": _reconcile,
    "withdrawals": _withdrawals,
}
