"""The service's duty for polls: every account with a linked wallet is told of each open
poll (in its language, with the buttons), and every voter gets the results when a poll
closes, each once whatever the number of instances.

The operator opens and closes polls from another process (`admin poll`), so the duty
reads them from the database every CHECK_SECONDS. Each message is claimed first
(storage.polls: a row per poll, account and kind); one that reached none of the account's
chats (its network not running here) is tried again after CLAIM_LEASE. Results go to the
voters of the polls closed within RESULTS_WITHIN (a service stopped for longer does not
send stale results).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from bot.assistant.i18n import DEFAULT_LANGUAGE, LANGUAGES
from bot.assistant.replies import Reply
from bot.assistant.services import Services
from bot.features.polls import text
from domain.clock import sleep_unless_stopped, utcnow
from storage.models import Account, Poll
from storage.polls import OPEN, RESULT
from wallet.polls import Polls

log = logging.getLogger(__name__)
CHECK_SECONDS = 30.0
CLAIM_LEASE = timedelta(minutes=10)
RESULTS_WITHIN = timedelta(days=2)


class PollNotices:
    """Announcements and results, sent through the outbox."""

    def __init__(self, services: Services, *, interval: float = CHECK_SECONDS) -> None:
        self.services = services
        self.polls = Polls(services.engine)
        self.interval = interval

    async def run(self, stop: asyncio.Event) -> None:
        """Send what is due every `interval` seconds until `stop` is set."""
        while not stop.is_set():
            try:
                await self.tick()
            except Exception:  # the next round tries again
                log.exception("poll notices failed")
            await sleep_unless_stopped(stop, self.interval)

    async def tick(self, now: datetime | None = None) -> int:
        """Send the announcements and results due at `now`; how many reached someone."""
        now = now or utcnow()
        sent = 0
        for poll in await asyncio.to_thread(self.polls.store.open_polls, now):
            sent += await self._announce(poll, now)
        closed = await asyncio.to_thread(self.polls.store.closed_since, now - RESULTS_WITHIN, now)
        for poll in closed:
            sent += await self._results(poll, now)
        return sent

    async def _announce(self, poll: Poll, now: datetime) -> int:
        store = self.polls.store
        linked = dict(await asyncio.to_thread(store.linked_accounts))
        due = await asyncio.to_thread(store.unsent, poll.id, OPEN, linked, now - CLAIM_LEASE)
        sent = 0
        for account_id in due:
            account = await self._claimed(poll, account_id, OPEN, now)
            if account is None or not account.wallet_address:
                continue
            address = account.wallet_address
            weight = await asyncio.to_thread(store.weight, poll.id, address)
            vote = await asyncio.to_thread(store.vote_of, poll.id, address)
            reply = text.announcement(account, poll, weight, vote, _lang(account))
            sent += await self._send(poll, account_id, OPEN, reply, now)
        return sent

    async def _results(self, poll: Poll, now: datetime) -> int:
        store = self.polls.store
        voters = await asyncio.to_thread(store.voters, poll.id)
        due = await asyncio.to_thread(store.unsent, poll.id, RESULT, voters, now - CLAIM_LEASE)
        if not due:
            return 0
        results = await asyncio.to_thread(self.polls.results, poll)
        charts: dict[str, bytes] = {}
        sent = 0
        for account_id in due:
            account = await self._claimed(poll, account_id, RESULT, now)
            if account is None:
                continue
            lang = _lang(account)
            if lang not in charts:
                charts[lang] = await asyncio.to_thread(text.chart, results, lang)
            reply = text.results_reply(account, results, lang, charts[lang])
            sent += await self._send(poll, account_id, RESULT, reply, now)
        return sent

    async def _claimed(
        self, poll: Poll, account_id: int, kind: str, now: datetime
    ) -> Account | None:
        """The account, when this instance claimed its message (None: another did)."""
        store = self.polls.store
        claimed = await asyncio.to_thread(
            store.claim, poll.id, account_id, kind, now - CLAIM_LEASE, now
        )
        if not claimed:
            return None
        return await asyncio.to_thread(self.services.accounts.get, account_id)

    async def _send(
        self, poll: Poll, account_id: int, kind: str, reply: Reply, now: datetime
    ) -> int:
        delivered = await self.services.outbox.notify(account_id, reply)
        if delivered:
            await asyncio.to_thread(self.polls.store.mark_sent, poll.id, account_id, kind, now)
            return 1
        return 0


def _lang(account: Account) -> str:
    return account.language if account.language in LANGUAGES else DEFAULT_LANGUAGE
