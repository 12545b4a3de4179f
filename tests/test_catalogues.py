"""The message catalogues: every sentence in every language, with the same placeholders."""

from __future__ import annotations

import string

import pytest

from bot.assistant.i18n import LANGUAGES, catalogue


def _placeholders(template: object) -> set[str]:
    if not isinstance(template, str):
        return set()
    return {name for _text, name, _spec, _conv in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != "en"])
def test_every_language_has_every_key_with_the_same_placeholders(lang):
    english, other = catalogue("en"), catalogue(lang)
    assert sorted(set(english) - set(other)) == []
    assert sorted(set(other) - set(english)) == []
    differing = {
        key: (_placeholders(english[key]), _placeholders(other[key]))
        for key in english
        if _placeholders(english[key]) != _placeholders(other[key])
    }
    assert differing == {}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_sentence_is_empty_or_left_in_english(lang):
    texts = catalogue(lang)
    assert [key for key, text in texts.items() if not text] == []
    if lang != "en":
        same = [
            key
            for key, text in texts.items()
            if isinstance(text, str) and _has_words(text) and text == catalogue("en")[key]
        ]
        assert same == []


def _has_words(template: str) -> bool:
    """Whether the template has words of its own beside its placeholders."""
    literal = "".join(text for text, *_rest in string.Formatter().parse(template))
    return sum(ch.isalpha() for ch in literal) > 10
