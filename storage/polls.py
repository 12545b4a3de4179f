"""ETT holders' polls in the database: the poll, the holders' balances at its snapshot,
one vote per address, and the messages sent about it (claimed, so each goes once).

A vote is written while the poll's row is locked, and refused once the poll is closed
(by its closing time or by the operator): a press racing the close either lands before
it or is refused. Several instances share the notices: the row (poll, account, kind) is
the claim, inserted with ON CONFLICT DO NOTHING; a claim not marked sent within
`stale_after` (a crash, no chat reachable) may be claimed again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, and_, func, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import SQLModel, col, select

from domain.clock import utcnow
from storage.db import is_sqlite, read, transaction
from storage.models import Account, Poll, PollNotice, PollVote, PollWeight

OPEN, RESULT = "open", "result"  # PollNotice.kind
_vote = SQLModel.metadata.tables[str(PollVote.__tablename__)]
_notice = SQLModel.metadata.tables[str(PollNotice.__tablename__)]
_weight = SQLModel.metadata.tables[str(PollWeight.__tablename__)]
WEIGHT_BATCH = 1000  # rows per INSERT of a snapshot's balances


class VoteRefused(Exception):
    """A vote the poll does not take: `reason` is CLOSED, NO_POLL, NO_WEIGHT or BAD_OPTION."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


CLOSED, NO_POLL, NO_WEIGHT, BAD_OPTION = "closed", "no_poll", "no_weight", "bad_option"


@dataclass(frozen=True)
class Tally:
    """One option's count: its index, label, how many addresses chose it, and the sum of
    their weights (smallest units)."""

    option: int
    label: str
    votes: int
    weight: int


def options_of(poll: Poll) -> list[str]:
    """The poll's options, in order."""
    return [str(label) for label in json.loads(poll.options)]


def aware(moment: datetime) -> datetime:
    """A stored time as an aware UTC time (SQLite may hand it back naive)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def is_closed(poll: Poll, now: datetime | None = None) -> bool:
    """Whether the poll takes no more votes at `now` (closed by the operator or its time)."""
    now = now or utcnow()
    return poll.closed_at is not None or aware(poll.closes_at) <= now


def closed_at(poll: Poll) -> datetime:
    """When the poll closes or closed."""
    return aware(poll.closed_at or poll.closes_at)


class PollStore:
    """Polls, their snapshots, votes and notices."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        sqlite = is_sqlite(engine)
        self._insert_vote = sqlite_insert(_vote) if sqlite else pg_insert(_vote)
        self._insert_notice = sqlite_insert(_notice) if sqlite else pg_insert(_notice)

    # --- polls ---------------------------------------------------------------------------

    def create(
        self,
        *,
        question: str,
        options: Sequence[str],
        asset_id: str,
        decimals: int,
        height: int,
        closes_at: datetime,
        weights: dict[str, int],
    ) -> Poll:
        """A new poll with the balances (address -> smallest units, positive) of its
        snapshot, in one transaction."""
        with transaction(self.engine) as session:
            poll = Poll(
                question=question,
                options=json.dumps(list(options), ensure_ascii=False),
                asset_id=asset_id,
                decimals=decimals,
                height=height,
                closes_at=closes_at,
            )
            session.add(poll)
            session.flush()
            rows = [
                {"poll_id": poll.id, "address": address, "amount": amount}
                for address, amount in weights.items()
                if amount > 0
            ]
            for start in range(0, len(rows), WEIGHT_BATCH):
                session.execute(_weight.insert(), rows[start : start + WEIGHT_BATCH])
            session.refresh(poll)
            session.expunge(poll)
            return poll

    def get(self, poll_id: int) -> Poll | None:
        """The poll, or None."""
        with transaction(self.engine) as session:
            poll = session.get(Poll, poll_id)
            if poll is not None:
                session.expunge(poll)
            return poll

    def listing(self, limit: int = 50) -> list[Poll]:
        """The newest polls first."""
        with transaction(self.engine) as session:
            polls = list(session.exec(select(Poll).order_by(col(Poll.id).desc()).limit(limit)))
            session.expunge_all()
            return polls

    def open_polls(self, now: datetime | None = None) -> list[Poll]:
        """The polls that take votes at `now`, oldest first."""
        now = now or utcnow()
        with transaction(self.engine) as session:
            polls = list(
                session.exec(
                    select(Poll)
                    .where(col(Poll.closed_at).is_(None), col(Poll.closes_at) > now)
                    .order_by(col(Poll.id))
                )
            )
            session.expunge_all()
            return polls

    def closed_since(self, since: datetime, now: datetime | None = None) -> list[Poll]:
        """The polls that closed between `since` and `now`, oldest first."""
        now = now or utcnow()
        with transaction(self.engine) as session:
            closing = func.coalesce(col(Poll.closed_at), col(Poll.closes_at))
            polls = list(
                session.exec(
                    select(Poll).where(closing <= now, closing > since).order_by(col(Poll.id))
                )
            )
            session.expunge_all()
            return polls

    def latest_closed(self, now: datetime | None = None) -> Poll | None:
        """The poll that closed last before `now`, or None."""
        now = now or utcnow()
        closing = func.coalesce(col(Poll.closed_at), col(Poll.closes_at))
        with transaction(self.engine) as session:
            poll = session.exec(
                select(Poll).where(closing <= now).order_by(closing.desc(), col(Poll.id).desc())
            ).first()
            if poll is not None:
                session.expunge(poll)
            return poll

    def close(self, poll_id: int, now: datetime | None = None) -> Poll | None:
        """Close the poll now (no more votes); a poll already closed keeps its closing
        time. None for an unknown poll."""
        now = now or utcnow()
        with transaction(self.engine) as session:
            poll = session.exec(
                select(Poll).where(col(Poll.id) == poll_id).with_for_update()
            ).first()
            if poll is None:
                return None
            if not is_closed(poll, now):
                poll.closed_at = now
                session.add(poll)
                session.flush()
            session.refresh(poll)
            session.expunge(poll)
            return poll

    # --- weights and votes ------------------------------------------------------------

    def weight(self, poll_id: int, address: str) -> int:
        """The address's balance at the poll's snapshot (0: it held none)."""
        with read(self.engine) as conn:
            amount = conn.execute(
                select(_weight.c.amount).where(
                    _weight.c.poll_id == poll_id, _weight.c.address == address
                )
            ).scalar_one_or_none()
        return int(amount or 0)

    def snapshot(self, poll_id: int) -> dict[str, int]:
        """Every holder's balance at the snapshot, address -> smallest units."""
        with read(self.engine) as conn:
            rows = conn.execute(
                select(_weight.c.address, _weight.c.amount)
                .where(_weight.c.poll_id == poll_id)
                .order_by(_weight.c.address)
            )
            return {address: int(amount) for address, amount in rows}

    def vote(
        self, poll_id: int, address: str, option: int, account_id: int, now: datetime | None = None
    ) -> PollVote:
        """Record (or change) the vote of `address`, chosen by `account_id`, with its
        snapshot weight. Raises VoteRefused (NO_POLL, CLOSED, BAD_OPTION, NO_WEIGHT)."""
        now = now or utcnow()
        with transaction(self.engine) as session:
            # The poll's row, locked: a close waits for this vote, or this vote sees it.
            poll = session.exec(
                select(Poll).where(col(Poll.id) == poll_id).with_for_update()
            ).first()
            if poll is None:
                raise VoteRefused(NO_POLL)
            if is_closed(poll, now):
                raise VoteRefused(CLOSED)
            if not 0 <= option < len(options_of(poll)):
                raise VoteRefused(BAD_OPTION)
            weight = session.get(PollWeight, (poll_id, address))
            if weight is None or weight.amount <= 0:
                raise VoteRefused(NO_WEIGHT)
            values = {
                "poll_id": poll_id,
                "address": address,
                "option": option,
                "weight": weight.amount,
                "account_id": account_id,
                "voted_at": now,
            }
            statement = self._insert_vote.values(**values).on_conflict_do_update(
                index_elements=["poll_id", "address"],
                set_={"option": option, "account_id": account_id, "voted_at": now},
            )
            session.execute(statement)
            vote = session.get(PollVote, (poll_id, address), populate_existing=True)
            assert vote is not None
            session.expunge(vote)
            return vote

    def vote_of(self, poll_id: int, address: str) -> PollVote | None:
        """The address's vote in the poll, or None."""
        with transaction(self.engine) as session:
            vote = session.get(PollVote, (poll_id, address))
            if vote is not None:
                session.expunge(vote)
            return vote

    def votes(self, poll_id: int) -> list[PollVote]:
        """Every vote of the poll, by address."""
        with transaction(self.engine) as session:
            votes = list(
                session.exec(
                    select(PollVote)
                    .where(col(PollVote.poll_id) == poll_id)
                    .order_by(col(PollVote.address))
                )
            )
            session.expunge_all()
            return votes

    def tallies(self, poll: Poll) -> list[Tally]:
        """Each option's votes and weight, in the poll's order (options nobody chose: 0)."""
        with read(self.engine) as conn:
            rows = conn.execute(
                select(_vote.c.option, func.count(), func.coalesce(func.sum(_vote.c.weight), 0))
                .where(_vote.c.poll_id == poll.id)
                .group_by(_vote.c.option)
            ).all()
        counted = {int(option): (int(n), int(weight)) for option, n, weight in rows}
        return [
            Tally(i, label, *counted.get(i, (0, 0))) for i, label in enumerate(options_of(poll))
        ]

    def voters(self, poll_id: int) -> list[int]:
        """The accounts that chose the poll's votes, and those whose linked wallet is an
        address that voted (two accounts may prove one address): each once."""
        addresses = select(_vote.c.address).where(_vote.c.poll_id == poll_id)
        with read(self.engine) as conn:
            chose = conn.execute(
                select(_vote.c.account_id).where(
                    _vote.c.poll_id == poll_id, _vote.c.account_id.is_not(None)
                )
            ).scalars()
            linked = conn.execute(
                select(col(Account.id)).where(
                    col(Account.wallet_address).in_(addresses),
                    col(Account.forgotten_at).is_(None),
                )
            ).scalars()
            return sorted({int(a) for a in chose} | {int(a) for a in linked})

    # --- notices --------------------------------------------------------------------------

    def linked_accounts(self) -> list[tuple[int, str]]:
        """(account id, Waves address) of every account with a linked wallet."""
        with read(self.engine) as conn:
            rows = conn.execute(
                select(col(Account.id), col(Account.wallet_address))
                .where(
                    col(Account.wallet_address).is_not(None), col(Account.forgotten_at).is_(None)
                )
                .order_by(col(Account.id))
            )
            return [(int(account_id), str(address)) for account_id, address in rows]

    def unsent(
        self, poll_id: int, kind: str, account_ids: Iterable[int], stale_before: datetime
    ) -> list[int]:
        """Of `account_ids`, those with no notice of `kind` about the poll, or one claimed
        before `stale_before` and never marked sent."""
        wanted = list(account_ids)
        if not wanted:
            return []
        with read(self.engine) as conn:
            taken = conn.execute(
                select(_notice.c.account_id).where(
                    _notice.c.poll_id == poll_id,
                    _notice.c.kind == kind,
                    or_(_notice.c.sent_at.is_not(None), _notice.c.claimed_at >= stale_before),
                )
            ).scalars()
            done = set(taken)
        return [account_id for account_id in wanted if account_id not in done]

    def claim(
        self, poll_id: int, account_id: int, kind: str, stale_before: datetime, now: datetime
    ) -> bool:
        """Claim the notice of `kind` about the poll for the account: True when this caller
        is to send it (a new claim, or one left unsent since before `stale_before`)."""
        row = {
            "poll_id": poll_id,
            "account_id": account_id,
            "kind": kind,
            "claimed_at": now,
            "sent_at": None,
        }
        insert = self._insert_notice.values(**row).on_conflict_do_nothing(
            index_elements=["poll_id", "account_id", "kind"]
        )
        with self.engine.begin() as conn:
            if conn.execute(insert.execution_options(preserve_rowcount=True)).rowcount == 1:
                return True
            again = (
                update(_notice)
                .where(
                    and_(
                        _notice.c.poll_id == poll_id,
                        _notice.c.account_id == account_id,
                        _notice.c.kind == kind,
                        _notice.c.sent_at.is_(None),
                        _notice.c.claimed_at < stale_before,
                    )
                )
                .values(claimed_at=now)
            )
            return conn.execute(again).rowcount == 1

    def mark_sent(self, poll_id: int, account_id: int, kind: str, now: datetime) -> None:
        """The notice reached the account."""
        with self.engine.begin() as conn:
            conn.execute(
                update(_notice)
                .where(
                    _notice.c.poll_id == poll_id,
                    _notice.c.account_id == account_id,
                    _notice.c.kind == kind,
                )
                .values(sent_at=now)
            )

    def notices(self, poll_id: int, kind: str) -> dict[int, datetime | None]:
        """account id -> when the notice of `kind` was sent (None: claimed, not sent)."""
        with read(self.engine) as conn:
            rows = conn.execute(
                select(_notice.c.account_id, _notice.c.sent_at).where(
                    _notice.c.poll_id == poll_id, _notice.c.kind == kind
                )
            )
            return {int(a): (aware(s) if s else None) for a, s in rows}
