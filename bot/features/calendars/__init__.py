"""The user's calendars: connecting a feed or a CalDAV account (`chat`), importing an .ics
file (`files`), exporting the reminders as one, and telling the owner of a calendar that
stopped answering (`notices`)."""

from bot.features.calendars.chat import router
from bot.features.calendars.notices import calendar_notifier

__all__ = ["calendar_notifier", "router"]
