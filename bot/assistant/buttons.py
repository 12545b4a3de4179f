"""Button data: typed values packed into the string a chat gives back when a button is pressed.

Modelled on aiogram's `CallbackData`: a subclass names its prefix and its fields,

    @dataclass(frozen=True)
    class HangupData(ButtonData, prefix="hangup"):
        call_id: str

    HangupData("12-ab").pack() == "hangup:12-ab"
    HangupData.unpack("hangup:12-ab") == HangupData("12-ab")

Fields are `str` or `int`, joined by ":"; only the last field may contain ":" (it takes
the rest of the data, as a reply key does). Telegram limits the packed data to 64 bytes
(Bot API, InlineKeyboardButton.callback_data): `pack` refuses longer data.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, ClassVar, Self

SEPARATOR = ":"
MAX_BYTES = 64


class ButtonData:
    """Base of every button's data; subclasses are frozen dataclasses with a `prefix`."""

    prefix: ClassVar[str]

    def __init_subclass__(cls, prefix: str, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not prefix or SEPARATOR in prefix:
            raise ValueError(f"bad button prefix {prefix!r}")
        cls.prefix = prefix

    def pack(self) -> str:
        """The data as one string `prefix:field1:field2…`.

        Raises ValueError when a field but the last contains ":" or the result is longer
        than Telegram's 64 bytes.
        """
        values = [str(getattr(self, f.name)) for f in fields(self)]  # type: ignore[arg-type]
        if any(SEPARATOR in value for value in values[:-1]):
            raise ValueError(f"a field of {type(self).__name__} contains {SEPARATOR!r}")
        data = SEPARATOR.join([self.prefix, *values])
        if len(data.encode()) > MAX_BYTES:
            raise ValueError(f"{type(self).__name__} data is longer than {MAX_BYTES} bytes")
        return data

    @classmethod
    def unpack(cls, data: str) -> Self:
        """The value `data` packs; ValueError when it is not of this prefix and shape."""
        prefix, separator, rest = data.partition(SEPARATOR)
        if prefix != cls.prefix or not separator:
            raise ValueError(f"not {cls.__name__} data")
        names = fields(cls)  # type: ignore[arg-type]
        parts = rest.split(SEPARATOR, len(names) - 1)
        if len(parts) != len(names):
            raise ValueError(f"{cls.__name__} takes {len(names)} fields")
        values: dict[str, Any] = {}
        for field, part in zip(names, parts, strict=True):
            values[field.name] = int(part) if field.type in (int, "int") else part
        return cls(**values)


def prefix_of(data: str) -> str:
    """The prefix of packed button data (which `ButtonData` class it belongs to)."""
    return data.partition(SEPARATOR)[0]
