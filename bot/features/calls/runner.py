"""Running callback calls: dial, record every event, edit the status, settle the cost.

A paid call's hold covers only its first minutes (see `wallet.billing`): while the call
is bridged its hold is extended every EXTEND_SECONDS to stay ahead of the running time,
and when the balance (or the daily cap) cannot extend it any more the call is cut just
before the hold runs out (`dialer.hangup`, recorded with the cause `max_duration`).

Also the background duties of calls in `python main.py serve`: placing scheduled
calls when their time comes, and closing (then billing) calls cut off by a stop
of a service instance, so every call ends with a record and an exact charge.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import timedelta

from bot.assistant import Reply, Services
from bot.assistant.i18n import t
from bot.features.calls.notice import recording_notice_pcm
from bot.features.calls.status import refusal_reply, status_key, status_reply
from dialer.records import CallRecorder, end_interrupted
from dialer.types import CallbackRequest, DialerError, DialerEvent
from domain.calls import HangupCause, LegEvent, refused_cause
from domain.clock import sleep_unless_stopped, utcnow
from domain.languages import language_of_number
from domain.logcontext import in_call
from privacy.recordings import CallRecording
from storage.calls import ENDED
from storage.dialogs import DialogStore
from storage.models import Account, CallRecord
from wallet.billing import Authorization
from wallet.fraud import CallRefused
from webhooks.events import CALL_ANSWERED, CALL_ENDED, CALL_RINGING

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
PROGRESS_SECONDS = 15.0  # Telegram allows about one edit a second per chat; this is calm
SWEEP_SECONDS = 10.0
EXTEND_SECONDS = 30.0  # how often a bridged call's hold is extended
CUT_MARGIN_SECONDS = 2.0  # a call that cannot be extended is cut this long before its hold ends
# A call whose heartbeat (every 5 s) is older than this was cut off by a stopped instance.
STALE_AFTER = timedelta(seconds=15)


def start(services: Services, account: Account, record: CallRecord, lang: str) -> Reply:
    """Authorise a created call and hand it to the call runner; the first status or a refusal."""
    try:
        launch(services, record, lang)
    except CallRefused as refusal:
        return replace(refusal_reply(lang, refusal), key=status_key(record.id))
    except RuntimeError:
        return Reply(t(lang, "dialer_not_configured"), key=status_key(record.id), lang=lang)
    return status_reply(lang, record, "dialing_a")


def launch(services: Services, record: CallRecord, lang: str) -> Authorization:
    """Authorise a created call (its hold, wallet.billing) and start it on the service loop.

    Raises wallet.fraud.CallRefused (the record is then ended with the refusal as its
    cause) or RuntimeError when no service loop runs here (the record ended, hold released).
    """
    assert record.account_id is not None
    try:
        auth = services.billing.authorize(
            record.account_id, record.id, record.a_number, record.b_number
        )
    except CallRefused as refusal:
        services.calls.record_event(record.id, ENDED, cause=refused_cause(refusal.rule))
        raise
    services.calls.set_max_seconds(record.id, auth.max_seconds)
    try:
        services.background.spawn(run_call(services, record, auth, lang), name=f"call {record.id}")
    except RuntimeError:
        services.billing.release(record.id)
        services.calls.end_unfinished(record.id)
        raise
    return auth


@in_call("record.id")  # its log lines carry the call id (ops/logs.py)
async def run_call(
    services: Services, record: CallRecord, auth: Authorization, lang: str
) -> CallRecord:
    """Dial an authorised call, follow it to its end, settle it and report its cost."""
    recorder = CallRecorder(services.calls)
    notify = _Notifier(services, record, lang)
    funding = _Funding(services, record.id, auth)
    tasks: list[asyncio.Task] = []

    async def on_event(event: DialerEvent) -> None:
        await recorder(funding.cause_of(event))
        if event.event == LegEvent.RINGING:
            await _emit(services, CALL_RINGING, record.account_id, record.id)
        if event.event == LegEvent.ANSWERED and event.leg == "a":
            funding.answered()
            await notify.phase("dialing_b")
        elif event.event == LegEvent.BRIDGED:
            await _emit(services, CALL_ANSWERED, record.account_id, record.id)
            await notify.phase("connected")
            tasks.append(asyncio.create_task(notify.running_time()))
            tasks.append(asyncio.create_task(funding.keep_ahead()))

    recording: CallRecording | None = None
    try:
        recording, notice = await _recording(services, record)
        request = CallbackRequest(
            call_id=record.id,
            from_number=record.a_number,
            to_number=record.b_number,
            max_seconds=auth.max_seconds,
            dtmf=record.dtmf,
            anonymous=record.anonymous,
            recording=recording,
            notice_pcm=notice,
        )
        if services.dialer is None:
            raise DialerError("no dialer on this instance")
        summary = await services.dialer.callback(request, on_event)
        log.info(
            "call %s ended: %s, bridged %.0f s", record.id, summary.cause, summary.bridged_seconds
        )
    except DialerError as error:
        log.warning("call %s could not be placed: %s", record.id, error)
    finally:
        for task in tasks:
            task.cancel()
        await recorder.close()
        # Whatever happened above, the record is closed and the hold settled or released.
        await asyncio.to_thread(services.calls.end_unfinished, record.id)
        await asyncio.to_thread(services.billing.settle, record.id)
        if recording is not None:
            await services.recordings.finish(recording)
    ended = await asyncio.to_thread(services.calls.get, record.id) or record
    await _emit(services, CALL_ENDED, record.account_id, record.id, ended)
    await notify.phase(ENDED, ended)
    return ended


async def _recording(services: Services, record: CallRecord) -> tuple[CallRecording | None, bytes]:
    """The recording of a callback that asks for one (or whose account records every
    call) and the notice both parties hear first (RECORDING_NOTICE), in the language of
    the other party's country. No recording without the account's key (the request was
    refused then). DialerError when the recording cannot be written or its notice cannot
    be spoken: a call that is to be recorded is not placed unrecorded, nor recorded
    without the notice the operator asks for."""
    desk = services.recordings
    if record.account_id is None or not await asyncio.to_thread(
        desk.wants, record.account_id, record.record
    ):
        return None, b""
    parties = (record.a_number, record.b_number)  # sealed: only the owner reads them
    try:
        recording = await asyncio.to_thread(
            desk.start, record.account_id, record.id, parties=parties
        )
    except OSError as error:
        raise DialerError(f"the recording cannot be written: {error}") from None
    if recording is None:
        log.warning("call %s: to be recorded, but its account has no recording key", record.id)
        return None, b""
    if not desk.notice:
        return recording, b""
    notice = await recording_notice_pcm(language_of_number(record.b_number))
    if not notice:
        await asyncio.to_thread(desk.abandon, recording)
        raise DialerError("the recording notice cannot be spoken")
    return recording, notice


class _Funding:
    """Keeps a paid call's hold ahead of its running time; cuts the call when it cannot."""

    def __init__(self, services: Services, call_id: str, auth: Authorization) -> None:
        self.services, self.call_id, self.auth = services, call_id, auth
        self.started: float | None = None  # loop time leg a answered (billing starts)
        self.cut = False

    def answered(self) -> None:
        if self.started is None:
            self.started = asyncio.get_running_loop().time()

    def cause_of(self, event: DialerEvent) -> DialerEvent:
        """The event as recorded: the hang-up of a call cut for want of funds is its
        maximum duration being reached."""
        if self.cut and event.cause == HangupCause.HANGUP:
            return replace(event, cause=HangupCause.MAX_DURATION)
        return event

    async def keep_ahead(self) -> None:
        """Extend the hold now and every EXTEND_SECONDS; cut the call when what the
        hold covers runs out within CUT_MARGIN_SECONDS."""
        if self.auth.hold_key is None:
            return  # a free call
        loop = asyncio.get_running_loop()
        self.answered()
        assert self.started is not None
        billing = self.services.billing
        covered = float(self.auth.max_seconds)
        while True:
            elapsed = loop.time() - self.started
            covered = await self._extend(elapsed + billing.hold_ahead_seconds, covered)
            left = covered - elapsed
            if left <= CUT_MARGIN_SECONDS:
                await self._cut(covered)
                return
            await asyncio.sleep(min(EXTEND_SECONDS, left - CUT_MARGIN_SECONDS))

    async def _extend(self, seconds: float, covered: float) -> float:
        """What the hold covers after extending it to `seconds` (`covered`, the last
        known figure, when the extension itself failed)."""
        try:
            return float(
                await asyncio.to_thread(self.services.billing.extend, self.call_id, seconds)
            )
        except Exception:
            log.exception("hold of call %s not extended", self.call_id)
            return covered

    async def _cut(self, covered: float) -> None:
        self.cut = True
        log.info(
            "call %s cut: its hold covers %.0f s and cannot be extended", self.call_id, covered
        )
        if self.services.dialer is not None:
            await self.services.dialer.hangup(self.call_id)


class _Notifier:
    """Pushes the status message of one call to every chat of its account."""

    def __init__(self, services: Services, record: CallRecord, lang: str) -> None:
        self.services, self.record, self.lang = services, record, lang

    async def phase(self, phase: str, record: CallRecord | None = None) -> None:
        reply = status_reply(self.lang, record or self.record, phase)
        await _notify(self.services, self.record.account_id, reply)

    async def running_time(self) -> None:
        """Update the connected call's running time where messages can be edited."""
        began = asyncio.get_running_loop().time()
        while True:
            await asyncio.sleep(PROGRESS_SECONDS)
            elapsed = asyncio.get_running_loop().time() - began
            reply = status_reply(self.lang, self.record, "connected", elapsed)
            await _notify(self.services, self.record.account_id, reply)


async def _emit(
    services: Services,
    event_type: str,
    account_id: int | None,
    call_id: str,
    record: CallRecord | None = None,
) -> None:
    """Queue a webhook event of the call (its record as it stands, or `record`); each
    type once per call (webhooks.events derives the event id from both)."""
    events = services.webhooks
    if events is None:
        return
    try:
        if record is not None:
            await asyncio.to_thread(events.call, event_type, record)
        else:
            await asyncio.to_thread(events.call_of, event_type, account_id, call_id)
    except Exception:  # an event that cannot be queued must not disturb the call
        log.exception("webhook %s of call %s not queued", event_type, call_id)


async def _notify(services: Services, account_id: int | None, reply: Reply) -> None:
    if account_id is None:
        return
    try:
        await services.outbox.notify(account_id, reply)
    except Exception:  # a status that cannot be shown must not disturb the call
        log.exception("status of a call could not be sent to account %s", account_id)


# --- the service's duties ---------------------------------------------------------------


async def run(services: Services, stop: asyncio.Event) -> None:
    """Place scheduled calls when due and close calls cut off by a stop, until `stop`."""
    loop = asyncio.get_running_loop()
    next_sweep = loop.time()
    while not stop.is_set():
        try:
            await place_due(services)
            if loop.time() >= next_sweep:
                next_sweep = loop.time() + SWEEP_SECONDS
                await close_stale(services)
        except Exception:
            log.exception("call duties failed; trying again")
        await sleep_unless_stopped(stop, TICK_SECONDS)


async def place_due(services: Services) -> int:
    """Start the scheduled calls whose time has come (each claimed once); how many."""
    started = 0
    for due in await asyncio.to_thread(services.calls.due_scheduled):
        record = await asyncio.to_thread(services.calls.claim_scheduled, due.id)
        if record is None:
            continue  # another instance took it
        account = None
        if record.account_id is not None:
            account = await asyncio.to_thread(services.accounts.get, record.account_id)
        if account is None:  # the account left meanwhile: nobody to place it for
            await asyncio.to_thread(services.calls.end_unfinished, record.id)
            continue
        reply = await asyncio.to_thread(start, services, account, record, account.language)
        await _notify(services, account.id, reply)
        started += 1
    return started


async def close_stale(services: Services) -> list[str]:
    """Close calls whose instance stopped (no heartbeat), bill them, release the phones
    still in them (BYE/CANCEL from their saved SIP dialogs) and tell their owners."""
    active = set(services.dialer.active_calls) if services.dialer is not None else set()
    closed = await asyncio.to_thread(
        services.calls.close_interrupted, older_than=utcnow() - STALE_AFTER
    )
    await _release_legs(services, [call_id for call_id in closed if call_id not in active])
    for call_id in closed:
        if call_id in active:  # ours and alive: cannot be stale, but never bill it twice
            continue
        await asyncio.to_thread(services.billing.settle, call_id)
        record = await asyncio.to_thread(services.calls.get, call_id)
        if record is None or record.account_id is None:
            continue
        await _emit(services, CALL_ENDED, record.account_id, call_id, record)
        account = await asyncio.to_thread(services.accounts.get, record.account_id)
        if account is not None:
            await _notify(services, account.id, status_reply(account.language, record, ENDED))
    return closed


async def _release_legs(services: Services, closed: list[str]) -> None:
    """End the legs of interrupted calls (and of dead processes of this host) through
    this instance's dialer; without a dialer they wait for an instance that has one."""
    if services.dialer is None:
        return
    try:
        await end_interrupted(services.dialer, DialogStore(services.engine), closed)
    except (DialerError, OSError) as error:
        log.warning("legs of interrupted calls not released: %s", error)
