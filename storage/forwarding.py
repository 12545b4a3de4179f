"""Call-forwarding rules: where an account's incoming calls go, by caller, weekday and hour.

One active rule per (account, caller); a rule without a caller applies to everyone.
Days and hours are read in the account's time zone; a window whose end is before its
start runs past midnight, and the part after midnight belongs to the day it started
(Friday 22:00–06:00 covers Saturday 03:00).
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, bindparam, update
from sqlmodel import col, select

from storage.db import FastRead, transaction
from storage.models import Account, ForwardingRule

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
MIN_RING_SECONDS, MAX_RING_SECONDS = 5, 300
MAX_TARGETS = 5


_RULE_KEYS = tuple(ForwardingRule.model_fields)
_ACTIVE_RULES = FastRead(
    select(*(getattr(ForwardingRule, key) for key in _RULE_KEYS))
    .where(
        col(ForwardingRule.account_id) == bindparam("account_id"),
        col(ForwardingRule.active).is_(True),
    )
    .order_by(col(ForwardingRule.id))
)


class Target(NamedTuple):
    """One target of a rule: a number (extension or E.164) and how long it rings before
    the next target is tried (None: until it answers or fails)."""

    number: str
    ring_seconds: int | None


def targets(rule: ForwardingRule) -> list[Target]:
    """The targets of a rule, in the order they are tried (follow-me)."""
    first = Target(rule.to_number, rule.ring_seconds)
    rest = []
    for entry in (rule.follow_me or "").split(","):
        if entry:
            number, _, seconds = entry.partition("/")
            rest.append(Target(number, int(seconds) if seconds else None))
    return [first, *rest]


class ForwardingStore:
    """Set, list, remove and match forwarding rules."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def set_rule(
        self,
        account_id: int,
        to: str,
        days: list[str] | None = None,
        start: str | None = None,
        end: str | None = None,
        caller: str | None = None,
        ring_seconds: int | None = None,
        follow_me: list[Target] | None = None,
    ) -> ForwardingRule:
        """Store a rule, replacing the account's active rule for the same caller (or for all).

        `ring_seconds`: how long `to` rings before the first of `follow_me` is tried;
        every target but the last needs a ring time (MIN_RING_SECONDS to
        MAX_RING_SECONDS), at most MAX_TARGETS in all. Raises ValueError."""
        if not to:
            raise ValueError("a forwarding rule needs a number to forward to")
        chain = [Target(to, ring_seconds), *(follow_me or [])]
        if len(chain) > MAX_TARGETS:
            raise ValueError(f"at most {MAX_TARGETS} targets in turn")
        for position, target in enumerate(chain):
            if "," in target.number or "/" in target.number or not target.number:
                raise ValueError(f"bad forwarding target {target.number!r}")
            seconds = target.ring_seconds
            if seconds is None and position < len(chain) - 1:
                raise ValueError("every target but the last needs a ring time")
            if seconds is not None and not MIN_RING_SECONDS <= seconds <= MAX_RING_SECONDS:
                raise ValueError(f"a ring time is {MIN_RING_SECONDS} to {MAX_RING_SECONDS} seconds")
        bad_days = [d for d in days or () if d not in DAYS]
        if bad_days:
            raise ValueError(f"unknown weekday {bad_days[0]!r}")
        for hhmm in (start, end):
            if hhmm is not None and not _HHMM.match(hhmm):
                raise ValueError(f"bad time of day {hhmm!r}, expected HH:MM")
        ordered = [d for d in DAYS if d in set(days or ())]
        rule = ForwardingRule(
            account_id=account_id,
            to_number=to,
            days=",".join(ordered) or None,
            start=start,
            end=end,
            caller=caller or None,
            ring_seconds=ring_seconds,
            follow_me=",".join(
                f"{t.number}/{t.ring_seconds}" if t.ring_seconds else t.number for t in chain[1:]
            )
            or None,
        )
        with transaction(self.engine) as session:
            session.exec(
                update(ForwardingRule)
                .where(
                    col(ForwardingRule.account_id) == account_id,
                    col(ForwardingRule.active).is_(True),
                    col(ForwardingRule.caller).is_(None)
                    if rule.caller is None
                    else col(ForwardingRule.caller) == rule.caller,
                )
                .values(active=False)
            )
            session.add(rule)
        return rule

    def rules(self, account_id: int) -> list[ForwardingRule]:
        """The account's active rules, caller-specific ones first (read on every call to
        the account: one prebuilt statement, no transaction kept)."""
        rules = [
            ForwardingRule.model_construct(**dict(zip(_RULE_KEYS, row, strict=True)))
            for row in _ACTIVE_RULES.rows(self.engine, account_id=account_id)
        ]
        return sorted(rules, key=lambda r: r.caller is None)

    def turn_off(self, account_id: int) -> int:
        """Deactivate every active rule of the account; how many there were."""
        with transaction(self.engine) as session:
            return session.exec(
                update(ForwardingRule)
                .where(
                    col(ForwardingRule.account_id) == account_id,
                    col(ForwardingRule.active).is_(True),
                )
                .values(active=False)
            ).rowcount

    def remove(self, account_id: int, rule_id: int) -> bool:
        """Deactivate one active rule of the account; False when it has no such rule."""
        with transaction(self.engine) as session:
            return (
                session.exec(
                    update(ForwardingRule)
                    .where(
                        col(ForwardingRule.id) == rule_id,
                        col(ForwardingRule.account_id) == account_id,
                        col(ForwardingRule.active).is_(True),
                    )
                    .values(active=False)
                ).rowcount
                == 1
            )

    def match(
        self,
        account_id: int,
        caller: str | None,
        moment: datetime,
        *,
        account: Account | None = None,
    ) -> ForwardingRule | None:
        """The rule that applies to a call from `caller` at `moment`, or None.

        An aware `moment` is converted to the account's time zone (read from `account`
        when given); a naive one is taken as the account's local time already. A rule for
        this caller beats a general one.
        """
        if account is None:
            with transaction(self.engine) as session:
                account = session.get(Account, account_id)
        if account is None:
            return None
        if moment.tzinfo is not None:
            moment = moment.astimezone(ZoneInfo(account.timezone))
        caller_key = _number_key(caller)
        candidates = [
            r
            for r in self.rules(account_id)
            if r.caller is None or (caller_key and _number_key(r.caller) == caller_key)
        ]
        for rule in candidates:  # caller-specific rules come first
            if applies(rule, moment):
                return rule
        return None


def applies(rule: ForwardingRule, local: datetime) -> bool:
    """Whether the rule's days and hours cover the local wall-clock moment."""
    days = set(rule.days.split(",")) if rule.days else set(DAYS)
    today = DAYS[local.weekday()]
    yesterday = DAYS[(local - timedelta(days=1)).weekday()]
    if not rule.start and not rule.end:
        return today in days
    start = _time(rule.start) if rule.start else time(0, 0)
    now = local.time().replace(tzinfo=None)
    if not rule.end:
        return today in days and now >= start
    end = _time(rule.end)
    if start == end:
        return today in days
    if start < end:
        return today in days and start <= now < end
    # Past midnight: the evening part is today's, the early-morning part yesterday's.
    return (now >= start and today in days) or (now < end and yesterday in days)


def _time(hhmm: str) -> time:
    hours, minutes = hhmm.split(":")
    return time(int(hours), int(minutes))


def _number_key(number: str | None) -> str:
    # Callers may arrive as "+33 6 12…" or "0033612…"; compare digits only.
    if not number:
        return ""
    digits = "".join(ch for ch in number if ch.isdigit())
    return digits[2:] if number.strip().startswith("00") else digits
