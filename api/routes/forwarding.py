"""Call-forwarding rules: where the calls to the account's direct numbers and extension go,
by caller, weekday and hour, with follow-me targets tried in turn.

The same rules as the chat's "forward my calls …" (bot.features.forwarding.rules.save_rule,
storage.forwarding): one rule per caller (a new one replaces it), every target but the last
with a ring time of MIN_RING_SECONDS to MAX_RING_SECONDS, at most MAX_TARGETS, extensions
only of this exchange.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Calling, Reader, ServicesDep
from api.cursors import MAX_ROW_ID
from api.problems import Problem, from_refusal
from api.schemas import NUMBER_PATTERN, PROBLEMS
from bot.assistant import Refusal
from bot.assistant.i18n import t
from bot.features.forwarding.rules import save_rule
from domain.numbers import is_dialable, normalize
from storage.forwarding import MAX_TARGETS, Target, targets
from storage.models import ForwardingRule

router = APIRouter(prefix="/v1/forwarding", tags=["forwarding"], responses=PROBLEMS)
RuleId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="the rule's id")]
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
Number = Annotated[
    str, Field(max_length=32, pattern=NUMBER_PATTERN, description="E.164 (+…) or an extension")
]
Ring = Annotated[int | None, Field(ge=1, le=3600, description="seconds it rings")]


class TargetIO(BaseModel):
    """A number tried in turn, and how long it rings before the next (None: the last)."""

    model_config = ConfigDict(extra="forbid")

    number: Number
    ring_seconds: Ring = None


class RuleRequest(BaseModel):
    """A rule: forward the calls of `caller` (everyone when absent) on `days` between
    `start` and `end` (the account's time zone; an end before the start runs past
    midnight) to `to`, then to each of `then` in turn. Every target but the last rings
    `ring_seconds` (5 to 300) before the next is tried."""

    model_config = ConfigDict(extra="forbid")

    to: Number
    # How long `to` rings before `then` is tried (needed with `then`).
    ring_seconds: Ring = None
    then: list[TargetIO] = Field(default_factory=list, max_length=MAX_TARGETS)
    days: list[Day] | None = Field(None, max_length=7, description="every day when absent")
    start: str | None = Field(None, pattern=HHMM, description="HH:MM")
    end: str | None = Field(None, pattern=HHMM, description="HH:MM")
    caller: str | None = Field(None, max_length=32, pattern=NUMBER_PATTERN)


class RuleOut(BaseModel):
    """An active forwarding rule."""

    id: int
    to: str
    ring_seconds: int | None
    then: list[TargetIO]
    days: list[str] | None
    start: str | None
    end: str | None
    caller: str | None
    created_at: datetime

    @classmethod
    def of(cls, rule: ForwardingRule) -> RuleOut:
        chain = targets(rule)
        return cls(
            id=rule.id,
            to=rule.to_number,
            ring_seconds=rule.ring_seconds,
            then=[TargetIO(number=n, ring_seconds=s) for n, s in chain[1:]],
            days=rule.days.split(",") if rule.days else None,
            start=rule.start,
            end=rule.end,
            caller=rule.caller,
            created_at=rule.created_at,
        )


class RuleList(BaseModel):
    """The account's active rules (caller-specific ones first)."""

    data: list[RuleOut]


@router.get("")
def list_rules(
    services: ServicesDep,
    caller: Reader,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> RuleList:
    """The account's active forwarding rules."""
    rules = services.forwarding.rules(caller.account.id)[:limit]
    return RuleList(data=[RuleOut.of(rule) for rule in rules])


@router.post("", status_code=201)
def create_rule(
    body: RuleRequest, services: ServicesDep, caller: Calling, response: Response
) -> RuleOut:
    """Store a rule (replacing the account's rule for the same caller). Refusals:
    `forward-unknown-extension`, `forward-ring-needed`, `forward-ring-range`,
    `forward-too-many`, `forward-invalid`."""
    chain = [Target(normalize(body.to), body.ring_seconds)]
    chain += [Target(normalize(target.number), target.ring_seconds) for target in body.then]
    try:
        if not all(is_dialable(target.number) for target in chain):
            raise Refusal("forward_invalid")
        rule = save_rule(
            services,
            caller.account.id,
            chain,
            days=list(body.days) if body.days else None,
            start=body.start,
            end=body.end,
            caller=normalize(body.caller) if body.caller else None,
        )
    except Refusal as refusal:
        raise from_refusal(refusal, caller.lang) from None
    response.headers["Location"] = f"/v1/forwarding/{rule.id}"
    return RuleOut.of(rule)


@router.delete("/{rule_id}", status_code=204)
def delete_rule(rule_id: RuleId, services: ServicesDep, caller: Calling) -> Response:
    """Turn off one rule of the account."""
    if not services.forwarding.remove(caller.account.id, rule_id):
        raise Problem("not-found", t(caller.lang, "api_not_found", what="forwarding rule"))
    return Response(status_code=204)
