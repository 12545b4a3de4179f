"""Text clean-up: one message in, an aligned original/matching pair of strings out."""

from __future__ import annotations

import re
import unicodedata

MAX_LEN = 1000  # longer messages are not commands; only their start is read

_CTRL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202f\u2060-\u206f\ufeff]")
_EMOJI = re.compile(
    "[\u2190-\u21ff\u2300-\u23ff\u2460-\u24ff\u2500-\u27bf\u2900-\u297f\u2b00-\u2bff"
    "\ufe00-\ufe0f\U0001f000-\U0001faff\U000e0000-\U000e007f\u00a9\u00ae\u2122]"
)
_SURROGATE = re.compile("[\ud800-\udfff]")
_PUNCT_MAP = str.maketrans(
    {
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2212": "-",
        "\u2018": "'",
        "\u2019": "'",
        "\u02bc": "'",
        "\u00b4": "'",
        "`": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2026": ".",
    }
)
# Same-length folding for matching: accents off Latin letters, ё -> е.
_FOLD = str.maketrans(
    "àâäáãåāéèêëēíìîïóòôöõøúùûüçñÿœæё",
    "aaaaaaaeeeeeiiiioooooouuuucnyoaе",
)


def clean(text: object) -> str:
    """Return `text` as a safe single-line string: NFKC, no control chars or emoji."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    text = text[: MAX_LEN * 2]
    text = _CTRL.sub(" ", text)
    try:
        text = unicodedata.normalize("NFKC", text)
    except ValueError:  # pragma: no cover - lone surrogates
        text = text.encode("utf-8", "replace").decode("utf-8")
    text = text.translate(_PUNCT_MAP)
    text = _EMOJI.sub(" ", text)
    text = _SURROGATE.sub(" ", text)
    return text[:MAX_LEN]


def fold(text: str) -> str:
    """Lower-case and strip accents without changing the length of `text`."""
    low = text.lower()
    if len(low) != len(text):
        low = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    return low.translate(_FOLD)
