"""`main.py call TO --from FROM ...`: place one callback and print one JSON line per event.

Also how an operator tests a trunk. Exit status: 0 bridged, 1 not bridged, 2 error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
import uuid
from datetime import timedelta

from dialer.core import Dialer
from dialer.records import HEARTBEAT_SECONDS, CallRecorder, end_interrupted
from dialer.types import CallbackRequest, DialerError, DialerEvent, SipConfig, check_number
from domain.calls import HangupCause, LegEvent

# A call whose heartbeat is older than this was left by a process that died.
STALE_AFTER = timedelta(seconds=3 * HEARTBEAT_SECONDS)


def build_parser() -> argparse.ArgumentParser:
    """The `call` command's arguments."""
    parser = argparse.ArgumentParser(
        prog="main.py call",
        description="Ring FROM, then TO, and bridge them through the SIP_* server.",
    )
    parser.add_argument("to", metavar="TO", help="number to connect: +E.164 or extension")
    parser.add_argument(
        "--from",
        dest="from_number",
        required=True,
        metavar="FROM",
        help="the requester, rung first: +E.164 or extension",
    )
    parser.add_argument(
        "--to-first", action="store_true", help="ring TO first and connect FROM only if TO answers"
    )
    parser.add_argument(
        "--max-seconds",
        type=int,
        metavar="N",
        help="hard limit of the call, counted from the first answer",
    )
    parser.add_argument("--anonymous", action="store_true", help="withhold the caller ID")
    parser.add_argument(
        "--dtmf",
        default="",
        metavar="DIGITS",
        help='digits to dial on TO once it answers, e.g. an extension ("456"; "," pauses 1 s)',
    )
    parser.add_argument(
        "--ring-timeout",
        type=int,
        metavar="S",
        help="seconds each leg may ring (default SIP_RING_TIMEOUT)",
    )
    return parser


def _print(data: dict) -> None:
    print(json.dumps(data, sort_keys=True), flush=True)


def main(argv: list[str]) -> int:
    """Run `call` with arguments `argv` (a leading "call" is accepted)."""
    if argv and argv[0] == "call":
        argv = argv[1:]
    args = build_parser().parse_args(argv)
    from settings import SettingsError, get_settings

    try:
        settings = get_settings()
        check_number(args.to)
        check_number(args.from_number)
        config = SipConfig.from_settings(settings)
    except (SettingsError, DialerError) as error:
        _print({"event": "error", "error": str(error)})
        return 2
    logging.basicConfig(level=settings.LOG_LEVEL, stream=sys.stderr)
    return asyncio.run(_call(args, config, settings.DATABASE_URL))


async def _call(args: argparse.Namespace, config: SipConfig, database_url: str) -> int:
    from domain.clock import utcnow
    from storage import open_database
    from storage.calls import CallStore
    from storage.models import CallRecord

    engine = open_database(database_url)
    store = CallStore(engine)
    closed = store.close_interrupted(older_than=utcnow() - STALE_AFTER)
    if closed:
        _print({"event": "recovered", "calls": closed, "cause": "interrupted"})
    record = CallRecord(
        id=uuid.uuid4().hex,
        a_number=args.from_number,
        b_number=args.to,
        anonymous=args.anonymous,
        max_seconds=args.max_seconds,
    )
    store.create(record)
    _print({"event": "created", "call_id": record.id})
    recorder = CallRecorder(store)
    dialer = Dialer(config)
    try:
        await dialer.start()
    except DialerError as error:
        store.record_event(
            record.id, LegEvent.ENDED, cause=HangupCause.FAILED, detail=str(error)[:255]
        )
        _print({"event": "error", "call_id": record.id, "error": str(error)})
        engine.dispose()
        return 2

    from storage.dialogs import DialogStore

    released = await end_interrupted(dialer, DialogStore(engine), closed)
    if released:
        _print({"event": "released", "legs": released})

    async def on_event(event: DialerEvent) -> None:
        _print(event.as_dict())
        await recorder(event)

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, lambda: loop.create_task(dialer.hangup(record.id)))
    request = CallbackRequest(
        call_id=record.id,
        from_number=args.from_number,
        to_number=args.to,
        to_first=args.to_first,
        max_seconds=args.max_seconds,
        anonymous=args.anonymous,
        ring_timeout=args.ring_timeout or config.ring_timeout,
        dtmf=args.dtmf,
    )
    try:
        summary = await dialer.callback(request, on_event)
    finally:
        await recorder.close()
        await dialer.stop()
        engine.dispose()
    _print({"event": "summary", **summary.as_dict()})
    return 0 if summary.bridged else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
