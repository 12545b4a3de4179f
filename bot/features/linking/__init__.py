"""One account on several networks: a one-time code from one, typed on the other."""

from bot.features.linking.link import router

__all__ = ["router"]
