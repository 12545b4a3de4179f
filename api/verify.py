"""Second-factor codes by voice call (POST /v1/verify): make the code, charge, call, check.

`speak`: the service calls the number and speaks the code twice (espeak-ng, in the
language asked); the integrator's user types it into the integrator's app, which checks
it. `keypad`: the integrator gets the code to show on its screen; the call asks the person
to type it on the phone's keypad, and the right digits approve the verification (the call
being the check). Either way the code is valid VERIFY_TTL_SECONDS and at most
VERIFY_MAX_CHECKS checks are counted; only its HMAC is stored, never the code, and it is
never logged (the spoken prompt is synthesised to a private file deleted after the call).

The number passes the toll-fraud rules of a callback (wallet.fraud, the number on both
legs) and the hourly limits per number (all accounts) and per API key
(storage.verifications). Charging: VERIFY_PRICE_ETT is charged in ETT once per
verification started, when it is created and before the call (ledger key
`verify:<id>`, kind `call` to the revenue book, so it counts in the daily cap), whether or
not the call is then answered, as Twilio Verify users expect a charge per verification
started; nothing is charged for a request refused (402, 403, 429, 503).

The call runs in the background on the service loop; the verification's `call_outcome`
follows it (ringing, answered, then answered, no-answer, busy or failed), and a call that
could not deliver the code (not answered, or in keypad mode no right digits) makes a
pending verification `failed`. No call record is written: a verification call is not a
call of the account's history, and the own-number verification's limits (storage.
service_calls, per call kind) stay its own; the legs' SIP dialogs are kept like any call's
(storage.dialogs) so a restarted instance can end them.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import wave
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from api.problems import Problem, from_call_refused
from bot.assistant import Services
from bot.assistant.i18n import number_text, t
from dialer import AnnounceResult, DialerError, DialerEvent, speech
from dialer.records import CallRecorder
from domain.books import REVENUE, TransferKind, account_book
from domain.calls import HangupCause, LegEvent
from domain.clock import utcnow
from domain.money import to_units
from storage.calls import TWO_FACTOR
from storage.ledger_store import InsufficientFunds
from storage.models import Account, Verification
from storage.verifications import (
    APPROVED,
    FAILED,
    DuplicateVerification,
    Limits,
    TooManyVerifications,
    VerificationStore,
)
from wallet.fraud import CallRefused

log = logging.getLogger(__name__)

CHANNELS = ("speak", "keypad")
ASSET = "ETT"
SPEAK_MARGIN = 10.0  # seconds on top of ringing and speaking before the call is cut
KEYPAD_SECONDS = 30.0  # seconds after the instruction to type the code
# The HMAC's key is made from the verification's id, so equal codes never hash alike.
_HMAC_DOMAIN = b"encryptotel-verify-code\x00"


@dataclass(frozen=True)
class Started:
    """A verification started (`created`), or the one an earlier request with the same
    Idempotency-Key started; `code` only for a new keypad one (to show on a screen)."""

    verification: Verification
    code: str | None
    created: bool


def price(services: Services) -> int:
    """VERIFY_PRICE_ETT in ETT units (1e-8 ETT)."""
    return to_units(services.settings.VERIFY_PRICE_ETT, ASSET)


def make_code(length: int) -> str:
    """`length` random decimal digits (the `secrets` generator)."""
    return "".join(secrets.choice("0123456789") for _ in range(length))


_PROCESS_SECRET = secrets.token_bytes(32)


def code_hash(verification_id: str, code: str, secret: str | None = None) -> str:
    """The hex HMAC-SHA256 (RFC 2104) of `code`, keyed by the service's secret
    (VERIFY_SECRET, else one made for this process) and the verification's id: 64
    characters, what Verification.code_hash keeps. Without the secret, the database's
    copy cannot be turned back into the code by trying every one."""
    base = secret.encode() if secret else _PROCESS_SECRET
    key = hashlib.sha256(_HMAC_DOMAIN + base + b"\x00" + verification_id.encode()).digest()
    return hmac.new(key, code.encode(), hashlib.sha256).hexdigest()


def secret_of(services: Services) -> str | None:
    """VERIFY_SECRET's value, or None (then a secret made for this process)."""
    secret = services.settings.VERIFY_SECRET
    return secret.get_secret_value() if secret is not None else None


def verification_id(account_id: int, idempotency_key: str | None) -> str:
    """`<account>-<token>` (at most 32 characters): from the Idempotency-Key when given,
    so two racing requests with one key make one verification (one call)."""
    if idempotency_key is None:
        token = secrets.token_hex(8)
    else:
        token = hashlib.sha256(b"verify\x00" + idempotency_key.encode()).hexdigest()[:16]
    return f"{account_id}-{token}"[:32]


def start(
    services: Services,
    account: Account,
    key_id: str,
    *,
    number: str,
    language: str,
    length: int,
    channel: str,
    idempotency_key: str | None,
    lang: str,
    now: datetime,
) -> Started:
    """Check, store and charge a verification of `number` (E.164), then place its call in
    the background. `lang` is the language of the problems raised.

    Raises Problem: `dialer_not_configured` (503) without a dialer or a service loop;
    the toll-fraud refusals of wallet.fraud (`refused-premium-rate` 403, …);
    `refused-insufficient-funds` (402) when the ETT balance is below the price;
    `rate-limited` (429, Retry-After) past VERIFY_NUMBER_HOURLY or VERIFY_KEY_HOURLY.
    """
    settings = services.settings
    if services.dialer is None or not services.background.available:
        raise Problem("dialer_not_configured", t(lang, "dialer_not_configured"))
    store = VerificationStore(services.engine)
    ver_id = verification_id(account.id, idempotency_key)
    earlier = store.get(ver_id)
    if earlier is not None:
        return Started(earlier, None, created=False)
    cost = price(services)
    _check_rules(services, account, number, cost, lang)
    code = make_code(length)
    record = Verification(
        id=ver_id,
        account_id=account.id,
        key_id=key_id,
        number=number,
        channel=channel,
        language=language,
        code_hash=code_hash(ver_id, code, secret_of(services)),
        call_id=f"vfy-{ver_id}",
        cost=cost,
        expires_at=now + timedelta(seconds=settings.VERIFY_TTL_SECONDS),
    )
    limits = Limits(settings.VERIFY_NUMBER_HOURLY, settings.VERIFY_KEY_HOURLY)
    try:
        store.create(record, limits, now)
    except DuplicateVerification as duplicate:
        return Started(duplicate.existing, None, created=False)
    except TooManyVerifications as refused:
        raise _too_many(refused, number, lang, now) from None
    try:
        _charge(services, record)
    except InsufficientFunds:
        store.delete(ver_id)
        raise _insufficient(lang, number) from None
    try:
        services.background.spawn(call(services, ver_id, code), name=f"verify {ver_id}")
    except RuntimeError:  # the service loop stopped in between: the code reaches nobody
        store.follow_call(ver_id, "failed", FAILED, now=now)
    stored = store.get(ver_id) or record
    return Started(stored, code if channel == "keypad" else None, created=True)


def check(
    services: Services, verification: Verification, code: str, *, lang: str, now: datetime
) -> Verification:
    """Count one check of `code` against `verification` (the caller's own). A keypad
    verification is approved by its call only (the integrator knows its code): its check
    counts nothing and answers the state. Raises Problem `verification-already-approved` (422)
    for a spoken code checked again after it approved: a code is accepted once."""
    store = VerificationStore(services.engine)
    keypad = verification.channel == "keypad"
    candidate = None if keypad else code_hash(verification.id, code, secret_of(services))
    if verification.state == APPROVED and candidate is not None:
        raise Problem("verification_already_approved", t(lang, "verification_already_approved"))
    checked = store.check(
        verification.id,
        candidate,
        max_checks=services.settings.VERIFY_MAX_CHECKS,
        now=now,
    )
    return checked or verification


def checks_left(services: Services, verification: Verification) -> int:
    """Checks the verification still allows (0 once it is not pending)."""
    if verification.state != "pending":
        return 0
    return max(0, services.settings.VERIFY_MAX_CHECKS - verification.checks)


def _check_rules(services: Services, account: Account, number: str, cost: int, lang: str) -> None:
    """The callback's toll-fraud rules for `number`, the daily cap for the price, and the
    ETT balance (refused before anything is stored)."""
    rules = services.billing.rules
    try:
        rules.check(account, number, number)
        if cost > rules.remaining_today(account.id):
            raise CallRefused("daily_cap", "the daily spending cap is reached", number)
    except CallRefused as refusal:
        raise from_call_refused(refusal, lang) from None
    available = services.ledger.balance(account_book(account.id), ASSET).available
    if available < cost:
        raise _insufficient(lang, number)


def _charge(services: Services, record: Verification) -> None:
    """VERIFY_PRICE in ETT from the account's book to revenue, once per verification."""
    if record.cost <= 0:
        return
    services.ledger.transfer(
        key=f"verify:{record.id}",
        kind=TransferKind.CALL,
        asset=ASSET,
        amount=record.cost,
        debit=account_book(record.account_id),
        credit=REVENUE,
        reason=f"verification {record.id}",
        ref=record.id,
    )


def _insufficient(lang: str, number: str) -> Problem:
    return from_call_refused(CallRefused("insufficient_funds", "", number), lang)


def _too_many(refused: TooManyVerifications, number: str, lang: str, now: datetime) -> Problem:
    seconds = max(1, int((refused.retry_at - now).total_seconds()) + 1)
    key = "apivf_too_many_number" if refused.scope == "number" else "apivf_too_many_key"
    return Problem(
        "rate-limited",
        t(lang, key, number=number_text(number), seconds=seconds),
        headers={"Retry-After": str(seconds)},
        retry_after=seconds,
    )


# ---- the call ------------------------------------------------------------------------


def outcome_of(result: AnnounceResult) -> str:
    """How a finished call went, as Verification.call_outcome: answered, no-answer, busy
    or failed (SIP 486/600/603 are busy; a ring timeout, 408 or 480 no-answer)."""
    if result.answered:
        return "answered"
    if result.cause in (HangupCause.BUSY, HangupCause.DECLINED):
        return "busy"
    if result.cause == HangupCause.NO_ANSWER:
        return "no-answer"
    return "failed"


class CallFollower:
    """The dialer's on_event handler of a verification call: its call record follows the
    call (dialer.records.CallRecorder: transitions, heartbeat, the legs' SIP dialogs) and
    the verification notes ringing and answered."""

    def __init__(self, store: VerificationStore, recorder: CallRecorder, ver_id: str) -> None:
        self.store, self.recorder, self.ver_id = store, recorder, ver_id

    async def __call__(self, event: DialerEvent) -> None:
        await self.recorder(event)
        try:
            if event.event in (LegEvent.RINGING, LegEvent.ANSWERED):
                await asyncio.to_thread(self.store.follow_call, self.ver_id, str(event.event))
        except Exception:  # the call goes on; only its live outcome is missed
            log.exception("verification %s: event %s not noted", self.ver_id, event.event)


async def call(services: Services, ver_id: str, code: str) -> str:
    """Place the call of verification `ver_id` and note its outcome; returns the outcome
    (answered, no-answer, busy, failed). `code` lives only in this coroutine's memory and,
    for `speak`, in a private WAV deleted when the call ends."""
    store = VerificationStore(services.engine)
    verification = await asyncio.to_thread(store.get, ver_id)
    if verification is None:
        return "failed"
    keypad = verification.channel == "keypad"
    lang = verification.language
    wav: Path | None = None
    result: AnnounceResult | None = None
    dialer = services.dialer
    call_id = verification.call_id or f"vfy-{ver_id}"
    # Every call leaves a call record, this one too (kind two_factor, its price as cost).
    await asyncio.to_thread(
        services.service_calls.open,
        call_id,
        verification.account_id,
        verification.number,
        TWO_FACTOR,
        cost=verification.cost,
    )
    recorder = CallRecorder(services.calls)
    try:
        if dialer is None:
            raise DialerError("no dialer on this instance")
        if keypad:
            text = t(lang, "apivf_spoken_keypad", length=len(code))
        else:
            text = t(lang, "apivf_spoken_code", code=", ".join(code))
        wav = await speech.synthesize_async(text, lang, cache=keypad)
        timeout = dialer.config.ring_timeout + _seconds(wav)
        timeout += KEYPAD_SECONDS if keypad else SPEAK_MARGIN
        result = await dialer.announce(
            verification.number,
            wav,
            collect_digits=len(code) if keypad else 0,
            timeout=timeout,
            call_id=call_id,
            on_event=CallFollower(store, recorder, ver_id),
        )
    except (speech.SpeechError, DialerError) as error:
        log.warning("verification %s: the call could not be placed: %s", ver_id, error)
    finally:
        await recorder.close()
        await asyncio.to_thread(services.calls.end_unfinished, call_id)
        if wav is not None and not keypad:
            wav.unlink(missing_ok=True)  # the spoken code is not kept on disk
    outcome = "failed" if result is None else outcome_of(result)
    if result is None or not result.answered:
        state: str | None = FAILED  # nobody heard the code: no check can be right
    elif keypad:
        typed = result.digits.encode()
        state = APPROVED if secrets.compare_digest(typed, code.encode()) else FAILED
    else:
        state = None  # spoken: the integrator's check decides
    await asyncio.to_thread(store.follow_call, ver_id, outcome, state, now=utcnow())
    log.info("verification %s call: %s", ver_id, outcome)
    return outcome


def _seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as source:
        return source.getnframes() / max(source.getframerate(), 1)
