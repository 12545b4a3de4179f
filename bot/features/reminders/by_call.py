"""Reminders by call: the scheduler's `place_call`, speaking the reminder on the user's phone.

Only the account's verified number is called. Whatever keeps the call from being
answered, the reminder still arrives, as a chat message that says why.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import wave
from dataclasses import dataclass
from pathlib import Path

from bot.assistant import Reply, Services
from bot.assistant.i18n import t
from bot.assistant.outbox import Outbox
from bot.assistant.services import CallPlacer
from bot.features.reminders.chat import subject
from dialer import DialerError, speech
from dialer.records import CallRecorder
from domain.clock import utcnow
from storage.accounts import AccountStore
from storage.calls import CallStore
from storage.models import Account, Reminder
from storage.service_calls import REMINDER, ServiceCallStore

log = logging.getLogger(__name__)
ANSWER_MARGIN = 10.0  # seconds on top of ringing and speaking before the call is cut


@dataclass(frozen=True)
class ReminderCaller:
    """The scheduler's `place_call`: what phoning a reminder needs, and nothing more."""

    accounts: AccountStore
    calls: CallStore
    service_calls: ServiceCallStore
    dialer: CallPlacer
    outbox: Outbox

    async def __call__(self, reminder: Reminder) -> bool:
        """`place_reminder_call` with these collaborators."""
        return await place_reminder_call(self, reminder)


async def place_reminder_call(services: ReminderCaller | Services, reminder: Reminder) -> bool:
    """Phone the reminder to the account's verified number (a chat message when that
    cannot be done or nobody answers). True once the reminder is delivered; False only
    when a fallback message reached nobody, so the scheduler tries again later.

    `services`: the `ReminderCaller` fields, or `Services` (which has them all).
    """
    account = await asyncio.to_thread(services.accounts.get, reminder.account_id)
    if account is None:
        log.warning("reminder %s belongs to no account any more", reminder.id)
        return True
    lang = account.language
    text = subject(account, reminder, utcnow())
    if not account.phone_number or not account.phone_verified:
        return await _message(services, account, "reminder_fire_unverified", text)
    number = account.phone_number
    call_id = "rmd-" + secrets.token_hex(12)
    await asyncio.to_thread(services.service_calls.open, call_id, account.id, number, REMINDER)
    recorder = CallRecorder(services.calls)
    wav = None
    dialer = services.dialer
    try:
        if dialer is None:
            raise DialerError("no dialer on this instance")
        wav = await speech.synthesize_async(
            t(lang, "reminder_spoken", text=text), lang, cache=False
        )
        timeout = dialer.config.ring_timeout + _seconds(wav) + ANSWER_MARGIN
        result = await dialer.announce(
            number, wav, timeout=timeout, call_id=call_id, on_event=recorder
        )
    except (speech.SpeechError, DialerError) as error:
        log.warning("reminder %s: call %s could not be placed: %s", reminder.id, call_id, error)
        result = None
    finally:
        await recorder.close()
        if wav is not None:
            wav.unlink(missing_ok=True)  # the user's words are not kept on disk
    # Normally ended by the recorder already; this closes a call the dialer never ran.
    await asyncio.to_thread(services.calls.end_unfinished, call_id)
    if result is None:
        # Not retried as a call: the reminder is already late, so it comes as a message now.
        await _message(services, account, "reminder_fire_call_failed", text)
        return True
    if result.answered:
        return True
    # Ringing again and again is worse than a message: fall back once, never retry the call.
    await _message(services, account, "reminder_fire_not_answered", text, number=number)
    return True


async def _message(
    services: ReminderCaller | Services, account: Account, key: str, text: str, **values: object
) -> bool:
    lang = account.language
    reply = Reply(t(lang, key, text=text, **values), lang=lang)
    delivered = await services.outbox.notify(account.id, reply)
    return delivered is None or delivered > 0


def _seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as source:
        return source.getnframes() / max(source.getframerate(), 1)
