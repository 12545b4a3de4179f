"""EncryptoTel command parser: chat message -> command dict (see shared/nlu/SCHEMA.md)."""

from nlu.fallback import warm_up
from nlu.parser import parse

__all__ = ["parse", "warm_up"]
