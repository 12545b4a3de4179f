"""Buttons for text-only networks: the words that stand for them, and the last ones offered.

Telegram shows `Reply.buttons` as an inline keyboard; XMPP and the console show them as a
line such as `Reply "yes" to link, "no" to cancel.` and the user types the word (or the
button's label) instead.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from bot.assistant.i18n import DEFAULT_LANGUAGE, t
from bot.assistant.replies import Button, Reply, Sender

MAX_REMEMBERED = 10_000


def words(reply: Reply) -> list[tuple[str, Button]]:
    """Each button of `reply` with the word that chooses it (its own word, else its number)."""
    return [(button.word or str(i), button) for i, button in enumerate(reply.buttons, start=1)]


def as_text(reply: Reply) -> str:
    """The reply as plain text, its buttons turned into a 'reply … to …' line."""
    if not reply.buttons:
        return reply.text
    lang = reply.lang or DEFAULT_LANGUAGE
    options = [t(lang, "choice_item", word=word, label=b.label) for word, b in words(reply)]
    return reply.text + "\n" + t(lang, "choices_hint", choices=", ".join(options))


def _normalise(text: str) -> str:
    return text.strip().strip(".!").casefold()


class ChoiceMemory:
    """The buttons last offered to each sender, so a typed word can press one.

    Kept in memory and bounded: a restart forgets pending choices, which then
    read as ordinary messages.
    """

    def __init__(self, limit: int = MAX_REMEMBERED) -> None:
        self.limit = limit
        self._offers: OrderedDict[tuple[str, str], dict[str, str]] = OrderedDict()
        self._lock = threading.Lock()

    def offer(self, sender: Sender, replies: list[Reply]) -> None:
        """Remember the buttons of the last reply that has some (forget older ones)."""
        offered = [r for r in replies if r.buttons]
        key = (sender.network, sender.external_id)
        if not offered and key not in self._offers:
            return  # nothing to forget, nothing to remember: most messages
        with self._lock:
            self._offers.pop(key, None)
            if offered:
                buttons = words(offered[-1])
                # A button's label ("Subscribe") and its data press it too; its word or
                # number wins over another button's label.
                choice = {_normalise(b.label): b.data for _word, b in buttons}
                choice |= {_normalise(b.data): b.data for _word, b in buttons}
                choice |= {_normalise(word): b.data for word, b in buttons}
                self._offers[key] = choice
                while len(self._offers) > self.limit:
                    self._offers.popitem(last=False)

    def pending(self, sender: Sender) -> bool:
        """Whether buttons offered to `sender` are waiting for a word."""
        with self._lock:
            return (sender.network, sender.external_id) in self._offers

    def take(self, sender: Sender, text: str) -> str | None:
        """The button data `text` chooses, consuming the offer; None if it chooses nothing."""
        key = (sender.network, sender.external_id)
        with self._lock:
            offer = self._offers.get(key)
            if offer is None:
                return None
            data = offer.get(_normalise(text))
            if data is not None:
                del self._offers[key]
            return data
