"""Own-number verification by a call on which the user types the chat's code (DTMF)."""

from bot.features.verification.verify import router

__all__ = ["router"]
