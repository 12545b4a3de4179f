"""The exchange's decisions: whose password a phone must know, where a call may go, and
the call record of every call kamailio relays.

kamailio asks through the control API (`exchange.control`); nothing here speaks HTTP or
SIP. Part 1 of the exchange routes calls between extensions (free, media through
rtpengine, SRTP toward phones); a number outside the exchange needs a trunk (part 2) and
is refused with 403.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from domain.calls import CallState, HangupCause, LegEvent
from domain.clock import utcnow
from domain.numbers import is_internal, normalize
from exchange.config import DIALER_PREFIX
from storage.accounts import AccountStore
from storage.calls import CallStore

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
RECONCILE_GRACE = timedelta(seconds=30)
# How kamailio names the end of an answered call (deploy/exchange/kamailio.cfg).
ENDINGS = {
    "hangup_a": HangupCause.HANGUP_A,
    "hangup_b": HangupCause.HANGUP_B,
    "max_duration": HangupCause.MAX_DURATION,
}
# SIP answers (RFC 3261 §21) of the refusals decided here.
NOT_FOUND, FORBIDDEN = 404, 403
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
    """Where kamailio sends a new call: `action` "local" (to the extension `target`, for
    at most `max_sec` seconds once answered, rtpengine flags `offer` toward a phone on
    UDP/TCP or `offer_tls` toward one on TLS, and `answer`; with `require_crypto` 1 an
    offer without SDES keys is refused 488) or "refuse" (SIP `code` and `reason`)."""

    action: str
    target: str = ""
    max_sec: int = 0
    offer: str = ""
    offer_tls: str = ""
    answer: str = ""
    require_crypto: int = 0
    code: int = 0
    reason: str = ""

    def as_json(self) -> dict[str, object]:
        """The decision as kamailio reads it (every key present)."""
        return dict(self.__dict__)


def record_id(sip_call_id: str) -> str:
    """The call record id of a SIP call: "x" and 31 hex digits of the SHA-256 of its
    Call-ID (a Call-ID may be long and is chosen by the phone; the record id is 32 chars)."""
    return "x" + hashlib.sha256(sip_call_id.encode()).hexdigest()[:31]


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
    ) -> None:
        self.accounts = accounts
        self.calls = calls
        self.softphones = softphones
        self.srtp = srtp
        self.max_call_seconds = max_call_seconds
        # Our own SIP users (the instances' callback dialers). Their calls are already
        # authorised, recorded and billed by the flow that places them.
        self.service_users = service_users

    def is_service_user(self, username: str) -> bool:
        """Whether `username` names one of our own SIP users (DIALER_PREFIX)."""
        return username.startswith(DIALER_PREFIX)

    def ha1(self, username: str) -> str | None:
        """The HA1 digest a phone registering as `username` must match, None for nobody."""
        if self.is_service_user(username):
            return self.service_users.ha1(username) if self.service_users else None
        return self.softphones.ha1(username)

    def route(self, caller: str, callee: str, sip_call_id: str) -> Route:
        """Where a call from the authenticated `caller` (an extension) to `callee` (the
        request URI's user part) goes. A local call gets a call record (kind internal)."""
        target = normalize(callee)
        if not is_internal(target):
            return Route("refuse", code=FORBIDDEN, reason="Outside Calls Need A Trunk")
        if self.is_service_user(caller):  # a leg of a callback: its flow keeps the record
            if self.accounts.by_extension(target) is None:
                return Route("refuse", code=NOT_FOUND, reason="No Such Extension")
            return self._local(target, require_crypto=False)
        callee_account = self.accounts.by_extension(target)
        caller_account = self.accounts.by_extension(caller)
        if callee_account is None or caller_account is None:
            return Route("refuse", code=NOT_FOUND, reason="No Such Extension")
        self.calls.open_internal(record_id(sip_call_id), caller_account.id, caller, target)
        return self._local(target, require_crypto=self.srtp == "mandatory")

    def _local(self, target: str, *, require_crypto: bool) -> Route:
        """A call to the extension `target`. A phone on TLS is offered SDES-SRTP
        (RTP/SAVP) whatever the caller sent: it must support it, as every common softphone
        does (one without SRTP registers over UDP or TCP); between two SRTP phones with
        the same suite rtpengine passes SRTP through (exchange.md). A phone on UDP/TCP
        is offered what the caller offered, unless PBX_SRTP is mandatory. (Opportunistic
        SRTP, rtpengine's OSRTP-offer, was refused by baresip's srtp-mand here.)"""
        savp = f"{COMMON_FLAGS} RTP/SAVP"
        return Route(
            "local",
            target=target,
            max_sec=self.max_call_seconds,
            offer=savp if self.srtp == "mandatory" else COMMON_FLAGS,
            offer_tls=savp,
            answer=COMMON_FLAGS,
            require_crypto=int(require_crypto),
        )

    def answered(self, sip_call_id: str) -> None:
        """The callee answered: both legs connected (kamailio's dialog:start)."""
        call_id = record_id(sip_call_id)
        if self._known(call_id):
            self.calls.record_event(call_id, LegEvent.ANSWERED.value, leg="b")
            self.calls.record_event(call_id, LegEvent.BRIDGED.value)

    def ended(self, sip_call_id: str, cause: str = "") -> None:
        """An answered call ended: the caller's or the callee's BYE (cause "hangup_a",
        "hangup_b"), kamailio's dialog timeout at the call's maximum duration
        ("max_duration"), or an end kamailio could not attribute ("": hangup)."""
        call_id = record_id(sip_call_id)
        if self._known(call_id):
            why = ENDINGS.get(cause, HangupCause.HANGUP)
            self.calls.record_event(call_id, CallState.ENDED.value, cause=why)

    def failed(self, sip_call_id: str, code: int) -> None:
        """A call that never connected: the callee's final answer `code` (or ours)."""
        call_id = record_id(sip_call_id)
        if self._known(call_id):
            cause = CAUSES.get(code, HangupCause.FAILED)
            self.calls.record_event(
                call_id, CallState.ENDED.value, cause=cause, detail=f"SIP {code}"
            )

    def reconcile(
        self, live_sip_call_ids: list[str], *, grace: timedelta = RECONCILE_GRACE
    ) -> list[str]:
        """Close the records of internal calls that kamailio no longer has (it restarted,
        or their end came while we were down): `live_sip_call_ids` are the Call-IDs of
        its dialogs (RPC dlg.list). Records younger than `grace` are left alone (routed,
        their dialog not created yet). Returns the record ids closed."""
        live = {record_id(call_id) for call_id in live_sip_call_ids}
        closed = []
        for call in self.calls.unfinished_internal(created_before=utcnow() - grace):
            if call.id in live:
                continue
            self.calls.record_event(
                call.id,
                CallState.ENDED.value,
                cause=HangupCause.INTERRUPTED,
                detail="no longer a dialog in kamailio",
            )
            closed.append(call.id)
        if closed:
            log.warning("closed %d internal calls kamailio no longer has", len(closed))
        return closed

    def _known(self, call_id: str) -> bool:
        # Legs of callbacks have no internal record: their events change nothing here.
        return self.calls.get(call_id) is not None
