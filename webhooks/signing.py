"""Webhook signatures, Stripe style: `EncryptoTel-Signature: t=<unix seconds>,v1=<hex>`.

`v1` is HMAC-SHA256 (RFC 2104, FIPS 180-4) keyed with the endpoint's secret (the whole
`whsec_…` string, as UTF-8) over `"<t>.<raw body>"`. The time is signed with the body so
a captured request cannot be replayed later than the receiver's tolerance. A receiver:

    from webhooks.signing import verify, SignatureError
    try:
        verify(secret, request.headers["EncryptoTel-Signature"], raw_body)
    except SignatureError:
        return 400
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "EncryptoTel-Signature"
EVENT_ID_HEADER = "EncryptoTel-Event-Id"
EVENT_TYPE_HEADER = "EncryptoTel-Event-Type"
DEFAULT_TOLERANCE = 300  # seconds a signature stays acceptable (either way: clock skew)


class SignatureError(ValueError):
    """A signature header that is missing, malformed, wrong, or outside the tolerance."""


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The hex HMAC-SHA256 of `"<timestamp>.<body>"` keyed with `secret`."""
    message = str(int(timestamp)).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def header(secret: str, body: bytes, timestamp: int) -> str:
    """The `EncryptoTel-Signature` value of `body` sent at `timestamp` (unix seconds)."""
    return f"t={int(timestamp)},v1={sign(secret, body, timestamp)}"


def verify(
    secret: str,
    signature_header: str | None,
    body: bytes,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> int:
    """Check a received webhook: `signature_header` is the `EncryptoTel-Signature` value,
    `body` the raw bytes received (before any JSON parsing). Returns the signed time
    (unix seconds). Several `v1=` (a secret being rotated) are accepted: one must match.

    Raises SignatureError when the header is missing or malformed, no `v1` matches
    (compared in constant time), or `t` is more than `tolerance` seconds from `now`
    (default: the current time).
    """
    if not signature_header:
        raise SignatureError("no EncryptoTel-Signature header")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in signature_header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise SignatureError("the signature's t is not a unix time") from None
        elif name == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        raise SignatureError("the signature header needs t=<unix seconds>,v1=<hex>")
    expected = sign(secret, body, timestamp)
    if not any(hmac.compare_digest(expected, c) for c in candidates):
        raise SignatureError("the signature does not match this body and secret")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise SignatureError(
            f"the signature is {abs(current - timestamp):.0f} s old (tolerance {tolerance} s)"
        )
    return timestamp
