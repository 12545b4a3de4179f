"""EncryptoTel command parser: chat message -> command (the contract: nlu/SCHEMA.md).

`parse` gives the contract's JSON object; `command_of` turns it into a typed command.
"""

from nlu.commands import Command, command_of
from nlu.fallback import warm_up
from nlu.parser import parse

__all__ = ["Command", "command_of", "parse", "warm_up"]
