"""The account's numbers: its direct numbers, extension and caller ID ("my numbers",
"hide my number", "show my number")."""

from bot.features.numbers.direct import router

__all__ = ["router"]
