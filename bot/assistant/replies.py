"""What crosses between the assistant and a chat adapter: who writes, and what to show."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Sender:
    """A user of one chat network, as the adapter knows them."""

    network: str
    external_id: str
    # The language their chat client declares (Telegram's language_code, XMPP's xml:lang):
    # only a new account's first language (see `bot.assistant.core`).
    language: str | None = None


@dataclass(frozen=True)
class Button:
    """An inline choice; `data` comes back to `Assistant.press` (see `buttons.ButtonData`)."""

    label: str
    data: str
    # What a user of a text-only network types instead of pressing (None: its number).
    word: str | None = None


class AttachmentNotSent(RuntimeError):
    """A reply's file did not reach the user (no upload service, too big, unreadable): the
    user was told why instead. Raised by an adapter's outbox sender, so that whoever sent
    it (a recording's delivery) does not count it as delivered."""


@dataclass(frozen=True)
class Attachment:
    """A file sent with a reply: Telegram sends it as a document, XMPP uploads it to the
    server's HTTP upload service (XEP-0363) and sends the link, the console prints where
    it is. Exactly one of `path` (a file on the server's disk) and `data` is set."""

    name: str
    path: Path | None = None
    data: bytes | None = None
    mime: str = "application/octet-stream"

    def __post_init__(self) -> None:
        if (self.path is None) == (self.data is None):
            raise ValueError("an attachment has a path or data, not both nor neither")

    def read(self) -> bytes:
        """The file's bytes (OSError when its path cannot be read)."""
        return self.data if self.data is not None else Path(self.path or "").read_bytes()


@dataclass(frozen=True)
class ReceivedFile:
    """A file a user sent in the chat (a Telegram document, an XMPP upload's link fetched,
    a path typed in the console): its name as sent, its type when told, its bytes."""

    name: str
    data: bytes
    mime: str | None = None


@dataclass(frozen=True)
class Reply:
    """One message to show. Replies with the same `key` update one message in place."""

    text: str
    buttons: tuple[Button, ...] = ()
    key: str | None = None
    # The language of `text`, so adapters can phrase button hints alike (None: default).
    lang: str | None = None
    # A progress update of the keyed message (a call's running time): networks that
    # cannot edit a message skip it rather than send a new one each time.
    progress: bool = False
    # A file sent with the text (the text is its caption).
    attachment: Attachment | None = None
