"""Recorded calls in the chat: "record all my calls", "my recordings", "delete my
recordings", "my recording key", "new recording key", "link my wallet 3P…"; the sealed
file sent when a call ends (`recording_notifier`) and a wallet proven by a transfer told
(`link_notifier`).

- `calls`: the recording default and the recordings on the server;
- `keys`: the recording key, shown or made (its words shown once);
- `wallet_link`: proving a Waves wallet (wallet.link) whose key then seals recordings;
- `delivery`: the desk's listener that sends each finished recording;
- `text`: durations, sizes, dates and the key's origin as the chat shows them.
"""

from bot.features.recordings.delivery import recording_notifier
from bot.features.recordings.handlers import router
from bot.features.recordings.wallet_link import link_notifier

__all__ = ["link_notifier", "recording_notifier", "router"]
