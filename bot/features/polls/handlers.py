"""The polls feature's routes: "polls" (the open votes, with their buttons), the vote
buttons (and "vote 3 1" on text-only networks), "poll results [N]" and "poll export [N]".

Results and the export are given once a poll has closed (while it is open, only how many
addresses voted): a consultative vote's running count would sway the votes still to come.
The operator sees the running count (`admin poll results`).
"""

from __future__ import annotations

from dataclasses import replace

from bot.assistant import Context, Refusal, Reply, Router
from bot.features.polls import text
from nlu import polls as words
from nlu.commands import PollRequest
from storage.models import Poll
from storage.polls import (
    BAD_OPTION,
    CLOSED,
    NO_POLL,
    NO_WEIGHT,
    VoteRefused,
    closed_at,
    is_closed,
    options_of,
)
from wallet.polls import NO_ADDRESS, Polls

router = Router("polls")
# Refusals of a vote, by storage.polls / wallet.polls reason.
REFUSALS = {NO_ADDRESS: "poll_need_wallet", NO_WEIGHT: "poll_no_weight", CLOSED: "poll_closed"}


@router.command("polls", pattern=words.LIST)
def polls(ctx: Context, _arg: str) -> list[Reply]:
    """'polls', 'sondages', 'голосования', /polls: every open poll with the buttons."""
    service = Polls(ctx.services.engine)
    open_polls = service.store.open_polls(ctx.received)
    if not open_polls:
        last = service.store.latest_closed(ctx.received)
        if last is None:
            return [ctx.say("poll_none_open")]
        return [ctx.say("poll_none_open_last", id=last.id)]
    return [_announcement(ctx, service, poll) for poll in open_polls]


def _announcement(ctx: Context, service: Polls, poll: Poll) -> Reply:
    address = ctx.account.wallet_address
    weight = service.store.weight(poll.id, address) if address else 0
    vote = service.store.vote_of(poll.id, address) if address else None
    if not address:
        reply = text.announcement(ctx.account, poll, weight, vote, ctx.lang)
        return replace(reply, text=reply.text + "\n" + ctx.say("poll_need_wallet").text)
    return text.announcement(ctx.account, poll, weight, vote, ctx.lang)


@router.intent(PollRequest)
def request(ctx: Context, cmd: PollRequest) -> list[Reply]:
    """The parser's `poll` intent: the same words as the routes below (nlu.polls), which
    the chat matches first; here for a message that reaches the parser all the same."""
    arg = "" if cmd.poll is None else str(cmd.poll)
    if cmd.action == "vote" and cmd.poll is not None and cmd.option is not None:
        return [_vote(ctx, cmd.poll, cmd.option)]
    if cmd.action == "results":
        return results(ctx, arg)
    if cmd.action == "export":
        return _export(ctx, arg)
    return polls(ctx, "")


@router.action(text.VoteData)
def vote_button(ctx: Context, data: text.VoteData) -> list[Reply]:
    """A vote button: the vote recorded (or changed), the announcement updated in place."""
    return [_vote(ctx, data.poll_id, data.number)]


@router.command("vote", pattern=words.VOTE)
def vote_words(ctx: Context, arg: str) -> list[Reply]:
    """'vote 3 1', 'voter 3 1', 'голос 3 1': the button's word on text-only networks
    (poll 3, option 1)."""
    poll_id, number = (int(word) for word in arg.split())
    return [_vote(ctx, poll_id, number)]


def _vote(ctx: Context, poll_id: int, number: int) -> Reply:
    """Vote option `number` (1 for the first) of poll `poll_id`."""
    service = Polls(ctx.services.engine)
    poll = service.store.get(poll_id)
    if poll is None:
        raise Refusal("poll_unknown", id=poll_id)
    count = len(options_of(poll))
    if not 1 <= number <= count:
        raise Refusal("poll_bad_option", id=poll_id, count=count)
    try:
        vote = service.vote(poll_id, number - 1, ctx.account, ctx.received)
    except VoteRefused as refused:
        if refused.reason == NO_POLL:
            raise Refusal("poll_unknown", id=poll_id) from None
        if refused.reason == BAD_OPTION:
            raise Refusal("poll_bad_option", id=poll_id, count=count) from None
        raise Refusal(
            REFUSALS[refused.reason],
            reply_key=text.key_of(poll_id) if refused.reason != CLOSED else None,
            id=poll.id,
            address=ctx.account.wallet_address or "",
            height=poll.height,
            closes=text.local_time(ctx.account, closed_at(poll)),
        ) from None
    return text.announcement(ctx.account, poll, vote.weight, vote, ctx.lang)


@router.command("poll_results", pattern=words.RESULTS)
def results(ctx: Context, arg: str) -> list[Reply]:
    """'poll results [N]': the table and the chart of poll N (default: the last closed)."""
    service = Polls(ctx.services.engine)
    poll = _closed_poll(ctx, service, arg)
    counted = service.results(poll)
    png = text.chart(counted, ctx.lang)
    return [text.results_reply(ctx.account, counted, ctx.lang, png)]


@router.command("poll_export", pattern=words.EXPORT)
def export_words(ctx: Context, arg: str) -> list[Reply]:
    """'poll export [N]': every vote of poll N (default: the last closed) as CSV and JSON."""
    return _export(ctx, arg)


@router.action(text.ExportData)
def export_button(ctx: Context, data: text.ExportData) -> list[Reply]:
    """The Export button under the results."""
    return _export(ctx, str(data.poll_id))


def _export(ctx: Context, arg: str) -> list[Reply]:
    service = Polls(ctx.services.engine)
    poll = _closed_poll(ctx, service, arg)
    csv_data = service.export_csv(poll)
    json_data = service.export_json(poll, now=ctx.received)
    return text.export_replies(poll.id, csv_data, json_data, ctx.lang)


def _closed_poll(ctx: Context, service: Polls, arg: str) -> Poll:
    """Poll `arg` (default: the last closed); Refusal when there is none or it is open."""
    if arg.strip():
        poll = service.store.get(int(arg))
        if poll is None:
            raise Refusal("poll_unknown", id=int(arg))
    else:
        poll = service.store.latest_closed(ctx.received)
        if poll is None:
            raise Refusal("poll_no_results")
    if not is_closed(poll, ctx.received):
        raise Refusal(
            "poll_still_open",
            id=poll.id,
            closes=text.local_time(ctx.account, closed_at(poll)),
            votes=service.results(poll).votes,
        )
    return poll
