"""What crosses between the assistant and a chat adapter: who writes, and what to show."""

from __future__ import annotations

from dataclasses import dataclass


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
