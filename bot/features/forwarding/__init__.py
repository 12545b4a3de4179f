"""Call forwarding rules set in the chat."""

from bot.features.forwarding.rules import router

__all__ = ["router"]
