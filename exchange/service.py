"""The exchange's decisions: whose password a phone must know, where a call may go, and
the call record of every call kamailio relays.

kamailio asks through the control API (`exchange.control`); nothing here speaks HTTP or
SIP. Calls between extensions are free; a call to an outside number goes to the carrier's
trunk, authorised, held and settled by the same billing as callbacks (wallet.billing),
cut by kamailio at the prepaid maximum; a call from the trunk to a direct number follows
its owner's forwarding rule (exchange.routing), a forwarded outside leg paid by the owner.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from domain.calls import CallKind, CallState, HangupCause, LegEvent, refused_cause
from domain.clock import utcnow
from domain.numbers import is_e164, is_internal, normalize
from exchange.config import DIALER_PREFIX
from exchange.notices import EndedCall, MissedCall, Notice, Notify, RefusedCall
from exchange.routing import (
    LOCAL,
    CallerId,
    NotANumber,
    Planner,
    Step,
    caller_id,
    dialled,
    region_of,
)
from storage.accounts import AccountStore
from storage.calls import CallStore
from storage.dids import DidStore
from storage.forwarding import MAX_TARGETS, ForwardingStore
from storage.models import Account, CallRecord
from wallet.billing import HOLD_AHEAD_SECONDS, Billing
from wallet.fraud import CallRefused

log = logging.getLogger(__name__)

# rtpengine ng flags (rtpengine(8), "ng control protocol"; exchange.md): our media address
# in the SDP, ICE removed (phones reach rtpengine directly), and of the SDES crypto suites
# (RFC 4568) only AES_CM_128_HMAC_SHA1_80/32 offered: every softphone implements them,
# NULL suites do not encrypt, and baresip 1.0 failed to decrypt rtpengine's AEAD-GCM
# (measured here). rtpengine 10.5 ignores SDES-only-<suite>, hence one SDES-no per suite.
_NOT_OFFERED = (
    "NULL_HMAC_SHA1_80 NULL_HMAC_SHA1_32 F8_128_HMAC_SHA1_80 F8_128_HMAC_SHA1_32 "
    "AEAD_AES_256_GCM AEAD_AES_128_GCM AES_256_CM_HMAC_SHA1_80 AES_256_CM_HMAC_SHA1_32 "
    "AES_192_CM_HMAC_SHA1_80 AES_192_CM_HMAC_SHA1_32"
).split()
COMMON_FLAGS = "replace-origin replace-session-connection ICE=remove " + " ".join(
    f"SDES-no-{suite}" for suite in _NOT_OFFERED
)
# Toward the carrier: plain RTP (exchange.md: trunks rarely do SRTP); the answer goes
# back to the caller in its own profile (SRTP to a TLS phone).
TRUNK_OFFER = COMMON_FLAGS + " RTP/AVP"
RECONCILE_GRACE = timedelta(seconds=30)
# An outside call's hold must cover at least this many seconds past the upkeep round.
KEEP_ALIVE_MARGIN = 60
PHONE, CARRIER = "phone", "trunk"  # where an INVITE came from (kamailio tells)
ANONYMOUS = "anonymous"
# How kamailio names the end of an answered call (deploy/exchange/kamailio.cfg).
ENDINGS = {
    "hangup_a": HangupCause.HANGUP_A,
    "hangup_b": HangupCause.HANGUP_B,
    "max_duration": HangupCause.MAX_DURATION,
}
# SIP answers (RFC 3261 §21) of the refusals decided here.
NOT_FOUND, FORBIDDEN, PAYMENT_REQUIRED, UNAVAILABLE = 404, 403, 402, 480
# The reason phrase a phone shows for each refusal of wallet.fraud (and billing).
REFUSALS = {
    "premium_rate": (FORBIDDEN, "Premium Rate Number Refused"),
    "country_not_allowed": (FORBIDDEN, "Country Not Allowed"),
    "daily_cap": (FORBIDDEN, "Daily Spending Limit Reached"),
    "concurrent_calls": (FORBIDDEN, "Too Many Calls In Progress"),
    "same_number_daily": (FORBIDDEN, "Too Many Calls To This Number Today"),
    "rate_per_minute": (FORBIDDEN, "Price Per Minute Above Limit"),
    "no_route": (FORBIDDEN, "No Route To Destination"),
    "insufficient_funds": (PAYMENT_REQUIRED, "Insufficient Balance"),
}
CAUSES = {
    486: HangupCause.BUSY,
    600: HangupCause.BUSY,
    603: HangupCause.DECLINED,
    480: HangupCause.NO_ANSWER,
    408: HangupCause.NO_ANSWER,
    487: HangupCause.HANGUP_A,  # the caller gave up while it rang
    404: HangupCause.NOT_FOUND,
}


class HashLookup(Protocol):
    """Where HA1 digests come from (exchange.softphones.Softphones, and
    storage.service_users.ServiceUserStore for our own users)."""

    def ha1(self, username: str) -> str | None: ...


@dataclass(frozen=True)
class Route:
    """Where kamailio sends a new call (or its next step, `leg`):
    - "local": the phones of extension `target`;
    - "trunk": the outside number `target` (+E.164) at the carrier, presenting `from_user`
      (a number, or "anonymous" with `withheld` 1: From anonymous and Privacy: id, RFC
      3323) and `pai` (P-Asserted-Identity toward the carrier, RFC 3325; "" for none);
    both for at most `max_sec` seconds once answered, ringing `ring_sec` seconds (0: until
    it answers or fails) before kamailio asks for step `leg` + 1 when `more` is 1, with
    rtpengine flags `offer` (`offer_tls` toward a phone on TLS) and `answer`; with
    `require_crypto` 1 an offer without SDES keys is refused 488;
    - "refuse": SIP `code` and `reason`."""

    action: str
    target: str = ""
    max_sec: int = 0
    offer: str = ""
    offer_tls: str = ""
    answer: str = ""
    require_crypto: int = 0
    code: int = 0
    reason: str = ""
    ring_sec: int = 0
    leg: int = 0
    more: int = 0
    from_user: str = ""
    withheld: int = 0
    pai: str = ""

    def as_json(self) -> dict[str, object]:
        """The decision as kamailio reads it (every key present)."""
        return dict(self.__dict__)


def record_id(sip_call_id: str, leg: int | None = None) -> str:
    """The call record id of a SIP call: "x" and 31 hex digits of the SHA-256 of its
    Call-ID (a Call-ID may be long and is chosen by the phone; the record id is 32 chars).
    With `leg`: the record of that step's forwarded outside leg (billed to the forwarder)."""
    key = sip_call_id if leg is None else f"{sip_call_id}#{leg}"
    return "x" + hashlib.sha256(key.encode()).hexdigest()[:31]


def _refuse(code: int, reason: str) -> Route:
    return Route("refuse", code=code, reason=reason)


class Exchange:
    """The decisions kamailio asks for."""

    def __init__(
        self,
        accounts: AccountStore,
        calls: CallStore,
        softphones: HashLookup,
        *,
        srtp: str = "optional",
        max_call_seconds: int = 3600,
        service_users: HashLookup | None = None,
        billing: Billing | None = None,
        forwarding: ForwardingStore | None = None,
        dids: DidStore | None = None,
        trunk: bool = False,
        region: str = "US",
        notify: Notify | None = None,
        pool: frozenset[str] | None = None,
    ) -> None:
        self.accounts = accounts
        self.calls = calls
        self.softphones = softphones
        self.srtp = srtp
        self.max_call_seconds = max_call_seconds
        # Our own SIP users (the instances' callback dialers). Their calls are already
        # authorised, recorded and billed by the flow that places them.
        self.service_users = service_users
        self.billing = billing
        self.dids = dids or DidStore(accounts.engine)
        self.trunk = trunk and billing is not None
        self.region = region
        self.notify = notify
        # DID_POOL: a number dropped from it stays with its holder (storage.dids) but is
        # no longer ours to present as a caller ID. None: every assigned number.
        self.pool = pool
        self.planner = Planner(
            accounts,
            forwarding or ForwardingStore(accounts.engine),
            trunk=self.trunk,
            region=region,
            dids=self.dids,
        )

    def is_service_user(self, username: str) -> bool:
        """Whether `username` names one of our own SIP users (DIALER_PREFIX)."""
        return username.startswith(DIALER_PREFIX)

    def ha1(self, username: str) -> str | None:
        """The HA1 digest a phone registering as `username` must match, None for nobody."""
        if self.is_service_user(username):
            return self.service_users.ha1(username) if self.service_users else None
        return self.softphones.ha1(username)

    # --- routing -----------------------------------------------------------------

    def route(
        self,
        caller: str,
        callee: str,
        sip_call_id: str,
        *,
        source: str = PHONE,
        leg: int = 0,
        at: datetime | None = None,
        code: int = 0,
    ) -> Route:
        """Where step `leg` of a call goes: from the authenticated phone `caller` (its
        extension) or, with `source` CARRIER, from the trunk (`caller` the From user);
        `callee` is the request URI's user part; `at` when the call started (aware; now by
        default: every step of a call reads the rules at its start); `code` the SIP answer
        that ended the step before. The first step of a call opens its call record."""
        at = at or utcnow()
        if source == CARRIER:
            return self._inbound(caller, callee, sip_call_id, leg, at, code)
        if self.is_service_user(caller):  # a leg of a callback: its flow keeps the record
            return self._for_dialer(callee)
        account = self.accounts.by_extension(caller)
        if account is None:
            return _refuse(NOT_FOUND, "No Such Extension")
        held = self._held(account.id)
        try:
            number = dialled(callee, region_of(account, held, self.region))
        except NotANumber:
            self._tell(RefusedCall(account.id, "not_a_number", callee))
            return _refuse(NOT_FOUND, "Not A Number")
        if not is_internal(number.number):
            if leg:
                return _refuse(code or UNAVAILABLE, "No More Targets")
            shown = caller_id(account, held, number.withheld)
            return self._outbound(account, number.number, shown, sip_call_id)
        callee_account = self.accounts.by_extension(number.number)
        if callee_account is None:
            return _refuse(NOT_FOUND, "No Such Extension")
        main = record_id(sip_call_id)
        if leg == 0:
            self.calls.open_internal(main, account.id, caller, number.number)
        steps = self.planner.plan(callee_account, caller, at, via_did=False)
        secure = self.srtp == "mandatory"
        own = callee_account.extension or ""
        return self._step(sip_call_id, steps, leg, code, own=own, secure=secure)

    def _for_dialer(self, callee: str) -> Route:
        target = normalize(callee)
        if is_internal(target):
            if self.accounts.by_extension(target) is None:
                return _refuse(NOT_FOUND, "No Such Extension")
            return self._local(Step(LOCAL, target, None), 0, more=False, secure=False)
        if self.trunk and is_e164(target):  # billed by the callback's own flow
            return self._to_trunk(target, CallerId("", True), self.max_call_seconds, 0, None)
        return _refuse(FORBIDDEN, "Outside Calls Need A Trunk")

    def _outbound(self, account: Account, number: str, shown: CallerId, sip_call_id: str) -> Route:
        """A phone calls an outside number, presenting `shown`: its record, the fraud
        rules and the hold."""
        if not self.trunk or self.billing is None:
            return _refuse(FORBIDDEN, "Outside Calls Need A Trunk")
        call_id = record_id(sip_call_id)
        extension = account.extension or ""
        kind = CallKind.OUTBOUND.value
        if not self.calls.open_call(
            call_id, kind, account.id, extension, number, anonymous=shown.withheld
        ):  # a Call-ID used before: its record (and hold) are another call's
            return _refuse(FORBIDDEN, "Call-ID Already Used")
        max_sec = self._authorize(account.id, call_id, extension, number, forwarded=False)
        if isinstance(max_sec, Route):
            return max_sec
        return self._to_trunk(number, shown, max_sec, 0, None)

    def _inbound(
        self, caller: str, callee: str, sip_call_id: str, leg: int, at: datetime, code: int
    ) -> Route:
        """The trunk calls a direct number: its owner's plan."""
        owner_id, number = self._direct_number(callee)
        owner = self.accounts.get(owner_id) if owner_id is not None else None
        if owner is None:
            return _refuse(NOT_FOUND, "No Such Number")
        if not owner.extension:
            self.accounts.extension(owner.id)
            owner = self.accounts.get(owner.id) or owner
        source = normalize(caller) if caller and caller != ANONYMOUS else ANONYMOUS
        if leg == 0:
            kind = CallKind.INBOUND.value
            self.calls.open_call(
                record_id(sip_call_id), kind, owner.id, source, number,
                anonymous=source == ANONYMOUS,
            )  # fmt: skip
        steps = self.planner.plan(owner, source, at, via_did=True)
        return self._step(sip_call_id, steps, leg, code, own=owner.extension or "", secure=False)

    def _held(self, account_id: int) -> list[str]:
        """The account's direct numbers that are still in the pool."""
        numbers = self.dids.numbers_of(account_id)
        return numbers if self.pool is None else [n for n in numbers if n in self.pool]

    def _direct_number(self, callee: str) -> tuple[int | None, str]:
        """(owner, E.164) of the direct number a carrier called: written with +, without
        it (many carriers drop it), or in the national format of PBX_DEFAULT_REGION."""
        text = normalize(callee)
        candidates = [text] if text.startswith("+") else ["+" + text]
        try:
            candidates.append(dialled(text, self.region).number)
        except NotANumber:
            pass
        for number in candidates:
            if is_e164(number):
                owner = self.dids.owner(number)
                if owner is not None:
                    return owner, number
        return None, candidates[0]

    def _step(
        self,
        sip_call_id: str,
        steps: list[Step],
        leg: int,
        code: int,
        *,
        own: str,
        secure: bool,
    ) -> Route:
        """Step `leg` of `steps`, or the next one that can go; the step before ended with
        SIP `code` (its outside leg's record is closed). A step to another target than
        `own` (the called account's extension) is noted in the call record."""
        if leg:
            self._close_leg(sip_call_id, leg - 1, code)
        index = leg
        while index < len(steps):
            step, more = steps[index], index + 1 < len(steps)
            if step.target != own:
                self.calls.set_forwarded(record_id(sip_call_id), step.target)
            if step.kind == LOCAL:
                return self._local(step, index, more=more, secure=secure)
            route = self._forward_out(step, index, more, sip_call_id)
            if route is not None:
                return route
            index += 1
        if not steps:
            return _refuse(UNAVAILABLE, "Temporarily Unavailable")
        return _refuse(code or UNAVAILABLE, "No More Targets")

    def _forward_out(self, step: Step, index: int, more: bool, sip_call_id: str) -> Route | None:
        """A forwarding step to an outside number, paid by the rule's owner: its own
        record and hold; None when the owner's balance or the fraud rules refuse it."""
        payer = self.accounts.get(step.payer or 0)
        if payer is None:
            return None
        call_id = record_id(sip_call_id, index)
        extension = payer.extension or ""
        kind = CallKind.OUTBOUND.value
        if not self.calls.open_call(call_id, kind, payer.id, extension, step.target):
            return None  # a Call-ID used before: that leg was another call's
        max_sec = self._authorize(payer.id, call_id, extension, step.target, forwarded=True)
        if isinstance(max_sec, Route):
            return None
        shown = caller_id(payer, self._held(payer.id), None)
        return self._to_trunk(step.target, shown, max_sec, index, step.ring_seconds, more=more)

    def _authorize(
        self, account_id: int, call_id: str, extension: str, number: str, *, forwarded: bool
    ) -> int | Route:
        """The hold of an outside leg (wallet.billing): its maximum seconds, or the refusal
        (the record ended `refused:<rule>`, the account told in its chat)."""
        assert self.billing is not None
        try:
            authorization = self.billing.authorize(account_id, call_id, extension, number)
        except CallRefused as refusal:
            self.calls.record_event(
                call_id, CallState.ENDED.value, cause=refused_cause(refusal.rule)
            )
            self._tell(RefusedCall(account_id, refusal.rule, number, forwarded=forwarded))
            code, reason = REFUSALS.get(refusal.rule, (FORBIDDEN, "Refused"))
            return _refuse(code, reason)
        max_sec = min(authorization.max_seconds, self.max_call_seconds)
        if max_sec <= 0:  # kamailio would read 0 as "no limit"
            self.billing.release(call_id)
            self.calls.record_event(call_id, CallState.ENDED.value, cause=HangupCause.FAILED)
            return _refuse(PAYMENT_REQUIRED, "Insufficient Balance")
        self.calls.set_max_seconds(call_id, max_sec)
        return max_sec

    def _to_trunk(
        self,
        number: str,
        shown: CallerId,
        max_sec: int,
        leg: int,
        ring_seconds: int | None,
        *,
        more: bool = False,
    ) -> Route:
        return Route(
            "trunk",
            target=number,
            max_sec=max_sec,
            offer=TRUNK_OFFER,
            offer_tls=TRUNK_OFFER,
            answer=COMMON_FLAGS,
            ring_sec=ring_seconds or 0,
            leg=leg,
            more=int(more),
            from_user=ANONYMOUS if shown.withheld else shown.number,
            withheld=int(shown.withheld),
            pai=shown.number,
        )

    def _local(self, step: Step, leg: int, *, more: bool, secure: bool) -> Route:
        """A call to the phones of extension `step.target`. A phone on TLS is offered
        SDES-SRTP (RTP/SAVP) whatever the caller sent: it must support it, as every common
        softphone does (one without SRTP registers over UDP or TCP); between two SRTP
        phones with the same suite rtpengine passes SRTP through (exchange.md). A phone on
        UDP/TCP is offered what the caller offered, unless PBX_SRTP is mandatory.
        (Opportunistic SRTP, rtpengine's OSRTP-offer, was refused by baresip's srtp-mand.)"""
        savp = f"{COMMON_FLAGS} RTP/SAVP"
        return Route(
            "local",
            target=step.target,
            max_sec=self.max_call_seconds,
            offer=savp if self.srtp == "mandatory" else COMMON_FLAGS,
            offer_tls=savp,
            answer=COMMON_FLAGS,
            require_crypto=int(secure),
            ring_sec=step.ring_seconds or 0,
            leg=leg,
            more=int(more),
        )

    # --- call events -------------------------------------------------------------

    def answered(self, sip_call_id: str, leg: int = 0) -> None:
        """The callee answered: both legs connected (kamailio's dialog:start); `leg` is
        the step that answered."""
        for call in self._records(sip_call_id, leg):
            self.calls.record_event(call.id, LegEvent.ANSWERED.value, leg="b")
            self.calls.record_event(call.id, LegEvent.BRIDGED.value)

    def ended(self, sip_call_id: str, cause: str = "", leg: int = 0) -> None:
        """An answered call ended: the caller's or the callee's BYE (cause "hangup_a",
        "hangup_b"), kamailio's dialog timeout at the call's maximum duration
        ("max_duration"), or an end kamailio could not attribute ("": hangup). An outside
        leg is settled."""
        why = ENDINGS.get(cause, HangupCause.HANGUP)
        for call in self._records(sip_call_id, leg):
            self.calls.record_event(call.id, CallState.ENDED.value, cause=why)
            self._settle(call)

    def failed(self, sip_call_id: str, code: int, leg: int = 0) -> None:
        """A call that never connected: the final answer `code` of its last step (or
        ours). The called account is told of the missed call."""
        cause = CAUSES.get(code, HangupCause.FAILED)
        for call in self._records(sip_call_id, leg):
            if call.state == CallState.ENDED.value:
                continue
            self.calls.record_event(
                call.id, CallState.ENDED.value, cause=cause, detail=f"SIP {code}"
            )
            self._settle(call)
            self._missed(call)

    def _close_leg(self, sip_call_id: str, leg: int, code: int) -> None:
        """The outside leg of step `leg` ended unanswered: closed and its hold released."""
        call = self.calls.get(record_id(sip_call_id, leg))
        if call is not None and call.state != CallState.ENDED.value:
            cause = CAUSES.get(code, HangupCause.FAILED)
            self.calls.record_event(call.id, CallState.ENDED.value, cause=cause)
            self._settle(call)

    def records(self, sip_call_id: str, leg: int = 0) -> list[CallRecord]:
        """The call's own record and its step `leg`'s forwarded outside leg, when known."""
        return self._records(sip_call_id, leg)

    def _records(self, sip_call_id: str, leg: int) -> list[CallRecord]:
        """The call's own record and its step `leg`'s forwarded outside leg, when known
        (legs of callbacks have no record here: their events change nothing)."""
        ids = [record_id(sip_call_id), record_id(sip_call_id, leg)]
        return [call for call in map(self.calls.get, ids) if call is not None]

    def _settle(self, call: CallRecord) -> None:
        """Settle an ended call (an outside one costs) and tell its account it ended."""
        if call.kind == CallKind.OUTBOUND.value and self.billing is not None:
            try:
                self.billing.settle(call.id)
            except Exception:  # settled at the next start (settle_pending)
                log.exception("could not settle call %s", call.id)
        if call.account_id is not None:
            self._tell(EndedCall(call.account_id, call.id))

    def _missed(self, call: CallRecord) -> None:
        """Tell the called account of a call nobody answered (inbound, or between
        extensions), whatever ended it: busy, no answer, the caller hanging up."""
        if call.kind == CallKind.INBOUND.value:
            owner = call.account_id
        elif call.kind == CallKind.INTERNAL.value:
            callee = self.accounts.by_extension(call.b_number)
            owner = callee.id if callee else None
        else:
            return
        if owner is not None:
            self._tell(MissedCall(owner, call.a_number, call.b_number, call.created_at, call.id))

    def _tell(self, notice: Notice) -> None:
        if self.notify is None:
            return
        try:
            self.notify(notice)
        except Exception:
            log.exception("could not hand a %s notice to the chat", type(notice).__name__)

    # --- upkeep ------------------------------------------------------------------

    def keep_alive(self, dialogs: list[tuple[str, int, float]]) -> list[str]:
        """For the answered calls kamailio has (`dialogs`: Call-ID, step, seconds since
        the answer): their records marked alive now, the holds of their outside legs
        extended to cover HOLD_AHEAD_SECONDS more. Returns the Call-IDs whose hold could
        not cover the next round: the balance ran out (another call used it); kamailio
        is to end them."""
        to_end = []
        for sip_call_id, leg, seconds in dialogs:
            for call in self._records(sip_call_id, leg):
                self.calls.heartbeat(call.id)
                if call.kind != CallKind.OUTBOUND.value or self.billing is None:
                    continue
                covered = self.billing.extend(call.id, seconds + HOLD_AHEAD_SECONDS)
                if covered < seconds + KEEP_ALIVE_MARGIN:
                    to_end.append(sip_call_id)
        return to_end

    def reconcile(
        self, live_sip_call_ids: list[str], *, grace: timedelta = RECONCILE_GRACE
    ) -> list[str]:
        """Close the records of calls that kamailio no longer has (it restarted, or their
        end came while we were down): `live_sip_call_ids` are the Call-IDs of its dialogs
        (RPC dlg.list). A record is closed at its last sign of life (heartbeat), so an
        outside leg is billed for no more than was seen; records younger than `grace` are
        left alone (routed, their dialog not created yet). Returns the record ids closed."""
        live = set()
        for call_id in live_sip_call_ids:
            live.add(record_id(call_id))
            live.update(record_id(call_id, leg) for leg in range(MAX_TARGETS + 2))
        closed = []
        for call in self.calls.unfinished_exchange_calls(created_before=utcnow() - grace):
            if call.id in live:
                continue
            seen = max(t for t in (call.heartbeat_at, call.updated_at) if t is not None)
            self.calls.record_event(
                call.id,
                CallState.ENDED.value,
                cause=HangupCause.INTERRUPTED,
                detail="no longer a dialog in kamailio",
                at=seen,
            )
            self._settle(call)
            closed.append(call.id)
        if closed:
            log.warning("closed %d calls kamailio no longer has", len(closed))
        return closed
