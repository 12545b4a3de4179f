"""Reminders in the chat: storing what the user asked for, and the message that fires."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.assistant import Context, Refusal, Reply, Router
from bot.assistant.i18n import t
from nlu.commands import Remind
from storage.models import Account, Reminder
from storage.reminders import CHANNELS, MAX_TEXT

router = Router("reminders")


@router.intent(Remind)
def schedule(ctx: Context, cmd: Remind) -> list[Reply]:
    """Store the reminder of a parsed `remind` command and confirm it."""
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


def check(account: Account, fire_at: datetime, text: str, now: datetime) -> None:
    """Refuse a reminder the chat would not store: Refusal "remind_in_past" (its time,
    aware, is not after `now`; the time shown in the account's zone) or "remind_too_long"
    (more than MAX_TEXT characters)."""
    if fire_at <= now:
        local = fire_at.astimezone(ZoneInfo(account.timezone)).strftime("%Y-%m-%d %H:%M")
        raise Refusal("remind_in_past", at=local)
    if len(text) > MAX_TEXT:
        raise Refusal("remind_too_long", limit=MAX_TEXT)


def fire_message(account: Account | None, reminder: Reminder, *, instead_of_call: bool) -> str:
    """The chat message of a reminder whose time has come, in the account's language."""
    lang = account.language if account else "en"
    text = reminder.text or t(lang, "reminder_no_text")
    return t(lang, "reminder_fire_call" if instead_of_call else "reminder_fire", text=text)
