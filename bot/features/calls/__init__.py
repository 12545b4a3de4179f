"""Callbacks from the chat: quote (`offer`), the running call and its duties (`runner`),
the status message (`status`), and the routes (`handlers`)."""

from bot.features.calls.handlers import router

__all__ = ["router"]
