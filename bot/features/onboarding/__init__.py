"""First contact (/start) and the user's time zone."""

from bot.features.onboarding.start import router

__all__ = ["router"]
