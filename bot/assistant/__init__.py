"""The assistant: who asks + what they wrote → replies.

The core (`core.Assistant`), what a request carries (`context`), the replies and
button data adapters exchange with it (`replies`, `buttons`), the routers features
declare themselves on (`router`), the services features reach (`services`), the
message catalogues (`i18n`, `locales/`), the outbox of pushed messages and the
background work that outlives a message.
"""

from bot.assistant.context import Context, Refusal
from bot.assistant.core import Assistant
from bot.assistant.replies import Button, Reply, Sender
from bot.assistant.router import Router
from bot.assistant.services import Services

__all__ = ["Assistant", "Button", "Context", "Refusal", "Reply", "Router", "Sender", "Services"]
