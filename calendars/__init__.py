"""Calendars of users: iCalendar feeds, CalDAV accounts and imported files."""
