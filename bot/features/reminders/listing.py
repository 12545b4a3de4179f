"""The account's reminders still to come, as one numbered list ("my reminders"): one-off
reminders, repeating ones (by their next time) and the next alarms of its calendars; and
the one a user names to stop ("stop the medicine reminder", "supprime le rappel du lundi",
"cancel reminder 2")."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime

from bot.assistant import Context, Reply, Services
from bot.assistant.i18n import t
from bot.features.reminders import wording
from domain import recurrence
from nlu.normalize import fold
from nlu.recurrence import RFC_DAYS
from nlu.schedule import find_days
from storage.models import Account
from storage.reminders import PENDING

ONCE, SERIES, CALENDAR = "once", "series", "calendar"
CALENDAR_SHOWN = 10  # a calendar's next alarms listed (the feed may hold hundreds)
# Two words are one when they differ only in their last letters (inflections:
# "medicine"/"medicines", "таблетки"/"таблеток", "маму"/"маме"): at most this many.
ENDING = 2


@dataclass(frozen=True)
class Item:
    """One line of the list: what it is (`kind`), the row's id, its next time (aware),
    its text, channel, and for a repeating one its rule and local start."""

    kind: str
    id: int
    at: datetime
    text: str
    channel: str
    rule: str | None = None
    dtstart: datetime | None = None
    zone: str = "UTC"
    calendar: str | None = None
    start: datetime | None = None  # a calendar event's start (`at` is when it reminds)


def of_account(services: Services, account: Account, now: datetime) -> list[Item]:
    """The account's reminders to come, soonest first (one-off, repeating, calendar)."""
    items = [
        Item(ONCE, r.id, r.fire_at, r.text, r.channel)
        for r in services.reminders.pending(account.id)
        if r.series_id is None and r.calendar_id is None
    ]
    for s in services.series.active(account.id):
        if s.next_at is not None:
            items.append(Item(SERIES, s.id, s.next_at, s.text, s.channel, s.rule,
                              datetime.fromisoformat(s.dtstart), s.timezone))  # fmt: skip
    labels = {c.id: c.label for c in services.calendars.of_account(account.id)}
    for r in services.calendars.upcoming(account.id, limit=CALENDAR_SHOWN):
        if r.state == PENDING:
            label = labels.get(r.calendar_id or 0, "")
            items.append(Item(CALENDAR, r.id, r.fire_at, r.text, r.channel, calendar=label,
                              start=r.event_at or r.fire_at))  # fmt: skip
    return sorted(items, key=lambda item: (item.at, item.kind, item.id))


def line(ctx: Context, item: Item) -> str:
    """One reminder in words, in the user's language."""
    channel = t(ctx.lang, f"channel_{item.channel}")
    text = item.text or t(ctx.lang, "reminder_no_text")
    if item.kind == SERIES and item.rule and item.dtstart:
        when = wording.describe(item.rule, item.dtstart, ctx.lang, item.zone)
        return t(ctx.lang, "reminders_line_series", next=ctx.local_time(item.at), when=when,
                 text=text, channel=channel)  # fmt: skip
    if item.kind == CALENDAR:
        start = ctx.local_time(item.start or item.at)
        return t(ctx.lang, "reminders_line_calendar", at=ctx.local_time(item.at), text=text,
                 calendar=item.calendar or "", channel=channel, start=start)  # fmt: skip
    return t(ctx.lang, "reminders_line_once", at=ctx.local_time(item.at), text=text,
             channel=channel)  # fmt: skip


def render(ctx: Context, items: list[Item]) -> Reply:
    """The numbered list (the numbers "cancel reminder N" takes), or how to make one."""
    if not items:
        return ctx.say("reminders_none")
    lines = [t(ctx.lang, "reminders_header")]
    lines += [f"{n}. {line(ctx, item)}" for n, item in enumerate(items, 1)]
    lines.append(t(ctx.lang, "reminders_footer"))
    return Reply("\n".join(lines), lang=ctx.lang)


@dataclass(frozen=True)
class Choice:
    """The reminders a user named, or why none is chosen: `reason` "no_number" (no such
    number in the list), "several" (the words fit more than one), "none" (they fit none)."""

    items: tuple[Item, ...] = ()
    reason: str | None = None


def choose(items: list[Item], number: int | None, about: str | None) -> Choice:
    """The reminders a user names: by number in the list, else the only one whose text
    holds every word of `about` (accents, case and endings aside: `_same_word`) or, for
    day names, whose rule falls on those days — on exactly those days when several fall
    on them ("the monday reminder" beside an every-weekday one)."""
    if number is not None:
        if 1 <= number <= len(items):
            return Choice((items[number - 1],))
        return Choice(reason="no_number")
    if not about:
        return Choice(tuple(items)) if len(items) == 1 else Choice(reason="several")
    days = [RFC_DAYS[d] for d in find_days(fold(about)) or []]
    words = [w for w in _words(about) if len(w) > 2]
    matches = [i for i in items if _names(i, words, days)]
    if len(matches) > 1 and days:
        exact = [i for i in matches if i.rule is not None and _days_of(i) == set(days)]
        matches = exact or matches
    if len(matches) == 1:
        return Choice((matches[0],))
    return Choice(reason="several" if matches else "no_match")


def _names(item: Item, words: list[str], days: list[str]) -> bool:
    own = _words(item.text)
    by_words = bool(words) and all(any(_same_word(o, w) for o in own) for w in words)
    by_days = bool(days) and item.rule is not None and all(d in _days_of(item) for d in days)
    if days and not words:
        return by_days
    return by_words or by_days


def _same_word(a: str, b: str) -> bool:
    common = len(os.path.commonprefix([a, b]))
    return common >= max(3, min(len(a), len(b)) - ENDING)


def _days_of(item: Item) -> set[str]:
    assert item.rule is not None
    for part in item.rule.split(";"):
        name, _, value = part.partition("=")
        if name == "BYDAY":
            return {code[-2:] for code in value.split(",")}
    if "FREQ=DAILY" in item.rule:
        return set(recurrence.DAYS)
    if "FREQ=WEEKLY" in item.rule and item.dtstart is not None:
        return {recurrence.DAYS[item.dtstart.weekday()]}
    return set()


def _words(text: str) -> list[str]:
    return "".join(ch if ch.isalnum() else " " for ch in fold(text)).split()


def stop(services: Services, account: Account, item: Item) -> bool:
    """Stop one listed reminder of the account (a series: every occurrence to come)."""
    if item.kind == SERIES:
        return services.series.stop(item.id, account.id)
    return services.reminders.cancel(item.id, account.id)
