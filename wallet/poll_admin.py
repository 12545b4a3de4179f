"""Operators' tools of the ETT holders' polls: `python main.py admin poll ...`.

    poll open --question Q --option A --option B [...] --height N --closes TIME [--json]
        open a poll weighted by each address's ETT (ETT_ASSET_ID) at block N, which the
        node (WAVES_NODE_URL) must have passed; it closes at TIME (ISO 8601, UTC when no
        offset is given). The running service tells every account with a linked wallet.
    poll list [--json]              the polls, newest first
    poll close ID                   close a poll now (no more votes; voters get the results)
    poll results ID [--json]        each option's votes, weight (ETT) and share
    poll export ID [--format csv|json] [-o FILE]
                                    every vote with its address and weight, to recount
                                    against the chain (stdout by default)

A bad argument or a node that cannot be read is one line on stderr, `error: ...`, and exit
status 2 (1 for an unknown poll). main.py routes `admin poll` here.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sqlalchemy import Engine

from domain.clock import utcnow
from settings import Settings, SettingsError, load_settings
from storage import NoDatabase, open_existing_database
from storage.models import Poll
from storage.polls import closed_at, is_closed, options_of
from wallet.polls import NodeReader, PollError, Polls, Results, parse_closing, units_text
from wallet.waves import NodeUnavailable


class UnknownPoll(LookupError):
    """No poll has that id."""


def build_parser() -> argparse.ArgumentParser:
    """The `admin poll` command line."""
    parser = argparse.ArgumentParser(
        prog="main.py admin", description="ETT holders' polls (consultative votes)."
    )
    parser.add_argument("--database", help="database URL (default: DATABASE_URL)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    poll = commands.add_parser(
        "poll", help="ETT holders' polls: open, list, close, results, export"
    )
    poll.add_argument("--database", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    actions = poll.add_subparsers(dest="action", metavar="ACTION", required=True)
    opening = actions.add_parser(
        "open",
        help="open a poll weighted by ETT at a block height",
        description="The weights are each address's ETT (ETT_ASSET_ID) at block HEIGHT, "
        "read now from WAVES_NODE_URL; the node must have passed that block.",
    )
    opening.add_argument("--question", required=True)
    opening.add_argument(
        "--option", action="append", default=[], required=True, help="an option (2 to 10)"
    )
    opening.add_argument("--height", type=int, required=True, help="the snapshot's block")
    opening.add_argument(
        "--closes", required=True, help="closing time, ISO 8601 (e.g. 2026-12-15T12:00Z)"
    )
    opening.add_argument("--json", action="store_true", help="print the poll as JSON")
    listing = actions.add_parser("list", help="the polls, newest first")
    listing.add_argument("--json", action="store_true")
    close = actions.add_parser("close", help="close a poll now")
    close.add_argument("id", type=int)
    results = actions.add_parser("results", help="a poll's count")
    results.add_argument("id", type=int)
    results.add_argument("--json", action="store_true")
    export = actions.add_parser("export", help="every vote with its address and weight")
    export.add_argument("id", type=int)
    export.add_argument("--format", choices=("csv", "json"), default="csv")
    export.add_argument("-o", "--output", help="file to write (default: stdout)")
    for action in (opening, listing, close, results, export):
        action.add_argument("--database", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


def main(argv: list[str]) -> int:
    """Run one `admin poll` command (argv: `[--database URL] poll ACTION ...`); return the
    exit status."""
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
        return _run(engine, args, settings)
    except (PollError, NodeUnavailable) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except UnknownPoll as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()


def _run(engine: Engine, args: argparse.Namespace, settings: Settings) -> int:
    polls = Polls(engine)
    if args.action == "open":
        if not settings.WAVES_NODE_URL:
            raise PollError("WAVES_NODE_URL is not set: the weights are read from the node")
        poll = polls.open(
            NodeReader(settings.WAVES_NODE_URL),
            question=args.question,
            options=args.option,
            height=args.height,
            closes_at=parse_closing(args.closes),
            asset_id=settings.ETT_ASSET_ID,
        )
        holders = len(polls.store.snapshot(poll.id))
        if args.json:
            print(json.dumps(poll_row(poll) | {"holders": holders}))
        else:
            print(
                f"poll {poll.id} open until {closed_at(poll):%Y-%m-%d %H:%M} UTC: "
                f"{holders} holders at block {poll.height}"
            )
        return 0
    if args.action == "list":
        listed = polls.store.listing()
        print(json.dumps([poll_row(poll) for poll in listed]) if args.json else _listing(listed))
        return 0
    poll = _poll(polls, args.id)
    if args.action == "close":
        poll = polls.store.close(poll.id) or poll
        print(f"poll {poll.id} closed at {closed_at(poll):%Y-%m-%d %H:%M} UTC")
        return 0
    if args.action == "results":
        results = polls.results(poll)
        print(json.dumps(results_json(results)) if args.json else results_table(results))
        return 0
    data = polls.export_csv(poll) if args.format == "csv" else polls.export_json(poll)
    if args.output:
        Path(args.output).write_bytes(data)
    else:
        sys.stdout.write(data.decode())
    return 0


def _poll(polls: Polls, poll_id: int) -> Poll:
    poll = polls.store.get(poll_id)
    if poll is None:
        raise UnknownPoll(f"no poll {poll_id}")
    return poll


def poll_row(poll: Poll) -> dict[str, object]:
    """A poll as the JSON output shows it."""
    return {
        "id": poll.id,
        "question": poll.question,
        "options": options_of(poll),
        "asset_id": poll.asset_id,
        "height": poll.height,
        "closes_at": closed_at(poll).isoformat(),
        "closed": is_closed(poll, utcnow()),
    }


def _listing(polls: list[Poll]) -> str:
    """The polls as a table: id, state, snapshot block, closing time (UTC), question."""
    if not polls:
        return "no polls"
    now = utcnow()
    rows = [("id", "state", "block", "closes", "question")]
    for poll in polls:
        rows.append(
            (
                str(poll.id),
                "closed" if is_closed(poll, now) else "open",
                str(poll.height),
                f"{closed_at(poll):%Y-%m-%d %H:%M} UTC",
                poll.question,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join(
        f"{row[0]:>{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:>{widths[2]}}  "
        f"{row[3]:<{widths[3]}}  {row[4]}"
        for row in rows
    )


def results_json(results: Results) -> dict[str, object]:
    """The count as JSON: weights in smallest units, shares in percent (2 decimals)."""
    return {
        "poll_id": results.poll.id,
        "closed": is_closed(results.poll, utcnow()),
        "votes": results.votes,
        "weight": results.weight,
        "options": [
            {
                "option": t.label,
                "votes": t.votes,
                "weight": t.weight,
                "share": f"{results.share(t):.2f}",
            }
            for t in results.tallies
        ],
    }


def results_table(results: Results) -> str:
    """The count as a table: option, votes, weight (ETT, all decimals), share."""
    poll = results.poll
    state = "final" if is_closed(poll, utcnow()) else "so far (open)"
    rows = [("option", "votes", "weight ETT", "share")]
    for t in results.tallies:
        rows.append(
            (
                t.label,
                str(t.votes),
                units_text(t.weight, poll.decimals),
                f"{results.share(t):.2f} %",
            )
        )
    rows.append(("total", str(results.votes), units_text(results.weight, poll.decimals), ""))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [f"poll {poll.id}: {poll.question} ({state}, block {poll.height})"]
    for row in rows:
        lines.append(
            f"{row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]:>{widths[2]}}  "
            f"{row[3]:>{widths[3]}}".rstrip()
        )
    return "\n".join(lines)
