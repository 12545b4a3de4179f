"""The account at a glance: help, balance, extension."""

from bot.features.account.skills import router

__all__ = ["router"]
