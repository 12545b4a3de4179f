"""The account's own reminders as an iCalendar file (RFC 5545): one-off reminders still to
come, and repeating ones with their rule, each an event with an alarm at its time."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.assistant import Services
from calendars.ics import ExportItem, export
from storage.models import Account

UID_DOMAIN = "encryptotel"


def ics_of(services: Services, account: Account, now: datetime) -> tuple[bytes, int]:
    """(the .ics bytes, how many reminders they hold). Calendar reminders are left out:
    they come from the user's own calendar already."""
    items = [
        ExportItem(
            uid=f"reminder-{r.id}@{UID_DOMAIN}",
            summary=r.text,
            start=r.fire_at,
            rule=None,
            channel=r.channel,
        )
        for r in services.reminders.pending(account.id)
        if r.series_id is None and r.calendar_id is None and r.fire_at > now
    ]
    for s in services.series.active(account.id):
        start = datetime.fromisoformat(s.dtstart).replace(tzinfo=ZoneInfo(s.timezone))
        items.append(
            ExportItem(
                uid=f"series-{s.id}@{UID_DOMAIN}",
                summary=s.text,
                start=start,
                rule=s.rule,
                channel=s.channel,
            )
        )
    return export(items, zone=account.timezone), len(items)
