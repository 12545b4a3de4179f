"""What the time readers found so far in one message, and the text still left to read."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo

# Replaces the characters of words a reader took, so that no later reader sees them.
FILL = "\x03"


@dataclass
class Findings:
    """The findings of the readers on one canonical text, relative to the aware `now`.

    `text` starts as the canonical text and has the words already read blanked out with
    FILL (same length, so offsets stay valid); `spans` are the offsets of those words.
    `original(start, end)` gives the words of a span as the user wrote them (their case),
    when the caller knows it.
    """

    text: str
    now: datetime
    lang: str
    month_first: bool  # "3/4" is March 4th (US style), not April 3rd
    spans: list[tuple[int, int]] = field(default_factory=list)
    seconds_from_now: float | None = None  # "in 2 hours" -> 7200.0
    seconds_before: float | None = None  # "remind me 1h before" -> 3600.0 (before the moment)
    clock: tuple[int, int] | None = None  # (hour, minute): "at 9:30" -> (9, 30)
    part_of_day: str | None = None  # "morning", "afternoon", "evening", "tonight", "night"
    day: date | None = None
    zone: tzinfo | None = None  # the zone the message names ("10am EST"), if any
    original: Callable[[int, int], str] | None = None
    today: date = field(init=False)

    def __post_init__(self) -> None:
        self.today = self.now.date()

    def take(self, match: re.Match[str], group: int | str = 0) -> None:
        """Record the span of `match` (or of one of its groups) and blank its words out."""
        self.take_span(*match.span(group))

    def take_span(self, start: int, end: int) -> None:
        """Record the span `start`:`end` and blank its words out of `text`."""
        self.spans.append((start, end))
        self.text = self.text[:start] + FILL * (end - start) + self.text[end:]

    def use_zone(self, zone: tzinfo) -> None:
        """Read every date and time of the message in `zone` (named in the message)."""
        self.zone = zone
        self.now = self.now.astimezone(zone)
        self.today = self.now.date()

    def written(self, start: int, end: int) -> str:
        """The words of `start`:`end` as written (case kept), or as in `text` when unknown."""
        if self.original is None:
            return self.text[start:end]
        return self.original(start, end)


Reader = Callable[[Findings], bool]


def read_first(found: Findings, readers: Iterable[Reader]) -> bool:
    """Run `readers` in order until one recognises something; True if one did."""
    for read in readers:
        if read(found):
            return True
    return False
