"""How a poll reads in the chat: its announcement with one button per option, the
results as a short table with a bar chart (ops.charts), and the export's files."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal

from bot.assistant.buttons import ButtonData
from bot.assistant.i18n import DEFAULT_LANGUAGE, LANGUAGES, t
from bot.assistant.replies import Attachment, Button, Reply
from ops.charts import bar_chart
from storage.models import Account, Poll, PollVote
from storage.polls import closed_at, options_of
from wallet.polls import Results

CHOSEN = "✓ "  # before the label of the option the address chose
PNG, CSV, JSON = "image/png", "text/csv", "application/json"


@dataclass(frozen=True)
class VoteData(ButtonData, prefix="pollvote"):
    """A vote button: the poll and the option's number (1 for the first, as users see it)."""

    poll_id: int
    number: int


@dataclass(frozen=True)
class ExportData(ButtonData, prefix="pollexport"):
    """The button under the results that sends the poll's export."""

    poll_id: int


def key_of(poll_id: int) -> str:
    """The key of a poll's announcement: a vote updates it in place."""
    return f"poll:{poll_id}"


def _lang(lang: str) -> str:
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def amount_text(units: int, decimals: int, lang: str) -> str:
    """Smallest units with all the asset's decimals, in the language's number format
    ("12.50000000", fr "12,50000000")."""
    pattern = "#,##0." + "0" * decimals if decimals else "#,##0"
    return format_decimal(Decimal(units).scaleb(-decimals), format=pattern, locale=_lang(lang))


def share_text(share: Decimal, lang: str) -> str:
    """A share in percent with two decimals ("62.50", fr "62,50")."""
    return format_decimal(share, format="0.00", locale=_lang(lang))


def local_time(account: Account, moment: datetime) -> str:
    """A time in the account's zone, to the minute, with the zone's name."""
    zone = ZoneInfo(account.timezone)
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M} ({account.timezone})"


def announcement(
    account: Account, poll: Poll, weight: int, vote: PollVote | None, lang: str
) -> Reply:
    """The poll as the account sees it: its weight, how long it may vote, its choice so
    far, and one button per option (none when its address held nothing at the snapshot)."""
    address = account.wallet_address or ""
    values = {
        "id": poll.id,
        "question": poll.question,
        "address": address,
        "height": poll.height,
        "closes": local_time(account, closed_at(poll)),
    }
    if weight <= 0:
        return Reply(t(lang, "poll_announce_no_weight", **values), key=key_of(poll.id), lang=lang)
    text = t(lang, "poll_announce", weight=amount_text(weight, poll.decimals, lang), **values)
    labels = options_of(poll)
    numbered = ", ".join(f"{number} {label}" for number, label in enumerate(labels, start=1))
    text += "\n" + t(lang, "poll_how_to_vote", id=poll.id, options=numbered)
    if vote is not None:
        text += "\n" + t(lang, "poll_your_vote", option=labels[vote.option])
    buttons = tuple(
        Button(
            (CHOSEN if vote is not None and vote.option == number - 1 else "") + label,
            VoteData(poll.id, number).pack(),
            word=t(lang, "poll_word_vote", id=poll.id, option=number),
        )
        for number, label in enumerate(labels, start=1)
    )
    return Reply(text, buttons=buttons, key=key_of(poll.id), lang=lang)


def results_text(account: Account, results: Results, lang: str) -> str:
    """The short table: a line per option (votes, weight in ETT with all decimals, share)."""
    poll = results.poll
    lines = [
        t(
            lang,
            "poll_results_header",
            id=poll.id,
            question=poll.question,
            closes=local_time(account, closed_at(poll)),
            height=poll.height,
        )
    ]
    for tally in results.tallies:
        lines.append(
            t(
                lang,
                "poll_results_line",
                option=tally.label,
                votes=t(lang, "poll_results_votes", count=tally.votes),
                weight=amount_text(tally.weight, poll.decimals, lang),
                share=share_text(results.share(tally), lang),
            )
        )
    lines.append(
        t(
            lang,
            "poll_results_total",
            votes=t(lang, "poll_results_votes", count=results.votes),
            weight=amount_text(results.weight, poll.decimals, lang),
        )
    )
    lines.append(t(lang, "poll_results_export", id=poll.id))
    return "\n".join(lines)


def chart(results: Results, lang: str) -> bytes:
    """The bar chart (PNG) of each option's weight in ETT."""
    poll = results.poll
    values = [float(Decimal(t.weight).scaleb(-poll.decimals)) for t in results.tallies]
    title = t(lang, "poll_chart_title", id=poll.id, question=poll.question)
    return bar_chart(title, [t.label for t in results.tallies], values, unit="ETT")


def results_reply(account: Account, results: Results, lang: str, png: bytes) -> Reply:
    """The results with their chart attached, and the export's button."""
    poll_id = results.poll.id
    export = Button(t(lang, "poll_button_export"), ExportData(poll_id).pack())
    return Reply(
        results_text(account, results, lang),
        buttons=(export,),
        lang=lang,
        attachment=Attachment(f"encryptotel-poll-{poll_id}.png", data=png, mime=PNG),
    )


def export_replies(poll_id: int, csv_data: bytes, json_data: bytes, lang: str) -> list[Reply]:
    """The export as two files: CSV, then JSON."""
    name = f"encryptotel-poll-{poll_id}"
    return [
        Reply(
            t(lang, "poll_export_csv", id=poll_id),
            lang=lang,
            attachment=Attachment(f"{name}.csv", data=csv_data, mime=CSV),
        ),
        Reply(
            t(lang, "poll_export_json", id=poll_id),
            lang=lang,
            attachment=Attachment(f"{name}.json", data=json_data, mime=JSON),
        ),
    ]
