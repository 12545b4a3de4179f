"""Second-factor codes by voice call: start a verification, check its code, read it.

The rules, the charge and the call are api.verify's; this module reads the requests and
answers. A verification of another account is a 404, as one that does not exist.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from api import verify
from api.auth import Caller, Calling, Reader, ServicesDep
from api.problems import Problem
from api.schemas import PROBLEMS, Money
from bot.assistant import Services
from bot.assistant.i18n import t
from domain.clock import utcnow
from storage.models import Verification
from storage.verifications import VerificationStore, current_state

router = APIRouter(prefix="/v1/verify", tags=["verify"], responses=PROBLEMS)
VerificationId = Annotated[str, Path(max_length=32, description="the verification's id")]
E164_PATTERN = r"^\+[1-9][0-9]{6,14}$"


class VerifyRequest(BaseModel):
    """A code to send by a voice call to `number`."""

    model_config = ConfigDict(extra="forbid")

    number: str = Field(pattern=E164_PATTERN, description="the phone to call, E.164 (+…)")
    language: Literal["en", "fr", "ru"] | None = Field(
        None, description="the language spoken (default: the account's)"
    )
    length: int = Field(6, ge=4, le=10, description="digits of the code")
    channel: Literal["speak", "keypad"] = Field(
        "speak",
        description="speak: the call says the code; keypad: the call asks the person to "
        "type the code (given in the answer) on the phone's keypad",
    )


class VerificationOut(BaseModel):
    """A verification: `pending` until approved, failed (checks or call) or expired."""

    id: str
    number: str
    channel: str
    language: str
    state: str = Field(description="pending, approved, failed or expired")
    checks_left: int
    call_outcome: str | None = Field(
        None, description="ringing, answered, no-answer, busy or failed (None: not yet)"
    )
    created_at: datetime
    expires_at: datetime
    cost: Money
    code: str | None = Field(
        None, description="keypad only, in the answer that started it: the code to show"
    )


class CheckRequest(BaseModel):
    """The code the person gave."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[0-9]{1,10}$", description="the digits the person typed")


class CheckOut(BaseModel):
    """The verification's state after the check."""

    state: str = Field(description="approved, pending, failed or expired")
    checks_left: int


@router.post(
    "",
    status_code=201,
    responses={
        200: {"model": VerificationOut, "description": "an earlier request's verification"},
        402: PROBLEMS[422],
        503: PROBLEMS[422],
    },
)
def start_verification(
    body: VerifyRequest,
    services: ServicesDep,
    response: Response,
    caller: Calling,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> VerificationOut:
    """Call `number` and speak a code (speak), or ask for the code shown (keypad).

    Charged VERIFY_PRICE once started, answered or not. Problems: `refused-premium-rate`
    and the other toll-fraud refusals (403), `refused-insufficient-funds` (402),
    `rate-limited` (429, per number and per key), `dialer-not-configured` (503).
    """
    started = verify.start(
        services,
        caller.account,
        caller.key.id,
        number=body.number,
        language=body.language or caller.account.language,
        length=body.length,
        channel=body.channel,
        idempotency_key=idempotency_key,
        lang=caller.lang,
        now=utcnow(),
    )
    if not started.created:
        response.status_code = 200
    response.headers["Location"] = f"/v1/verify/{started.verification.id}"
    return _out(services, started.verification, started.code)


@router.post("/{verification_id}/check")
def check_code(
    verification_id: VerificationId, body: CheckRequest, services: ServicesDep, caller: Calling
) -> CheckOut:
    """Check the code the person gave: each wrong one uses a check; the last wrong one
    fails the verification. A keypad verification is approved by its call: this answers
    its state. `verification-already-approved` (422) for a code checked again once approved."""
    own = _own(services, caller, verification_id)
    checked = verify.check(services, own, body.code, lang=caller.lang, now=utcnow())
    return CheckOut(
        state=current_state(checked, utcnow()), checks_left=verify.checks_left(services, checked)
    )


@router.get("/{verification_id}")
def get_verification(
    verification_id: VerificationId, services: ServicesDep, caller: Reader
) -> VerificationOut:
    """A verification of the account, with its state and how its call went."""
    return _out(services, _own(services, caller, verification_id))


def _own(services: Services, caller: Caller, verification_id: str) -> Verification:
    """The account's verification; 404 for one that is not (never telling whose it is)."""
    found = VerificationStore(services.engine).get(verification_id)
    if found is None or found.account_id != caller.account.id:
        what = t(caller.lang, "apivf_not_found")
        raise Problem("not-found", t(caller.lang, "api_not_found", what=what))
    return found


def _out(services: Services, record: Verification, code: str | None = None) -> VerificationOut:
    state = current_state(record, utcnow())
    return VerificationOut(
        id=record.id,
        number=record.number,
        channel=record.channel,
        language=record.language,
        state=state,
        checks_left=verify.checks_left(services, record) if state == "pending" else 0,
        call_outcome=record.call_outcome,
        created_at=record.created_at,
        expires_at=record.expires_at,
        cost=Money(units=record.cost, asset=verify.ASSET),
        code=code,
    )
