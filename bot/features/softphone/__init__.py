"""Softphone (SIP) credentials: "my SIP account", "new SIP password"."""

from bot.features.softphone.credentials import router

__all__ = ["router"]
