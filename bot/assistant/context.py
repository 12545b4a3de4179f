"""One request as the features see it: who asks, in which language, with what services."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.assistant.i18n import t
from bot.assistant.replies import Reply, Sender
from bot.assistant.services import Services
from domain.clock import utcnow
from storage.models import Account


class Refusal(Exception):
    """A request the feature will not carry out: the catalogue sentence `key` says why.

    Raised anywhere inside a feature's handler and answered by the router as one reply
    in the request's language (`key`: the reply key, so it replaces a question in place).
    """

    def __init__(self, key: str, *, reply_key: str | None = None, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.reply_key = reply_key
        self.values = values

    def reply(self, lang: str) -> Reply:
        """The sentence in `lang`."""
        return Reply(t(lang, self.key, **self.values), key=self.reply_key)


@dataclass(frozen=True)
class Context:
    """One request: the account that asks, the language to answer in, the services."""

    account: Account
    lang: str
    services: Services
    sender: Sender
    text: str
    # When the message was sent: reminders in the past are refused against it.
    now: datetime = field(default_factory=utcnow)
    # When it is answered (later than `now` for a message delivered late): what the
    # user is shown now, such as a quote, is dated by it.
    received: datetime = field(default_factory=utcnow)

    def say(self, key: str, **values: object) -> Reply:
        """A reply from the catalogue in the request's language."""
        return Reply(t(self.lang, key, **values))

    def keyed(self, reply_key: str | None, key: str, **values: object) -> Reply:
        """`say`, as the reply that updates the message of `reply_key` in place."""
        return replace(self.say(key, **values), key=reply_key)

    def local_time(self, moment: datetime) -> str:
        """A stored (UTC) or aware time as the user's local wall-clock time, to the minute."""
        return moment.astimezone(ZoneInfo(self.account.timezone)).strftime("%Y-%m-%d %H:%M")

    def in_user_zone(self, moment: datetime) -> datetime:
        """`moment` as an aware time; a naive one is read in the user's zone."""
        if moment.tzinfo is None:
            return moment.replace(tzinfo=ZoneInfo(self.account.timezone))
        return moment
