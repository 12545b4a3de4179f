"""Reminders: asked for in the chat (`chat`), fired by the scheduler (`scheduler`), by
message or spoken in a call to the verified number (`by_call`)."""

from bot.features.reminders.chat import router

__all__ = ["router"]
