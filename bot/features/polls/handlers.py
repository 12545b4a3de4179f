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
from storage.models import Poll
from storage.polls import (
    BAD_OPTION,
    CLOSED,
    NO_POLL,
    NO_WEIGHT,
    VoteRefused,
    closed_at,
    is_closed,
)
from wallet.polls import NO_ADDRESS, Polls

router = Router("polls")
# The words, a group per language (the answer's language); `arg`: a poll's number.
POLLS = (
    r"^(?:(?P<en>polls|votes|open\s+votes|my\s+votes?)|(?P<fr>sondages|votes\s+en\s+cours"
    r"|mes\s+votes?|mon\s+vote)|(?P<ru>голосования|опросы|мой\s+голос|мои\s+голоса))\s*[.!?]*$"
)
RESULTS = (
    r"^(?:(?P<en>(?:poll|vote)\s+results?|results\s+of\s+(?:the\s+)?(?:poll|vote))"
    r"|(?P<fr>r[ée]sultats?\s+du\s+(?:vote|sondage))"
    r"|(?P<ru>(?:результаты|итоги)\s+(?:голосования|опроса)))"
    r"(?:\s*(?:#|n°|№)?\s*(?P<arg>\d+))?\s*[.!?]*$"
)
EXPORT = (
    r"^(?:(?P<en>(?:poll|vote)\s+export|export\s+(?:the\s+)?(?:poll|vote))"
    r"|(?P<fr>export(?:er)?\s+(?:du|le)\s+(?:vote|sondage))"
    r"|(?P<ru>экспорт(?:ируй)?\s+(?:голосования|опроса|голосование|опрос)))"
    r"(?:\s*(?:#|n°|№)?\s*(?P<arg>\d+))?\s*[.!?]*$"
)
VOTE = r"^(?:(?P<en>vote)|(?P<fr>voter|je\s+vote)|(?P<ru>голос|голосую))\s+#?(?P<arg>\d+\s+\d+)\s*$"
# Refusals of a vote, by storage.polls / wallet.polls reason.
REFUSALS = {NO_ADDRESS: "poll_need_wallet", NO_WEIGHT: "poll_no_weight", CLOSED: "poll_closed"}


@router.command("polls", pattern=POLLS)
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


@router.action(text.VoteData)
def vote_button(ctx: Context, data: text.VoteData) -> list[Reply]:
    """A vote button: the vote recorded (or changed), the announcement updated in place."""
    return [_vote(ctx, data.poll_id, data.option)]


@router.command("vote", pattern=VOTE)
def vote_words(ctx: Context, arg: str) -> list[Reply]:
    """'vote 3 1', 'voter 3 1', 'голос 3 1': the button's word on text-only networks
    (poll 3, option 1)."""
    poll_id, option = (int(word) for word in arg.split())
    return [_vote(ctx, poll_id, option - 1)]


def _vote(ctx: Context, poll_id: int, option: int) -> Reply:
    service = Polls(ctx.services.engine)
    poll = service.store.get(poll_id)
    if poll is None:
        return ctx.say("choice_expired")
    try:
        vote = service.vote(poll_id, option, ctx.account, ctx.received)
    except VoteRefused as refused:
        if refused.reason in (NO_POLL, BAD_OPTION):
            return ctx.say("choice_expired")
        raise Refusal(
            REFUSALS[refused.reason],
            reply_key=text.key_of(poll_id) if refused.reason != CLOSED else None,
            id=poll.id,
            address=ctx.account.wallet_address or "",
            height=poll.height,
            closes=text.local_time(ctx.account, closed_at(poll)),
        ) from None
    return text.announcement(ctx.account, poll, vote.weight, vote, ctx.lang)


@router.command("poll_results", pattern=RESULTS)
def results(ctx: Context, arg: str) -> list[Reply]:
    """'poll results [N]': the table and the chart of poll N (default: the last closed)."""
    service = Polls(ctx.services.engine)
    poll = _closed_poll(ctx, service, arg)
    counted = service.results(poll)
    png = text.chart(counted, ctx.lang)
    return [text.results_reply(ctx.account, counted, ctx.lang, png)]


@router.command("poll_export", pattern=EXPORT)
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
