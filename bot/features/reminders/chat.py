"""Reminders in the chat: storing what the user asked for (once, or repeating), listing
and stopping them, and the words of a reminder whose time has come."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.assistant import Context, Refusal, Reply, Router
from bot.assistant.i18n import catalogue, t
from bot.features.reminders import listing, wording
from bot.features.reminders.series import start_of
from domain import recurrence
from nlu.commands import Remind, Reminders
from storage.models import Account, Reminder
from storage.reminders import CHANNELS, MAX_TEXT

router = Router("reminders")
# A reminder delivered this long after its time says when it was due (the service was
# not running, or the network not reachable).
LATE_AFTER = timedelta(minutes=2)


@router.intent(Remind)
def schedule(ctx: Context, cmd: Remind) -> list[Reply]:
    """Store the reminder of a parsed `remind` command (a series when it repeats) and
    confirm it."""
    if (problem := _unreadable(cmd)) is not None:
        return [ctx.say(problem)]
    if cmd.at is None:
        return [ctx.say("remind_need_time")]
    channel = cmd.channel if cmd.channel in CHANNELS else "message"
    text = cmd.text.strip()
    scheduler = ctx.services.scheduler
    if scheduler is None:
        understood = ctx.say(
            "remind_understood",
            at=cmd.at.strftime("%Y-%m-%d %H:%M"),
            channel=t(ctx.lang, f"channel_{channel}"),
            text=text,
        )
        return [understood, ctx.say("scheduler_not_configured")]
    fire_at = ctx.in_user_zone(cmd.at)
    if cmd.repeat:
        replies = [_repeat(ctx, cmd.repeat, fire_at, channel, text)]
    else:
        check(ctx.account, fire_at, text, ctx.now)
        ctx.services.reminders.add(ctx.account.id, fire_at, channel, text)
        replies = [
            ctx.say(
                "remind_saved",
                at=ctx.local_time(fire_at),
                channel=t(ctx.lang, f"channel_{channel}"),
                text=text or t(ctx.lang, "reminder_no_text"),
            )
        ]
    if channel == "call" and not scheduler.can_call:
        replies.append(ctx.say("remind_call_as_message"))
    elif channel == "call" and not (ctx.account.phone_number and ctx.account.phone_verified):
        replies.append(ctx.say("remind_call_needs_number"))
    return replies


def _repeat(ctx: Context, rule: str, first: datetime, channel: str, text: str) -> Reply:
    """Store a repeating reminder from its first occurrence `first` (aware)."""
    zone = ctx.account.timezone
    try:
        rule = recurrence.validate(rule)
        dtstart = start_of(first, zone)
        next_at = recurrence.next_after(rule, dtstart, zone, ctx.now - timedelta(seconds=1))
    except recurrence.RecurrenceError as error:
        key = f"remind_repeat_{error.code}"
        raise Refusal(key if key in catalogue("en") else "remind_repeat_syntax") from None
    if next_at is None:
        raise Refusal("remind_repeat_ended")
    check(ctx.account, next_at, text, ctx.now)
    when = wording.describe(rule, dtstart, ctx.lang, zone)
    if any(
        (s.rule, s.text, s.channel, s.next_at) == (rule, text, channel, next_at)
        for s in ctx.services.series.active(ctx.account.id)
    ):  # the same request again (a message sent twice): one reminder is enough
        return ctx.say("remind_repeat_already", when=when, text=text)
    ctx.services.series.add(ctx.account.id, rule, dtstart, zone, channel, text, next_at)
    saved = ctx.say(
        "remind_repeat_saved",
        when=when,
        first=ctx.local_time(next_at),
        channel=t(ctx.lang, f"channel_{channel}"),
        text=text or t(ctx.lang, "reminder_no_text"),
    )
    if _skips_short_months(rule):
        return Reply(saved.text + "\n" + t(ctx.lang, "remind_repeat_short_months"), lang=ctx.lang)
    return saved


def _unreadable(cmd: Remind) -> str | None:
    """The message for a time or repetition the parser read as impossible (nlu SCHEMA.md:
    `repeat_error`, and `error` "no such time"/"no such day" of a one-off reminder)."""
    code = cmd.repeat_error or {"no such time": "no_such_time", "no such day": "no_such_day"}.get(
        cmd.error or ""
    )
    key = f"remind_repeat_{code}"
    return key if code and key in catalogue("en") else None


def _skips_short_months(rule: str) -> bool:
    """Whether a rule names a day some months lack (the 29th to 31st): RFC 5545 skips
    those months (3.3.10: invalid dates are ignored), which the user should know."""
    parts = dict(part.partition("=")[::2] for part in rule.split(";"))
    if "BYMONTH" in parts:  # a yearly date ("29 February"): said by the rule's own words
        return False
    days = [int(day) for day in parts.get("BYMONTHDAY", "").split(",") if day.lstrip("-").isdigit()]
    return any(29 <= day <= 31 for day in days)


@router.intent(Reminders)
def reminders(ctx: Context, cmd: Reminders) -> list[Reply]:
    """List the account's reminders still to come ("my reminders"), or stop one (by its
    number in that list, or by words of its text or its days) or all of them."""
    items = listing.of_account(ctx.services, ctx.account, ctx.now)
    if cmd.action != "cancel":
        return [listing.render(ctx, items)]
    if not items:
        return [ctx.say("reminders_none")]
    own = [item for item in items if item.kind != listing.CALENDAR]
    if cmd.all:
        # A calendar's reminders come from the calendar: "disconnect my calendar" ends them.
        if not own:
            return [ctx.say("reminders_only_calendar")]
        chosen = listing.Choice(tuple(own))
    else:
        chosen = listing.choose(items, cmd.number, cmd.about)
    if chosen.reason is not None:
        return [ctx.say(f"reminders_{chosen.reason}", number=cmd.number, about=cmd.about),
                listing.render(ctx, items)]  # fmt: skip
    stopped = [item for item in chosen.items if listing.stop(ctx.services, ctx.account, item)]
    if not stopped:
        return [ctx.say("reminders_already_gone")]
    if len(stopped) == 1:
        return [ctx.say("reminders_stopped_one", what=listing.line(ctx, stopped[0]))]
    replies = [ctx.say("reminders_stopped_many", count=len(stopped))]
    if cmd.all and len(own) < len(items):
        replies.append(ctx.say("reminders_calendar_kept"))
    return replies


def check(account: Account, fire_at: datetime, text: str, now: datetime) -> None:
    """Refuse a reminder the chat would not store: Refusal "remind_in_past" (its time,
    aware, is not after `now`; the time shown in the account's zone) or "remind_too_long"
    (more than MAX_TEXT characters)."""
    if fire_at <= now:
        local = fire_at.astimezone(ZoneInfo(account.timezone)).strftime("%Y-%m-%d %H:%M")
        raise Refusal("remind_in_past", at=local)
    if len(text) > MAX_TEXT:
        raise Refusal("remind_too_long", limit=MAX_TEXT)


def subject(account: Account | None, reminder: Reminder, now: datetime) -> str:
    """What a reminder says when its time comes, in the account's language: its text, a
    calendar event's start, and when it comes late why (missed occurrences of a
    repeating reminder, or the service was not running at its time)."""
    lang = account.language if account else "en"
    zone = ZoneInfo(account.timezone if account else "UTC")
    text = reminder.text or t(lang, "reminder_no_text")
    if reminder.event_at is not None:
        start = reminder.event_at.astimezone(zone)
        same_day = start.date() == now.astimezone(zone).date()
        text = t(lang, "reminder_event", text=text, at=start.strftime(
            "%H:%M" if same_day else "%Y-%m-%d %H:%M"))  # fmt: skip
    due = reminder.fire_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    if reminder.missed:
        text += "\n" + t(lang, "reminder_missed", at=due, count=reminder.missed)
    elif now - reminder.fire_at > LATE_AFTER:
        text += "\n" + t(lang, "reminder_late", at=due)
    return text


def fire_message(
    account: Account | None, reminder: Reminder, *, instead_of_call: bool, now: datetime
) -> str:
    """The chat message of a reminder whose time has come, in the account's language."""
    lang = account.language if account else "en"
    text = subject(account, reminder, now)
    return t(lang, "reminder_fire_call" if instead_of_call else "reminder_fire", text=text)
