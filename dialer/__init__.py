"""The SIP callback dialer: ring two parties, bridge them, report every transition.

The rest of the project uses only what is exported here; rfcvoip stays inside
dialer/sip_rfcvoip.py.
"""

from dialer.core import Dialer
from dialer.types import (
    AnnounceResult,
    AudioSink,
    CallbackRequest,
    CallSummary,
    DialerError,
    DialerEvent,
    SipConfig,
)

__all__ = [
    "AnnounceResult",
    "CallSummary",
    "AudioSink",
    "CallbackRequest",
    "Dialer",
    "DialerError",
    "DialerEvent",
    "SipConfig",
]
