"""ETT holders' polls: opened by the operator, voted by the holders, counted by weight.

A poll's weights are the asset's balances at a block height the chain has passed (the
snapshot), read from the node's asset distribution at a height,
`GET /assets/{assetId}/distribution/{height}/limit/{limit}?after=ADDRESS` (paged: the
next page starts after `lastItem`, until `hasNext` is false), when the poll is opened, and
kept with it: the node answers that call only for heights less than its
max-rollback-depth (2000 blocks, about a day and a half) below the current one, and a
balance moved after the snapshot must not change a weight.

One vote per address (the account's linked, proven wallet: storage.wallet_links), changed
as often as wanted until the poll closes; two accounts that proved the same address vote
for it alike, the last choice counting. An address that held none of the asset at the
snapshot has no vote. Results: each option's votes, weight and share of the weight cast;
the export (CSV or JSON) lists every vote with its address and weight, so that anyone can
recount it against the chain (the account behind a vote is never in it).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import requests
from sqlalchemy import Engine

from domain.clock import utcnow
from storage.models import Account, Poll, PollVote
from storage.polls import (
    PollStore,
    Tally,
    VoteRefused,
    aware,
    closed_at,
    is_closed,
    options_of,
)
from wallet.waves import NodeUnavailable

MAX_QUESTION = 500  # characters (Poll.question)
MAX_OPTION = 40  # characters of an option: a button's label
MIN_OPTIONS, MAX_OPTIONS = 2, 10
PAGE = 1000  # addresses per distribution page (the node's default distribution-address-limit)
TIMEOUT = 15.0  # seconds one request to the node may take
NO_ADDRESS = "no_address"  # VoteRefused: the account has linked no wallet
EXPORT_FIELDS = ("poll_id", "question", "asset_id", "height", "address", "option", "weight")


class PollError(ValueError):
    """A poll the operator asked for that cannot be opened; the message says why."""


class NodeReader:
    """What polls read from a Waves node: its height, an asset's decimals, and the asset's
    distribution at a height. Raises wallet.waves.NodeUnavailable when the node cannot be
    reached or refuses (`code`: the node's error code)."""

    def __init__(self, node_url: str, *, timeout: float = TIMEOUT) -> None:
        self.node_url = node_url.rstrip("/")
        self.timeout = timeout

    def _get(self, path: str, params: dict[str, str] | None = None) -> Any:
        try:
            answer = requests.get(self.node_url + path, params=params, timeout=self.timeout)
        except (requests.ConnectionError, requests.Timeout) as error:
            raise NodeUnavailable(f"node unreachable: {type(error).__name__}") from None
        try:
            body = answer.json()
        except ValueError:
            raise NodeUnavailable(f"node answered {answer.status_code} without JSON") from None
        if answer.status_code >= 400 or (isinstance(body, dict) and "error" in body):
            code = body.get("error") if isinstance(body, dict) else None
            message = body.get("message", "") if isinstance(body, dict) else ""
            raise NodeUnavailable(
                f"node error {code}: {message}", code if isinstance(code, int) else None
            )
        return body

    def height(self) -> int:
        """The node's blockchain height."""
        return int(self._get("/blocks/height")["height"])

    def decimals(self, asset_id: str) -> int:
        """The asset's decimals, as the node reports them."""
        return int(self._get(f"/assets/details/{asset_id}")["decimals"])

    def distribution(self, asset_id: str, height: int, *, page: int = PAGE) -> dict[str, int]:
        """Every address holding the asset at `height` -> its balance (smallest units),
        read page by page (`after` = the previous page's `lastItem`)."""
        holders: dict[str, int] = {}
        after: str | None = None
        while True:
            params = {"after": after} if after else None
            answer = self._get(
                f"/assets/{asset_id}/distribution/{height}/limit/{page}", params=params
            )
            items = answer.get("items") or {}
            # Amounts may come as strings (Accept: …large-significand-format=string).
            holders.update({str(a): int(amount) for a, amount in items.items()})
            last = answer.get("lastItem")
            if not answer.get("hasNext") or not items or not last or last == after:
                return holders
            after = str(last)


@dataclass(frozen=True)
class Results:
    """A poll's count: each option's tally, the votes and weight cast (smallest units)."""

    poll: Poll
    tallies: list[Tally]

    @property
    def votes(self) -> int:
        """Addresses that voted."""
        return sum(t.votes for t in self.tallies)

    @property
    def weight(self) -> int:
        """The weight cast, smallest units."""
        return sum(t.weight for t in self.tallies)

    def share(self, tally: Tally) -> Decimal:
        """The option's share of the weight cast, in percent (0 when nothing was cast)."""
        if not self.weight:
            return Decimal(0)
        return Decimal(tally.weight * 100) / Decimal(self.weight)


def units_text(units: int, decimals: int) -> str:
    """Smallest units as a number with all the asset's decimals: 1250000000, 8 -> "12.50000000"."""
    return f"{Decimal(units).scaleb(-decimals):.{decimals}f}"


def parse_closing(text: str) -> datetime:
    """An ISO 8601 time ("2026-12-15T12:00Z", "2026-12-15 12:00+01:00"); one without an
    offset is UTC. Raises PollError."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise PollError(f"not a time: {text!r} (ISO 8601, e.g. 2026-12-15T12:00Z)") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class Polls:
    """Open, vote, count and export polls (storage.polls keeps them)."""

    def __init__(self, engine: Engine) -> None:
        self.store = PollStore(engine)

    def open(
        self,
        reader: NodeReader,
        *,
        question: str,
        options: Sequence[str],
        height: int,
        closes_at: datetime,
        asset_id: str,
        now: datetime | None = None,
    ) -> Poll:
        """A new poll whose weights are the asset's distribution at `height`, read now.

        Raises PollError for a blank or long question, fewer than 2 or more than 10
        options (each 1 to 40 characters, all different), a closing time not in the
        future, a height the node has not passed (it must be below the node's height) or
        at which no address held the asset (nobody could vote);
        NodeUnavailable when the node cannot be read or refuses (a height further back
        than its rollback depth)."""
        now = now or utcnow()
        question, labels = _checked(question, options)
        if aware(closes_at) <= now:
            raise PollError("the closing time must be in the future")
        if height < 1:
            raise PollError("the snapshot height must be 1 or more")
        current = reader.height()
        if height >= current:
            raise PollError(
                f"the node is at height {current}: the snapshot must be a block it has "
                f"passed (at most {current - 1})"
            )
        decimals = reader.decimals(asset_id)
        weights = reader.distribution(asset_id, height)
        if not any(amount > 0 for amount in weights.values()):
            # Nobody could vote: most likely a wrong height or ETT_ASSET_ID.
            raise PollError(
                f"no address held asset {asset_id} at block {height}: nobody could vote "
                "(check --height and ETT_ASSET_ID)"
            )
        return self.store.create(
            question=question,
            options=labels,
            asset_id=asset_id,
            decimals=decimals,
            height=height,
            closes_at=aware(closes_at),
            weights=weights,
        )

    def vote(
        self, poll_id: int, option: int, account: Account, now: datetime | None = None
    ) -> PollVote:
        """The account's address votes `option` (an index) in the poll, replacing its
        earlier choice. Raises VoteRefused: NO_ADDRESS (no linked wallet), NO_POLL,
        CLOSED, BAD_OPTION, NO_WEIGHT (the address held none at the snapshot)."""
        if not account.wallet_address:
            raise VoteRefused(NO_ADDRESS)
        return self.store.vote(poll_id, account.wallet_address, option, account.id, now)

    def results(self, poll: Poll) -> Results:
        """The count so far (final once the poll is closed)."""
        return Results(poll, self.store.tallies(poll))

    def export(self, poll: Poll, *, now: datetime | None = None) -> dict[str, Any]:
        """The verifiable record of the poll (JSON-serialisable): the question, options,
        asset, snapshot height, the node call that gives the weights, every vote (address,
        option, weight in smallest units) and the totals. No account is named."""
        now = now or utcnow()
        labels = options_of(poll)
        results = self.results(poll)
        return {
            "poll_id": poll.id,
            "question": poll.question,
            "options": labels,
            "asset_id": poll.asset_id,
            "decimals": poll.decimals,
            "height": poll.height,
            "weights_from": f"GET /assets/{poll.asset_id}/distribution/{poll.height}/limit/{PAGE}",
            "opened_at": aware(poll.created_at).isoformat(),
            "closes_at": closed_at(poll).isoformat(),
            "closed": is_closed(poll, now),
            "generated_at": now.isoformat(),
            "votes": [
                {
                    "address": vote.address,
                    "option": labels[vote.option],
                    "option_number": vote.option + 1,
                    "weight": vote.weight,
                }
                for vote in self.store.votes(poll.id)
            ],
            "totals": [
                {"option": t.label, "votes": t.votes, "weight": t.weight} for t in results.tallies
            ],
        }

    def export_json(self, poll: Poll, *, now: datetime | None = None) -> bytes:
        """`export` as UTF-8 JSON."""
        document = self.export(poll, now=now)
        return json.dumps(document, ensure_ascii=False, indent=2).encode()

    def export_csv(self, poll: Poll) -> bytes:
        """One line per vote: poll id, question, asset id, height, address, option, weight
        (smallest units); UTF-8 with a header line."""
        labels = options_of(poll)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(EXPORT_FIELDS)
        for vote in self.store.votes(poll.id):
            writer.writerow(
                (
                    poll.id,
                    poll.question,
                    poll.asset_id,
                    poll.height,
                    vote.address,
                    labels[vote.option],
                    vote.weight,
                )
            )
        return out.getvalue().encode()


def _checked(question: str, options: Sequence[str]) -> tuple[str, list[str]]:
    """The question and options, trimmed; PollError when they are unusable."""
    question = " ".join(question.split())
    if not question:
        raise PollError("the question is empty")
    if len(question) > MAX_QUESTION:
        raise PollError(f"the question is longer than {MAX_QUESTION} characters")
    labels = [" ".join(option.split()) for option in options]
    if not MIN_OPTIONS <= len(labels) <= MAX_OPTIONS:
        raise PollError(f"give {MIN_OPTIONS} to {MAX_OPTIONS} options (--option, once each)")
    if any(not 1 <= len(label) <= MAX_OPTION for label in labels):
        raise PollError(f"an option is 1 to {MAX_OPTION} characters")
    if len({label.casefold() for label in labels}) != len(labels):
        raise PollError("the options must all be different")
    return question, labels
