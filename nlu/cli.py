"""`python main.py parse`: the parser from the command line (single message or --batch)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import TextIO

from nlu.parser import parse, resolve_now, zone


def _dump(obj: dict, out: TextIO) -> None:
    out.write(json.dumps(obj, ensure_ascii=False) + "\n")


def _build() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="main.py parse",
        description="Turn a chat message into a command (JSON), see nlu/SCHEMA.md.",
    )
    ap.add_argument("--now", help="moment the message was sent, ISO 8601 (default: now)")
    ap.add_argument("--tz", default="UTC", help="IANA time zone of the user (default: UTC)")
    ap.add_argument("--region", default=None, help="ISO 3166 country for local numbers")
    ap.add_argument("--batch", action="store_true", help="read JSON lines from stdin")
    ap.add_argument("text", nargs="*", help="the message (words are joined by spaces)")
    return ap


def _one_line(line: str, d_now: str | None, d_tz: str, d_region: str | None) -> dict:
    try:
        item = json.loads(line)
    except (json.JSONDecodeError, RecursionError) as exc:
        return {"intent": "unknown", "lang": "en", "error": f"invalid JSON line: {exc}"}
    if not isinstance(item, dict):
        return {"intent": "unknown", "lang": "en", "error": "a line must be a JSON object"}
    text = item.get("text")
    if not isinstance(text, str):
        return {"intent": "unknown", "lang": "en", "error": "missing or non-string 'text'"}
    tzname = item.get("tz") or d_tz
    now = item.get("now") or d_now
    region = item.get("region", d_region)
    try:
        tzi = zone(tzname)
        moment = resolve_now(now, tzi) if now is not None else None
    except (ValueError, TypeError) as exc:
        return {"intent": "unknown", "lang": "en", "error": str(exc)}
    return parse(text, moment, tzname, region if isinstance(region, str) else None)


def _default_moment(args: argparse.Namespace) -> datetime | None:
    """The moment of --now in --tz (None without --now); raises on a bad zone or moment."""
    tzi = zone(args.tz)
    return resolve_now(args.now, tzi) if args.now else None


def _brings_own_moment(line: str) -> bool:
    """True if batch `line` is a JSON object with its own "tz" and "now"."""
    try:
        item = json.loads(line)
    except json.JSONDecodeError:
        return False
    return bool(isinstance(item, dict) and item.get("tz") and item.get("now"))


def _run_batch(args: argparse.Namespace, bad: str | None, out: TextIO) -> None:
    """Answer each JSON line of stdin with one JSON line on `out`.

    `bad` is the error of the default --tz/--now, if any: lines that do not bring their
    own "tz" and "now" are answered with it.
    """
    stdin = sys.stdin
    if hasattr(stdin, "reconfigure"):
        stdin.reconfigure(encoding="utf-8", errors="replace")
    if hasattr(out, "reconfigure"):
        out.reconfigure(encoding="utf-8")
    for line in stdin:
        if not line.strip():
            continue
        if bad is not None and not _brings_own_moment(line):
            _dump({"intent": "unknown", "lang": "en", "error": bad}, out)
            continue
        _dump(_one_line(line, args.now if bad is None else None, args.tz, args.region), out)
    out.flush()


def main(argv: list[str]) -> int:
    """Run `parse` with arguments `argv`; returns the exit status."""
    args = _build().parse_args(argv)
    out = sys.stdout
    try:
        moment = _default_moment(args)
    except (ValueError, TypeError) as exc:
        if not args.batch:
            print(f"parse: {exc}", file=sys.stderr)
            return 2
        bad: str | None = str(exc)
    else:
        bad = None
    if not args.batch:
        _dump(parse(" ".join(args.text), moment, args.tz, args.region), out)
        return 0
    _run_batch(args, bad, out)
    return 0
