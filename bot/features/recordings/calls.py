"""Recording as the account's default ("record all my calls", "stop recording my calls"),
and the account's recordings on the server: listed, or all deleted (asked first).

Recording needs a key to seal the files to (privacy.recordings): turning the default on
without one is refused with how to get one (a linked wallet, or a key made on request).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot.assistant import Button, Context, Refusal, Reply
from bot.assistant.buttons import ButtonData
from bot.assistant.i18n import t
from bot.assistant.router import CancelData
from bot.features.recordings.text import duration, local_time, other_party, retention, size
from nlu.commands import RecordCalls, Recordings
from storage.models import Recording

# The most recordings one list shows (newest first).
LIST_LIMIT = 30
DELETE_KEY = "rec:delete"
ID_TAG = 12  # characters of a recording's id a button carries


def record_calls(ctx: Context, cmd: RecordCalls) -> list[Reply]:
    """Turn the account's "record every call" default on (only with a recording key) or
    off."""
    desk = ctx.services.recordings
    if not cmd.on:
        ctx.services.accounts.update(ctx.account.id, record_calls=False)
        return [ctx.say("rec_default_off")]
    if desk.key_of(ctx.account.id) is None:
        return [ctx.say("rec_default_needs_key")]
    ctx.services.accounts.update(ctx.account.id, record_calls=True)
    lines = [
        t(ctx.lang, "rec_default_on", retention=retention(ctx.lang, desk.retention_days)),
    ]
    if desk.notice:
        lines.append(t(ctx.lang, "rec_notice"))
    return [Reply("\n".join(lines), lang=ctx.lang)]


@dataclass(frozen=True)
class DeleteRecordingsData(ButtonData, prefix="recdel"):
    """The confirmation of deleting every recording, asked when `newest` (the start of its
    id) was the newest: a press after another recording arrived asks again."""

    newest: str


def recordings(ctx: Context, cmd: Recordings) -> list[Reply]:
    """List the account's recordings kept on the server, or ask to delete them all."""
    desk = ctx.services.recordings
    if cmd.delete:
        return [_ask_delete(ctx)]
    kept = desk.store.of_account(ctx.account.id, limit=LIST_LIMIT)
    if not kept:
        return [ctx.say("rec_list_none")]
    lines = [t(ctx.lang, "rec_list_header")]
    lines += [_line(ctx, recording) for recording in kept]
    lines.append(t(ctx.lang, "rec_list_footer"))
    return [Reply("\n".join(lines), lang=ctx.lang)]


def confirm_delete(ctx: Context, data: DeleteRecordingsData) -> list[Reply]:
    """The button that deletes every recording of the account from the server (files and
    rows); refused when the recordings changed since it was shown."""
    if _newest(ctx) != data.newest:
        raise Refusal("choice_expired", reply_key=DELETE_KEY)
    count = ctx.services.recordings.delete_all(ctx.account.id)
    reply = ctx.say("rec_deleted", count=count) if count else ctx.say("rec_deleted_none")
    return [replace(reply, key=DELETE_KEY)]


def _ask_delete(ctx: Context) -> Reply:
    kept = ctx.services.recordings.store.of_account(ctx.account.id, limit=None)
    if not kept:
        return ctx.say("rec_deleted_none")
    buttons = (
        Button(
            t(ctx.lang, "rec_button_delete"),
            DeleteRecordingsData(kept[0].id[:ID_TAG]).pack(),
            t(ctx.lang, "word_yes"),
        ),
        Button(t(ctx.lang, "button_cancel"), CancelData(DELETE_KEY).pack(), t(ctx.lang, "word_no")),
    )
    text = t(ctx.lang, "rec_delete_ask", count=len(kept))
    return Reply(text, buttons=buttons, key=DELETE_KEY, lang=ctx.lang)


def _newest(ctx: Context) -> str:
    kept = ctx.services.recordings.store.of_account(ctx.account.id, limit=1)
    return kept[0].id[:ID_TAG] if kept else ""


def _line(ctx: Context, recording: Recording) -> str:
    lang, account = ctx.lang, ctx.account
    call = ctx.services.calls.get(recording.call_id) if recording.call_id else None
    if recording.expires_at is not None:
        expiry = t(lang, "rec_expires", at=local_time(account, recording.expires_at))
    else:
        expiry = t(lang, "rec_expires_when_sent")
    if recording.delivered_at is None:
        expiry = f"{t(lang, 'rec_list_unsent')} · {expiry}"
    return t(
        lang,
        "rec_list_line",
        when=local_time(account, recording.created_at),
        other=other_party(lang, account, call, unknown="rec_list_unknown"),
        duration=duration(recording.seconds),
        size=size(lang, recording.size_bytes),
        expiry=expiry,
    )
