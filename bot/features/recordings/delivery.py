"""A finished recording handed to its owner: the sealed file sent to every chat of the
account (a Telegram document, an upload link on XMPP) with how to open it.

Registered as a listener of the recordings desk (`RecordingDesk.listeners`). A recording
delivered to at least one chat is marked delivered; with RECORDING_RETENTION_DAYS 0 the
server's copy is deleted right then (an undelivered one is kept, so nothing is lost when
no chat is reachable).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.assistant.i18n import DEFAULT_LANGUAGE, t
from bot.assistant.replies import Attachment, Reply
from bot.assistant.services import Services
from bot.features.recordings.text import DECRYPT_COMMAND, duration, local_time, other_party
from storage.models import Recording

log = logging.getLogger(__name__)
MIME = "application/octet-stream"  # the sealed format has no registered type


def recording_notifier(services: Services) -> Callable[[Recording], Awaitable[None]]:
    """The desk's listener: send the recording's sealed file with a caption (the other
    party, when, how long, how to open it, until when the server keeps it)."""
    desk = services.recordings

    async def on_recording(recording: Recording) -> None:
        reply = await asyncio.to_thread(_reply, services, recording)
        delivered = await services.outbox.notify(recording.account_id, reply)
        log.info("recording %s sent to %d chats", recording.id, delivered)
        if not delivered:
            return
        await asyncio.to_thread(desk.store.mark_delivered, recording.id)
        if desk.retention_days <= 0:
            await asyncio.to_thread(desk.delete, recording.account_id, recording.id)

    return on_recording


def _reply(services: Services, recording: Recording) -> Reply:
    desk = services.recordings
    account = services.accounts.get(recording.account_id)
    if account is None:
        raise LookupError(f"recording {recording.id}: no account {recording.account_id}")
    lang = account.language or DEFAULT_LANGUAGE
    call = services.calls.get(recording.call_id) if recording.call_id else None
    if desk.retention_days > 0 and recording.expires_at is not None:
        expiry = t(lang, "rec_ready_kept", at=local_time(account, recording.expires_at))
    else:
        expiry = t(lang, "rec_ready_deleted")
    text = t(
        lang,
        "rec_ready",
        other=other_party(lang, account, call),
        when=local_time(account, recording.created_at),
        duration=duration(recording.seconds),
        command=DECRYPT_COMMAND,
        file=recording.file_name,
        expiry=expiry,
    )
    attachment = Attachment(recording.file_name, path=desk.path_of(recording), mime=MIME)
    return Reply(text, lang=lang, attachment=attachment)
