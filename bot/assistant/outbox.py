"""Messages the assistant starts itself: pushed to every network identity of an account.

Each chat adapter registers how to send on its network; flows that finish later (a
call's status, a reminder, a deposit credited) call `notify(account_id, reply)`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.assistant.replies import Reply
from storage.accounts import AccountStore

log = logging.getLogger(__name__)

SendFunction = Callable[[str, Reply], Awaitable[None]]


class Outbox:
    """Routes a reply to an account's identities on the networks that are running."""

    def __init__(self, accounts: AccountStore) -> None:
        self.accounts = accounts
        self._senders: dict[str, SendFunction] = {}
        self._editing: set[str] = set()

    def register(self, network: str, send: SendFunction, *, edits: bool = False) -> None:
        """Let `notify` reach users of `network` through `send(external_id, reply)`.

        `edits`: the network updates a keyed message in place, so progress updates
        (`Reply.progress`) are worth sending to it.
        """
        self._senders[network] = send
        if edits:
            self._editing.add(network)
        else:
            self._editing.discard(network)

    def unregister(self, network: str) -> None:
        """Stop delivering to `network` (its adapter is shutting down)."""
        self._senders.pop(network, None)
        self._editing.discard(network)

    @property
    def networks(self) -> set[str]:
        """The networks a notification can currently reach."""
        return set(self._senders)

    async def notify(self, account_id: int, reply: Reply) -> int:
        """Send `reply` to every reachable identity of the account; return how many got it.

        A failure on one network is logged and does not stop delivery to the others.
        """
        identities = await asyncio.to_thread(self.accounts.identities, account_id)
        targets = [
            (i.network, i.external_id, self._senders[i.network])
            for i in identities
            if i.network in self._senders and (not reply.progress or i.network in self._editing)
        ]
        results = await asyncio.gather(
            *(send(external_id, reply) for _network, external_id, send in targets),
            return_exceptions=True,
        )
        delivered = 0
        for (network, _external_id, _send), result in zip(targets, results, strict=True):
            if isinstance(result, BaseException):
                log.warning(
                    "notification to account %s on %s failed: %s",
                    account_id,
                    network,
                    type(result).__name__,
                )
            else:
                delivered += 1
        return delivered
