"""Chat adapters: each turns its network's updates into `Assistant` calls and `Reply`
objects into messages, behind one contract (`ChatAdapter`)."""

from __future__ import annotations

import asyncio
from typing import Protocol

from bot.assistant.replies import Reply


class ChatAdapter(Protocol):
    """One chat network as the service runs it.

    `network`: the name identities are stored under (`telegram`, `xmpp`, `console`);
    `edits`: whether the network updates a keyed message in place.
    """

    network: str
    edits: bool

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until `stop` is set, registered with the outbox while running."""
        ...

    async def send(self, external_id: str, reply: Reply) -> None:
        """Send (or, for a keyed reply on an editing network, edit) one message."""
        ...
