"""What the time readers found so far in one message, and the text still left to read."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

# Replaces the characters of words a reader took, so that no later reader sees them.
FILL = "\x03"


@dataclass
class Findings:
    """The findings of the readers on one canonical text, relative to the aware `now`.

    `text` starts as the canonical text and has the words already read blanked out with
    FILL (same length, so offsets stay valid); `spans` are the offsets of those words.
    """

    text: str
    now: datetime
    lang: str
    month_first: bool  # "3/4" is March 4th (US style), not April 3rd
    spans: list[tuple[int, int]] = field(default_factory=list)
    seconds_from_now: float | None = None  # "in 2 hours" -> 7200.0
    clock: tuple[int, int] | None = None  # (hour, minute): "at 9:30" -> (9, 30)
    part_of_day: str | None = None  # "morning", "afternoon", "evening", "tonight", "night"
    day: date | None = None
    today: date = field(init=False)

    def __post_init__(self) -> None:
        self.today = self.now.date()

    def take(self, match: re.Match[str]) -> None:
        """Record the span of `match` and blank its words out of `text`."""
        start, end = match.span()
        self.spans.append((start, end))
        self.text = self.text[:start] + FILL * (end - start) + self.text[end:]


Reader = Callable[[Findings], bool]


def read_first(found: Findings, readers: Iterable[Reader]) -> bool:
    """Run `readers` in order until one recognises something; True if one did."""
    for read in readers:
        if read(found):
            return True
    return False
