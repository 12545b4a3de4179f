"""Leaving: "my data" (a JSON export of everything kept) and "forget me"."""

from bot.features.privacy.leaving import router

__all__ = ["router"]
