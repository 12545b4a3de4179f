"""Own-number verification: the service calls the number, the user types the chat's code.

"my number is +…" stores the number unverified, shows a one-time code and calls the
number; the call speaks an instruction and collects the code as DTMF. Only then is the
number verified, so only a phone the user holds can become "me" in a callback. The
calls are free but limited per account and per number, so nobody can use them to
ring someone else again and again.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import timedelta

from bot.assistant import Context, Refusal, Reply, Router, Services
from bot.assistant.i18n import t
from dialer import DialerError, speech
from dialer.records import CallRecorder
from nlu.commands import SetNumber
from storage.service_calls import VERIFICATION, CallInProgress, TooManyCalls

log = logging.getLogger(__name__)

CODE_DIGITS = 4
CALLS_PER_WINDOW = 3
WINDOW = timedelta(hours=1)
CALL_TIMEOUT = 60  # seconds from dialing until the code must be typed

router = Router("verification")


@router.intent(SetNumber)
def own_number(ctx: Context, cmd: SetNumber) -> list[Reply]:
    """Store the user's own number and call it to verify it (with a dialer)."""
    if not cmd.number:
        has_digits = any(ch.isdigit() for ch in ctx.text)
        raise Refusal("number_invalid" if has_digits else "number_missing")
    return set_number(ctx, cmd.number)


def set_number(ctx: Context, number: str) -> list[Reply]:
    """Store the user's own number and, with a dialer, start the call that verifies it."""
    account, services = ctx.account, ctx.services
    if account.phone_number == number and account.phone_verified:
        return [ctx.say("number_already_verified", number=number)]
    if services.dialer is None or not services.background.available:
        services.accounts.set_number(account.id, number)
        key = "number_saved" if services.dialer is None else "verify_unavailable"
        return [ctx.say(key, number=number)]
    call_id = "vrf-" + secrets.token_hex(12)
    try:  # checked first: a refused request leaves the current (verified) number alone
        services.service_calls.open(
            call_id, account.id, number, VERIFICATION, limit=CALLS_PER_WINDOW, window=WINDOW
        )
    except CallInProgress:
        return [ctx.say("verify_in_progress")]
    except TooManyCalls as refused:
        at = ctx.local_time(refused.retry_at)
        return [ctx.say("verify_too_many", limit=CALLS_PER_WINDOW, at=at)]
    services.accounts.set_number(account.id, number)
    code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
    try:
        services.background.spawn(
            verify_by_call(services, account.id, number, code, call_id, ctx.lang),
            name=f"verify {call_id}",
        )
    except RuntimeError:  # the service loop stopped in between
        services.calls.end_unfinished(call_id)
        return [ctx.say("verify_unavailable", number=number)]
    return [ctx.say("verify_calling", number=number, code=code)]


async def verify_by_call(
    services: Services, account_id: int, number: str, code: str, call_id: str, lang: str
) -> bool:
    """Call `number`, collect the code and mark the number verified; tell the user how it
    went through the outbox. True when the number was verified."""
    recorder = CallRecorder(services.calls)
    dialer = services.dialer
    try:
        if dialer is None:
            raise DialerError("no dialer on this instance")
        wav = await speech.synthesize_async(t(lang, "verify_spoken"), lang)
        result = await dialer.announce(
            number,
            wav,
            collect_digits=len(code),
            timeout=CALL_TIMEOUT,
            call_id=call_id,
            on_event=recorder,
        )
    except (speech.SpeechError, DialerError) as error:
        log.warning("verification call %s could not be placed: %s", call_id, error)
        result = None
    finally:
        await recorder.close()
    # Normally ended by the recorder already; this closes a call the dialer never ran.
    await asyncio.to_thread(services.calls.end_unfinished, call_id)
    if result is None:
        await _tell(services, account_id, lang, "verify_failed", number)
        return False
    verified = False
    if not result.answered:
        key = "verify_not_answered"
    elif not result.digits:
        key = "verify_no_code"
    elif not secrets.compare_digest(result.digits.encode(), code.encode()):
        key = "verify_wrong_code"
    else:
        verified = await _confirm(services, account_id, number)
        key = "verify_done" if verified else "verify_number_changed"
    log.info("verification call %s: %s", call_id, key)
    await _tell(services, account_id, lang, key, number)
    return verified


async def _confirm(services: Services, account_id: int, number: str) -> bool:
    return await asyncio.to_thread(services.service_calls.confirm_number, account_id, number)


async def _tell(services: Services, account_id: int, lang: str, key: str, number: str) -> None:
    await services.outbox.notify(account_id, Reply(t(lang, key, number=number), lang=lang))
